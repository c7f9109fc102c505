import type { JointSite } from '../analysis/joints.js';
import type { JointLesions } from './disease.js';
import type { HandPose } from './pose.js';

/** samples of a shape's radial factor over a full turn (see Ellipsoid.shape) */
export const SHAPE_N = 128;

/**
 * A parametric 3D hand in a 2D "hand frame" (mm, before the hand's overall scale):
 * u points to the thumb side, v distally (towards the fingertips); depth is along the beam.
 * The frame is that of a LEFT hand seen PA (thumb on the image's right); render.ts mirrors
 * u for a right hand. Long bones are solids of revolution whose out-of-plane tilt is kept
 * as a foreshortening factor; carpals are shelled ellipsoids with irregular outlines (see
 * `outline`), packed with narrow spaces; the distal radius is sheared for its inclination.
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
  /** density of the shaft's core (medullary canal) as a fraction of the ends' cancellous bone (default 0.3) */
  canal?: number;
  /** the fused growth plate's faint dense line (physeal scar), mm from the proximal rim */
  physisMm?: number;
  /** the growth plate still open: a lucent band of cartilage across the bone there instead */
  physisOpen?: boolean;
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
  /** tilt of the end surfaces: s is read as s + shear x (offset along perp(dir)); the distal radius' inclination */
  shear?: number;
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
  /**
   * irregular outline: SHAPE_N samples over a turn of a radial factor scaling the ellipse,
   * theta measured from the b axis (direction `ang`) towards the a axis (`ang` + 90 degrees)
   */
  shape?: Float32Array;
}

