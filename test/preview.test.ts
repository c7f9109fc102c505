import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import type { HandResult } from '../src/analysis/hand-analysis.js';
import { histogram, percentileWindow, previewPng, previewSize, toGray8, truthOverlaySvg, worstSeverity } from '../src/imaging/preview.js';

/** A radiograph-like float image: dark background, a bright blob, a little texture. */
function fakeRadiograph(rows: number, columns: number): Float32Array {
  const img = new Float32Array(rows * columns);
  const cx = columns / 2;
  const cy = rows / 2;
  const s2 = 2 * (Math.min(rows, columns) / 5) ** 2;
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < columns; x++) {
      img[y * columns + x] = 0.1 + 0.7 * Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / s2) + 0.02 * Math.sin(x / 5) * Math.cos(y / 7);
    }
  }
  return img;
}

const truth: HandResult[] = [
  {
    laterality: 'L',
    joints: [
      { site: 'MCP2', x: 1000, y: 1200, box: [900, 1100, 1100, 1300], confidence: 1, severity: { ra: 'severe', oa: 'healthy' } },
      { site: 'PIP3', x: 600, y: 700, box: [540, 640, 660, 760], confidence: 1, severity: { oa: 'healthy' } },
    ],
    summary: { svhJsn: 3, svhErosion: 0, klSum: 0, pattern: 'RA-like' },
  },
];

describe('toGray8', () => {
  it('maps [low, high] to [0, 255] monotonically and clamps outside', () => {
    const n = 1001;
    const ramp = new Float32Array(n);
    for (let i = 0; i < n; i++) ramp[i] = -0.1 + (1.2 * i) / (n - 1); // -0.1 .. 1.1
    const g = toGray8(ramp, 1, n, { low: 0.2, high: 0.8 });
    for (let i = 1; i < n; i++) expect(g[i]).toBeGreaterThanOrEqual(g[i - 1]);
    expect(g[0]).toBe(0);
    expect(g[n - 1]).toBe(255);
    const at = (v: number) => toGray8(new Float32Array([v]), 1, 1, { low: 0.2, high: 0.8 })[0];
    expect(at(0.2)).toBe(0);
    expect(at(0.8)).toBe(255);
    expect(Math.abs(at(0.5) - 127.5)).toBeLessThanOrEqual(0.5);
    expect(at(Number.NaN)).toBe(0);
    // every grey level between is reached by a fine ramp
    expect(new Set(g).size).toBe(256);
  });

  it('uses a percentile window by default, so a few hot pixels do not wash out the image', () => {
    const img = new Float32Array(100 * 100).map((_, i) => 0.3 + 0.2 * ((i % 100) / 99));
    for (let i = 0; i < 20; i++) img[i * 37] = 1; // 0.2 % outliers
    const w = percentileWindow(img);
    expect(w.high).toBeLessThan(0.6);
    expect(w.low).toBeGreaterThanOrEqual(0.29);
    const g = toGray8(img, 100, 100);
    // the ramp still spans (almost) the whole grey range
    expect(Math.max(...g.filter((_, i) => i % 37 !== 0))).toBeGreaterThan(240);
    expect(Math.min(...g)).toBeLessThan(10);
  });

  it('handles flat images and rejects a size mismatch', () => {
    const flat = new Float32Array(16).fill(0.4);
    const g = toGray8(flat, 4, 4);
    expect(new Set(g).size).toBe(1);
    expect(() => toGray8(new Float32Array(10), 3, 4)).toThrow(/10 values.*3 x 4/);
    expect(() => toGray8(flat, 4, 4, { low: 1, high: 1 })).toThrow(/window/);
  });
});

