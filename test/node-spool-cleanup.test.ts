import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAsync, startTestNode, testConfig, waitForJobs, writeFixtures, type TestNode } from './helpers/node.js';
import { startNode } from '../src/pipeline/node.js';
import { JobQueue } from '../src/store/queue.js';
import { captureLogger } from './helpers/inference.js';

/**
 * The spool holds what is still to be read: a job that ends done with nothing to send (no
 * hand, reportNoHand false) leaves no file behind, and a resend of an image already done
 * leaves no second copy. Run through scripts/test.sh.
 */
let work: string;
let node: TestNode;
let files: Record<string, string>;

const spooled = () => readdirSync(join(node.dataDir, 'spool'), { recursive: true }).filter((f) => String(f).endsWith('.dcm'));
const send = (file: string) => runAsync('storescu', ['-aec', node.config.dimse.aeTitle, '127.0.0.1', String(node.node.port), file]);

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'jointscore-spool-'));
  files = await writeFixtures(join(work, 'in'), ['chest-not-a-hand', 'hand-left-m2-explicit']);
  node = await startTestNode((c) => {
    c.selection.bodyParts = [];
  });
}, 120_000);

afterAll(async () => {
  await node?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('spool clean-up', () => {
  it('removes the source of a job done without results (no hand found)', async () => {
    expect((await send(files['chest-not-a-hand'])).status).toBe(0);
    const [job] = await waitForJobs(() => node.node.queue.list(), 1, 120_000);
    expect([job.state, job.reason]).toEqual(['done', 'no hand found: no results written']);
    for (let i = 0; i < 50 && existsSync(job.spoolPath); i++) await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(job.spoolPath)).toBe(false);
  }, 120_000);

  it('keeps no second copy of an image sent again once done', async () => {
    expect((await send(files['hand-left-m2-explicit'])).status).toBe(0);
    await waitForJobs(() => node.node.queue.list(), 2, 120_000);
    for (let i = 0; i < 50 && spooled().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(spooled()).toEqual([]);
    expect((await send(files['hand-left-m2-explicit'])).status).toBe(0);
    await new Promise((r) => setTimeout(r, 1000));
    expect(node.node.queue.list()).toHaveLength(2);
    expect(spooled()).toEqual([]);
  }, 120_000);

  it('removes at start-up the files of a job recorded done just before the process died (a failed job keeps its source)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'jointscore-leftovers-'));
    try {
      const objects = join(dataDir, 'spool', 'objects');
      mkdirSync(objects, { recursive: true });
      const q = new JobQueue(join(dataDir, 'queue.sqlite'));
      const made = ['1.2.826.0.1.3680043.10.1.1', '1.2.826.0.1.3680043.10.1.2'].map((uid) => {
        const spoolPath = join(objects, `${uid}.dcm`);
        writeFileSync(spoolPath, 'x');
        const { job } = q.enqueue({ sopInstanceUid: uid, modelVersion: 'm', sopClassUid: '1.2.840.10008.5.1.4.1.1.1.1', transferSyntaxUid: '1.2.840.10008.1.2.1', callingAe: 'A', spoolPath });
        q.claimNext();
        mkdirSync(join(dataDir, 'results-work', String(job.id)), { recursive: true });
        return job;
      });
      q.setState(made[0].id, 'done');
      q.setState(made[1].id, 'failed', 'analyse: a test');
      q.close();
      const { log } = captureLogger();
      const running = await startNode(testConfig(dataDir), log);
      try {
        expect(existsSync(made[0].spoolPath)).toBe(false);
        expect(existsSync(join(dataDir, 'results-work', String(made[0].id)))).toBe(false);
        expect(existsSync(made[1].spoolPath)).toBe(true);
      } finally {
        await running.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
