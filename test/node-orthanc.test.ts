import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPart10 } from '../src/dicom/part10.js';
import { startNodeBesideOrthanc, waitForJobs, writeFixtures, type TestNode } from './helpers/node.js';
import { waitForSeries, type OrthancPeer } from './helpers/orthanc.js';

/**
 * Orthanc as the PACS, the node in this process: the radiograph is uploaded to Orthanc over
 * REST, Orthanc routes it to the node by C-STORE (POST /modalities/JOINTSCORE/store), and
 * the node sends its SR, overlay (Secondary Capture, modality OT) and presentation state
 * back to Orthanc, which must file them as new series of the radiograph's study. A second
 * routing of the same instance must leave exactly one copy of each result.
 *
 * Run through scripts/test.sh (loopback-only network namespace): Orthanc binds every interface.
 */

const FIXTURE = 'hand-left-m2-explicit';
const SR_CLASS = '1.2.840.10008.5.1.4.1.1.88.34'; // Comprehensive 3D SR
const SC_CLASS = '1.2.840.10008.5.1.4.1.1.7'; // Secondary Capture
const PR_CLASS = '1.2.840.10008.5.1.4.1.1.11.1'; // Grayscale Softcopy Presentation State

let work: string;
let dicomFile: string;
let orthanc: OrthancPeer | undefined;
let node: TestNode | undefined;
let instanceId: string;
let studyId: string;

function pacs(): OrthancPeer {
  if (!orthanc) throw new Error('Orthanc did not start (see the beforeAll error)');
  return orthanc;
}
function jointscore(): TestNode {
  if (!node) throw new Error('the node did not start (see the beforeAll error)');
  return node;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the node did, for an error when the results do not arrive. */
function nodeSide(): string {
  const jobs = jointscore().node.queue.list();
  const deliveries = jobs.flatMap((j) => jointscore().node.queue.deliveriesOf(j.id));
  return (
    `jobs: ${JSON.stringify(jobs.map((j) => [j.id, j.state, j.reason]))}\n` +
    `deliveries: ${JSON.stringify(deliveries.map((d) => [d.state, d.attempts, d.lastError]))}\n` +
    `node log: ${jointscore().lines.slice(-20).map((l) => l.message).join(' | ')}`
  );
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'jointscore-node-orthanc-'));
  dicomFile = (await writeFixtures(join(work, 'in'), [FIXTURE]))[FIXTURE];
  ({ orthanc, node } = await startNodeBesideOrthanc());
}, 120_000);

afterAll(async () => {
  await node?.stop();
  await orthanc?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('Orthanc as the PACS: routes a radiograph to the node and receives the results', () => {
  it('files the SR, the overlay (OT) and the presentation state as new series beside the DX', async () => {
    const up = await pacs().upload(readFileSync(dicomFile));
    expect(up.Status, JSON.stringify(up)).toBe('Success');
    instanceId = up.ID;
    studyId = up.ParentStudy;

    const started = Date.now();
    await pacs().storeToModality('JOINTSCORE', [instanceId]);
    const series = await waitForSeries(pacs(), studyId, ['DX', 'SR', 'OT', 'PR'], 90_000, nodeSide);
    console.info(`node-orthanc: results in Orthanc ${((Date.now() - started) / 1000).toFixed(1)} s after the C-STORE to the node`);

    expect(series.map((s) => s.MainDicomTags.Modality).sort()).toEqual(['DX', 'OT', 'PR', 'SR']);
    const source = readPart10(readFileSync(dicomFile)).dataset;
    const byModality = Object.fromEntries(series.map((s) => [s.MainDicomTags.Modality, s]));
    const tags = Object.fromEntries(
      await Promise.all(Object.entries(byModality).map(async ([m, s]) => {
        expect(s.Instances, m).toHaveLength(1);
        return [m, await pacs().instanceTags(s.Instances[0])] as const;
      })),
    );
    for (const m of ['SR', 'OT', 'PR']) {
      expect(tags[m].StudyInstanceUID, m).toBe(source.StudyInstanceUID);
      expect(tags[m].PatientID, m).toBe(source.PatientID);
      expect(tags[m].SeriesInstanceUID, m).not.toBe(source.SeriesInstanceUID);
      expect(tags[m].Modality, m).toBe(m);
    }
    expect(tags.DX.SOPInstanceUID).toBe(source.SOPInstanceUID);
    expect(tags.SR.SOPClassUID).toBe(SR_CLASS);
    expect(tags.OT.SOPClassUID).toBe(SC_CLASS);
    expect(tags.PR.SOPClassUID).toBe(PR_CLASS);
    // the machine-made notice is in the SR's content tree
    expect(JSON.stringify(tags.SR.ContentSequence)).toMatch(/Machine-generated result \(.+\).*Not verified by a physician/);

    // the node's side: one job, done, its three deliveries are what Orthanc holds
    const [job] = await waitForJobs(() => jointscore().node.queue.list(), 1, 30_000);
    expect([job.state, job.reason]).toEqual(['done', null]);
    expect(job.callingAe).toBe('ORTHANC');
    const deliveries = jointscore().node.queue.deliveriesOf(job.id);
    expect(deliveries.map((d) => [d.destination, d.state, d.attempts])).toEqual(deliveries.map(() => ['ORTHANC', 'delivered', 1]));
    expect(new Set(deliveries.map((d) => d.sopInstanceUid))).toEqual(new Set([tags.SR.SOPInstanceUID, tags.OT.SOPInstanceUID, tags.PR.SOPInstanceUID]));
  }, 150_000);

  it('routing the same instance again makes no second job and leaves one copy of each result', async () => {
    const before = await pacs().get('/statistics');
    expect(before.CountInstances).toBe(4);

    await pacs().storeToModality('JOINTSCORE', [instanceId]);
    // the node acknowledges the resend as a duplicate ...
    const until = Date.now() + 10_000;
    while (!jointscore().lines.some((l) => l.message === 'already received: no new job')) {
      if (Date.now() > until) throw new Error(`no "already received" log line: ${jointscore().lines.map((l) => l.message).join(' | ')}`);
      await sleep(100);
    }
    // ... and sends nothing more: give a wrong re-send time to arrive (back-off is 1-2 s)
    await sleep(4000);

    const jobs = jointscore().node.queue.list();
    expect(jobs).toHaveLength(1);
    expect(jobs[0].state).toBe('done');
    expect(jointscore().node.queue.deliveriesOf(jobs[0].id).map((d) => d.attempts)).toEqual([1, 1, 1]);
    const series = await pacs().seriesOfStudy(studyId);
    expect(series.map((s) => [s.MainDicomTags.Modality, s.Instances.length]).sort()).toEqual([['DX', 1], ['OT', 1], ['PR', 1], ['SR', 1]]);
    const after = await pacs().get('/statistics');
    expect([after.CountStudies, after.CountSeries, after.CountInstances]).toEqual([1, 4, 4]);
  }, 60_000);
});
