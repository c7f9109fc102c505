import type { JointSite } from '../analysis/joints.js';
import { add, blob, dirOf, MU, outline, profile, rad, type BoneProfile, type Ellipsoid, type HandModel, type JointGeom, type V2 } from './anatomy.js';
import type { HandPose } from './pose.js';

/**
 * A foot seen dorsoplantar, in the hand's model frame (mm; u to the big toe's side, v towards
 * the toes), for the node's film check: an RA study routes feet with the hands, and a foot
 * has five rays, joints and a "thumb" as a hand does. What tells them apart is built in as in
 * an adult foot: long metatarsals side by side, short toes (middle and distal phalanges a few
 * millimetres), a big toe in line with the others rather than abducted, a tarsus of large
 * bones and a heel instead of a wrist and forearm. Drawn by the hand's renderer; no joint of
 * it is a hand's joint (the film's truth has no hands).
 */

// Average adult dimensions (mm): index 0 = big toe .. 4 = little toe.
const MT_LEN = [63, 75, 70, 66, 64];
const PP_LEN = [30, 26, 22, 20, 17];
const MP_LEN = [0, 10, 9, 8, 7];
const DP_LEN = [24, 8, 7.5, 7, 6.5];
const MT_R = [[12, 6.5, 10], [8, 4, 6.6], [7.5, 3.9, 6.3], [7.4, 3.9, 6.1], [8.5, 4.2, 6.0]];
const PP_R = [[10.5, 6.2, 8.6], [6.2, 3.4, 5.0], [5.9, 3.2, 4.8], [5.6, 3.1, 4.6], [5.4, 3.0, 4.3]];
const MP_R = [[0, 0, 0], [4.8, 3.4, 4.2], [4.6, 3.2, 4.0], [4.4, 3.1, 3.8], [4.2, 3.0, 3.6]];
const DP_R = [8.6, 4.0, 3.8, 3.6, 3.4];
/** metatarsal bases along the tarsometatarsal (Lisfranc) line, and each ray's direction (degrees from +v towards +u) */
const MT_BASE: V2[] = [[17, 0], [6, -5], [-3, -2], [-12, 0], [-21, -3]];
const MT_ANGLE = [-3, 2, -1, -5, -11];
const TOE_SITES: JointSite[][] = [['MCP1', 'IP1'], ['MCP2', 'PIP2', 'DIP2'], ['MCP3', 'PIP3', 'DIP3'], ['MCP4', 'PIP4', 'DIP4'], ['MCP5', 'PIP5', 'DIP5']];
const GAP = 1.2;

export function buildFoot(pose: HandPose): HandModel {
  const m: HandModel = { bones: [], ellipsoids: [], blobs: [], soft: { capsules: [], palm: [], palmThick: pose.soft.palmThick * 1.6, ellipses: [] }, joints: new Map() };
  const tips: V2[] = [];
  const heads: V2[] = [];
  for (let d = 0; d < 5; d++) {
    const r = ray(m, pose, d);
    tips.push(r.tip);
    heads.push(r.head);
  }
  tarsus(m, pose);
  softTissue(m, pose, heads, tips);
  return m;
}

