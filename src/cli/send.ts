import { Command } from 'commander';
import { formatPeer, type Peer } from '../dicom/peer.js';
import { DimseError, storeFiles, type StoreResult } from '../dimse/scu.js';
import { addScuOptions, peerArgument, quietDimseLog, scuOptions, type ScuCommandOptions } from './echo.js';

interface SendCommandOptions extends ScuCommandOptions {
  to: Peer;
}

const LABELS = { success: 'OK', warning: 'WARNING', failure: 'FAILED' } as const;

export function formatResult(r: StoreResult): string {
  const uid = r.sopInstanceUid ? ` ${r.sopInstanceUid}` : '';
  return `${LABELS[r.outcome].padEnd(7)} ${r.file}${uid}: ${r.message}`;
}

/**
 * `jointscore send`: one result per file. When the association cannot be had at all, every
 * file fails with that reason, so that the output still has one line per file.
 */
export async function runSend(files: string[], opts: SendCommandOptions): Promise<StoreResult[]> {
  quietDimseLog();
  try {
    return await storeFiles(opts.to, files, scuOptions(opts));
  } catch (err) {
    if (!(err instanceof DimseError)) throw err;
    return files.map((file) => ({ file, outcome: 'failure', message: `not sent to ${formatPeer(opts.to)}: ${err.message}` }));
  }
}

export function registerSend(program: Command): void {
  addScuOptions(
    program
      .command('send')
      .description('Send DICOM Part 10 files to a peer (C-STORE, one association), each in its own transfer syntax')
      .argument('<files...>', 'DICOM files')
      .requiredOption('--to <peer>', 'the peer, as AE@host:port', peerArgument),
  ).action(async (files: string[], opts: SendCommandOptions) => {
    const results = await runSend(files, opts);
    for (const r of results) console.log(formatResult(r));
    // Warnings are stored objects: only failures make the exit status non-zero.
    if (results.some((r) => r.outcome === 'failure')) process.exitCode = 1;
  });
}
