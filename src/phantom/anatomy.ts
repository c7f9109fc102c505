import type { JointSite } from '../analysis/joints.js';
import type { JointLesions } from './disease.js';
import type { HandPose } from './pose.js';

/**
 * A parametric 3D hand in a 2D "hand frame" (mm, before the hand's overall scale):
 * u points to the thumb side, v distally (towards the fingertips); depth is along the beam.
 * The frame is that of a LEFT hand seen PA (thumb on the image's right); render.ts mirrors
 * u for a right hand. Long bones are solids of revolution whose out-of-plane tilt is kept
 * as a foreshortening factor; carpals are shelled ellipsoids.
 */
export type V2 = [number, number];

/** Radius profile of a long bone along its axis (mm from the proximal rim). */
export interface BoneProfile {
  length: number;
  rBase: number;
  rShaft: number;
  rHead: number;
  /** length of the ellipsoidal cap at the distal end (head or tuft) */
  capHead: number;
  /** concave base: hole radius^2 = cupA * (cupDepth - s); 0 = convex base */
  cupA: number;
  cupDepth: number;
  cortShaft: number;
  cortEnd: number;
  /** subchondral plate thickness */
  plate: number;
  /** distal phalanx: narrow shaft, tuft at the tip */
  tuft: boolean;
  /** length of the base flare (default 0.3 x length); the forearm bones flare over a few cm only */
  flareMm?: number;
  /** rounding of the proximal rim (default: small on a cupped base, a dome on a convex one) */
  cornerMm?: number;
}

export interface LongBone {
  /** centre of the proximal rim, hand frame (projected) */
  p0: V2;
  /** unit axis direction in the image plane, proximal to distal */
  dir: V2;
  /** cos(out-of-plane tilt): projected length = length x fore */
  fore: number;
  prof: BoneProfile;
  density: number;
}

/** Ellipsoid with its depth axis along the beam; `ang` turns its b axis from +v towards +u. */
export interface Ellipsoid {
  c: V2;
  a: number;
  b: number;
  depth: number;
  ang: number;
  /** cortical shell thickness (0: uniform density muOuter) */
  shell: number;
  muOuter: number;
  muInner: number;
  /** soft edge (density falls off as 1-q, not sqrt(1-q)): for diffuse changes like osteopenia */
  diffuse?: boolean;
}

export interface SoftCapsule { p0: V2; p1: V2; r0: number; r1: number; depthRatio: number }
export interface SoftTissue {
  capsules: SoftCapsule[];
  /** palm outline, a closed polygon, and its thickness at the centre */
  palm: V2[];
  palmThick: number;
  ellipses: Ellipsoid[];
}

export interface JointGeom {
  site: JointSite;
  /** centre of the joint space */
  c: V2;
  /** unit axis across the joint, proximal to distal bone */
  axis: V2;
  halfWidth: number;
  gapMm: number;
}

export interface HandModel {
  bones: LongBone[];
  ellipsoids: Ellipsoid[];
  /** signed-density lesion blobs (erosions, osteophytes, sclerosis, osteopenia) */
  blobs: Ellipsoid[];
  soft: SoftTissue;
  joints: Map<JointSite, JointGeom>;
}

/** excess linear attenuation over soft tissue, per mm */
export const MU = { cortex: 0.075, cancellous: 0.02, soft: 0.022 };

const rad = (d: number) => (d * Math.PI) / 180;
const dirOf = (deg: number): V2 => [Math.sin(rad(deg)), Math.cos(rad(deg))];
const add = (p: V2, q: V2, k = 1): V2 => [p[0] + q[0] * k, p[1] + q[1] * k];
const perp = (d: V2): V2 => [d[1], -d[0]];
const lerp = (p: V2, q: V2, t: number): V2 => [p[0] + (q[0] - p[0]) * t, p[1] + (q[1] - p[1]) * t];

