import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HandResult } from '../src/analysis/hand-analysis.js';
import { readPart10, TransferSyntax, writePart10 } from '../src/dicom/part10.js';
import { readNativePixels, storedValues16 } from '../src/dicom/transcode.js';
import { isValidUid } from '../src/dicom/uid.js';
import {
  buildPhantomDxDataset,
  DX_FOR_PRESENTATION_SOP_CLASS,
  DX_TRANSFER_SYNTAXES,
  encodePhantomDx,
  handPatientOrientation,
  percentileWindow,
  quantisePhantomImage,
  type DxPhotometric,
} from '../src/phantom/dicom-dx.js';
import { DCMDUMP_SYNTAX_NAMES, dciodvfy, runTool } from './helpers/dicom-tools.js';
import { fakePhantom } from './helpers/fake-phantom.js';

const PHOTOMETRICS: DxPhotometric[] = ['MONOCHROME2', 'MONOCHROME1'];
const BITS = [10, 12, 16];
const CHINESE_NAME = '王^小明';
/** all three component groups: alphabetic, ideographic, phonetic */
const THREE_GROUP_NAME = 'Wang^XiaoMing=王^小明=ワン^シャオミン';

let dir: string;
/** dciodvfy warnings by file, printed at the end (docs/dciodvfy-dx.md explains each). */
const warnings = new Map<string, string[]>();

function write(name: string, bytes: Buffer): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  return file;
}

