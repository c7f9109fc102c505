import { readFileSync, statSync } from 'node:fs';
import { copyFile, mkdir, open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { DeliveryConfig, DestinationConfig } from '../config/types.js';
import { storeFiles, type StoreResult } from '../dimse/scu.js';
import type { Logger } from '../observability/logger.js';
import type { Delivery, Job, JobQueue } from '../store/queue.js';

/**
 * The outbox drained: every pending delivery that is due goes to its destination, on up to
 * `delivery.associationsPerDestination` associations at once. A C-STORE counts as delivered
 * only on a Success or Warning response; anything else (a failure status, no response, no
 * association) is retried with exponential back-off until `delivery.maxAttempts`, then the
 * job fails and shows in `jointscore queue`.
 *
 * The folder destination (no archive configured) copies the files into
 * `<folder>/<Study Instance UID>/<SOP Instance UID>.dcm`; a re-delivery replaces the file,
 * as an archive replaces an instance with the same UID.
 */
export const FOLDER_DESTINATION = 'folder';

export interface DeliveryEvents {
  delivered?(destination: string, seconds: number): void;
  attemptFailed?(destination: string): void;
  settled?(job: Job): void;
}

export interface DelivererDeps {
  queue: JobQueue;
  config: DeliveryConfig;
  log: Logger;
  events?: DeliveryEvents;
  now?: () => number;
  /** the C-STORE SCU (src/dimse/scu.ts); a test puts a fake at this seam */
  store?: typeof storeFiles;
}

/**
 * A failure's message with what the administrator can change: the node writes a result compressed
 * only where analysis.overlaySyntax says so (the overlay), so an archive refusing its syntax is
 * fixed there.
 */
function withFix(r: StoreResult): string {
  return r.syntaxRefused ? `${r.message}: set analysis.overlaySyntax to a syntax the archive accepts for Secondary Capture, or to explicit` : r.message;
}

/** Seconds to wait after the n-th failed attempt (1-based): initial x 2^(n-1), capped. */
export function backoffSeconds(c: Pick<DeliveryConfig, 'initialBackoffS' | 'maxBackoffS'>, attempt: number): number {
  return Math.min(c.maxBackoffS, c.initialBackoffS * 2 ** Math.max(0, attempt - 1));
}

/** The destinations results go to: the archives, or the folder when none is configured. */
export function destinationNames(c: DeliveryConfig): string[] {
  return c.destinations.length ? c.destinations.map((d) => d.name) : [FOLDER_DESTINATION];
}

/**
 * The files of one round split into at most `n` groups of about equal bytes (largest first,
 * each to the lightest group), one association each. Why: archives built on DCMTK write each
 * C-STORE-RSP as two TCP segments with Nagle's algorithm on, so every response waits for our
 * delayed ACK (about 40 ms on Linux) before the next request can go; responses on separate
 * associations wait at the same time, and the radiograph-sized overlay no longer waits
 * behind the report.
 */
export function splitBySize<T>(items: T[], bytes: (item: T) => number, n: number): T[][] {
  type Sized = { item: T; order: number; bytes: number };
  const groups = Array.from({ length: Math.max(1, Math.min(n, items.length)) }, () => ({ members: [] as Sized[], bytes: 0 }));
  const sized = items.map((item, order) => ({ item, order, bytes: bytes(item) }));
  for (const s of [...sized].sort((a, b) => b.bytes - a.bytes || a.order - b.order)) {
    const lightest = groups.reduce((a, b) => (b.bytes < a.bytes ? b : a));
    lightest.members.push(s);
    lightest.bytes += s.bytes;
  }
  // within a group the files keep the order they were queued in
  return groups.filter((g) => g.members.length).map((g) => g.members.sort((a, b) => a.order - b.order).map((s) => s.item));
}

function fileBytes(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0; // storeFiles reports the missing file
  }
}

type AssociationOutcome = { results: StoreResult[]; started: number } | { problem: string };

/** A destination's PEM files, read at each round so renewed certificates are picked up. */
function tlsFiles(dest: DestinationConfig): { ca?: Buffer; key?: Buffer; cert?: Buffer } | undefined {
  if (!dest.tls.enabled) return undefined;
  const read = (f?: string) => (f ? readFileSync(f) : undefined);
  return { ca: read(dest.tls.caFile), key: read(dest.tls.keyFile), cert: read(dest.tls.certFile) };
}

export class Deliverer {
  private readonly now: () => number;

  constructor(private readonly d: DelivererDeps) {
    this.now = d.now ?? Date.now;
  }