// Average adult dimensions (mm): index 0 = thumb .. 4 = little finger.
const MC_LEN = [46, 68, 65, 58, 54];
const PP_LEN = [32, 41, 46, 43, 34];
const MP_LEN = [0, 24, 28, 27, 20];
const DP_LEN = [23, 18, 20, 19.5, 17];
const MC_R = [[6.3, 4.2, 5.8], [5.2, 3.9, 5.2], [5.6, 3.8, 5.4], [4.8, 3.4, 4.9], [4.8, 3.3, 4.7]];
const PP_R = [[5.6, 3.9, 4.6], [5.6, 3.6, 4.3], [5.8, 3.8, 4.5], [5.4, 3.5, 4.2], [4.8, 3.1, 3.8]];
const MP_R = [[0, 0, 0], [4.6, 3.0, 3.6], [4.8, 3.1, 3.8], [4.5, 2.9, 3.5], [4.0, 2.6, 3.2]];
const DP_R = [5.0, 4.0, 4.2, 4.0, 3.6];
/** normal joint space (mm) */
export const NORMAL_GAP: Record<string, number> = { MCP: 1.4, MCP1: 1.2, PIP: 1.0, DIP: 0.8, IP1: 0.9, RC: 2.0, CSL: 1.6, STT: 1.5, CMC: 1.2, CMC1: 1.4 };

function profile(len: number, r: number[], pose: HandPose, prev: BoneProfile | null, gapMm: number, tuft = false, metacarpal = false): BoneProfile {
  const [rBase, rShaft, rHead] = r;
  // flat-ish conforming surfaces: the space reads as a band, as on film, not as a crescent
  const capHead = tuft ? 0.75 * rBase * 0.72 : (metacarpal ? 0.62 : 0.45) * rHead;
  // the base cup conforms to the head it articulates with (matching paraboloids, uniform space)
  const cupA = prev ? (2 * prev.rHead * prev.rHead) / prev.capHead : 0;
  // The cup's rim overlaps the head in projection; a narrowed joint keeps a visible (thin)
  // band only if the rim does not reach past the space, so the projected cup depth follows the gap.
  const cupDepth = prev ? Math.min(0.6, 0.4 * gapMm + 0.02, (0.8 * rBase * rBase) / cupA) : 0;
  return {
    length: len, rBase, rShaft: tuft ? rBase * 0.5 : rShaft, rHead: tuft ? rBase * 0.72 : rHead, capHead, cupA, cupDepth,
    cortShaft: pose.cortFrac * (tuft ? rBase * 0.5 : rShaft), cortEnd: 0.32, plate: 0.45, tuft,
  };
}

/** Builds the whole hand: carpus from the radius up, then each ray as a chain of joints. */
export function buildHand(pose: HandPose, les: (site: JointSite) => JointLesions): HandModel {
  const m: HandModel = { bones: [], ellipsoids: [], blobs: [], soft: { capsules: [], palm: [], palmThick: pose.soft.palmThick, ellipses: [] }, joints: new Map() };
  const gap = (site: JointSite, key: string) => {
    const l = les(site);
    return l.ankylosis ? 0 : NORMAL_GAP[key] * l.gapFactor;
  };
  forearm(m, pose);
  const carpus = buildCarpus(m, pose, gap);
  const tips: V2[] = [];
  const mcps: V2[] = [];
  const dirs: V2[] = [];
  for (let d = 0; d < 5; d++) {
    const r = buildRay(m, pose, d, carpus.bases[d], carpus.baseGap[d], les);
    tips.push(r.tip);
    mcps.push(r.mcp);
    dirs.push(r.fingerDir);
  }
  for (const j of m.joints.values()) decorate(m, j, les(j.site), pose);
  softTissue(m, pose, mcps, tips, dirs);
  return m;
}

function forearm(m: HandModel, pose: HandPose): void {
  const dens = pose.density;
  // Radius: its concave distal articular surface is the "base" (cup), axis pointing proximally.
  const rp: BoneProfile = {
    length: 260, rBase: 12.5, rShaft: 7.2, rHead: 9, capHead: 6, cupA: 21, cupDepth: 2.4,
    cortShaft: 7.2 * pose.cortFrac * 0.8, cortEnd: 0.35, plate: 0.5, tuft: false, flareMm: 28, cornerMm: 3.5,
  };
  m.bones.push({ p0: [5, rp.cupDepth], dir: [-0.03, -1], fore: 1, prof: rp, density: dens * 0.85 });
  const up: BoneProfile = { ...rp, rBase: 7.2, rShaft: 5.2, rHead: 7, cupA: 0, cupDepth: 0, cortShaft: 5.2 * pose.cortFrac * 0.8, flareMm: 16, cornerMm: 6 };
  m.bones.push({ p0: [-14.5, -2.5], dir: [0.05, -1], fore: 1, prof: up, density: dens * 0.9 });
  // radial and ulnar styloids
  m.ellipsoids.push({ c: [15.5, 0.5], a: 3.2, b: 6, depth: 7, ang: 15, shell: 0.4, muOuter: MU.cortex * 0.6 * dens, muInner: MU.cancellous * dens });
  m.ellipsoids.push({ c: [-19.5, -3.5], a: 1.8, b: 4, depth: 3, ang: -10, shell: 0, muOuter: MU.cortex * 0.7 * dens, muInner: 0 });
}

