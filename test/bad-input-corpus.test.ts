import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPart10, writePart10, type NaturalDataset } from '../src/dicom/part10.js';
import type { JobState } from '../src/store/queue.js';
import { runAsync, startTestNode, waitForJobs, writeFixtures, type TestNode } from './helpers/node.js';
import { rawStore } from './helpers/raw-pdu.js';
import { deeplyNested, withPatientName } from './helpers/dx.js';

/**
 * A corpus of bad input, each case sent over the wire (DCMTK storescu) to a running node:
 * the sender gets an answer, the object ends in a state with a reason (or is refused with
 * one), the node keeps answering C-ECHO, and no patient identity reaches the log.
 * Cases are made from a valid phantom by editing its data set (dcmjs) or its bytes, and sent
 * as they are on a raw association (DCMTK's storescu refuses to send a truncated file).
 */
let work: string;
let node: TestNode;
let base: Buffer;
const TERMINAL: JobState[] = ['done', 'skipped', 'quarantined', 'failed'];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'jointscore-corpus-'));
  const files = await writeFixtures(join(work, 'in'), ['hand-left-m2-explicit']);
  base = readFileSync(files['hand-left-m2-explicit']);
  node = await startTestNode((c) => {
    c.analysis.maxPixels = 20_000_000;
  });
  mkdirSync(join(work, 'cases'));
}, 120_000);

afterAll(async () => {
  await node?.stop();
  rmSync(work, { recursive: true, force: true });
});

let serial = 0;
/** The valid fixture with its data set edited, under a fresh SOP Instance UID. */
function edited(edit: (ds: NaturalDataset) => void): Buffer {
  const { dataset } = readPart10(base);
  dataset.SOPInstanceUID = `1.2.826.0.1.3680043.10.999.77.${++serial}`;
  edit(dataset);
  return writePart10(dataset);
}

/** The valid fixture's bytes with a patch, under a fresh SOP Instance UID (same length, so offsets hold). */
function patched(patch: (bytes: Buffer) => Buffer): Buffer {
  return patch(Buffer.from(edited(() => undefined)));
}

const pixelDataAt = (b: Buffer) => b.lastIndexOf(Buffer.from([0xe0, 0x7f, 0x10, 0x00]));

type Expect = JobState | 'refused' | 'no new job' | 'any';

/** The data set ends right after the file meta: nothing but the header group. */
const metaOnly = (b: Buffer) => b.subarray(0, 144 + b.readUInt32LE(140));

