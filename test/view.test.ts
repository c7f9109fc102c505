import { describe, expect, it } from 'vitest';
import type { Candidate } from '../src/inference/detector.js';
import { handNotGraded, keepPaHands, layoutResidual, MAX_PA_RESIDUAL, recognisedHand } from '../src/inference/view.js';
import { DEFAULT_CALIBRATION } from '../src/inference/manifest.js';
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
      // the residual of a hand kept is recorded (the SR says the view was found PA, and how well)
      expect(keepPaHands(joints).paResiduals[side]).toBeCloseTo(layoutResidual(joints, side)!, 12);
      expect(keepPaHands(joints, false).paResiduals).toEqual({});
    }
  });

  it('does not grade a hand whose joints lie as in a lateral view, saying why; too few joints are not judged', () => {
    const joints = hand(15, 'L');
    const lateral = joints.map((j) => ({ ...j, x: 500 + (j.x - 500) * 0.15 + (j.site.startsWith('DIP') ? 60 : 0) }));
    const check = keepPaHands(lateral);
    expect(check.candidates).toEqual([]);
    expect(check.notGraded).toEqual([{ laterality: 'L', cause: 'view', reason: expect.stringMatching(/do not lie as in a PA view \(layout residual 0\.\d\d > 0\.3\)/) }]);
    expect(layoutResidual(lateral.slice(0, 7), 'L')).toBeUndefined();
    // a site that grades every view still gets a PA layout check skipped, nothing else
    expect(keepPaHands(lateral, false).notGraded).toEqual([]);
  });

  it('does not name the joints of structures too few or too unsure to be a hand (a wrist-only film, an elbow)', () => {
    const joints = hand(16, 'R');
    // the wrist, the thumb base and MCP1 only, as on a wrist-only film: 8 sites
    const wrist = joints.filter((j) => /^(CMC|STT|CSL|RC)/.test(j.site) || j.site === 'MCP1');
    const check = keepPaHands(wrist);
    expect(check.candidates).toEqual([]);
    expect(check.notGraded).toEqual([{ laterality: 'R', cause: 'unrecognised', reason: expect.stringMatching(/^8 joint-like structures at a mean detector confidence of 0\.90/) }]);
    // every site, but none of them sure: as the detector answers on a lateral forearm
    const unsure = joints.map((j) => ({ ...j, confidence: j.site.startsWith('MCP') ? 0.8 : 0.45 }));
    expect(keepPaHands(unsure).notGraded[0].cause).toBe('unrecognised');
    expect(keepPaHands(unsure, false).notGraded[0].cause).toBe('unrecognised');
    // at the bounds a hand is graded
    const c = DEFAULT_CALIBRATION;
    const atBounds = joints.slice(0, c.handMinJoints).map((j) => ({ ...j, confidence: c.handMinMeanConfidence + 1e-9 }));
    expect(handNotGraded(atBounds, layoutResidual(atBounds, 'R'))).toBeUndefined();
    expect(handNotGraded(atBounds.slice(1), layoutResidual(atBounds.slice(1), 'R'))?.cause).toBe('unrecognised');
    // a detector calibrated otherwise (a site's own model) brings its own bounds
    expect(handNotGraded(atBounds.slice(1), layoutResidual(atBounds.slice(1), 'R'), recognisedHand({ ...c, handMinJoints: 6 }))).toBeUndefined();
  });
});
