import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import type { NodeConfig } from '../config/types.js';
import { readPart10 } from '../dicom/part10.js';
import { startScp, type PeerInfo, type RunningScp, type ScpEvents } from '../dimse/scp.js';
import { loadModels, type Models } from '../inference/models.js';
import type { Logger } from '../observability/logger.js';
import { guardObservers } from '../observability/observers.js';
import { JobQueue, type Job } from '../store/queue.js';
import { Spool, type SpooledObject } from '../store/spool.js';
import { Deliverer, destinationNames, type DeliveryEvents } from './delivery.js';
import { analysisPolicy } from './analyse-object.js';
import { analysisVersionOf, Worker, type WorkerEvents } from './worker.js';

/**
 * The running node: spool + queue + SCP + worker + delivery, wired together.
 *
 * Two loops run on the event loop: the worker (one job at a time: analysis is CPU-bound and
 * onnxruntime already uses every core) and the delivery loop (drains the outbox). Each
 * sleeps until it is woken by new work or its next due time, so an idle node costs nothing
 * and a received image starts at once.
 */
export interface NodeHooks {
  scp?: ScpEvents;
  worker?: WorkerEvents;
  delivery?: DeliveryEvents;
  received?(outcome: 'new' | 'requeued' | 'duplicate'): void;
}

export interface RunningNode {
  port: number;
  queue: JobQueue;
  models: Models;
  modelVersion: string;
  /** why the node does not take objects now (stopping, disk below dimse.minFreeDiskMb); empty once the SCP listens and the models are loaded */
  notReady(): string[];
  /** bytes free on the disk holding the spool */
  diskFreeBytes(): number;
  /** what is wrong, if the loops have stalled */
  health(): string[];
  /** DICOM associations open now */
  associations(): number;
  stop(): Promise<void>;
}

class Wakeable {
  private waiter: (() => void) | undefined;
  private pending = false;

  wake(): void {
    this.pending = true;
    this.waiter?.();
  }

  /** Sleeps `ms` or until woken (a wake before the sleep is not lost). */
  sleep(ms: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(t);
        self.waiter = undefined;
        self.pending = false;
        resolve();
      }
      this.waiter = done;
    });
  }
}

export const LOOP_IDLE_MS = 1000;
/** After the queue failed under the worker (disk full), the next try. */
export const WORKER_RETRY_MS = 2000;

export async function startNode(config: NodeConfig, log: Logger, observers: NodeHooks = {}): Promise<RunningNode> {
  const hooks = guardedHooks(observers, log);
  const spool = new Spool(join(config.dataDir, 'spool'));
  const queue = new JobQueue(join(config.dataDir, 'queue.sqlite'));
  const resultsDir = join(config.dataDir, 'results-work');
  // libvips keeps recent operations for reuse; a node never draws the same picture twice
  // (bench/analysis-memory.mjs: the difference is within its run-to-run spread of ~20 MB)
  sharp.cache(false);
  const models = await loadModels(config.analysis.modelsDir, { provider: config.analysis.provider, log });
  const modelVersion = analysisVersionOf(models);
  const reset = queue.recover(config.analysis.maxAnalyses);
  if (reset) log.info('resuming jobs interrupted by a restart', { jobs: reset });

  const work = new Wakeable();
  const outbox = new Wakeable();
  const enqueue = receiver(queue, modelVersion, hooks, log, () => work.wake());
  tidySpool(spool, queue, resultsDir, enqueue, log);

  const worker = new Worker({
    queue,
    models,
    selection: config.selection,
    policy: analysisPolicy(config.analysis),
    limits: config.analysis,
    destinations: destinationNames(config.delivery),
    resultsDir,
    log,
    events: hooks.worker,
    finished: (job) => cleanUp(job, resultsDir),
  });
  const settle = async (job: Job) => {
    hooks.delivery?.settled?.(job);
    if (job.state === 'done') await cleanUp(job, resultsDir);
  };
  const deliverer = new Deliverer({
    queue,
    config: config.delivery,
    log,
    events: { ...hooks.delivery, settled: (job) => void settle(job) },
  });

  const sweep = () => sweepSkipped(queue, config.selection.skippedRetentionHours, log);
  sweep();
  const sweeper = setInterval(sweep, SWEEP_INTERVAL_MS);
  sweeper.unref();
  const loops = runLoops(worker, deliverer, queue, work, outbox, log);
  const stopLoops = async () => {
    clearInterval(sweeper);
    await loops.stop();
  };

  let scp: RunningScp;
  try {
    scp = await startScp({
      config: config.dimse,
      spool,
      log,
      events: hooks.scp,
      receiver: { stored: (obj: SpooledObject, peer: PeerInfo) => enqueue(obj, peer.callingAe) },
    });
  } catch (err) {
    await stopLoops();
    queue.close();
    throw err;
  }
  log.info('listening', { aeTitle: config.dimse.aeTitle, port: scp.port, modelVersion, destinations: destinationNames(config.delivery) });

  return {
    port: scp.port,
    associations: () => scp.associations(),
    queue,
    models,
    modelVersion,
    notReady: () => {
      if (loops.stopping()) return ['stopping'];
      const low = spool.belowFreeMark(config.dimse.minFreeDiskMb);
      return low ? [`disk low: ${low}; C-STOREs are answered A700`] : [];
    },
    diskFreeBytes: () => spool.freeBytes(),
    health: () => loops.health(),
    stop: async () => {
      loops.beginStop();
      await scp.close();
      await stopLoops();
      queue.close();
    },
  };
}

