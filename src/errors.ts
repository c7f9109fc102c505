/**
 * The one root of jointscore's own errors. Each says what kind of failure it is, and so
 * which exit code a command ends with and where an operator looks first; anything else
 * thrown is a bug (exit 1, with its stack in the log).
 */
export type FailureKind = 'config' | 'model' | 'input' | 'peer' | 'output';

export abstract class JointscoreError extends Error {
  abstract readonly kind: FailureKind;
}

/**
 * Exit codes of every command: 0 success; 1 some inputs failed or an unexpected error;
 * 2 configuration or command-line options; 3 the models cannot be used; 4 a DICOM peer
 * refused or could not be reached.
 */
export const EXIT_CODES: Record<FailureKind, number> = { config: 2, model: 3, input: 1, output: 1, peer: 4 };

/** Where to look, by kind, for the line an operator reads under the message. */
export const OPERATOR_HINTS: Record<FailureKind, string> = {
  config: 'fix the setting named above in the configuration file or the command line (conf/default.yaml documents each)',
  model: 'check the models folder (analysis.modelsDir): model.onnx and manifest.json as docs/model-contract.md describes',
  input: 'the file named above cannot be analysed as it is; the reason says which attribute',
  output: 'a result could not be written: the reason names what was refused',
  peer: 'check that the peer is up, reachable, and knows this node\'s AE title (docs/conformance-statement.md)',
};

export function exitCodeOf(err: unknown): number {
  return err instanceof JointscoreError ? EXIT_CODES[err.kind] : 1;
}

/** The message and, for jointscore's own errors, the hint, as a command prints them. */
export function operatorMessage(command: string, err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return err instanceof JointscoreError ? `jointscore ${command}: ${message}\n  (${OPERATOR_HINTS[err.kind]})` : `jointscore ${command}: ${message}`;
}
