import { describe, expect, it } from 'vitest';
import type { Candidate } from '../src/inference/detector.js';
import { keepPaHands, layoutResidual, MAX_PA_RESIDUAL } from '../src/inference/view.js';
import { renderPhantom } from '../src/phantom/render.js';

/**
 * A hand's joints lie as in a PA view, or the hand is not graded: an oblique or lateral
 * view overlaps the joints and narrows the spaces it shows.
 */
function hand(seed: number, laterality: 'L' | 'R'): Candidate[] {
  const r = renderPhantom({ seed, rows: 1280, columns: 1024, pixelSpacingMm: 0.2, layout: 'one', profile: 'mixed', laterality });
  return r.hands[0].joints.map((j) => ({ laterality, site: j.site, x: j.x, y: j.y, confidence: 0.9 }));
}

describe('PA view check', () => {
  it('keeps phantom hands of either side, turned and scaled', () => {
    for (const [seed, side] of [[11, 'L'], [12, 'R'], [13, 'L'], [14, 'R']] as const) {
      const joints = hand(seed, side);
      expect(layoutResidual(joints, side)!, `seed ${seed}`).toBeLessThan(MAX_PA_RESIDUAL / 2);
      // turned 90 degrees and shown at half size: the layout is the same
      const turned = joints.map((j) => ({ ...j, x: 900 - j.y / 2, y: j.x / 2 }));
      expect(Math.abs(layoutResidual(turned, side)! - layoutResidual(joints, side)!)).toBeLessThan(1e-9);
      expect(keepPaHands(joints).notGraded).toEqual([]);
    }
  });

  it('does not grade a hand whose joints lie as in a lateral view, saying why; too few joints are not judged', () => {
    const joints = hand(15, 'L');
    const lateral = joints.map((j) => ({ ...j, x: 500 + (j.x - 500) * 0.15 + (j.site.startsWith('DIP') ? 60 : 0) }));
    const check = keepPaHands(lateral);
    expect(check.candidates).toEqual([]);
    expect(check.notGraded).toEqual([{ laterality: 'L', reason: expect.stringMatching(/do not lie as in a PA view \(layout residual 0\.\d\d > 0\.3\)/) }]);
    expect(layoutResidual(lateral.slice(0, 7), 'L')).toBeUndefined();
  });
});
