import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../src/config/defaults.js';
import { DimseError, type StoreResult } from '../src/dimse/scu.js';
import { Deliverer, splitBySize } from '../src/pipeline/delivery.js';
import { JobQueue } from '../src/store/queue.js';
import { captureLogger } from './helpers/inference.js';

/**
 * The deliverer without sockets: an in-memory queue and a fake C-STORE SCU at its seam, a
 * clock the test moves. Back-off, retry, success, and giving up after delivery.maxAttempts.
 */
const dir = mkdtempSync(join(tmpdir(), 'jointscore-delivery-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function setUp(answers: ('ok' | 'A700')[]) {
  let t = 0;
  const queue = new JobQueue(':memory:', () => t);
  const { job } = queue.enqueue({ sopInstanceUid: '1.2.3', modelVersion: 'm', sopClassUid: '1.2', transferSyntaxUid: '1.2.840.10008.1.2.1', callingAe: 'A', spoolPath: join(dir, 'src.dcm') });
  queue.claimNext();
  const file = join(dir, 'sr.dcm');
  writeFileSync(file, 'x');
  queue.startSending(job.id, [{ destination: 'PACS', sopInstanceUid: '9.9', path: file }], null);
  const calls: number[] = [];
  const store = async (_peer: unknown, files: string[]): Promise<StoreResult[]> => {
    calls.push(t);
    const a = answers.shift() ?? 'ok';
    return files.map((f) => (a === 'ok' ? { file: f, outcome: 'success', status: 0, message: 'Success' } : { file: f, outcome: 'failure', status: 0xa700, message: 'status A700 (out of resources)' }));
  };
  const config = {
    ...DEFAULT_CONFIG.delivery,
    destinations: [{ name: 'PACS', aeTitle: 'PACS', host: '127.0.0.1', port: 104, tls: { enabled: false, requireClientCert: false } }],
    initialBackoffS: 5, maxBackoffS: 60, maxAttempts: 3,
  };
  const { log } = captureLogger();
  const deliverer = new Deliverer({ queue, config, log, now: () => t, store: store as never });
  return { queue, job, deliverer, calls, advance: (s: number) => (t += s * 1000) };
}

describe('delivery without sockets', () => {
  it('retries a refused store with exponential back-off and ends done once the archive takes it', async () => {
    const { queue, job, deliverer, calls, advance } = setUp(['A700', 'A700', 'ok']);
    await deliverer.runOnce();
    expect(queue.nextDeliveryAt()).toBe(5000);
    advance(4);
    expect(await deliverer.runOnce()).toBe(0); // not due yet
    advance(1);
    await deliverer.runOnce();
    expect(queue.nextDeliveryAt()).toBe(5000 + 10_000);
    advance(10);
    await deliverer.runOnce();
    expect(calls).toEqual([0, 5000, 15_000]);
    expect(queue.get(job.id)!.state).toBe('done');
  });

  it('gives up after delivery.maxAttempts, failing the job with the status in its reason', async () => {
    const { queue, job, deliverer, advance } = setUp(['A700', 'A700', 'A700']);
    for (let i = 0; i < 3; i++) {
      await deliverer.runOnce();
      advance(60);
    }
    expect(queue.get(job.id)).toMatchObject({ state: 'failed', reason: expect.stringMatching(/A700/) });
  });
});

function threeResults(t: { now: number }) {
  const queue = new JobQueue(':memory:', () => t.now);
  const { job } = queue.enqueue({ sopInstanceUid: `1.2.${Math.random().toString().slice(2, 8)}`, modelVersion: 'm', sopClassUid: '1.2', transferSyntaxUid: '1.2.840.10008.1.2.1', callingAe: 'A', spoolPath: join(dir, 'src2.dcm') });
  queue.claimNext();
  const files = ['sr', 'sc', 'pr'].map((name, i) => {
    const path = join(dir, `${name}.dcm`);
    writeFileSync(path, Buffer.alloc(name === 'sc' ? 10_000 : 100 * (i + 1)));
    return { destination: 'PACS', sopInstanceUid: `9.${i}`, path };
  });
  queue.startSending(job.id, files, null);
  const config = {
    ...DEFAULT_CONFIG.delivery,
    destinations: [{ name: 'PACS', aeTitle: 'PACS', host: '127.0.0.1', port: 104, tls: { enabled: false, requireClientCert: false } }],
    associationsPerDestination: 2,
  };
  return { queue, job, config };
}

const ok = (paths: string[]): StoreResult[] => paths.map((f) => ({ file: f, outcome: 'success', status: 0, message: 'Success' }));

describe('sharing a round out among associations', () => {
  it('splits by bytes, largest first to the lightest group, keeping the queued order within a group', () => {
    const sizes: Record<string, number> = { sr: 220_000, sc: 14_500_000, pr: 8_000, sr2: 220_000, sc2: 14_500_000, pr2: 8_000 };
    const by = (x: string) => sizes[x];
    expect(splitBySize(['sr', 'sc', 'pr'], by, 2)).toEqual([['sc'], ['sr', 'pr']]);
    expect(splitBySize(['sr', 'sc', 'pr', 'sr2', 'sc2', 'pr2'], by, 2)).toEqual([['sr', 'sc', 'pr'], ['sr2', 'sc2', 'pr2']]);
    expect(splitBySize(['sr', 'sc', 'pr'], by, 1)).toEqual([['sr', 'sc', 'pr']]);
    expect(splitBySize(['sr', 'sc', 'pr'], by, 8)).toEqual([['sc'], ['sr'], ['pr']]);
    expect(splitBySize([], by, 2)).toEqual([]);
  });

  it('opens the associations at once and settles each file by its own association', async () => {
    const t = { now: 0 };
    const { queue, job, config } = threeResults(t);
    let open = 0;
    let most = 0;
    const groups: string[][] = [];
    const store = async (_peer: unknown, paths: string[]): Promise<StoreResult[]> => {
      groups.push(paths);
      most = Math.max(most, ++open);
      await new Promise((r) => setTimeout(r, 20));
      open--;
      // the association carrying the overlay is refused, the other one succeeds
      return paths.map((f) => (f.endsWith('sc.dcm') ? { file: f, outcome: 'failure', status: 0xa700, message: 'status A700' } : { file: f, outcome: 'success', status: 0, message: 'Success' }));
    };
    const { log } = captureLogger();
    await new Deliverer({ queue, config, log, now: () => t.now, store: store as never }).runOnce();
    expect(most).toBe(2);
    expect(groups.map((g) => g.map((f) => f.split('/').pop()))).toEqual([['sc.dcm'], ['sr.dcm', 'pr.dcm']]);
    expect(queue.get(job.id)!.state).toBe('sending');
    expect(queue.dueDeliveries(10)).toEqual([]);
    t.now += 10_000;
    expect(queue.dueDeliveries(10).map((d) => d.path.split('/').pop())).toEqual(['sc.dcm']);
  });

  it('sends what an archive taking one association at a time refused, in the same round, after the other', async () => {
    const t = { now: 0 };
    const { queue, job, config } = threeResults(t);
    let open = 0;
    const calls: string[][] = [];
    const store = async (_peer: unknown, paths: string[]): Promise<StoreResult[]> => {
      calls.push(paths.map((f) => f.split('/').pop()!));
      if (open > 0) throw new DimseError('association rejected by PACS@127.0.0.1:104: local limit exceeded (transient, by the service provider (presentation))');
      open++;
      await new Promise((r) => setTimeout(r, 20));
      open--;
      return ok(paths);
    };
    const { log } = captureLogger();
    await new Deliverer({ queue, config, log, now: () => t.now, store: store as never }).runOnce();
    expect(calls).toEqual([['sc.dcm'], ['sr.dcm', 'pr.dcm'], ['sr.dcm', 'pr.dcm']]);
    expect(queue.get(job.id)!.state).toBe('done');
  });

  it('does not knock twice on an archive that took no association: one failed attempt each, retried later', async () => {
    const t = { now: 0 };
    const { queue, job, config } = threeResults(t);
    let calls = 0;
    const store = async (): Promise<StoreResult[]> => {
      calls++;
      throw new DimseError('network error with 127.0.0.1:104 (PACS): connect ECONNREFUSED');
    };
    const { log } = captureLogger();
    await new Deliverer({ queue, config, log, now: () => t.now, store: store as never }).runOnce();
    expect(calls).toBe(2);
    expect(queue.get(job.id)!.state).toBe('sending');
    t.now += 5_000;
    expect(queue.dueDeliveries(10)).toHaveLength(3);
  });
});