let firstValid: Buffer | undefined;
const CASES: [name: string, make: () => Buffer, expect: Expect][] = [
  ['valid control', () => (firstValid = edited(() => undefined)), 'done'],
  ['the same UID again, other pixels', () => {
    const { dataset } = readPart10(firstValid!);
    dataset.PixelData = new Uint8Array((dataset.PixelData as ArrayBuffer[])[0].byteLength).fill(7).buffer;
    return writePart10(dataset);
  }, 'no new job'],
  ['data set with nothing but the file meta', () => patched(metaOnly), 'quarantined'],
  ['20 000 nested sequences', () => patched((b) => deeplyNested(b)), 'quarantined'],
  ['an SR document sent with the images', () => edited((ds) => Object.assign(ds, { SOPClassUID: '1.2.840.10008.5.1.4.1.1.88.34' })), 'skipped'],
  ['a presentation state', () => edited((ds) => Object.assign(ds, { SOPClassUID: '1.2.840.10008.5.1.4.1.1.11.1' })), 'skipped'],
  ['a key object selection', () => edited((ds) => Object.assign(ds, { SOPClassUID: '1.2.840.10008.5.1.4.1.1.88.59' })), 'skipped'],
  ['no Modality', () => edited((ds) => delete ds.Modality), 'skipped'],
  ['Bits Stored 0', () => edited((ds) => Object.assign(ds, { BitsStored: 0, HighBit: 0 })), 'quarantined'],
  ['photometric YBR_FULL on one sample', () => edited((ds) => Object.assign(ds, { PhotometricInterpretation: 'YBR_FULL' })), 'quarantined'],
  ['signed pixel representation', () => edited((ds) => Object.assign(ds, { PixelRepresentation: 1 })), 'any'],
  ['pixel spacing 0', () => edited((ds) => Object.assign(ds, { PixelSpacing: [0, 0], ImagerPixelSpacing: [0, 0] })), 'any'],
  ['pixel spacing negative', () => edited((ds) => Object.assign(ds, { PixelSpacing: [-0.2, -0.2] })), 'any'],
  ['Image Laterality "X"', () => edited((ds) => Object.assign(ds, { ImageLaterality: 'X' })), 'any'],
  ['Columns 1', () => edited((ds) => Object.assign(ds, { Columns: 1 })), 'any'],
  ['cut off in the pixel data', () => patched((b) => b.subarray(0, b.length - 5000)), 'quarantined'],
  ['cut off right after the pixel data tag', () => patched((b) => b.subarray(0, pixelDataAt(b) + 12)), 'quarantined'],
  ['no pixel data', () => edited((ds) => delete ds.PixelData), 'quarantined'],
  ['Rows x Columns far more than the data', () => edited((ds) => Object.assign(ds, { Rows: 4000, Columns: 4000 })), 'quarantined'],
  ['Rows x Columns over analysis.maxPixels', () => edited((ds) => Object.assign(ds, { Rows: 6000, Columns: 6000 })), 'quarantined'],
  ['Rows 0', () => edited((ds) => Object.assign(ds, { Rows: 0 })), 'quarantined'],
  ['Bits Allocated 32', () => edited((ds) => Object.assign(ds, { BitsAllocated: 32 })), 'quarantined'],
  ['Bits Allocated 1', () => edited((ds) => Object.assign(ds, { BitsAllocated: 1, BitsStored: 1, HighBit: 0 })), 'quarantined'],
  ['three samples per pixel', () => edited((ds) => Object.assign(ds, { SamplesPerPixel: 3, PhotometricInterpretation: 'RGB', PlanarConfiguration: 0 })), 'quarantined'],
  ['palette colour', () => edited((ds) => Object.assign(ds, { PhotometricInterpretation: 'PALETTE COLOR' })), 'quarantined'],
  ['a million frames', () => edited((ds) => Object.assign(ds, { NumberOfFrames: 1_000_000 })), 'quarantined'],
  ['Bits Stored above Bits Allocated', () => edited((ds) => Object.assign(ds, { BitsStored: 20, HighBit: 19 })), 'quarantined'],
  ['no Study Instance UID', () => edited((ds) => delete ds.StudyInstanceUID), 'quarantined'],
  ['Study Instance UID with letters', () => edited((ds) => Object.assign(ds, { StudyInstanceUID: '1.2.3.abc' })), 'quarantined'],
  ['Series Instance UID with ../', () => edited((ds) => Object.assign(ds, { SeriesInstanceUID: '1.2/../../etc' })), 'quarantined'],
  ['patient name with control characters', () => edited((ds) => Object.assign(ds, { PatientName: 'EVIL\u001b[2J^NAME' })), 'any'],
  ['10 kB patient name', () => patched((b) => withPatientName(b, 'LONG^' + 'N'.repeat(10_000))), 'quarantined'],
  ['body part CHEST', () => edited((ds) => Object.assign(ds, { BodyPartExamined: 'CHEST' })), 'skipped'],
  ['modality MR', () => edited((ds) => Object.assign(ds, { Modality: 'MR' })), 'skipped'],
  // found, not graded: the reason says why (analysis.minGradingAgeYears)
  ['a child (Patient Age 009Y)', () => edited((ds) => Object.assign(ds, { PatientAge: '009Y' })), 'done'],
  ['Pixel Data length beyond the file', () => patched((b) => {
    const at = pixelDataAt(b);
    b.writeUInt32LE(b.readUInt32LE(at + 8) + 1_000_000, at + 8);
    return b;
  }), 'quarantined'],
  ['pixel data all zero', () => edited((ds) => Object.assign(ds, { PixelData: new Uint8Array((ds.PixelData as ArrayBuffer[])[0].byteLength).buffer })), 'any'],
];

describe('bad input over the wire', () => {
  it(`${CASES.length} cases: each answered, each ending with a reason; the node alive; no patient identity logged`, async () => {
    const outcomes: string[] = [];
    for (const [name, make, expected] of CASES) {
      const file = join(work, 'cases', `${name.replace(/[^a-z0-9]+/gi, '-')}.dcm`);
      let bytes: Buffer;
      try {
        bytes = make();
      } catch (err) {
        throw new Error(`case "${name}" could not be made: ${(err as Error).message}`);
      }
      writeFileSync(file, bytes);
      const before = node.node.queue.list().length;
      const status = await rawStore(node.node.port, 'JOINTSCORE', bytes);
      const sent = { status, stderr: '' };
      const newJob = expected !== 'refused' && expected !== 'no new job';
      const jobs = newJob ? await waitForJobs(() => node.node.queue.list(), before + 1, 120_000).catch(() => node.node.queue.list()) : (await new Promise((r) => setTimeout(r, 500)), node.node.queue.list());
      const job = jobs.length > before ? jobs[0] : undefined;
      const state = job ? job.state : expected === 'no new job' ? 'no new job' : 'refused';
      outcomes.push(`${name}: C-STORE status ${status?.toString(16)}, ${state}${job?.reason ? ` (${job.reason.slice(0, 80)})` : ''}`);
      // every C-STORE is answered: Success once stored durably, C000 for a command the node cannot take
      expect(status, `${name}: no C-STORE-RSP`).toBeDefined();
      if (expected !== 'any') expect(state, `${name}: status ${sent.status}`).toBe(expected);
      if (job) {
        expect(TERMINAL, name).toContain(job.state);
        if (job.state !== 'done') expect(job.reason, name).toBeTruthy();
        if (name.startsWith('a child')) expect(job.reason, name).toMatch(/hand not graded: skeletally immature: patient aged 9 years/);
      }
      const echo = await runAsync('echoscu', ['-aec', 'JOINTSCORE', '127.0.0.1', String(node.node.port)]);
      expect(echo.status, `C-ECHO after "${name}"`).toBe(0);
    }
    if (process.env.SHOW_CORPUS) console.log(outcomes.join('\n'));
    const log = JSON.stringify(node.lines);
    expect(log).not.toMatch(/PHANTOM\^HAND|JS-PH-|EVIL|LONG\^NNN/);
  }, 600_000);
});
