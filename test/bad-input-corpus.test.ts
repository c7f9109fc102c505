import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPart10, writePart10, type NaturalDataset } from '../src/dicom/part10.js';
import type { JobState } from '../src/store/queue.js';
import { runAsync, startTestNode, waitForJobs, writeFixtures, type TestNode } from './helpers/node.js';
import { rawStore } from './helpers/raw-pdu.js';
import { deeplyNested, withPatientName, YAMADA_ISO2022 } from './helpers/dx.js';

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

/** The fixture re-encoded as JPEG Lossless with one tiny fragment, then patched (dcmjs writes BOT + fragments + delimiter). */
function encapsulated(patch: (bytes: Buffer, pixelDataAt: number) => Buffer): Buffer {
  const { dataset } = readPart10(edited(() => undefined));
  dataset.PixelData = [new Uint8Array([0xff, 0xd8, 1, 2, 3, 4, 0xff, 0xd9]).buffer];
  const b = Buffer.from(writePart10(dataset, '1.2.840.10008.1.2.4.70'));
  return patch(b, pixelDataAt(b));
}
const SEQUENCE_DELIMITER = Buffer.from([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]);

/** The first element with this tag (group, element) in the data set: where its header starts. */
function elementAt(b: Buffer, group: number, element: number): number {
  const tag = Buffer.alloc(4);
  tag.writeUInt16LE(group, 0);
  tag.writeUInt16LE(element, 2);
  return b.indexOf(tag, 144 + b.readUInt32LE(140));
}

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
  // encapsulated pixel data that lies
  ['encapsulated, the offset table and no fragment', () => encapsulated((b, at) => Buffer.concat([b.subarray(0, at + 12 + 12), SEQUENCE_DELIMITER])), 'quarantined'],
  ['encapsulated, a fragment claiming 2 GB', () => encapsulated((b, at) => {
    b.writeUInt32LE(0x7ffffff0, at + 12 + 12 + 4);
    return b;
  }), 'quarantined'],
  ['encapsulated, no sequence delimiter', () => encapsulated((b) => b.subarray(0, b.length - 8)), 'quarantined'],
  ['encapsulated, a JPEG that is not one', () => encapsulated((b) => b), 'quarantined'],
  ['a DICOMDIR sent as an object', () => edited((ds) => Object.assign(ds, { SOPClassUID: '1.2.840.10008.1.3.10' })), 'any'],
  // values the standard does not allow, or that make no sense
  ['an odd value length (Patient ID one byte short)', () => patched((b) => {
    const at = elementAt(b, 0x0010, 0x0020);
    b.writeUInt16LE(b.readUInt16LE(at + 6) - 1, at + 6);
    return b;
  }), 'any'],
  ['Rows written with VR SH', () => patched((b) => {
    const at = elementAt(b, 0x0028, 0x0010);
    b.write('SH', at + 4, 'latin1');
    return b;
  }), 'any'],
  ["Patient's Age \"abc\"", () => edited((ds) => Object.assign(ds, { PatientAge: 'abc' })), 'done'],
  ['birth date after the study', () => edited((ds) => Object.assign(ds, { PatientBirthDate: '20990101', StudyDate: '20260101' })), 'done'],
  ['Specific Character Set "ISO_IR 999"', () => edited((ds) => Object.assign(ds, { SpecificCharacterSet: 'ISO_IR 999' })), 'any'],
  ['Japanese name, ISO 2022 IR 87', () => withPatientName(edited((ds) => Object.assign(ds, { SpecificCharacterSet: ['', 'ISO 2022 IR 87'] })), YAMADA_ISO2022), 'done'],
  ['two frames, data for one', () => edited((ds) => Object.assign(ds, { NumberOfFrames: 2 })), 'quarantined'],
  ['High Bit 3 with Bits Stored 12', () => edited((ds) => Object.assign(ds, { HighBit: 3 })), 'any'],
  ['Rescale Slope 0', () => edited((ds) => Object.assign(ds, { RescaleSlope: 0, RescaleIntercept: 0 })), 'any'],
  ['Window Width 0', () => edited((ds) => Object.assign(ds, { WindowCenter: 100, WindowWidth: 0 })), 'any'],
  ['VOI LUT Function "NONSENSE"', () => edited((ds) => Object.assign(ds, { VOILUTFunction: 'NONSENSE' })), 'any'],
  ['a one-pixel image', () => edited((ds) => Object.assign(ds, { Rows: 1, Columns: 1, PixelData: new Uint16Array([500]).buffer })), 'any'],
  ['10 kB Series Description', () => edited((ds) => Object.assign(ds, { SeriesDescription: 'S'.repeat(10_000) })), 'any'],
  ['1 MB private element', () => edited((ds) => Object.assign(ds, { '00091010': { vr: 'OB', Value: [new Uint8Array(1 << 20).fill(3).buffer] } })), 'any'],
  ['empty Patient Name and ID', () => edited((ds) => Object.assign(ds, { PatientName: '', PatientID: '' })), 'done'],
  ['Image Laterality B (both)', () => edited((ds) => Object.assign(ds, { ImageLaterality: 'B' })), 'any'],
  ['a wrong group length (0008,0000)', () => edited((ds) => Object.assign(ds, { '00080000': { vr: 'UL', Value: [7] } })), 'any'],
  ['Patient Orientation garbage', () => edited((ds) => Object.assign(ds, { PatientOrientation: ['Q', 'Z'] })), 'any'],
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
    expect(log).not.toMatch(/PHANTOM\^HAND|JS-PH-|EVIL|LONG\^NNN|Yamada|山田/);
  }, 600_000);
});
