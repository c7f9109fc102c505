import { exitCodeOf, operatorMessage } from '../errors.js';

/** Ends a command on an error: its message and where to look on stderr, the exit code of its kind. */
export function endCommand(command: string, err: unknown): void {
  process.stderr.write(`${operatorMessage(command, err)}\n`);
  process.exitCode = exitCodeOf(err);
}