export interface SoftCapsule { p0: V2; p1: V2; r0: number; r1: number; depthRatio: number }
export interface SoftTissue {
  capsules: SoftCapsule[];
  /** palm outline, a closed polygon, and its thickness at the centre */
  palm: V2[];
  palmThick: number;
  ellipses: Ellipsoid[];
  /** fat planes: thin regions where the tissue attenuates less (muOuter = fractional loss, 0.05-0.15) */
  fat?: Ellipsoid[];
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
export const MU = { cortex: 0.095, cancellous: 0.025, soft: 0.019 };

export const rad = (d: number) => (d * Math.PI) / 180;
/** unit direction `deg` degrees from +v towards +u (hand frame) */
export const dirOf = (deg: number): V2 => [Math.sin(rad(deg)), Math.cos(rad(deg))];
export const add = (p: V2, q: V2, k = 1): V2 => [p[0] + q[0] * k, p[1] + q[1] * k];
const perp = (d: V2): V2 => [d[1], -d[0]];
const lerp = (p: V2, q: V2, t: number): V2 => [p[0] + (q[0] - p[0]) * t, p[1] + (q[1] - p[1]) * t];
/** `p` turned `deg` degrees about `c`, in dirOf's sense (from +v towards +u) */
const turnAbout = (p: V2, c: V2, deg: number): V2 => {
  const [x, y] = [p[0] - c[0], p[1] - c[1]];
  const [cs, sn] = [Math.cos(rad(deg)), Math.sin(rad(deg))];
  return [c[0] + x * cs + y * sn, c[1] + y * cs - x * sn];
};

// Average adult dimensions (mm): index 0 = thumb .. 4 = little finger.
const MC_LEN = [46, 68, 65, 58, 54];
const PP_LEN = [32, 41, 46, 43, 34];
const MP_LEN = [0, 24, 28, 27, 20];
const DP_LEN = [23, 18, 20, 19.5, 17];
const MC_R = [[6.8, 4.1, 6.2], [5.8, 3.7, 5.8], [6.2, 3.7, 6.0], [5.3, 3.2, 5.4], [5.3, 3.1, 5.2]];
const PP_R = [[6.2, 3.8, 5.0], [6.3, 3.4, 4.7], [6.5, 3.6, 4.9], [6.0, 3.35, 4.6], [5.3, 3.0, 4.1]];
const MP_R = [[0, 0, 0], [5.0, 2.9, 3.9], [5.2, 3.0, 4.1], [4.9, 2.8, 3.8], [4.3, 2.5, 3.4]];
const DP_R = [5.3, 4.3, 4.5, 4.3, 3.8];
/** normal joint space (mm) */
export const NORMAL_GAP: Record<string, number> = { MCP: 1.4, MCP1: 1.2, PIP: 1.0, DIP: 0.8, IP1: 0.9, RC: 2.0, CSL: 1.6, STT: 1.5, CMC: 1.2, CMC1: 1.4 };

export function profile(len: number, r: number[], pose: HandPose, prev: BoneProfile | null, gapMm: number, tuft = false, metacarpal = false, thumb = false): BoneProfile {
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
    // metacarpal bases are broad and flat-ended, interlocking with the distal carpal row
    cornerMm: metacarpal ? rBase * 0.3 : undefined,
    // the physis of the finger metacarpals is at the head, of the thumb's and the phalanges at the base;
    // a child's open plate sits where the epiphysis still is whole (a base epiphysis about 3 mm
    // thick, a metacarpal head's 6-8 mm), the adult's scar nearer the joint
    physisMm: metacarpal && !thumb ? len - capHead - (pose.openPhyses ? 0.9 : 0.45) * rHead : (pose.openPhyses ? 0.75 : 0.5) * rBase,
    ...(pose.openPhyses ? { physisOpen: true } : {}),
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

/** distal radius: cup (articular surface) centre, its radius of curvature term, depth and inclination */
const RAD = { u: 5, cupA: 21, cupDepth: 2.4, rBase: 13, incl: Math.tan(rad(22)) };

/** v of the radius' articular surface at u (hand frame): the cup, tilted by the radial inclination */
function radiusSurface(u: number): number {
  const d = u - RAD.u;
  return Math.min((d * d) / RAD.cupA, RAD.cupDepth) + RAD.incl * d;
}

function forearm(m: HandModel, pose: HandPose): void {
  const dens = pose.density;
  // Radius: its concave distal articular surface is the "base" (cup), axis pointing proximally;
  // sheared so that the surface rises ~22 degrees towards the radial styloid (radial inclination),
  // broad metaphysis; the ulnar notch faces the ulnar head across the distal radioulnar joint.
  const rp: BoneProfile = {
    length: 260, rBase: RAD.rBase, rShaft: 7.0, rHead: 9, capHead: 6, cupA: RAD.cupA, cupDepth: RAD.cupDepth,
    cortShaft: 7.0 * pose.cortFrac * 0.8, cortEnd: 0.35, plate: 0.5, tuft: false, flareMm: 34, cornerMm: 2.2, canal: 0.45, physisMm: 17,
    ...(pose.openPhyses ? { physisOpen: true } : {}),
  };
  // shear > 0 along perp(dir) = -u (ulnar): the radial side (+u) reads further distal
  m.bones.push({ p0: [RAD.u, RAD.cupDepth], dir: [0, -1], fore: 1, prof: rp, density: dens * 0.85, shear: -RAD.incl });
  // Ulna: shorter (neutral ulnar variance: its head level with the radius' ulnar corner), a dome
  const ulnaR = 7.0;
  const ulnaU = RAD.u - RAD.rBase - 0.6 - ulnaR;
  const up: BoneProfile = { ...rp, rBase: ulnaR, rShaft: 5.0, rHead: 7, cupA: 0, cupDepth: 0, cortShaft: 5.0 * pose.cortFrac * 0.8, flareMm: 18, cornerMm: 5.5, physisMm: 9 };
  m.bones.push({ p0: [ulnaU, radiusSurface(RAD.u - RAD.rBase) - 1.5], dir: [0.03, -1], fore: 1, prof: up, density: dens * 0.9 });
  // ulnar styloid: a short spike at the head's ulnar, dorsal side
  m.ellipsoids.push({ c: [ulnaU - 4.6, radiusSurface(RAD.u - RAD.rBase) - 4.2], a: 1.8, b: 4.0, depth: 3, ang: -14, shell: 0, muOuter: MU.cortex * 0.6 * dens, muInner: 0 });
}

interface Carpus { bases: V2[]; baseGap: number[] }

/**
 * Radial outline factor over a turn: 1 plus gaussian lobes [thetaDeg, widthDeg, amp] plus
 * harmonics [k, amp, phaseDeg]; theta from the bone's b axis towards its a axis.
 */
export function outline(lobes: [number, number, number][], harm: [number, number, number][] = []): Float32Array {
  const t = new Float32Array(SHAPE_N);
  for (let i = 0; i < SHAPE_N; i++) {
    const th = (i * 360) / SHAPE_N;
    let r = 1;
    for (const [c, w, a] of lobes) {
      const d = ((((th - c) % 360) + 540) % 360) - 180;
      r += a * Math.exp(-((d / w) ** 2));
    }
    for (const [k, a, ph] of harm) r += a * Math.cos(rad(k * th - ph));
    t[i] = Math.max(0.3, r);
  }
  return t;
}

function carpal(m: HandModel, pose: HandPose, a: number, b: number, depth: number, ang: number, shape?: Float32Array, density = 1): Ellipsoid {
  // carpals are thin-shelled and mostly cancellous; their depth is less than their width
  const d = pose.density * density;
  const e: Ellipsoid = { c: [0, 0], a, b, depth: depth * 0.88, ang, shell: 0.55, muOuter: MU.cortex * 0.55 * d, muInner: MU.cancellous * d, shape };
  m.ellipsoids.push(e);
  return e;
}

/** distance from an outline's centre to its rim in the model direction `deg` */
function rimDist(e: Ellipsoid, deg: number): number {
  const t = rad(deg - e.ang);
  const dx = Math.sin(t) / e.a, dy = Math.cos(t) / e.b;
  let k = 1 / Math.sqrt(dx * dx + dy * dy);
  if (e.shape) {
    let th = (Math.atan2(dx, dy) * SHAPE_N) / (2 * Math.PI);
    if (th < 0) th += SHAPE_N;
    const j = Math.floor(th), fr = th - j;
    k *= e.shape[j % SHAPE_N] * (1 - fr) + e.shape[(j + 1) % SHAPE_N] * fr;
  }
  return k;
}

/** a point on an outline, in the direction `deg` from its centre */
function rim(e: Ellipsoid, deg: number): V2 {
  return add(e.c, dirOf(deg), rimDist(e, deg));
}

/** places `e` so that its rim in direction `from` lies `gap` beyond `at`, moving along `deg` */
function seat(e: Ellipsoid, at: V2, deg: number, gap: number): void {
  e.c = add(at, dirOf(deg), gap + rimDist(e, deg + 180));
}

function joint(m: HandModel, site: JointSite, c: V2, axis: V2, halfWidth: number, gapMm: number): void {
  m.joints.set(site, { site, c, axis, halfWidth, gapMm });
}

/**
 * The carpus, packed as on film: narrow (1-2 mm) inter-carpal spaces, irregular outlines, the
 * pisiform over the triquetrum, the hamate's hook as a ring. Proximal row on the radius, the
 * capitate's head in the lunate's concavity, the distal row across the midcarpal line.
 */
function buildCarpus(m: HandModel, pose: HandPose, gap: (s: JointSite, k: string) => number): Carpus {
  const gRC = gap('RC', 'RC');
  const gCSL = gap('CSL', 'CSL');
  const gSTT = gap('STT', 'STT');
  const j = pose.carpJit;
  const inclDeg = (Math.atan(RAD.incl) * 180) / Math.PI;
  // flattened facets (a rounded-square outline), so that neighbours face each other across
  // narrow, even spaces; each patient's bones differ a little in outline
  const sq: [number, number, number] = [4, -0.09, 0];
  const irr = (i: number): [number, number, number] => [3, 0.035 * j[10 + i], 60 * j[11 + i]];
  // scaphoid: elongated (foreshortened in PA), angled radially, a waist; proximal pole in the radius' scaphoid fossa
  const sca = carpal(m, pose, 5.9, 10.8, 6.4, 36 + 5 * j[3], outline([[90, 22, -0.1], [-90, 25, -0.08], [0, 30, 0.04], [180, 40, -0.03]]));
  const pp: V2 = [4.6 + 0.5 * j[2], 0];
  pp[1] = radiusSurface(pp[0]) + gRC;
  sca.c = add(pp, dirOf(sca.ang), rimDist(sca, sca.ang + 180) * 0.97);
  // lunate: a crescent, concave distally where the capitate's head sits, in the ulnar fossa
  const lun = carpal(m, pose, 8.4, 7.8, 7.0, -6 + 4 * j[1], outline([[0, 36, -0.28], [180, 50, 0.05], [-80, 30, 0.05]], [sq, irr(0)]));
  const lu = -1 + 0.5 * j[2];
  seat(lun, [lu, radiusSurface(lu)], -inclDeg * 0.3, gRC);
  joint(m, 'RC', [lu + 3, radiusSurface(lu + 3) + gRC / 2], dirOf(-inclDeg * 0.6), 12, gRC);
  // triquetrum: pyramidal, ulnar of the lunate; pisiform over it (volar, overlapping in projection)
  const tri = carpal(m, pose, 6.2, 6.8, 5.8, -50 + 5 * j[4], outline([], [[3, 0.09, 30 + 20 * j[5]], [2, 0.04, 0], [4, -0.06, 0]]));
  tri.c = [lun.c[0] - 14.6 - 0.4 * j[0], lun.c[1] + 4.2];
  const pis = carpal(m, pose, 4.6, 5.3, 4.6, -20, outline([], [[2, 0.05, 40]]), 0.7);
  pis.c = add(tri.c, [-2.2 + j[6], 2.8]);
  // capitate: the largest, a rounded head proximally in the lunate's concavity
  const cap = carpal(m, pose, 7.4, 11.6, 8.1, 2 + 3 * j[7], outline([[180, 35, 0.06], [60, 25, -0.09], [-70, 22, -0.06], [120, 30, 0.04]], [sq, irr(2)]));
  const lunTop = rim(lun, 0);
  seat(cap, [lunTop[0] + 0.6, lunTop[1]], 0, gCSL);
  joint(m, 'CSL', [lunTop[0] + 0.5, lunTop[1] + gCSL / 2], [0, 1], 7, gCSL);
  // hamate: triangular, apex proximally between capitate and triquetrum, its hook a ring
  const ham = carpal(m, pose, 7.8, 10.2, 7.5, -14 + 3 * j[8], outline([[170, 35, -0.16], [-110, 40, 0.05]], [[3, 0.05, 0], sq, irr(4)]));
  ham.c = [cap.c[0] - 14.2 - 0.4 * j[0], cap.c[1] - 1.8];
  m.ellipsoids.push({ c: add(ham.c, [1.6, -0.8]), a: 2.4, b: 3.1, depth: 4.5, ang: -20, shell: 0.8, muOuter: MU.cortex * 0.4 * pose.density, muInner: MU.cancellous * 0.15 * pose.density });
  // trapezoid and trapezium beyond the scaphoid's distal pole (scaphotrapeziotrapezoid joint)
  const pole = rim(sca, sca.ang);
  const sttDir: V2 = [0.3, 0.954];
  joint(m, 'STT', add(pole, sttDir, gSTT / 2), sttDir, 6, gSTT);
  const trd = carpal(m, pose, 5.2, 6.4, 6.4, -8, outline([[45, 30, 0.06], [200, 30, -0.05]], [sq, irr(6)]));
  trd.c = [cap.c[0] + 12.2 + 0.3 * j[9], pole[1] + gSTT + rimDist(trd, 180) - 1.2];
  const trm = carpal(m, pose, 6.6, 7.6, 7.0, 34, outline([[0, 30, 0.05], [150, 25, 0.08], [-120, 30, -0.08]], [[3, 0.05, 10]]));
  seat(trm, add(pole, [-1.5, 0]), 18, gSTT);
  const g1 = gap('CMC1', 'CMC1');
  const g3 = gap('CMC3', 'CMC');
  const g4 = gap('CMC4', 'CMC');
  const g5 = gap('CMC5', 'CMC');
  const capTop = rim(cap, 0);
  const hamTop = rim(ham, -5);
  return {
    bases: [add(rim(trm, 34), dirOf(34), -1.2), add(rim(trd, -4), [0, -0.5]), add(capTop, [0, -0.5]), add(hamTop, [3.2, -0.2]), add(hamTop, [-3.6, -2.0])],
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
    const prof = profile(lens[k] * f, radii[k].length === 1 ? [radii[k][0], 0, 0] : radii[k], pose, prev, prevGap, last, k === 0, thumb);
    const dir = dirOf(ang);
    const fore = Math.cos(rad(tilt));
    if (k > 0) p0 = add(p0, dir, -prof.cupDepth * fore);
    m.bones.push({ p0, dir, fore, prof, density: pose.density * (pose.boneJit?.[d * 4 + k] ?? 1) });
    tip = add(p0, dir, prof.length * fore);
    if (last) break;
    const site = sites[k];
    const l = les(site);
    const g = l.ankylosis ? 0 : NORMAL_GAP[gapKey[k]] * l.gapFactor;
    prevGap = g;
    const n = perp(dir);
    const rNext = radii[k + 1][0];
    let cupBottom = add(add(tip, dir, g * fore), n, l.offset * rNext);
    let centre = add(add(tip, dir, (g * fore) / 2), n, (l.offset * rNext) / 2);
    // an ulnar drift turns the finger about the metacarpal head's centre, its base gliding round
    // the head with the joint space kept (turned at the cup instead, the bone ends would overlap)
    const drift = k === 0 && !thumb ? pose.ulnarDriftDeg ?? 0 : 0;
    if (drift) {
      const head = add(tip, dir, -prof.rHead * fore);
      [cupBottom, centre] = [turnAbout(cupBottom, head, -drift), turnAbout(centre, head, -drift)];
    }
    joint(m, site, centre, drift ? dirOf(Math.atan2(dir[0], dir[1]) * (180 / Math.PI) - drift / 2) : dir, prof.rHead, g);
    if (k === 0) {
      mcp = tip;
      ang += thumb ? -12 : SPREAD[d] * pose.spread + pose.fingerDevDeg - drift;
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

export function blob(c: V2, a: number, b: number, depth: number, dir: V2, mu: number, diffuse = false): Ellipsoid {
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
    if (l.osteopenia > 0) m.blobs.push(blob(add(j.c, e, s * (j.gapMm / 2 + 5)), R * 1.1, 6.5, R * 1.4, e, -MU.cancellous * 0.5 * l.osteopenia * dens, true));
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
  m.soft.capsules.push({ p0: [-2, -400], p1: [-2, 4], r0: s.forearmHalf * 1.1, r1: s.forearmHalf * 0.97, depthRatio: 0.55 });
  // the web's deepest point: lower when the two fingers are spread apart (the skin fold opens)
  const web = (a: number, b: number) => {
    const apart = (Math.acos(Math.min(1, dirs[a][0] * dirs[b][0] + dirs[a][1] * dirs[b][1])) * 180) / Math.PI;
    return add(lerp(mcps[a], mcps[b], 0.5), lerp(dirs[a], dirs[b], 0.5), s.webFrac * PP_LEN[a] * (1 - Math.min(0.6, apart / 30)));
  };
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
  // faint fat planes: subcutaneous fat along both borders of the forearm and wrist, the
  // scaphoid fat stripe radial to the scaphoid, the thenar/hypothenar intermuscular planes
  const fh = s.forearmHalf;
  const fatLoss = 0.07 + 0.05 * s.webFrac;
  m.soft.fat = [
    blob([fh * 0.86, -70], 1.3, 75, 0, [0, 1], fatLoss),
    blob([-fh * 0.86, -70], 1.3, 75, 0, [0, 1], fatLoss),
    blob([20.5, 11], 0.9, 8, 0, dirOf(28), fatLoss * 1.4),
    blob(add(mc1, [-9, -4]), 1.0, 18, 0, [0.45, 0.89], fatLoss),
  ];
}
