import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPart10, TransferSyntax, writePart10 } from '../src/dicom/part10.js';
import {
  LOSSLESS_COMPRESSED_SYNTAXES,
  readNativePixels,
  storedValues16,
  transcodeDataset,
  transcodePart10,
} from '../src/dicom/transcode.js';
import { buildPhantomDxDataset } from '../src/phantom/dicom-dx.js';
import { DCMTK_DECODERS, hasPydicom, pydicomPixelSha256, runTool } from './helpers/dicom-tools.js';
import { fakePhantom } from './helpers/fake-phantom.js';

/**
 * The codecs, alone: every lossless syntax x Bits Stored 10/12/14/16 must give back exactly
 * the stored values, in our decoder and in an independent one (DCMTK for JPEG Lossless,
 * JPEG-LS and RLE; pydicom, where installed, for JPEG-LS, JPEG 2000 and RLE), and each
 * codestream must declare a sensible sample precision.
 */

const BITS = [10, 12, 14, 16] as const;
let dir: string;

/** A small image that uses every bit: half smooth phantom, half noise over the full range. */
function noisyDataset(bitsStored: number) {
  const phantom = fakePhantom({ rows: 96, columns: 80, seed: bitsStored });
  let state = 12345 + bitsStored;
  for (let i = phantom.image.length >> 1; i < phantom.image.length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    phantom.image[i] = state / 0xffffffff;
  }
  phantom.image[phantom.image.length - 2] = 1; // the maximum value, 2^bits - 1
  return buildPhantomDxDataset(phantom, { bitsStored });
}

