import { Command, InvalidArgumentError } from 'commander';
import dimse from 'dcmjs-dimse';
import { checkAeTitle, parsePeer, type Peer } from '../dicom/peer.js';
import { echo, type ScuOptions } from '../dimse/scu.js';

/** The options `echo` and `send` share, as commander hands them over. */
export interface ScuCommandOptions {
  callingAe: string;
  /** seconds */
  timeout: number;
}

export const DEFAULT_CALLING_AE = 'JOINTSCORE';
const DEFAULT_TIMEOUT_S = 30;

/** commander argument parser: a bad value stops before any connection, with the expected form. */
export function peerArgument(value: string): Peer {
  try {
    return parsePeer(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function callingAeOption(value: string): string {
  try {
    return checkAeTitle(value, '--calling-ae');
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function secondsOption(value: string): number {
  const s = Number(value);
  if (!Number.isFinite(s) || s <= 0 || s > 3600) throw new InvalidArgumentError(`--timeout must be a number of seconds above 0 and at most 3600, got "${value}"`);
  return s;
}

export function addScuOptions(command: Command): Command {
  return command
    .option('--calling-ae <ae>', 'our AE title', callingAeOption, DEFAULT_CALLING_AE)
    .option('--timeout <seconds>', 'for connecting, for the association answer and for each message', secondsOption, DEFAULT_TIMEOUT_S);
}

export function scuOptions(opts: ScuCommandOptions): ScuOptions {
  return { callingAe: opts.callingAe, timeoutMs: Math.round(opts.timeout * 1000) };
}

/**
 * dcmjs-dimse logs every PDU at INFO and its errors at ERROR on the console; the commands
 * report every outcome themselves, so its log only shows when debugging.
 */
export function quietDimseLog(): void {
  dimse.log.setLevel(process.env.JOINTSCORE_LOG_LEVEL === 'debug' ? 'info' : 'silent');
}

/** `jointscore echo`: one line on stdout on success; a failure throws (the command exits non-zero). */
export async function runEcho(peer: Peer, opts: ScuCommandOptions): Promise<string> {
  quietDimseLog();
  const started = Date.now();
  await echo(peer, scuOptions(opts));
  return `C-ECHO ${peer.aeTitle}@${peer.host}:${peer.port}: success (${Date.now() - started} ms)`;
}

export function registerEcho(program: Command): void {
  addScuOptions(
    program
      .command('echo')
      .description('Check that a DICOM peer answers (C-ECHO)')
      .argument('<peer>', 'the peer, as AE@host:port', peerArgument),
  ).action(async (peer: Peer, opts: ScuCommandOptions) => {
    console.log(await runEcho(peer, opts));
  });
}
