import { describe, expect, it } from 'vitest';
import { turnForSeed, turnPhantom } from '../src/phantom/orient.js';
import { renderPhantom } from '../src/phantom/render.js';

/** A phantom stored turned or mirrored: the truth moves with the pixels. */
const r = renderPhantom({ seed: 77, rows: 600, columns: 480, pixelSpacingMm: 0.4, layout: 'one', profile: 'healthy', laterality: 'L' });
const at = (img: Float32Array, w: number, x: number, y: number) => img[Math.floor(y) * w + Math.floor(x)];

describe('phantom films turned and mirrored', () => {
  it.each([[1, false], [2, false], [3, false], [0, true], [1, true]] as const)('%i quarter turns, mirrored %s: pixels and joints move together', (quarterTurns, mirrored) => {
    const t = turnPhantom(r, { quarterTurns, mirrored });
    expect([t.rows, t.columns]).toEqual(quarterTurns % 2 ? [r.columns, r.rows] : [r.rows, r.columns]);
    expect(t.hands[0].laterality).toBe(mirrored ? 'R' : 'L');
    for (const [i, j] of r.hands[0].joints.entries()) {
      const u = t.hands[0].joints[i];
      // the pixel under each joint centre is the same pixel of the same picture
      expect(at(t.image, t.columns, u.x, u.y)).toBeCloseTo(at(r.image, r.columns, j.x, j.y), 6);
      const [bw, bh] = [u.box[2] - u.box[0], u.box[3] - u.box[1]];
      expect(quarterTurns % 2 ? [bh, bw] : [bw, bh]).toEqual([j.box[2] - j.box[0], j.box[3] - j.box[1]].map((v) => expect.closeTo(v, 9)));
    }
  });

  it('an any-orientation run draws every quarter turn and both sides from the seeds', () => {
    const turns = Array.from({ length: 64 }, (_, i) => turnForSeed(2_000_001 + i));
    expect(new Set(turns.map((t) => t.quarterTurns))).toEqual(new Set([0, 1, 2, 3]));
    expect(turns.filter((t) => t.mirrored).length).toBeGreaterThan(16);
    expect(turns.filter((t) => t.mirrored).length).toBeLessThan(48);
    expect(turnForSeed(5)).toEqual(turnForSeed(5));
  });
});
