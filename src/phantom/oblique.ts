import { dirOf, rad, type Ellipsoid, type HandModel, type LongBone, type V2 } from './anatomy.js';
import { Rng } from './rng.js';

/**
 * An oblique view: the hand turned about its long axis (the hand frame's v axis) by an
 * angle, as the second view of a hand series is taken. Seen by the beam, every point's
 * across-hand coordinate shrinks by cos(angle) while the bones keep their thickness, so the
 * metacarpals and carpals crowd and overlap and the joint spaces, seen edge-on in a PA view,
 * are foreshortened: the view the scores are not defined on, which the node must not grade
 * as PA (real obliques are: docs/evaluation.md). A sketch, not an anatomical rotation: the
 * bones have no depth position here, so the palmar arch's parallax is not drawn.
 */
export function obliqueView(m: HandModel, angleDeg: number): HandModel {
  const c = Math.cos(rad(angleDeg));
  const pt = (p: V2): V2 => [p[0] * c, p[1]];
  /** a direction's image after the turn, and the factor its projected length shrinks by */
  const dir = (d: V2): { d: V2; len: number } => {
    const q: V2 = [d[0] * c, d[1]];
    const len = Math.hypot(q[0], q[1]);
    return { d: [q[0] / len, q[1] / len], len: len / Math.hypot(d[0], d[1]) };
  };
  const bone = (b: LongBone): LongBone => {
    const t = dir(b.dir);
    // the projected length shrinks with the axis' across-hand part
    return { ...b, p0: pt(b.p0), dir: t.d, fore: b.fore * t.len };
  };
  const ellipsoid = (e: Ellipsoid): Ellipsoid => {
    const t = dir(dirOf(e.ang));
    return { ...e, c: pt(e.c), ang: (Math.atan2(t.d[0], t.d[1]) * 180) / Math.PI };
  };
  return {
    bones: m.bones.map(bone),
    ellipsoids: m.ellipsoids.map(ellipsoid),
    blobs: m.blobs.map(ellipsoid),
    soft: {
      ...m.soft,
      capsules: m.soft.capsules.map((k) => ({ ...k, p0: pt(k.p0), p1: pt(k.p1) })),
      palm: m.soft.palm.map(pt),
      ellipses: m.soft.ellipses.map(ellipsoid),
      ...(m.soft.fat ? { fat: m.soft.fat.map(ellipsoid) } : {}),
    },
    joints: new Map([...m.joints].map(([s, j]) => [s, { ...j, c: pt(j.c), axis: dir(j.axis).d }])),
  };
}

/** The turn of an oblique film, from its seed: 35-60 degrees, as hand series take it. */
export function obliqueAngleForSeed(seed: number): number {
  return new Rng(seed).fork('oblique').uniform(35, 60);
}
