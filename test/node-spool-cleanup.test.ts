import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAsync, startTestNode, waitForJobs, writeFixtures, type TestNode } from './helpers/node.js';

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
});
