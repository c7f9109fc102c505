import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNode, type RunningNode } from '../src/pipeline/node.js';
import { captureLogger } from './helpers/inference.js';
import { runAsync, testConfig, waitForJobs, writeFixtures } from './helpers/node.js';

/**
 * Observers cannot break what they observe: hooks that throw (a metric with a wrong label)
 * leave the C-STORE answer Success and the job done, and are logged.
 */
let work: string;
let node: RunningNode;
const { log, lines } = captureLogger();
const boom = () => {
  throw new Error('observer broke');
};

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'jointscore-observers-'));
  node = await startNode(testConfig(join(work, 'data')), log, {
    scp: { object: boom, association: boom },
    worker: { analysed: boom, skipped: boom },
    delivery: { delivered: boom, settled: boom },
    received: boom,
  });
}, 120_000);

afterAll(async () => {
  await node?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('observers that throw', () => {
  it('leave the C-STORE answered Success and the job done, with a warning naming the hook', async () => {
    const files = await writeFixtures(join(work, 'in'), ['hand-left-m2-explicit']);
    const r = await runAsync('storescu', ['-aec', 'JOINTSCORE', '127.0.0.1', String(node.port), files['hand-left-m2-explicit']]);
    expect(r.status, r.stderr).toBe(0);
    const [job] = await waitForJobs(() => node.queue.list(), 1, 120_000);
    expect(job.state).toBe('done');
    const warned = lines.filter((l) => l.level === 'warn' && /an observer of .* failed/.test(l.message)).map((l) => l.message);
    for (const hook of ['scp.object', 'scp.association', 'worker.analysed', 'delivery.delivered', 'node.received']) {
      expect(warned.some((m) => m.includes(hook)), hook).toBe(true);
    }
  }, 180_000);
});