function ray(m: HandModel, pose: HandPose, d: number): { tip: V2; head: V2 } {
  const big = d === 0;
  const lens = big ? [MT_LEN[0], PP_LEN[0], DP_LEN[0]] : [MT_LEN[d], PP_LEN[d], MP_LEN[d], DP_LEN[d]];
  const radii = big ? [MT_R[0], PP_R[0], [DP_R[0]]] : [MT_R[d], PP_R[d], MP_R[d], [DP_R[d]]];
  const f = pose.fingerLen[d];
  let ang = MT_ANGLE[d] + 2 * pose.carpJit[d];
  let p0: V2 = add(MT_BASE[d], [0.6 * pose.carpJit[5 + d], 0]);
  let prev: BoneProfile | null = null;
  let tip: V2 = p0;
  let head: V2 = p0;
  for (let k = 0; k < lens.length; k++) {
    const last = k === lens.length - 1;
    const prof = profile(lens[k] * f, radii[k].length === 1 ? [radii[k][0], 0, 0] : radii[k], pose, prev, prev ? GAP : 0, last, k === 0, big);
    const dir = dirOf(ang);
    // toes rest flexed a little at their interphalangeal joints: foreshortened on the film
    const fore = Math.cos(rad(k >= 2 ? 25 : k === 1 ? 10 : 0));
    if (k > 0) p0 = add(p0, dir, -prof.cupDepth * fore);
    m.bones.push({ p0, dir, fore, prof, density: pose.density * 1.05 });
    tip = add(p0, dir, prof.length * fore);
    if (k === 0) head = tip;
    if (last) break;
    joint(m, TOE_SITES[d][k], add(tip, dir, (GAP * fore) / 2), dir, prof.rHead);
    p0 = add(tip, dir, GAP * fore);
    prev = prof;
    // the lesser toes turn a little towards the fourth ray at the MTP joint (a common slight varus)
    if (k === 0 && !big) ang += -3;
  }
  if (big) for (const s of [-1, 1]) m.ellipsoids.push(bone(add(head, [s * 5, -6]), 3.4, 4.4, 5, 0, pose));
  return { tip, head };
}

/** Cuneiforms, cuboid, navicular, the talus' head and the calcaneus behind it: large, overlapping ellipsoids. */
function tarsus(m: HandModel, pose: HandPose): void {
  const j = (i: number) => pose.carpJit[10 + i];
  const parts: [V2, number, number, number, number][] = [
    [[17, -14], 8.5, 13, 20, -5], // medial cuneiform
    [[6.5, -12], 6, 8, 18, 0], // intermediate cuneiform
    [[-3, -13], 6.5, 10, 18, 5], // lateral cuneiform
    [[-17, -18], 11, 14, 20, 15], // cuboid
    [[8, -30], 16, 8, 22, -12], // navicular
    [[6, -48], 15, 13, 28, -8], // head and neck of the talus
    [[-8, -72], 19, 32, 36, 10], // calcaneus, seen end-on and overlapped
  ];
  for (const [[u, v], a, b, depth, ang] of parts) {
    const e = bone([u + 0.8 * j(0), v + 0.8 * j(1)], a, b, depth, ang + 4 * j(2), pose);
    e.shape = outline([], [[4, -0.08, 0], [3, 0.04 * j(3), 30 * j(4)]]);
    m.ellipsoids.push(e);
  }
}

function bone(c: V2, a: number, b: number, depth: number, ang: number, pose: HandPose): Ellipsoid {
  // thin-shelled cancellous bone as the carpals are; the depth kept short of the anatomy's so
  // that the overlapped tarsus reads dense but not burnt out, as on a foot film
  return { c, a, b, depth: depth * 0.45, ang, shell: 0.8, muOuter: MU.cortex * 0.5 * pose.density, muInner: MU.cancellous * 0.8 * pose.density };
}

function joint(m: HandModel, site: JointSite, c: V2, axis: V2, halfWidth: number): void {
  const g: JointGeom = { site, c, axis, halfWidth, gapMm: GAP };
  m.joints.set(site, g);
}

/** Toes, the forefoot and the hindfoot as soft tissue: broader and thicker than a hand's. */
function softTissue(m: HandModel, pose: HandPose, heads: V2[], tips: V2[]): void {
  const w = [13, 9, 8.6, 8.2, 8].map((x) => x * pose.soft.fingerWidth);
  for (let d = 0; d < 5; d++) m.soft.capsules.push({ p0: add(heads[d], [0, -4]), p1: add(tips[d], [0, 2 - w[d] * 0.5]), r0: w[d], r1: w[d] * 0.85, depthRatio: 0.9 });
  // the heel and midfoot as one long capsule under the forefoot's slab
  m.soft.capsules.push({ p0: [-4, -110], p1: [-2, -10], r0: 30, r1: 38, depthRatio: 0.7 });
  m.soft.palm = [[-36, -40], [-34, heads[4][1]], [-26, heads[4][1] + 14], [-4, heads[2][1] + 16], [16, heads[0][1] + 12], [30, heads[0][1]], [32, -40]];
  m.soft.ellipses.push(blob([14, -10], 16, 30, 22, [0, 1], 1));
}