interface Carpus { bases: V2[]; baseGap: number[] }

function carpal(m: HandModel, pose: HandPose, c: V2, a: number, b: number, depth: number, ang: number): Ellipsoid {
  // carpals are thin-shelled and mostly cancellous; their depth is less than their width
  const e: Ellipsoid = { c, a: a * 1.15, b, depth: depth * 0.8, ang, shell: 0.5, muOuter: MU.cortex * 0.6 * pose.density, muInner: MU.cancellous * pose.density };
  m.ellipsoids.push(e);
  return e;
}

/** a point on an ellipsoid's outline, in the direction `deg` from its centre (approximate for rotated ones) */
function rim(e: Ellipsoid, deg: number): V2 {
  const t = rad(deg - e.ang);
  const dx = Math.sin(t), dy = Math.cos(t);
  const k = 1 / Math.sqrt((dx * dx) / (e.a * e.a) + (dy * dy) / (e.b * e.b));
  return add(e.c, dirOf(deg), k);
}

function joint(m: HandModel, site: JointSite, c: V2, axis: V2, halfWidth: number, gapMm: number): void {
  m.joints.set(site, { site, c, axis, halfWidth, gapMm });
}

function buildCarpus(m: HandModel, pose: HandPose, gap: (s: JointSite, k: string) => number): Carpus {
  const gRC = gap('RC', 'RC');
  const gCSL = gap('CSL', 'CSL');
  const gSTT = gap('STT', 'STT');
  joint(m, 'RC', [3, gRC / 2], [0, 1], 12, gRC);
  const lun = carpal(m, pose, [0, gRC + 8], 8, 8, 9, 0);
  const sca = carpal(m, pose, [10.5, gRC + 9.9], 6.2, 12.5, 8, 45);
  carpal(m, pose, [-12, gRC + 9], 6.5, 7, 8, -35);
  carpal(m, pose, [-13.5, gRC + 12.5], 5, 5.5, 6, 0);
  const lunTop = rim(lun, 0);
  const cap = carpal(m, pose, [1, lunTop[1] + gCSL + 12], 7.5, 12, 10, 3);
  joint(m, 'CSL', [1.5, lunTop[1] + gCSL / 2], [0, 1], 7, gCSL);
  const ham = carpal(m, pose, [-12, cap.c[1] - 0.5], 7.5, 10.5, 9, -12);
  const pole = add(sca.c, dirOf(45), 12.5);
  const sttDir: V2 = [0.2, 0.98];
  joint(m, 'STT', add(pole, sttDir, gSTT / 2), sttDir, 6, gSTT);
  const above = add(pole, sttDir, gSTT);
  const trapezium = carpal(m, pose, add(above, [4, 7.5]), 7, 8.5, 9, 30);
  const trapezoid = carpal(m, pose, add(above, [-5.5, 6.5]), 6, 7, 8, -10);
  const g1 = gap('CMC1', 'CMC1');
  const g3 = gap('CMC3', 'CMC');
  const g4 = gap('CMC4', 'CMC');
  const g5 = gap('CMC5', 'CMC');
  const capTop = rim(cap, 0);
  const hamTop = rim(ham, 0);
  return {
    bases: [rim(trapezium, 30), add(rim(trapezoid, 0), [0, 0]), capTop, add(hamTop, [3, 0.5]), add(hamTop, [-4, -2.2])],
    baseGap: [g1, NORMAL_GAP.CMC, g3, g4, g5],
  };
}

const CMC_SITE: (JointSite | null)[] = ['CMC1', null, 'CMC3', 'CMC4', 'CMC5'];
const MC_ANGLE = [0, 7, 0.5, -7, -15];
const SPREAD = [0, 9, 0, -7, -16];