describe('histogram', () => {
  it('bins 0..255 into equal bins, normalised to sum 1', () => {
    const v = new Uint8Array([0, 3, 4, 255, 255, 128]);
    const h = histogram(v, 64);
    expect(h).toHaveLength(64);
    expect(h[0]).toBeCloseTo(2 / 6); // 0 and 3
    expect(h[1]).toBeCloseTo(1 / 6); // 4
    expect(h[32]).toBeCloseTo(1 / 6); // 128
    expect(h[63]).toBeCloseTo(2 / 6);
    expect(h.reduce((a, b) => a + b, 0)).toBeCloseTo(1);
    expect(histogram(new Uint8Array(0), 8)).toEqual(new Array(8).fill(0));
    expect(histogram(new Uint8Array([7]), 256)[7]).toBe(1);
    expect(() => histogram(v, 0)).toThrow(/bins/);
  });
});

describe('previewPng', () => {
  const rows = 2560;
  const columns = 2048;
  const img = fakeRadiograph(rows, columns);

  it('respects maxSide, keeps the aspect ratio, never enlarges', async () => {
    const t0 = performance.now();
    const png = await previewPng(img, rows, columns);
    const ms = performance.now() - t0;
    const meta = await sharp(png).metadata();
    expect([meta.width, meta.height, meta.channels]).toEqual([819, 1024, 1]);
    expect(ms).toBeLessThan(3000); // ~100 ms on a laptop; generous for CI

    const small = await sharp(await previewPng(img, rows, columns, { maxSide: 300 })).metadata();
    expect(Math.max(small.width!, small.height!)).toBe(300);
    expect(small.width).toBe(previewSize(rows, columns, 300).width);

    const tiny = fakeRadiograph(50, 40);
    const same = await sharp(await previewPng(tiny, 50, 40, { maxSide: 1024 })).metadata();
    expect([same.width, same.height]).toEqual([40, 50]);
  });

  it('is deterministic', async () => {
    const a = await previewPng(img, rows, columns, { maxSide: 512 });
    const b = await previewPng(img, rows, columns, { maxSide: 512 });
    expect(a.equals(b)).toBe(true);
    const c = await previewPng(img, rows, columns, { maxSide: 512, truth });
    const d = await previewPng(img, rows, columns, { maxSide: 512, truth });
    expect(c.equals(d)).toBe(true);
  });

  it('draws the truth in colour at the scaled joint positions', async () => {
    const png = await previewPng(img, rows, columns, { maxSide: 1024, truth });
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    expect(info.channels).toBe(3);
    expect([info.width, info.height]).toEqual([819, 1024]);
    const s = 1024 / rows;
    // left edge of the MCP2 box (severe: red), half-way down
    const bx = Math.round(900 * s);
    const by = Math.round(1200 * s);
    let red = 0;
    for (let dx = -2; dx <= 2; dx++) {
      const i = (by * info.width + bx + dx) * 3;
      if (data[i] - data[i + 1] > 60 && data[i] - data[i + 2] > 60) red++;
    }
    expect(red).toBeGreaterThan(0);
    // far from any joint the image stays grey
    const g = (10 * info.width + 10) * 3;
    expect(data[g]).toBe(data[g + 1]);
    expect(data[g + 1]).toBe(data[g + 2]);
  });

  it('labels joints by tracking identifier and colours by the worse severity', () => {
    const svg = truthOverlaySvg(truth, rows, columns, 819, 1024);
    expect(svg).toContain('>L-MCP2<');
    expect(svg).toContain('>L-PIP3<');
    expect(worstSeverity(truth[0].joints[0])).toBe('severe');
    // an erosion is drawn in its own class: never a healthy box
    const g = (grade: number) => ({ grade, probabilities: [] });
    const healthy = { ra: 'healthy', oa: 'healthy' } as const;
    expect([0, 1, 2, 3, 5].map((e) => worstSeverity({ severity: healthy, erosion: g(e) }))).toEqual(['healthy', 'mild', 'mild', 'severe', 'severe']);
    expect(worstSeverity({ severity: { ra: 'mild' }, erosion: g(4) })).toBe('severe');
    expect(worstSeverity({ severity: { ra: 'severe' }, erosion: g(1) })).toBe('severe');
    expect(worstSeverity({ severity: {} })).toBe('unknown');
  });
});