  /** One round over what is due. Returns the number of deliveries attempted. */
  async runOnce(): Promise<number> {
    const due = this.d.queue.dueDeliveries(200);
    const byDestination = new Map<string, Delivery[]>();
    for (const item of due) byDestination.set(item.destination, [...(byDestination.get(item.destination) ?? []), item]);
    for (const [name, items] of byDestination) await this.deliverTo(name, items);
    return due.length;
  }

  private async deliverTo(name: string, items: Delivery[]): Promise<void> {
    if (name === FOLDER_DESTINATION) {
      for (const item of items) await this.toFolder(item);
      return;
    }
    const dest = this.d.config.destinations.find((x) => x.name === name);
    if (!dest) {
      for (const item of items) this.failed(item, `destination "${name}" is no longer in delivery.destinations`, true);
      return;
    }
    await this.toArchive(dest, items);
  }

  private async toArchive(dest: DestinationConfig, items: Delivery[]): Promise<void> {
    const groups = splitBySize(items, (i) => fileBytes(i.path), this.d.config.associationsPerDestination);
    const runs = await Promise.all(groups.map(async (group) => ({ group, run: await this.onOneAssociation(dest, group) })));
    const refused = runs.filter((r) => 'problem' in r.run);
    for (const { group, run } of runs) if (!('problem' in run)) this.settle(group, run);
    // The archive took some associations but not all at once (a limit per sender): what it
    // refused goes now, one association after the other, instead of waiting for a retry.
    const tookSome = refused.length < runs.length;
    for (const { group, run } of refused) this.settle(group, tookSome ? await this.onOneAssociation(dest, group) : run);
  }

  /** One association: the results per file, or why there was no association at all. */
  private async onOneAssociation(dest: DestinationConfig, items: Delivery[]): Promise<AssociationOutcome> {
    const started = this.now();
    let results: StoreResult[];
    try {
      results = await (this.d.store ?? storeFiles)(
        { aeTitle: dest.aeTitle, host: dest.host, port: dest.port },
        items.map((i) => i.path),
        { callingAe: this.d.config.callingAeTitle, timeoutMs: this.d.config.timeoutS * 1000, tls: tlsFiles(dest) },
      );
    } catch (err) {
      return { problem: (err as Error).message };
    }
    return { results, started };
  }

  private settle(items: Delivery[], outcome: AssociationOutcome): void {
    if ('problem' in outcome) {
      for (const item of items) this.failed(item, outcome.problem);
      return;
    }
    outcome.results.forEach((r, i) => (r.outcome === 'failure' ? this.failed(items[i], withFix(r)) : this.delivered(items[i], outcome.started)));
  }

  private async toFolder(item: Delivery): Promise<void> {
    const started = this.now();
    try {
      const job = this.d.queue.get(item.jobId);
      const dir = join(this.d.config.folder!, job?.studyInstanceUid ?? 'unknown-study');
      await mkdir(dir, { recursive: true });
      const target = join(dir, `${item.sopInstanceUid}.dcm`);
      const temp = `${target}.part`;
      await copyFile(item.path, temp);
      const fh = await open(temp, 'r+');
      await fh.sync().finally(() => fh.close());
      await rename(temp, target);
      this.delivered(item, started);
    } catch (err) {
      this.failed(item, `cannot write to the results folder (delivery.folder): ${(err as Error).message}`);
    }
  }

  private delivered(item: Delivery, started: number): void {
    const job = this.d.queue.markDelivered(item.id);
    this.d.events?.delivered?.(item.destination, (this.now() - started) / 1000);
    this.d.log.info('delivered', { job: item.jobId, destination: item.destination, sopInstanceUid: item.sopInstanceUid });
    if (job && job.state !== 'sending') this.d.events?.settled?.(job);
  }

  private failed(item: Delivery, error: string, final = false): void {
    const attempt = item.attempts + 1;
    const giveUp = final || attempt >= this.d.config.maxAttempts;
    const retryAt = giveUp ? undefined : this.now() + backoffSeconds(this.d.config, attempt) * 1000;
    const job = this.d.queue.markAttemptFailed(item.id, error, retryAt);
    this.d.events?.attemptFailed?.(item.destination);
    const meta = { job: item.jobId, destination: item.destination, sopInstanceUid: item.sopInstanceUid, attempt };
    if (giveUp) this.d.log.error(`delivery failed for good after ${attempt} attempt(s): ${error}`, meta);
    else this.d.log.warn(`delivery attempt failed, retrying in ${(retryAt! - this.now()) / 1000} s: ${error}`, meta);
    if (job && job.state !== 'sending') this.d.events?.settled?.(job);
  }
}
