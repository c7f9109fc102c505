import { describe, expect, it } from 'vitest';
import type { DisplayImage } from '../src/imaging/preprocess.js';
import { HAND_CROP, sampleHandCrop } from '../src/inference/hand-crop.js';
import { handFrame, PA_LAYOUT } from '../src/inference/view.js';
import type { JointSite } from '../src/analysis/joints.js';

/**
 * The view classifier's crop (src/inference/hand-crop.ts) is placed by the PA layout fitted
 * to the hand's joints: upright, a left hand, one scale, whatever the film.
 */
const SCALE = 90; // pixels per MCP2-MCP5 span
const TURN = (35 * Math.PI) / 180;
/** a hand placed on the film: the layout turned, scaled, shifted, and mirrored for a right hand */
const place = (p: readonly [number, number], mirrored: boolean) => {
  const [u, v] = [p[0] * SCALE, p[1] * SCALE];
  const x = Math.cos(TURN) * u - Math.sin(TURN) * v;
  const y = Math.sin(TURN) * u + Math.cos(TURN) * v;
  return { x: mirrored ? 400 - x : 400 + x, y: 300 + y };
};
const jointsOf = (mirrored: boolean) => (Object.keys(PA_LAYOUT) as JointSite[]).map((site) => ({ site, ...place(PA_LAYOUT[site], mirrored) }));

function filmWithSpotAt(at: { x: number; y: number }): DisplayImage {
  const [rows, columns] = [700, 800];
  const data = new Float32Array(rows * columns).fill(0.2);
  for (let y = 0; y < rows; y++) for (let x = 0; x < columns; x++) if (Math.hypot(x + 0.5 - at.x, y + 0.5 - at.y) < 6) data[y * columns + x] = 1;
  return { rows, columns, data, pixelSpacingMm: [0.15, 0.15] };
}

describe('hand crop', () => {
  it.each([['a left hand', false, 'L'], ['a right hand (mirrored into the left frame)', true, 'R']] as const)('%s: the frame is the placement of the layout', (_, mirrored, side) => {
    const frame = handFrame(jointsOf(mirrored), side)!;
    for (const p of [[0, 0], [1, -1], [-0.5, 1.2]] as const) {
      const want = place(p, mirrored);
      const got = frame(p);
      expect(Math.hypot(got.x - want.x, got.y - want.y)).toBeLessThan(1e-6);
    }
  });

  it('samples the layout point under each crop pixel, standardised', () => {
    for (const [mirrored, side] of [[false, 'L'], [true, 'R']] as const) {
      const spot: [number, number] = [0.3, 0.6];
      const crop = sampleHandCrop(filmWithSpotAt(place(spot, mirrored)), handFrame(jointsOf(mirrored), side)!);
      expect(crop.length).toBe(HAND_CROP.rows * HAND_CROP.columns);
      const mean = crop.reduce((a, b) => a + b, 0) / crop.length;
      const sd = Math.sqrt(crop.reduce((a, b) => a + (b - mean) ** 2, 0) / crop.length);
      expect(Math.abs(mean)).toBeLessThan(1e-4);
      expect(sd).toBeCloseTo(1, 4);
      // the spot's centre: the centroid of the crop pixels brighter than half its peak
      const peak = Math.max(...crop);
      let [n, row, col] = [0, 0, 0];
      crop.forEach((v, i) => {
        if (v < peak / 2) return;
        n++;
        row += Math.floor(i / HAND_CROP.columns);
        col += i % HAND_CROP.columns;
      });
      [row, col] = [row / n, col / n];
      const wantCol = ((spot[0] - HAND_CROP.x[0]) / (HAND_CROP.x[1] - HAND_CROP.x[0])) * HAND_CROP.columns;
      const wantRow = ((spot[1] - HAND_CROP.y[0]) / (HAND_CROP.y[1] - HAND_CROP.y[0])) * HAND_CROP.rows;
      expect(Math.abs(col + 0.5 - wantCol), `${side} column`).toBeLessThan(0.5);
      expect(Math.abs(row + 0.5 - wantRow), `${side} row`).toBeLessThan(0.5);
    }
  });

  it('needs enough joints to place the frame', () => {
    expect(handFrame(jointsOf(false).slice(0, 5), 'L')).toBeUndefined();
  });
});