/** Sample precision in a JPEG (SOF3), JPEG-LS (SOF55) or JPEG 2000 (SIZ) codestream. */
function streamPrecision(stream: Uint8Array, ts: string): number | undefined {
  const find = (a: number, b: number) => {
    for (let i = 0; i + 1 < stream.length; i++) if (stream[i] === a && stream[i + 1] === b) return i;
    return -1;
  };
  if (ts === TransferSyntax.JpegLossless) return stream[find(0xff, 0xc3) + 4];
  if (ts === TransferSyntax.JpegLsLossless) return stream[find(0xff, 0xf7) + 4];
  if (ts === TransferSyntax.Jpeg2000Lossless) {
    const siz = find(0xff, 0x51); // marker, Lsiz, Rsiz, 8 x 32-bit sizes, Csiz, then Ssiz
    const ssiz = stream[siz + 2 + 2 + 2 + 32 + 2];
    expect(ssiz & 0x80).toBe(0); // unsigned
    return (ssiz & 0x7f) + 1;
  }
  return undefined;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jointscore-transcode-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('lossless transcoding with dcmjs-codecs', () => {
  const written: { file: string; expected: string; bits: number; ts: string }[] = [];

  for (const bits of BITS) {
    for (const ts of LOSSLESS_COMPRESSED_SYNTAXES) {
      it(`${ts}, Bits Stored ${bits}: exact round trip, one fragment, Basic Offset Table`, async () => {
        const { dataset, storedValues } = noisyDataset(bits);
        const native = writePart10(dataset, TransferSyntax.ExplicitVRLittleEndian);
        const compressed = await transcodePart10(native, ts, { verifyLossless: true });

        const { meta, dataset: read } = readPart10(compressed);
        expect(meta.TransferSyntaxUID).toBe(ts);
        expect(read.PlanarConfiguration).toBeUndefined();
        expect(read.PatientName[0].Alphabetic).toBe(dataset.PatientName);

        // the precision the codestream declares
        const precision = streamPrecision(new Uint8Array(read.PixelData[0] as ArrayBuffer), ts);
        if (ts === TransferSyntax.JpegLossless) expect(precision).toBe(bits <= 12 ? 12 : 16);
        else if (ts !== TransferSyntax.RleLossless) expect(precision).toBe(bits);

        const decoded = await readNativePixels(compressed);
        expect(decoded.transferSyntaxUID).toBe(ts);
        expect(Array.from(storedValues16(decoded.pixelData))).toEqual(Array.from(storedValues));

        const file = path.join(dir, `b${bits}-${ts}.dcm`);
        fs.writeFileSync(file, compressed);
        // the encapsulation, as DCMTK reads it: OB, a 4-byte offset table holding 0, one fragment
        const dump = runTool('dcmdump', [file]);
        expect(dump.status).toBe(0);
        expect(dump.stderr).toBe('');
        expect(dump.stdout).toMatch(/\(7fe0,0010\) OB \(PixelSequence #=2\)/);
        expect(dump.stdout).toMatch(/\(fffe,e000\) pi 00\\00\\00\\00 +# +4, 1 Item/);
        written.push({ file, expected: sha256(new Uint8Array(storedValues.buffer)), bits, ts });

        const decoder = DCMTK_DECODERS[ts];
        if (decoder) {
          const out = path.join(dir, `b${bits}-${ts}-dcmtk.dcm`);
          const r = runTool(decoder, [file, out]);
          expect(r.status, r.stderr).toBe(0);
          const dcmtk = readPart10(fs.readFileSync(out));
          expect(dcmtk.meta.TransferSyntaxUID).toBe(TransferSyntax.ExplicitVRLittleEndian);
          const pixels = new Uint8Array(dcmtk.dataset.PixelData[0] as ArrayBuffer, 0, storedValues.length * 2);
          expect(Array.from(storedValues16(pixels))).toEqual(Array.from(storedValues));
        }
      });
    }
  }

  it.skipIf(!hasPydicom())('pydicom decodes every file to the same values (JPEG 2000 included)', () => {
    const decodable = written.filter((w) => w.ts !== TransferSyntax.JpegLossless); // pydicom needs gdcm/pylibjpeg for .70
    expect(decodable.length).toBeGreaterThan(0);
    const hashes = pydicomPixelSha256(decodable.map((w) => w.file));
    for (const w of decodable) expect(hashes[w.file], `${w.ts} ${w.bits}`).toBe(w.expected);
  });

  it('decodes compressed to native and moves between compressed syntaxes', async () => {
    const { dataset, storedValues } = noisyDataset(16);
    const jls = await transcodeDataset(dataset, TransferSyntax.ExplicitVRLittleEndian, TransferSyntax.JpegLsLossless);
    expect(jls._vrMap.PixelData).toBe('OB');
    const j2k = await transcodeDataset(jls, TransferSyntax.JpegLsLossless, TransferSyntax.Jpeg2000Lossless);
    const implicit = writePart10(
      await transcodeDataset(j2k, TransferSyntax.Jpeg2000Lossless, TransferSyntax.ImplicitVRLittleEndian),
      TransferSyntax.ImplicitVRLittleEndian,
    );
    const back = await readNativePixels(implicit);
    expect(back.transferSyntaxUID).toBe(TransferSyntax.ImplicitVRLittleEndian);
    expect(Array.from(storedValues16(back.pixelData))).toEqual(Array.from(storedValues));
  });

  it('refuses lossy targets and signed pixels with a clear message', async () => {
    const { dataset } = noisyDataset(12);
    await expect(
      transcodeDataset(dataset, TransferSyntax.ExplicitVRLittleEndian, TransferSyntax.JpegBaseline),
    ).rejects.toThrow(/only native and lossless/);
    await expect(
      transcodeDataset({ ...dataset, PixelRepresentation: 1 }, TransferSyntax.ExplicitVRLittleEndian, TransferSyntax.RleLossless),
    ).rejects.toThrow(/signed/);
  });
});

/**
 * Syntaxes a sender may use that dcmjs-codecs refuses by name (transcode.ts `DECODED_AS`): JPEG
 * Lossless Process 14 at any predictor, JPEG Extended (12-bit lossy) and the retired JPEG Full
 * Progression (a progressive JPEG wrapped by img2dcm; files only), each written by DCMTK's
 * dcmcjpeg and decoded here value for value as DCMTK's dcmdjpeg decodes them.
 */
describe('JPEG Lossless Process 14, JPEG Extended and JPEG Full Progression, as DCMTK writes them', () => {
  const cases: [string, number, string[]][] = [
    ['1.2.840.10008.1.2.4.57', 12, ['+el', '+sv', '6']],
    ['1.2.840.10008.1.2.4.57', 16, ['+el', '+sv', '2']],
    ['1.2.840.10008.1.2.4.51', 12, ['+ee']],
    ['1.2.840.10008.1.2.4.55', 12, ['+ep']],
  ];
  it.each(cases)('%s, Bits Stored %i (dcmcjpeg %j): the values dcmdjpeg decodes', async (ts, bits, flags) => {
    const { dataset, storedValues } = noisyDataset(bits);
    const native = path.join(dir, `p14-${bits}-${flags.join('')}.dcm`);
    fs.writeFileSync(native, writePart10(dataset, TransferSyntax.ExplicitVRLittleEndian));
    const packed = `${native}.jpg.dcm`;
    const made = runTool('dcmcjpeg', [...flags, native, packed]);
    expect(made.status, made.stderr).toBe(0);
    expect(readPart10(fs.readFileSync(packed)).meta.TransferSyntaxUID).toBe(ts);
    const back = `${packed}.dcmtk.dcm`;
    const r = runTool('dcmdjpeg', [packed, back]);
    expect(r.status, r.stderr).toBe(0);
    const dcmtk = new Uint8Array(readPart10(fs.readFileSync(back)).dataset.PixelData[0] as ArrayBuffer, 0, storedValues.length * 2);
    const ours = await readNativePixels(fs.readFileSync(packed));
    expect(ours.transferSyntaxUID).toBe(ts);
    expect(Array.from(storedValues16(ours.pixelData))).toEqual(Array.from(storedValues16(dcmtk)));
    // lossless: the values as stored; lossy: near them
    if (ts === '1.2.840.10008.1.2.4.57') expect(Array.from(storedValues16(ours.pixelData))).toEqual(Array.from(storedValues));
  });
});
