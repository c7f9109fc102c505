import { describe, expect, it } from 'vitest';
import { realisticFrame } from '../src/phantom/frame.js';
import { renderPhantom } from '../src/phantom/render.js';

describe('realisticFrame', () => {
  it('is deterministic per seed and gives hand-film fields of view', () => {
    expect(realisticFrame(0.15, 7)).toEqual(realisticFrame(0.15, 7));
    const kinds = new Set<string>();
    for (let seed = 0; seed < 60; seed++) {
      const f = realisticFrame(0.15, seed);
      kinds.add(f.kind);
      expect(Number.isInteger(f.rows) && Number.isInteger(f.columns)).toBe(true);
      // portrait, 14-24 cm wide, 20-30 cm high
      expect(f.heightMm).toBeGreaterThan(f.widthMm);
      expect(f.widthMm).toBeGreaterThanOrEqual(139);
      expect(f.widthMm).toBeLessThanOrEqual(241);
      expect(f.heightMm).toBeGreaterThanOrEqual(199);
      expect(f.heightMm).toBeLessThanOrEqual(301);
      expect(f.rows).toBe(Math.round(f.heightMm / 0.15));
      const b = realisticFrame(0.15, seed, 'both');
      expect(b.widthMm).toBeGreaterThanOrEqual(b.heightMm);
    }
    expect(kinds.size).toBeGreaterThan(1);
    expect(() => realisticFrame(0.01, 1)).toThrow();
  });

  it('lets the hand fill most of the image height', () => {
    for (const seed of [3, 4]) {
      const spacing = 0.4;
      const f = realisticFrame(spacing, seed);
      const r = renderPhantom({ seed, profile: 'healthy', layout: 'one', laterality: 'L', rows: f.rows, columns: f.columns, pixelSpacingMm: spacing }, { noClutter: true });
      const ys = r.hands[0].joints.map((j) => j.y);
      // radiocarpal joint to the DIPs alone spans over half the film
      expect((Math.max(...ys) - Math.min(...ys)) / r.rows).toBeGreaterThan(0.5);
    }
  });
});