function expectValid(file: string): void {
  const v = dciodvfy(file);
  if (v.warnings.length) warnings.set(path.basename(file), v.warnings);
  expect(v.errors, v.output).toEqual([]);
  expect(v.output).toContain('DXImageForPresentation');
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jointscore-dx-'));
});
afterAll(() => {
  const all = [...warnings.entries()];
  console.log(
    all.length === 0
      ? 'dciodvfy: no warnings on any DX object'
      : `dciodvfy warnings:\n${all.map(([f, w]) => `${f}\n  ${w.join('\n  ')}`).join('\n')}`,
  );
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('encodePhantomDx: every transfer syntax x photometric x bit depth', () => {
  const phantom = fakePhantom({ seed: 42 });
  const sopUids = new Set<string>();
  const studyUids = new Set<string>();

  for (const transferSyntax of DX_TRANSFER_SYNTAXES) {
    for (const photometric of PHOTOMETRICS) {
      for (const bitsStored of BITS) {
        it(`${transferSyntax} ${photometric} ${bitsStored}-bit: valid, readable, exact, deterministic`, async () => {
          const options = { bitsStored, photometric, transferSyntax };
          const result = await encodePhantomDx(phantom, options);
          const file = write(`dx-${transferSyntax}-${photometric}-${bitsStored}.dcm`, result.bytes);

          // dicom3tools: no errors
          expectValid(file);

          // DCMTK reads it, sees the syntax and the pixel data, and has nothing to complain of
          const dump = runTool('dcmdump', [file]);
          expect(dump.status).toBe(0);
          expect(dump.stderr).toBe('');
          expect(dump.stdout).toContain(`(0002,0010) UI =${DCMDUMP_SYNTAX_NAMES[transferSyntax]}`);
          if (transferSyntax === TransferSyntax.ExplicitVRLittleEndian) {
            expect(dump.stdout).toMatch(/\(7fe0,0010\) OW /);
          } else {
            // single frame: a Basic Offset Table item with one offset (0), then one fragment
            expect(dump.stdout).toMatch(/\(7fe0,0010\) OB \(PixelSequence #=2\)/);
            expect(dump.stdout).toMatch(/\(fffe,e000\) pi 00\\00\\00\\00 +# +4, 1 Item/);
          }

          // the header says what it should
          const { meta, dataset } = readPart10(result.bytes);
          expect(meta.TransferSyntaxUID).toBe(transferSyntax);
          expect(meta.MediaStorageSOPInstanceUID).toBe(result.sopInstanceUID);
          expect(dataset.SOPClassUID).toBe(DX_FOR_PRESENTATION_SOP_CLASS);
          expect(dataset.SOPInstanceUID).toBe(result.sopInstanceUID);
          expect(dataset.StudyInstanceUID).toBe(result.studyInstanceUID);
          expect(dataset.SeriesInstanceUID).toBe(result.seriesInstanceUID);
          expect(dataset.PhotometricInterpretation).toBe(photometric);
          expect(dataset.PresentationLUTShape).toBe(photometric === 'MONOCHROME1' ? 'INVERSE' : 'IDENTITY');
          expect([dataset.BitsAllocated, dataset.BitsStored, dataset.HighBit]).toEqual([16, bitsStored, bitsStored - 1]);
          expect(dataset.PixelRepresentation).toBe(0);
          expect(dataset.LossyImageCompression).toBe('00');
          expect(dataset.PlanarConfiguration).toBeUndefined();
          expect(dataset.SpecificCharacterSet).toBe('ISO_IR 192');
          expect(dataset.BodyPartExamined).toBe('HAND');
          expect(dataset.ImageLaterality).toBe('L');
          expect(dataset.PatientOrientation).toEqual(['L', 'H']);
          expect(dataset.PatientName[0].Alphabetic).toBe('PHANTOM^HAND^42');
          expect(dataset.PatientID).toBe('JS-PH-42');

          // the pixels decode to exactly the quantised values
          const expected = quantisePhantomImage(phantom.image, bitsStored, photometric);
          const decoded = await readNativePixels(result.bytes);
          expect(Buffer.from(storedValues16(decoded.pixelData).buffer).equals(Buffer.from(expected.buffer))).toBe(true);

          // same inputs, same bytes
          const again = await encodePhantomDx(phantom, options);
          expect(again.bytes.equals(result.bytes)).toBe(true);

          for (const uid of [result.sopInstanceUID, result.studyInstanceUID, result.seriesInstanceUID]) {
            expect(isValidUid(uid)).toBe(true);
          }
          expect(sopUids.has(result.sopInstanceUID)).toBe(false);
          sopUids.add(result.sopInstanceUID);
          studyUids.add(result.studyInstanceUID);
        });
      }
    }
  }

  it('puts every encoding of one seed in one study, each a distinct instance', () => {
    expect(sopUids.size).toBe(DX_TRANSFER_SYNTAXES.length * PHOTOMETRICS.length * BITS.length);
    expect(studyUids.size).toBe(1);
  });
});

describe('encodePhantomDx: header details', () => {
  it('round-trips UTF-8 (Chinese, Japanese) patient names', async () => {
    const cases = [
      [TransferSyntax.ExplicitVRLittleEndian, CHINESE_NAME],
      [TransferSyntax.JpegLsLossless, CHINESE_NAME],
      [TransferSyntax.Jpeg2000Lossless, THREE_GROUP_NAME],
    ] as const;
    for (const [transferSyntax, name] of cases) {
      const result = await encodePhantomDx(fakePhantom({ seed: 3 }), { transferSyntax, patientName: name });
      const { dataset } = readPart10(result.bytes);
      const pn = dataset.PatientName[0];
      expect([pn.Alphabetic, pn.Ideographic, pn.Phonetic].filter((g) => g !== undefined).join('=')).toBe(name);
      const file = write(`utf8-${transferSyntax}.dcm`, result.bytes);
      const dump = runTool('dcmdump', ['+U8', '+P', '0010,0010', file]);
      expect(dump.status).toBe(0);
      expect(dump.stdout).toContain(`[${name}]`);
      expectValid(file);
    }
  });

  it('a different patient name is a different study and instance; default UIDs are stable', async () => {
    const phantom = fakePhantom({ seed: 3 });
    const plain = await encodePhantomDx(phantom);
    const named = await encodePhantomDx(phantom, { patientName: CHINESE_NAME });
    expect(named.studyInstanceUID).not.toBe(plain.studyInstanceUID);
    expect(named.sopInstanceUID).not.toBe(plain.sopInstanceUID);
    const other = await encodePhantomDx(fakePhantom({ seed: 4 }));
    expect(other.studyInstanceUID).not.toBe(plain.studyInstanceUID);
    expect((await encodePhantomDx(phantom)).sopInstanceUID).toBe(plain.sopInstanceUID);
  });

  it('honours UID overrides and a UID root', async () => {
    const phantom = fakePhantom({ seed: 5 });
    const given = await encodePhantomDx(phantom, {
      studyInstanceUID: '1.2.3.4',
      seriesInstanceUID: '1.2.3.4.5',
      sopInstanceUID: '1.2.3.4.5.6',
    });
    expect([given.studyInstanceUID, given.seriesInstanceUID, given.sopInstanceUID]).toEqual(['1.2.3.4', '1.2.3.4.5', '1.2.3.4.5.6']);
    const { dataset } = readPart10(given.bytes);
    expect(dataset.SOPInstanceUID).toBe('1.2.3.4.5.6');
    const rooted = await encodePhantomDx(phantom, { uidRoot: '1.2.826.0.1.3680043.10.9999' });
    expect(rooted.sopInstanceUID.startsWith('1.2.826.0.1.3680043.10.9999.')).toBe(true);
  });

  it('makes a valid non-hand radiograph (CHEST: unpaired, laterality U)', async () => {
    const result = await encodePhantomDx(fakePhantom({ seed: 9 }), {
      bodyPart: 'CHEST',
      transferSyntax: TransferSyntax.JpegLossless,
    });
    expectValid(write('chest.dcm', result.bytes));
    const { dataset } = readPart10(result.bytes);
    expect(dataset.BodyPartExamined).toBe('CHEST');
    expect(dataset.ImageLaterality).toBe('U');
    expect(dataset.AnatomicRegionSequence[0].CodeValue).toBe('816094009');
    // a chest image without hands: the PA chest display convention
    const bare = await encodePhantomDx({ ...fakePhantom({ seed: 9 }), hands: [] }, { bodyPart: 'CHEST' });
    expectValid(write('chest-bare.dcm', bare.bytes));
    expect(readPart10(bare.bytes).dataset.PatientOrientation).toEqual(['L', 'F']);
    const hand = await encodePhantomDx(fakePhantom({ seed: 9 }), { transferSyntax: TransferSyntax.JpegLossless });
    expect(hand.sopInstanceUID).not.toBe(result.sopInstanceUID);
  });

  it('makes a valid both-hands film (laterality B) and a right-hand film', async () => {
    const both = await encodePhantomDx(fakePhantom({ seed: 11, layout: 'both' }), { bitsStored: 14 });
    expectValid(write('both.dcm', both.bytes));
    const b = readPart10(both.bytes).dataset;
    expect(b.ImageLaterality).toBe('B');
    expect(b.PatientOrientation).toEqual(['L', 'H']);
    const right = await encodePhantomDx(fakePhantom({ seed: 12, laterality: 'R' }), { photometric: 'MONOCHROME1' });
    expectValid(write('right.dcm', right.bytes));
    const r = readPart10(right.bytes).dataset;
    expect(r.ImageLaterality).toBe('R');
    expect(r.PatientOrientation).toEqual(['L', 'H']);
  });

  it('writes a window spanning the 1st-99th percentile, in stored values', async () => {
    const phantom = fakePhantom({ seed: 13 });
    for (const photometric of PHOTOMETRICS) {
      const { dataset } = readPart10((await encodePhantomDx(phantom, { bitsStored: 12, photometric })).bytes);
      const values = quantisePhantomImage(phantom.image, 12, photometric);
      const w = percentileWindow(values, 12);
      expect(Number(dataset.WindowCenter)).toBeCloseTo(w.center, 6);
      expect(Number(dataset.WindowWidth)).toBe(w.width);
      const sorted = Array.from(values).sort((a, b) => a - b);
      expect(w.lo).toBe(sorted[Math.ceil(0.01 * sorted.length) - 1]);
      expect(w.hi).toBe(sorted[Math.ceil(0.99 * sorted.length) - 1]);
      // the linear VOI function maps lo to the bottom and hi to the top exactly
      expect(w.center - 0.5 - (w.width - 1) / 2).toBe(w.lo);
      expect(w.center - 0.5 + (w.width - 1) / 2).toBe(w.hi);
    }
  });

  it('quantises deterministically, inverting for MONOCHROME1', () => {
    const image = new Float32Array([0, 0.5, 1, -0.2, 1.7, Number.NaN, 1 / 3]);
    expect(Array.from(quantisePhantomImage(image, 10, 'MONOCHROME2'))).toEqual([0, 512, 1023, 0, 1023, 0, 341]);
    expect(Array.from(quantisePhantomImage(image, 10, 'MONOCHROME1'))).toEqual([1023, 511, 0, 1023, 0, 1023, 682]);
    expect(Array.from(quantisePhantomImage(image, 16, 'MONOCHROME2')).slice(0, 3)).toEqual([0, 32768, 65535]);
    expect(() => quantisePhantomImage(image, 9, 'MONOCHROME2')).toThrow(/10 to 16/);
    expect(() => quantisePhantomImage(image, 17, 'MONOCHROME2')).toThrow(/10 to 16/);
  });

  it('works out Patient Orientation from the joints, whatever the display', () => {
    const [right, left] = fakePhantom({ layout: 'both' }).hands;
    // fingers up, left thumb on the image's right (render.ts): L\H for either hand
    expect(handPatientOrientation(left)).toEqual(['L', 'H']);
    expect(handPatientOrientation(right)).toEqual(['L', 'H']);
    const mirror = (h: HandResult, w: number): HandResult => ({ ...h, joints: h.joints.map((j) => ({ ...j, x: w - j.x })) });
    const flip = (h: HandResult, rows: number): HandResult => ({ ...h, joints: h.joints.map((j) => ({ ...j, y: rows - j.y })) });
    const transpose = (h: HandResult): HandResult => ({ ...h, joints: h.joints.map((j) => ({ ...j, x: j.y, y: j.x })) });
    // mirrored display (left thumb on the image's left): R\H for either hand
    expect(handPatientOrientation(mirror(left, 256))).toEqual(['R', 'H']);
    expect(handPatientOrientation(mirror(right, 256))).toEqual(['R', 'H']);
    // fingers down
    expect(handPatientOrientation(flip(left, 320))).toEqual(['L', 'F']);
    // transposed: fingers to the left (moving right goes to the wrist), left thumb down
    expect(handPatientOrientation(transpose(left))).toEqual(['H', 'L']);
    expect(handPatientOrientation({ ...left, joints: [] })).toBeUndefined();
  });

  it('the judge can see: dciodvfy reports a deliberately added non-DX attribute', () => {
    const { dataset } = buildPhantomDxDataset(fakePhantom({ seed: 14 }), { bitsStored: 10 });
    const file = write('extended.dcm', writePart10({ ...dataset, SliceThickness: 1 }));
    const v = dciodvfy(file);
    expect(v.errors).toEqual([]);
    expect(v.warnings.join('\n')).toMatch(/Slice Thickness/);
  });

  it('rejects bad options in the user\'s terms', async () => {
    const phantom = fakePhantom();
    await expect(encodePhantomDx(phantom, { bitsStored: 8 })).rejects.toThrow(/bitsStored/);
    await expect(encodePhantomDx(phantom, { transferSyntax: '1.2.840.10008.1.2.4.50' as never })).rejects.toThrow(/transferSyntax/);
    await expect(encodePhantomDx(phantom, { bodyPart: 'ELBOW' as never })).rejects.toThrow(/bodyPart/);
    await expect(encodePhantomDx({ ...phantom, rows: 10 })).rejects.toThrow(/rows x columns/);
  });
});
