import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPart10 } from '../src/dicom/part10.js';

import { dciodvfy } from './helpers/dicom-tools.js';
import { runAsync, startTestNode, waitForJobs, writeFixtures, type TestNode } from './helpers/node.js';
import { isNoHandReport } from './helpers/sr-reader.js';

/**
 * analysis.reportNoHand: true, end to end. The chest fixture is let through the selection
 * (no modality or body part rule), the models find no hand in it, and the node files one SR
 * saying so into the results folder. Run through scripts/test.sh (loopback-only namespace).
 */

let work: string;
let chest: string;
let node: TestNode;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'jointscore-node-no-hand-'));
  chest = (await writeFixtures(join(work, 'in'), ['chest-not-a-hand']))['chest-not-a-hand'];
  node = await startTestNode((c) => {
    c.analysis.reportNoHand = true;
    c.selection.bodyParts = [];
    c.selection.modalities = [];
  });
}, 120_000);

afterAll(async () => {
  await node?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('an image without a hand, with analysis.reportNoHand: true', () => {
  it('ends done, "no hand found: reported", with one valid SR in the results folder', async () => {
    const sent = await runAsync('storescu', ['-aet', 'MODALITY', '-aec', node.config.dimse.aeTitle, '127.0.0.1', String(node.node.port), chest]);
    expect(sent.status, sent.stderr).toBe(0);

    const [job] = await waitForJobs(() => node.node.queue.list(), 1, 120_000);
    expect([job.state, job.reason]).toEqual(['done', 'no hand found: reported']);

    const source = readPart10(readFileSync(chest)).dataset;
    const folder = join(node.config.delivery.folder!, String(source.StudyInstanceUID));
    const files = readdirSync(folder);
    expect(files).toHaveLength(1);
    const file = join(folder, files[0]);
    const sr = readPart10(readFileSync(file)).dataset;
    expect(sr.SOPClassUID).toBe('1.2.840.10008.5.1.4.1.1.88.34');
    expect(sr.StudyInstanceUID).toBe(source.StudyInstanceUID);
    expect(isNoHandReport(sr)).toBe(true);
    const { errors, output } = dciodvfy(file);
    expect(errors, output).toEqual([]);
    expect(node.lines.some((l) => l.message === 'no hand found: sending an SR that says so')).toBe(true);
  }, 180_000);
});
