import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAsync, startTestNode, waitForJobs, writeFixtures, type TestNode } from './helpers/node.js';

/**
 * The queue failing under the worker (SQLITE_FULL when the disk fills) must not end the
 * node: it says so in its health, keeps answering, and carries on once the queue works again.
 */
let work: string;
let node: TestNode;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'jointscore-queue-failure-'));
  node = await startTestNode();
}, 120_000);

afterAll(async () => {
  await node?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('the queue failing under the worker', () => {
  it('is reported in health, the node stays up, and the job is done once the queue works again', async () => {
    const files = await writeFixtures(join(work, 'in'), ['hand-left-m2-explicit']);
    const queue = node.node.queue;
    const claim = queue.claimNext.bind(queue);
    queue.claimNext = () => {
      throw new Error('SqliteError: database or disk is full');
    };
    const sent = await runAsync('storescu', ['-aec', 'JOINTSCORE', '127.0.0.1', String(node.node.port), files['hand-left-m2-explicit']]);
    expect(sent.status, sent.stderr).toBe(0);
    await new Promise((r) => setTimeout(r, 1500));
    expect(node.node.health().join(' ')).toMatch(/worker: SqliteError: database or disk is full/);
    const echo = await runAsync('echoscu', ['-aec', 'JOINTSCORE', '127.0.0.1', String(node.node.port)]);
    expect(echo.status, echo.stderr).toBe(0);
    queue.claimNext = claim;
    const [job] = await waitForJobs(() => queue.list(), 1, 120_000);
    expect(job.state).toBe('done');
    expect(node.node.health()).toEqual([]);
  }, 180_000);

  it('puts back a job the disk filled under mid-analysis, instead of leaving it claimed or failing it, and does it once there is room', async () => {
    const files = await writeFixtures(join(work, 'in2'), ['hand-right-m1-explicit']);
    const queue = node.node.queue;
    const setState = queue.setState.bind(queue);
    const putBack = queue.putBack.bind(queue);
    let full = true;
    const diskFull = () => Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    // the job is claimed, then the disk is full when its progress is recorded, and while full
    // the put-back cannot be recorded either
    queue.setState = (...args) => {
      if (full) throw diskFull();
      setState(...args);
    };
    queue.putBack = (...args) => {
      if (full) throw diskFull();
      putBack(...args);
    };
    const sent = await runAsync('storescu', ['-aec', 'JOINTSCORE', '127.0.0.1', String(node.node.port), files['hand-right-m1-explicit']]);
    expect(sent.status, sent.stderr).toBe(0);
    await new Promise((r) => setTimeout(r, 3000));
    const [claimed] = queue.list({ states: ['analysing', 'reporting'] });
    expect(claimed?.sopInstanceUid).toBeDefined();
    full = false;
    const jobs = await waitForJobs(() => queue.list(), 2, 60_000);
    const job = jobs.find((j) => j.id === claimed.id)!;
    expect(job.state).toBe('done');
    expect(node.lines.some((l) => l.message === 'job put back after the disk was full')).toBe(true);
    queue.setState = setState;
    queue.putBack = putBack;
  }, 120_000);
});