/** The caller's observers, each guarded so that one that throws cannot stop the node. */
function guardedHooks(observers: NodeHooks, log: Logger): NodeHooks {
  return {
    ...guardObservers({ received: observers.received }, log, 'node'),
    scp: guardObservers(observers.scp, log, 'scp'),
    worker: guardObservers(observers.worker, log, 'worker'),
    delivery: guardObservers(observers.delivery, log, 'delivery'),
  };
}

/** What the SCP calls with each object stored: a job for it (or none, for one already done), and the worker woken. */
function receiver(queue: JobQueue, modelVersion: string, hooks: NodeHooks, log: Logger, wake: () => void) {
  return (obj: SpooledObject, callingAe: string): void => {
    const { job, outcome } = queue.enqueue({ ...obj, spoolPath: obj.path, modelVersion, callingAe });
    hooks.received?.(outcome);
    if (outcome === 'duplicate') {
      log.info('already received: no new job', { job: job.id, sopInstanceUid: obj.sopInstanceUid, state: job.state });
      // a done job's source was removed when it settled: this new copy has no use, and
      // nothing else would ever remove it (an unfinished job still reads the same path)
      if (job.state === 'done') rmSync(obj.path, { force: true });
    }
    wake();
  };
}

/** The worker and delivery loops, running until stopped, with their heartbeats. */
interface Loops {
  stopping(): boolean;
  /** what is wrong, if a loop has stalled or the queue failed under the worker */
  health(): string[];
  /** no new round starts (the SCP may still be closing) */
  beginStop(): void;
  /** ends both loops once their current round is over */
  stop(): Promise<void>;
}

