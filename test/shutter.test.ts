import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeDicomImage } from '../src/imaging/decode.js';
import { displayShutter } from '../src/imaging/shutter.js';
import { toDisplay, type StoredImage } from '../src/imaging/preprocess.js';
import { readPart10, writePart10 } from '../src/dicom/part10.js';
import { FIXTURES, makeFixture } from '../src/phantom/fixtures.js';
import { runTool } from './helpers/dicom-tools.js';
import { captureLogger } from './helpers/inference.js';

/**
 * A Display Shutter hides what lies outside the collimated field; the analysis sees the film as a
 * viewer shows it: the hidden pixels as air, left out of the percentile window.
 */
const hiddenAt = (mask: Uint8Array, columns: number) => (row: number, column: number) => mask[(row - 1) * columns + (column - 1)];

describe('Display Shutter', () => {
  it('reads rectangular edges as 1-based rows and columns, inclusive', () => {
    const mask = displayShutter({ ShutterShape: 'RECTANGULAR', ShutterLeftVerticalEdge: 3, ShutterRightVerticalEdge: 8, ShutterUpperHorizontalEdge: 2, ShutterLowerHorizontalEdge: 5 }, 6, 10)!;
    const hidden = hiddenAt(mask, 10);
    expect([hidden(2, 3), hidden(5, 8), hidden(3, 5)]).toEqual([0, 0, 0]);
    expect([hidden(1, 3), hidden(2, 2), hidden(6, 8), hidden(5, 9)]).toEqual([1, 1, 1, 1]);
    expect(mask.reduce((a, b) => a + b, 0)).toBe(60 - 6 * 4);
  });

  it('reads circular and polygonal shutters, and shows only what no shutter hides where there are several', () => {
    const circle = { CenterOfCircularShutter: [10, 10], RadiusOfCircularShutter: 5 };
    const round = hiddenAt(displayShutter({ ShutterShape: 'CIRCULAR', ...circle }, 20, 20)!, 20);
    expect([round(10, 10), round(10, 15), round(14, 13)]).toEqual([0, 0, 0]);
    expect([round(10, 16), round(15, 15), round(1, 1)]).toEqual([1, 1, 1]);
    // a triangle: rows 2-18, its apex at column 10
    const triangle = { VerticesOfThePolygonalShutter: [2, 10, 18, 2, 18, 18] };
    const tri = hiddenAt(displayShutter({ ShutterShape: 'POLYGONAL', ...triangle }, 20, 20)!, 20);
    expect([tri(10, 10), tri(17, 4), tri(17, 16)]).toEqual([0, 0, 0]);
    expect([tri(3, 4), tri(3, 16), tri(19, 10)]).toEqual([1, 1, 1]);
    // the circle and a rectangle cutting its right half off: only the left half shows
    const both = hiddenAt(
      displayShutter({ ShutterShape: ['RECTANGULAR', 'CIRCULAR'], ...circle, ShutterLeftVerticalEdge: 1, ShutterRightVerticalEdge: 10, ShutterUpperHorizontalEdge: 1, ShutterLowerHorizontalEdge: 20 }, 20, 20)!,
      20,
    );
    expect([both(10, 6), both(10, 12), both(1, 1)]).toEqual([0, 1, 1]);
  });

  it('hides nothing where the shape is missing, malformed, or would hide the whole image', () => {
    expect(displayShutter({}, 10, 10)).toBeUndefined();
    expect(displayShutter({ ShutterShape: 'RECTANGULAR', ShutterLeftVerticalEdge: 3 }, 10, 10)).toBeUndefined();
    expect(displayShutter({ ShutterShape: 'RECTANGULAR', ShutterLeftVerticalEdge: 8, ShutterRightVerticalEdge: 3, ShutterUpperHorizontalEdge: 1, ShutterLowerHorizontalEdge: 10 }, 10, 10)).toBeUndefined();
    expect(displayShutter({ ShutterShape: 'POLYGONAL', VerticesOfThePolygonalShutter: [1, 1, 5, 5] }, 10, 10)).toBeUndefined();
    expect(displayShutter({ ShutterShape: 'CIRCULAR', CenterOfCircularShutter: [100, 100], RadiusOfCircularShutter: 3 }, 10, 10)).toBeUndefined();
    expect(displayShutter({ ShutterShape: 'RECTANGULAR', ShutterLeftVerticalEdge: 1, ShutterRightVerticalEdge: 10, ShutterUpperHorizontalEdge: 1, ShutterLowerHorizontalEdge: 10 }, 10, 10)).toBeUndefined();
  });

  it('shows the film inside the shutter as without the unexposed detector around it, and the rest as air', () => {
    const rows = 60, columns = 80, m = 40;
    const inner = Uint16Array.from({ length: rows * columns }, (_, i) => 600 + ((i * 37) % 2001));
    const R = rows + 2 * m, C = columns + 2 * m;
    const values = new Uint16Array(R * C).fill(4095);
    for (let r = 0; r < rows; r++) values.set(inner.subarray(r * columns, (r + 1) * columns), (r + m) * C + m);
    const hidden = displayShutter({ ShutterShape: 'RECTANGULAR', ShutterLeftVerticalEdge: m + 1, ShutterRightVerticalEdge: m + columns, ShutterUpperHorizontalEdge: m + 1, ShutterLowerHorizontalEdge: m + rows }, R, C)!;
    const base = { photometric: 'MONOCHROME2' as const, pixelSpacingMm: [0.15, 0.15] as [number, number] };
    const stored: StoredImage = { ...base, rows: R, columns: C, values, hidden };
    const shown = toDisplay(stored), alone = toDisplay({ ...base, rows, columns, values: inner });
    for (let r = 0; r < rows; r++) for (let c = 0; c < columns; c++) expect(shown.data[(r + m) * C + c + m]).toBe(alone.data[r * columns + c]);
    expect(shown.data[0]).toBe(0);
    // what it guards against: the unexposed detector counted sets the window's top (it is most of the pixels)
    const counted = toDisplay({ ...stored, hidden: undefined });
    expect(counted.data[0]).toBe(1);
    expect(Math.max(...counted.data.subarray(m * C + m, m * C + m + columns))).toBeLessThan(0.7);
  });

  it('the decoder reads the shutter DCMTK wrote into a film', async () => {
    const { dataset } = readPart10((await makeFixture(FIXTURES.find((f) => f.name === 'hand-left-m2-explicit')!, false)).dicom);
    const dir = mkdtempSync(join(tmpdir(), 'jointscore-shutter-'));
    try {
      const file = join(dir, 'shuttered.dcm');
      writeFileSync(file, writePart10(dataset));
      const [rows, columns] = [Number(dataset.Rows), Number(dataset.Columns)];
      const edit = runTool('dcmodify', ['-nb', '-i', '(0018,1600)=RECTANGULAR', '-i', '(0018,1602)=101', '-i', `(0018,1604)=${columns - 100}`, '-i', '(0018,1606)=51', '-i', `(0018,1608)=${rows - 50}`, file]);
      expect(edit.status, edit.stderr).toBe(0);
      const image = await decodeDicomImage(readFileSync(file), 'shuttered.dcm');
      const hidden = hiddenAt(image.hidden!, columns);
      expect([hidden(51, 101), hidden(rows - 50, columns - 100), hidden(50, 101), hidden(51, 100), hidden(rows, columns)]).toEqual([0, 0, 1, 1, 1]);
      expect((await decodeDicomImage(writePart10(dataset), 'plain.dcm')).hidden).toBeUndefined();
      // a shutter without its edges: the whole image is analysed, and the log says which attribute and file
      const { log, lines } = captureLogger();
      const broken = await decodeDicomImage(writePart10({ ...dataset, ShutterShape: 'RECTANGULAR', ShutterLeftVerticalEdge: 10 }), 'broken.dcm', log);
      expect(broken.hidden).toBeUndefined();
      expect(lines.map((l) => [l.level, l.message])).toEqual([['warn', expect.stringMatching(/^broken\.dcm: Shutter Shape \(0018,1600\) "RECTANGULAR" with no usable shutter/)]]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
