import { describe, expect, it } from 'vitest';
import { JOINT_SITES } from '../src/analysis/joints.js';
import { buildHand } from '../src/phantom/anatomy.js';
import { lesionsFor } from '../src/phantom/disease.js';
import { fannedObliqueView, obliqueAngleForSeed, obliqueView } from '../src/phantom/oblique.js';
import { sampleHandPose } from '../src/phantom/pose.js';
import { renderPhantom } from '../src/phantom/render.js';
import { Rng } from '../src/phantom/rng.js';

/**
 * Oblique hand views (src/phantom/oblique.ts): the hand turned about its long axis, so
 * across-hand distances shrink and bones crowd. The node must not grade them as PA; the
 * shipped film check still does (docs/evaluation.md, "Oblique views"), on real film and here.
 */
describe('phantom oblique views', () => {
  const hand = () => {
    const rng = new Rng(77);
    const pose = sampleHandPose(rng.fork('pose'), 50, 0);
    return buildHand(pose, (s) => lesionsFor(s, {}, false, rng.fork(s)));
  };

  it('shrink every joint across the hand by cos(angle) and keep it along the hand', () => {
    const pa = hand();
    const ob = obliqueView(pa, 60);
    for (const s of JOINT_SITES) {
      const [a, b] = [pa.joints.get(s)!, ob.joints.get(s)!];
      expect(b.c[0]).toBeCloseTo(a.c[0] * 0.5, 9);
      expect(b.c[1]).toBeCloseTo(a.c[1], 9);
      expect(Math.hypot(...b.axis)).toBeCloseTo(1, 9);
    }
    // bones keep their thickness but their projected length shrinks with their across-hand part
    ob.bones.forEach((b, i) => expect(b.fore).toBeLessThanOrEqual(pa.bones[i].fore + 1e-12));
    expect(obliqueView(pa, 0).joints.get('MCP2')!.c).toEqual(pa.joints.get('MCP2')!.c);
  });

  it('take their angle from the seed (35-60 degrees) and have no PA hand in their truth', () => {
    const angles = [1, 2, 3, 4, 5].map(obliqueAngleForSeed);
    expect(new Set(angles).size).toBe(5);
    for (const a of angles) expect(a >= 35 && a <= 60).toBe(true);
    const spec = { seed: 9, rows: 1024, columns: 800, pixelSpacingMm: 0.2, layout: 'one', profile: 'healthy', laterality: 'L' } as const;
    expect(renderPhantom(spec).hands).toHaveLength(1);
    expect(renderPhantom({ ...spec, obliqueDeg: obliqueAngleForSeed(9) }).hands).toEqual([]);
  });

  it('fanned: the palm turns as in obliqueView, each finger moves rigidly with its metacarpal head', () => {
    const pa = hand();
    const turned = obliqueView(pa, 50);
    const fanned = fannedObliqueView(pa, 50);
    for (const s of ['MCP2', 'MCP5', 'CMC3', 'STT', 'RC', 'MCP1', 'IP1'] as const) expect(fanned.joints.get(s)!.c).toEqual(turned.joints.get(s)!.c);
    for (const k of [2, 3, 4, 5]) {
      const mcp = [pa.joints.get(`MCP${k}` as 'MCP2')!.c, fanned.joints.get(`MCP${k}` as 'MCP2')!.c];
      for (const s of [`PIP${k}`, `DIP${k}`] as const) {
        const [a, b] = [pa.joints.get(s as 'PIP2')!, fanned.joints.get(s as 'PIP2')!];
        // moved by its head's shift, along the hand not at all; the joint's axis kept (the finger not squeezed)
        expect(b.c[0] - a.c[0]).toBeCloseTo(mcp[1][0] - mcp[0][0], 9);
        expect(b.c[1]).toBeCloseTo(a.c[1], 9);
        expect(b.axis).toEqual(a.axis);
      }
    }
    // the fingers keep their spread: DIP2-DIP5 as in the PA hand, where the squeezed view narrows it
    const spread = (m: typeof pa) => Math.abs(m.joints.get('DIP2')!.c[0] - m.joints.get('DIP5')!.c[0]);
    expect(spread(fanned)).toBeGreaterThan(spread(turned) + 5);
    expect(renderPhantom({ seed: 9, rows: 1024, columns: 800, pixelSpacingMm: 0.2, layout: 'one', profile: 'healthy', laterality: 'L', obliqueDeg: 45, obliqueFanned: true }).hands).toEqual([]);
  });
});