/** One digit: metacarpal then phalanges, each placed against the previous across its joint. */
function buildRay(m: HandModel, pose: HandPose, d: number, carpalTop: V2, baseGap: number, les: (s: JointSite) => JointLesions) {
  const thumb = d === 0;
  const f = pose.fingerLen[d];
  const mcAng = thumb ? pose.thumbDeg : MC_ANGLE[d] * pose.palmWidth;
  const mcDir = dirOf(mcAng);
  const mcBase = add(carpalTop, mcDir, baseGap);
  const cmc = CMC_SITE[d];
  if (cmc) joint(m, cmc, add(carpalTop, mcDir, baseGap / 2), mcDir, MC_R[d][0], baseGap);
  const lens = thumb ? [MC_LEN[0], PP_LEN[0], DP_LEN[0]] : [MC_LEN[d], PP_LEN[d], MP_LEN[d], DP_LEN[d]];
  const radii = thumb ? [MC_R[0], PP_R[0], [DP_R[0]]] : [MC_R[d], PP_R[d], MP_R[d], [DP_R[d]]];
  const sites: JointSite[] = thumb ? ['MCP1', 'IP1'] : [`MCP${d + 1}`, `PIP${d + 1}`, `DIP${d + 1}`] as JointSite[];
  const gapKey = thumb ? ['MCP1', 'IP1'] : ['MCP', 'PIP', 'DIP'];
  let ang = mcAng;
  let prev: BoneProfile | null = null;
  let p0 = mcBase;
  let tilt = thumb ? 8 : 4;
  let tip: V2 = [0, 0];
  let mcp: V2 = [0, 0];
  let fingerDir: V2 = mcDir;
  let prevGap = 0;
  for (let k = 0; k < lens.length; k++) {
    const last = k === lens.length - 1;
    const prof = profile(lens[k] * f, radii[k].length === 1 ? [radii[k][0], 0, 0] : radii[k], pose, prev, prevGap, last, k === 0);
    const dir = dirOf(ang);
    const fore = Math.cos(rad(tilt));
    if (k > 0) p0 = add(p0, dir, -prof.cupDepth * fore);
    m.bones.push({ p0, dir, fore, prof, density: pose.density });
    tip = add(p0, dir, prof.length * fore);
    if (last) break;
    const site = sites[k];
    const l = les(site);
    const g = l.ankylosis ? 0 : NORMAL_GAP[gapKey[k]] * l.gapFactor;
    prevGap = g;
    const n = perp(dir);
    const rNext = radii[k + 1][0];
    const cupBottom = add(add(tip, dir, g * fore), n, l.offset * rNext);
    joint(m, site, add(add(tip, dir, (g * fore) / 2), n, (l.offset * rNext) / 2), dir, prof.rHead, g);
    if (k === 0) {
      mcp = tip;
      ang += thumb ? -12 : SPREAD[d] * pose.spread + pose.fingerDevDeg;
      if (thumb) sesamoids(m, pose, tip, dir);
    }
    ang += l.angulationDeg;
    tilt = Math.min(70, (k === 0 ? 0 : tilt) + pose.flexDeg[d][k]);
    fingerDir = dirOf(ang);
    p0 = cupBottom;
    prev = prof;
  }
  return { tip, mcp, fingerDir };
}

function sesamoids(m: HandModel, pose: HandPose, mcp: V2, dir: V2): void {
  const n = perp(dir);
  for (const s of [-1, 1]) {
    const c = add(add(mcp, dir, -3.5), n, s * 3.2);
    m.ellipsoids.push({ c, a: 2.2, b: 2.6, depth: 3, ang: 0, shell: 0.4, muOuter: MU.cortex * 0.8 * pose.density, muInner: MU.cancellous * pose.density });
  }
}

function blob(c: V2, a: number, b: number, depth: number, dir: V2, mu: number, diffuse = false): Ellipsoid {
  return { c, a, b, depth, ang: (Math.atan2(dir[0], dir[1]) * 180) / Math.PI, shell: 0, muOuter: mu, muInner: mu, diffuse };
}

