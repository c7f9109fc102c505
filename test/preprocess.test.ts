import { describe, expect, it } from 'vitest';
import { distalDirection, letterbox, percentileRange, sampleCrop, toDisplay, type DisplayImage } from '../src/imaging/preprocess.js';

function image(rows: number, columns: number, f: (r: number, c: number) => number, spacing = 0.1): DisplayImage {
  const data = new Float32Array(rows * columns);
  for (let r = 0; r < rows; r++) for (let c = 0; c < columns; c++) data[r * columns + c] = f(r, c);
  return { rows, columns, data, pixelSpacingMm: [spacing, spacing] };
}

describe('preprocessing shared by training and serving', () => {
  it('windows from percentiles and makes bone bright for both photometric interpretations', () => {
    const values = Uint16Array.from({ length: 1000 }, (_, i) => i);
    const m2 = toDisplay({ rows: 10, columns: 100, values, photometric: 'MONOCHROME2', pixelSpacingMm: [0.1, 0.1] });
    const m1 = toDisplay({ rows: 10, columns: 100, values, photometric: 'MONOCHROME1', pixelSpacingMm: [0.1, 0.1] });
    expect(m2.data[999]).toBe(1);
    expect(m2.data[0]).toBe(0);
    expect(m1.data[999]).toBe(0);
    expect(m1.data[500]).toBeCloseTo(1 - m2.data[500], 6);
    const [lo, hi] = percentileRange(values, 0.5, 99.5);
    expect(lo).toBeGreaterThanOrEqual(3);
    expect(hi).toBeLessThanOrEqual(996);
  });

  it('16-bit images (windowed through a value table) get the values of the per-pixel formula, signed and unsigned', () => {
    // the formula as it stood before the table: a 4096-bin histogram of Math.round bins, then per pixel
    const reference = (values: ArrayLike<number>, invert: boolean): Float32Array => {
      let min = Infinity;
      let max = -Infinity;
      for (let i = 0; i < values.length; i++) {
        min = Math.min(min, values[i]);
        max = Math.max(max, values[i]);
      }
      const k = 4095 / (max - min);
      const hist = new Uint32Array(4096);
      for (let i = 0; i < values.length; i++) hist[Math.round((values[i] - min) * k)]++;
      const at = (pct: number) => {
        let acc = 0;
        for (let b = 0; b < 4096; b++) if ((acc += hist[b]) >= (pct / 100) * values.length) return min + b / k;
        return max;
      };
      const [lo, hi] = [at(0.5), at(99.5)];
      const scale = 1 / (hi - lo);
      return Float32Array.from(values, (s) => {
        const v = Math.min(1, Math.max(0, (s - lo) * scale));
        return invert ? 1 - v : v;
      });
    };
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const unsigned = Uint16Array.from({ length: 20000 }, () => Math.floor(random() ** 2 * 4096));
    const signed = Int16Array.from({ length: 20000 }, () => Math.floor(random() * 60000) - 30000);
    for (const [values, photometric] of [[unsigned, 'MONOCHROME2'], [signed, 'MONOCHROME1'], [unsigned, 'MONOCHROME1']] as const) {
      const got = toDisplay({ rows: 100, columns: 200, values, photometric, pixelSpacingMm: [0.1, 0.1] }).data;
      const want = reference(values, photometric === 'MONOCHROME1');
      expect(got.findIndex((v, i) => v !== want[i]), `${values.constructor.name} ${photometric}`).toBe(-1);
    }
  });

  it('letterboxes by area averaging, keeping the mean and padding with air', () => {
    const img = image(300, 200, (r, c) => ((r + c) % 2 === 0 ? 1 : 0));
    const lb = letterbox(img, 64);
    expect(lb.scale).toBeCloseTo(64 / 300, 9);
    const width = Math.round(200 * lb.scale);
    for (let r = 0; r < 64; r++) {
      for (let c = 0; c < width; c++) expect(lb.data[r * 64 + c]).toBeCloseTo(0.5, 1);
      expect(lb.data[r * 64 + 63]).toBe(0);
    }
  });

  it('turns crops so that the distal direction points up, at a fixed physical scale', () => {
    // a bright bar along +x (to the right) of the image, 2 mm wide, from the centre outwards
    const img = image(200, 200, (r, c) => (Math.abs(r - 100) < 10 && c > 100 ? 1 : 0));
    const crop = sampleCrop(img, { x: 100, y: 100, distal: { x: 1, y: 0 } }, 40, 0.2);
    const at = (i: number, j: number) => crop[i * 40 + j];
    expect(at(5, 20)).toBeCloseTo(1, 5); // above the centre: the distal bar
    expect(at(35, 20)).toBe(0); // below: nothing
    expect(at(5, 2)).toBe(0); // 3.6 mm to the side: outside the 2 mm bar
  });

  it('finds the distal direction from neighbouring joints, image up when unknown', () => {
    expect(distalDirection('PIP2', { MCP2: { x: 0, y: 10 }, DIP2: { x: 0, y: 0 } })).toEqual({ x: 0, y: -10 });
    expect(distalDirection('PIP2', {})).toEqual({ x: 0, y: -1 });
  });
});
