import { describe, expect, it } from 'vitest';
import { decodeDicomImage } from '../src/imaging/decode.js';
import { toDisplay, type StoredImage } from '../src/imaging/preprocess.js';
import { readPart10, writePart10 } from '../src/dicom/part10.js';
import { FIXTURES, makeFixture } from '../src/phantom/fixtures.js';
import { runTool } from './helpers/dicom-tools.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** a 12-bit film using 600-2600 of its range, framed by `m` pixels of padding at 4095 */
function framed(m: number): { stored: StoredImage; inner: StoredImage } {
  const rows = 60, columns = 80;
  const inner = Uint16Array.from({ length: rows * columns }, (_, i) => 600 + ((i * 37) % 2001));
  const R = rows + 2 * m, C = columns + 2 * m;
  const values = new Uint16Array(R * C).fill(4095);
  for (let r = 0; r < rows; r++) values.set(inner.subarray(r * columns, (r + 1) * columns), (r + m) * C + m);
  const base = { photometric: 'MONOCHROME2' as const, pixelSpacingMm: [0.15, 0.15] as [number, number] };
  return { stored: { ...base, rows: R, columns: C, values, padding: { lo: 4095, hi: 4095 } }, inner: { ...base, rows, columns, values: inner } };
}

/** the VR of the US-or-SS attributes, which dcmjs's dictionary leaves open */
const US = { PixelPaddingValue: 'US', PixelPaddingRangeLimit: 'US' };

describe('Pixel Padding Value', () => {
  it('padding is shown as air and left out of the window: the film inside the frame is shown as without it', () => {
    const m = 40;
    const { stored, inner } = framed(m);
    const shown = toDisplay(stored), alone = toDisplay(inner);
    const C = stored.columns;
    for (let r = 0; r < inner.rows; r++) {
      for (let c = 0; c < inner.columns; c++) expect(shown.data[(r + m) * C + c + m]).toBe(alone.data[r * inner.columns + c]);
    }
    expect(shown.data[0]).toBe(0);
    // what it guards against: with the padding counted, the frame (60 % of the pixels) sets the window's top
    const counted = toDisplay({ ...stored, padding: undefined });
    expect(counted.data[0]).toBe(1);
    expect(Math.max(...counted.data.subarray(m * C + m, m * C + m + inner.columns))).toBeLessThan(0.7);
  });

  it('the decoder reads Pixel Padding Value and Range Limit as stored values, signed where the pixels are', async () => {
    const { dataset } = readPart10((await makeFixture(FIXTURES.find((f) => f.name === 'hand-left-m2-explicit')!, false)).dicom);
    const dir = mkdtempSync(join(tmpdir(), 'jointscore-padding-'));
    try {
      const file = join(dir, 'padded.dcm');
      writeFileSync(file, writePart10({ ...dataset, PixelPaddingValue: 4095, PixelPaddingRangeLimit: 4000, _vrMap: US }));
      // DCMTK reads the attributes we wrote
      const dump = runTool('dcmdump', ['+P', '0028,0120', '+P', '0028,0121', file]).stdout;
      expect(dump).toMatch(/\(0028,0120\) US 4095/);
      expect(dump).toMatch(/\(0028,0121\) US 4000/);
      expect((await decodeDicomImage(writePart10({ ...dataset, PixelPaddingValue: 4095, PixelPaddingRangeLimit: 4000, _vrMap: US }), 'x.dcm')).padding).toEqual({ lo: 4000, hi: 4095 });
      expect((await decodeDicomImage(writePart10({ ...dataset, PixelPaddingValue: 0, _vrMap: US }), 'x.dcm')).padding).toEqual({ lo: 0, hi: 0 });
      expect((await decodeDicomImage(writePart10(dataset), 'x.dcm')).padding).toBeUndefined();
      // 12 bits stored, signed: the value written as 65535 (SS -1) is -1 among the stored values
      const bits = Number(dataset.BitsStored);
      expect((await decodeDicomImage(writePart10({ ...dataset, PixelRepresentation: 1, PixelPaddingValue: 65535, _vrMap: US }), 'x.dcm')).padding).toEqual({ lo: -1, hi: -1 });
      expect(bits).toBe(12);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