function runLoops(worker: Worker, deliverer: Deliverer, queue: JobQueue, work: Wakeable, outbox: Wakeable, log: Logger): Loops {
  let stopping = false;
  const beats = { worker: Date.now(), delivery: Date.now() };
  let workerTrouble: string | undefined;
  const workerLoop = (async () => {
    while (!stopping) {
      beats.worker = Date.now();
      try {
        if (await worker.processNext()) outbox.wake();
        else await work.sleep(LOOP_IDLE_MS);
        workerTrouble = undefined;
      } catch (err) {
        // the queue itself failed (disk full: SQLITE_FULL, a read-only disk): the node keeps
        // receiving what it can and tries again, instead of dying with jobs half-recorded
        workerTrouble = `worker: ${(err as Error).message}`;
        log.error(`worker could not record a job's progress, trying again in ${WORKER_RETRY_MS / 1000} s: ${(err as Error).message}`);
        await work.sleep(WORKER_RETRY_MS);
      }
    }
  })();
  const deliveryLoop = (async () => {
    while (!stopping) {
      beats.delivery = Date.now();
      await deliverer.runOnce().catch((err: Error) => log.error(`delivery round failed: ${err.message}`));
      const next = queue.nextDeliveryAt();
      await outbox.sleep(next === undefined ? LOOP_IDLE_MS : Math.max(50, Math.min(LOOP_IDLE_MS, next - Date.now())));
    }
  })();
  return {
    stopping: () => stopping,
    health: () => {
      // a single analysis takes seconds; a minute without a heartbeat means a loop is stuck
      const stale = Object.entries(beats).filter(([, t]) => Date.now() - t > 120_000);
      const reasons = stale.map(([name]) => `${name} loop has not run for ${Math.round((Date.now() - beats[name as keyof typeof beats]) / 1000)} s`);
      return workerTrouble ? [...reasons, workerTrouble] : reasons;
    },
    beginStop: () => {
      stopping = true;
    },
    stop: async () => {
      stopping = true;
      work.wake();
      outbox.wake();
      await Promise.all([workerLoop, deliveryLoop]);
    },
  };
}

export const SWEEP_INTERVAL_MS = 10 * 60_000;

/** Skipped objects stay in the spool for `selection.skippedRetentionHours`, for a look, then go. */
function sweepSkipped(queue: JobQueue, hours: number, log: Logger): void {
  const old = queue.list({ states: ['skipped'], olderThan: Date.now() - hours * 3_600_000, limit: 10_000 });
  let removed = 0;
  for (const job of old) {
    if (!existsSync(job.spoolPath)) continue;
    rmSync(job.spoolPath, { force: true });
    removed++;
  }
  if (removed) log.info('removed skipped objects from the spool', { removed, retentionHours: hours });
}

/** The source file and working results of a delivered job: the archive has them now. */
async function cleanUp(job: Job, resultsDir: string): Promise<void> {
  await rm(job.spoolPath, { force: true });
  await rm(join(resultsDir, String(job.id)), { recursive: true, force: true });
}

/**
 * The spool and results folders as a crash left them, made right once at start-up, one pass:
 * - a spool file without a job was stored durably, then the process died before the queue
 *   recorded it (the sender got no Success and will resend, but nothing is lost if it does
 *   not): it is queued as if just received;
 * - a job recorded done whose files are still there died between the state change and their
 *   removal: they are removed, as they would have been.
 */
function tidySpool(spool: Spool, queue: JobQueue, resultsDir: string, enqueue: (obj: SpooledObject, callingAe: string) => void, log: Logger): void {
  let removed = 0;
  for (const path of spool.listObjects()) {
    const job = queue.findBySpoolPath(path);
    if (job?.state === 'done') {
      rmSync(path, { force: true });
      removed++;
    } else if (!job) adoptOrphan(path, enqueue, log);
  }
  for (const name of existsSync(resultsDir) ? readdirSync(resultsDir) : []) {
    if (!/^\d+$/.test(name) || queue.get(Number(name))?.state !== 'done') continue;
    rmSync(join(resultsDir, name), { recursive: true, force: true });
    removed++;
  }
  if (removed) log.info('removed the files of jobs done before a restart', { files: removed });
}

function adoptOrphan(path: string, enqueue: (obj: SpooledObject, callingAe: string) => void, log: Logger): void {
  try {
    const { meta } = readPart10(new Uint8Array(readFileSync(path)));
    enqueue(
      {
        path,
        bytes: 0,
        sopClassUid: String(meta.MediaStorageSOPClassUID),
        sopInstanceUid: String(meta.MediaStorageSOPInstanceUID),
        transferSyntaxUid: String(meta.TransferSyntaxUID),
      },
      String(meta.SourceApplicationEntityTitle ?? '').trim() || 'unknown',
    );
    log.info('queued a spooled object that had no job (stored before a crash)', { file: path });
  } catch (err) {
    log.error(`cannot read a spooled object, left in place: ${(err as Error).message}`, { file: path });
  }
}
