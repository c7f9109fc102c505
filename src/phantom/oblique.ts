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

/**
 * An oblique view as radiographers take it: the palm and carpus turned about the hand's long
 * axis as in `obliqueView`, but the fingers fanned apart (the positioning asks for them
 * separated and parallel to the plate), so each finger moves rigidly with its metacarpal head
 * and keeps its own spread and length. What is left to tell it from a PA hand is what real
 * obliques show: metacarpals 3-5 and the carpus crowded and overlapping. A point belongs to
 * finger k when it lies beyond MCPk and within `FINGER_REACH_MM` of the finger's line
 * (MCPk -> PIPk -> DIPk and on); the thumb turns with the palm.
 */
export function fannedObliqueView(m: HandModel, angleDeg: number): HandModel {
  const c = Math.cos(rad(angleDeg));
  const turned = obliqueView(m, angleDeg);
  const fingers = ([2, 3, 4, 5] as const).map((k) => {
    const [mcp, pip, dip] = (['MCP', 'PIP', 'DIP'] as const).map((s) => m.joints.get(`${s}${k}`)!.c);
    const tip: V2 = [dip[0] + (dip[0] - pip[0]), dip[1] + (dip[1] - pip[1])];
    return { line: [mcp, pip, dip, tip] as V2[], shift: (c - 1) * mcp[0] };
  });
  /** the finger a point belongs to, by its distance to each finger's line beyond the knuckle */
  const fingerOf = (p: V2) => {
    let best: (typeof fingers)[number] | undefined;
    let bestD = FINGER_REACH_MM;
    for (const f of fingers) {
      const d = beyondKnuckle(p, f.line);
      if (d < bestD) [best, bestD] = [f, d];
    }
    return best;
  };
  const moved = (p: V2): V2 | undefined => {
    const f = fingerOf(p);
    return f && [p[0] + f.shift, p[1]];
  };
  return {
    bones: m.bones.map((b, i) => {
      const p = moved(b.p0);
      return p ? { ...b, p0: p } : turned.bones[i];
    }),
    ellipsoids: m.ellipsoids.map((e, i) => withCentre(e, moved(e.c)) ?? turned.ellipsoids[i]),
    blobs: m.blobs.map((e, i) => withCentre(e, moved(e.c)) ?? turned.blobs[i]),
    soft: {
      ...turned.soft,
      capsules: m.soft.capsules.map((k, i) => {
        const [p0, p1] = [moved(k.p0), moved(k.p1)];
        return p0 && p1 ? { ...k, p0, p1 } : turned.soft.capsules[i];
      }),
      palm: m.soft.palm.map((p, i) => moved(p) ?? turned.soft.palm[i]),
      ellipses: m.soft.ellipses.map((e, i) => withCentre(e, moved(e.c)) ?? turned.soft.ellipses[i]),
      ...(m.soft.fat ? { fat: m.soft.fat.map((e, i) => withCentre(e, moved(e.c)) ?? turned.soft.fat![i]) } : {}),
    },
    joints: new Map([...m.joints].map(([s, j]) => [s, s.startsWith('MCP') ? turned.joints.get(s)! : withCentre(j, moved(j.c)) ?? turned.joints.get(s)!])),
  };
}

/** How far from a finger's line a point may lie and still be that finger's (a finger is ~18 mm wide). */
const FINGER_REACH_MM = 11;

const withCentre = <T extends { c: V2 }>(e: T, c: V2 | undefined): T | undefined => (c ? { ...e, c } : undefined);

/** How far (mm) short of the knuckle, along the finger, a point still counts as the finger's. */
const KNUCKLE_SLACK_MM = 0.1;

/** Distance from p to the polyline, or Infinity where p lies short of its first point (proximal to the knuckle). */
function beyondKnuckle(p: V2, line: V2[]): number {
  const [a, b] = line;
  const along = ((p[0] - a[0]) * (b[0] - a[0]) + (p[1] - a[1]) * (b[1] - a[1])) / Math.hypot(b[0] - a[0], b[1] - a[1]);
  if (along < -KNUCKLE_SLACK_MM) return Infinity;
  let best = Infinity;
  for (let i = 0; i + 1 < line.length; i++) best = Math.min(best, segmentDistance(p, line[i], line[i + 1]));
  return best;
}

function segmentDistance(p: V2, a: V2, b: V2): number {
  const [dx, dy] = [b[0] - a[0], b[1] - a[1]];
  const t = Math.max(0, Math.min(1, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / (dx * dx + dy * dy || 1)));
  return Math.hypot(p[0] - a[0] - t * dx, p[1] - a[1] - t * dy);
}

/** The turn of an oblique film, from its seed: 35-60 degrees, as hand series take it. */
export function obliqueAngleForSeed(seed: number): number {
  return new Rng(seed).fork('oblique').uniform(35, 60);
}