/** Draws a joint's lesions around its centre: erosions, osteophytes, sclerosis, osteopenia, bridges. */
function decorate(m: HandModel, j: JointGeom, l: JointLesions, pose: HandPose): void {
  const e = j.axis;
  const n = perp(e);
  const R = j.halfWidth;
  const dens = pose.density;
  for (const er of l.erosions) {
    const along = (er.distal ? 1 : -1) * (j.gapMm / 2 + er.axialMm);
    const c = add(add(j.c, e, along), n, er.side * (R * 0.92));
    m.blobs.push(blob(c, er.radiusMm, er.radiusMm * 1.15, er.radiusMm * 1.6, e, -MU.cortex * 1.3 * dens));
  }
  for (const o of l.osteophytes) {
    // a marginal spur: grows from the rim of the bone end towards the joint and a little outwards
    const sgn = o.distal ? 1 : -1;
    const c = add(add(j.c, e, sgn * (j.gapMm / 2 + o.sizeMm * 0.7)), n, o.side * (R * 0.95 + o.sizeMm * 0.25));
    const dir = add([e[0] * -sgn, e[1] * -sgn], n, o.side * 0.6);
    const len = Math.hypot(dir[0], dir[1]);
    m.blobs.push(blob(c, o.sizeMm * 0.35, o.sizeMm, o.sizeMm * 0.8, [dir[0] / len, dir[1] / len], MU.cortex * 0.6 * dens));
  }
  for (const s of [-1, 1]) {
    if (l.sclerosis > 0) m.blobs.push(blob(add(j.c, e, s * (j.gapMm / 2 + 1.4)), R * 0.8, 1.4, R * 0.9, e, MU.cancellous * 0.9 * l.sclerosis, true));
    if (l.osteopenia > 0) m.blobs.push(blob(add(j.c, e, s * (j.gapMm / 2 + 5)), R * 1.1, 6.5, R * 1.4, e, -MU.cancellous * 0.8 * l.osteopenia * dens, true));
  }
  // a fused joint: trabecular bone bridges the former space
  if (l.ankylosis) m.blobs.push(blob(j.c, R * 0.75, 1.3, R * 1.2, e, MU.cancellous * 1.2 * dens));
}

/**
 * Soft tissue, drawn independently of the bones: fingers part from the palm at the webs,
 * well distal to the MCP line; the palm is a slab, the thenar eminence an ellipsoid.
 */
function softTissue(m: HandModel, pose: HandPose, mcps: V2[], tips: V2[], dirs: V2[]): void {
  const s = pose.soft;
  const fw = [11, 9.2, 9.4, 9.0, 8.2].map((w, i) => w * s.fingerWidth * s.fingerWidthJitter[i]);
  for (let d = 0; d < 5; d++) {
    const start = d === 0 ? lerp(mcps[0], tips[0], -0.15) : add(mcps[d], dirs[d], -8);
    m.soft.capsules.push({ p0: start, p1: add(tips[d], dirs[d], 2.5 - fw[d] * 0.6), r0: fw[d], r1: fw[d] * 0.78, depthRatio: 0.85 });
  }
  m.soft.capsules.push({ p0: [-2, -400], p1: [-2, -8], r0: s.forearmHalf * 1.1, r1: s.forearmHalf, depthRatio: 0.55 });
  const web = (a: number, b: number) => add(lerp(mcps[a], mcps[b], 0.5), lerp(dirs[a], dirs[b], 0.5), s.webFrac * PP_LEN[a]);
  const n5 = perp(dirs[4]);
  const n2 = perp(dirs[1]);
  const mid5 = lerp(mcps[4], [-14, 36], 0.5);
  m.soft.palm = [
    [-s.forearmHalf * 0.92, -6],
    add(mid5, [-1, 0], fw[4] * 1.1),
    add(add(mcps[4], n5, -fw[4] * 1.0), dirs[4], -14),
    add(add(mcps[4], n5, -fw[4] * 0.95), dirs[4], 4),
    web(3, 4), web(2, 3), web(1, 2),
    add(add(mcps[1], n2, fw[1] * 0.9), dirs[1], 3),
    add(lerp(mcps[1], mcps[0], 0.45), [0, -12], 1),
    [s.forearmHalf * 0.92, -6],
  ];
  const mc1 = lerp(mcps[0], [16, 25], 0.5);
  m.soft.ellipses.push(blob(add(mc1, [-4, -2]), 14, 26, 18, [0.5, 0.86], 1));
}
