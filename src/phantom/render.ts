import { JOINT_SITES, JSW_SITES, MAX_GRADE, scoresFor, type JointSite, type Laterality, type Score } from '../analysis/joints.js';
import type { GradeResult, HandResult, JointResult } from '../analysis/hand-analysis.js';
import { jointSeverity, withSummary } from '../analysis/severity.js';
import { buildHand, MU, type Ellipsoid, type HandModel, type V2 } from './anatomy.js';
import { buildFoot } from './foot.js';
import { imagingChain, sampleChain, Coarse, type ChainParams } from './chain.js';
import { burnText, drawMarker, freeSpot, markerSize, type Rect } from './clutter.js';
import { wiresAcross } from './metal.js';
import { fannedObliqueView, obliqueView } from './oblique.js';
import { lesionsFor, phantomScores, samplePatientDisease, sampleHandGrades, type HandGrades, type JointGrades, type JointLesions } from './disease.js';
import { sampleHandPose } from './pose.js';
import { drawEllipsoid, drawLongBone, drawSoftTissue, dirPx, toPx, type Frame } from './project.js';
import { Rng } from './rng.js';
import { makeTexture, type Texture } from './texture.js';
import type { PhantomSpec, RenderedPhantom } from './types.js';
import { POSE_RANGES, wideningLevel, type WideningLevel } from './ranges.js';

/**
 * Synthetic hand radiograph with exact ground truth (pure computation: no I/O, no DICOM).
 *
 * Laterality convention (checked against real/shsnet_test_img1_L.png, a left hand): hand
 * films are displayed in the anatomical position seen from the front, fingers up, so a
 * LEFT hand has its thumb on the image's RIGHT and a RIGHT hand its thumb on the LEFT. The
 * `both` layout puts the right hand on the image's left half and the left hand on the right
 * half, thumbs pointing outwards.
 */
export interface RenderOptions {
  /** internal (tests, curated sets): grades to force at given sites, on every hand; scores that do not apply are ignored */
  forceGrades?: Partial<Record<JointSite, JointGrades>>;
  /** internal: override imaging-chain parameters */
  chain?: Partial<ChainParams>;
  /** internal: no marker, text or collimation (clean images for geometry checks) */
  noClutter?: boolean;
}

interface PlacedHand {
  laterality: Laterality;
  model: HandModel;
  frame: Frame;
  grades: HandGrades;
  /** image-space bounding box of the hand (joints and fingertips) */
  bbox: Rect;
  /** metal wires (`PhantomSpec.metal`), hand-frame mm, and the joints they cross */
  metal: { sites: JointSite[]; wires: Ellipsoid[] };
}

export function renderPhantom(spec: PhantomSpec, opts: RenderOptions = {}): RenderedPhantom {
  validate(spec);
  const W = spec.columns, H = spec.rows, px = spec.pixelSpacingMm;
  const wide = wideningLevel(spec);
  const rng = new Rng(spec.seed);
  const patient = samplePatient(spec, rng.fork('patient'));
  // a child's joints are drawn healthy: the film is one the node must not grade at all
  const profile = spec.child ? 'healthy' : spec.profile;
  const disease = samplePatientDisease(profile, rng.fork('disease'));
  const lats: Laterality[] = spec.layout === 'one' ? [spec.laterality] : ['R', 'L'];
  // one patient, one hand size: both hands share it
  const size = rng.fork('size').uniform(0.86, 1.1) * (spec.child ? 0.82 : 1);
  const built = lats.map((lat, i) => {
    const hr = rng.fork(`hand-${lat}`);
    const pose = {
      ...sampleHandPose(hr.fork('pose'), patient.ageYears, wide),
      scale: size,
      ...(spec.child ? { openPhyses: true } : {}),
      ...(spec.ulnarDriftDeg ? { ulnarDriftDeg: spec.ulnarDriftDeg } : {}),
    };
    const grades = forced(sampleHandGrades(profile, disease, hr.fork('grades')), opts.forceGrades);
    const lesions = new Map<JointSite, JointLesions>();
    for (const s of JOINT_SITES) lesions.set(s, lesionsFor(s, grades[s], disease.ra > 0, hr.fork(`lesion-${s}`)));
    const hand = spec.bodyPart === 'foot' ? buildFoot(pose) : buildHand(pose, (s) => lesions.get(s)!);
    const model = spec.obliqueDeg ? (spec.obliqueFanned ? fannedObliqueView : obliqueView)(hand, spec.obliqueDeg) : hand;
    const region: Rect = lats.length === 1 ? { x0: 0, y0: 0, x1: W, y1: H } : { x0: (i * W) / 2, y0: 0, x1: ((i + 1) * W) / 2, y1: H };
    const fit = place(model, lat, pose.scale, px, region, hr.fork('place'), wide, lats.length, Infinity);
    const metal = spec.metal ? wiresAcross(model, hr.fork('metal')) : { sites: [], wires: [] };
    return { lat, hr, pose, model, grades, region, metal, k: fit.frame.k };
  });
  // shrink both hands alike when either must shrink to fit its half
  const kCap = Math.min(...built.map((b) => b.k));
  const hands: PlacedHand[] = built.map((b) => {
    const { frame, bbox } = place(b.model, b.lat, b.pose.scale, px, b.region, b.hr.fork('place'), wide, lats.length, kCap);
    return { laterality: b.lat, model: b.model, frame, grades: b.grades, bbox, metal: b.metal };
  });

  const att = new Float32Array(W * H);
  const soft = new Coarse(W, H, 4);
  const tex = makeTexture(rng.fork('texture'));
  for (const h of hands) rasterHand(att, W, H, soft, h, tex);
  // the skin edge stays sharp, as on film: the grid's bilinear interpolation (cells of 4 px) is
  // all the rounding it needs; only a very fine grid gets a light blur (~0.3 mm)
  const skin = 0.3 / (px * soft.F);
  if (skin >= 1) soft.blur(skin, 1);

  const cr = rng.fork('clutter');
  const handBoxes = hands.map((h) => h.bbox);
  const collRect: Field = opts.noClutter ? { x0: -1e6, y0: -1e6, x1: 1e6, y1: 1e6, ang: 0 } : collimation(handBoxes, px, W, H, cr);
  const marker: Laterality = spec.layout === 'one' ? spec.laterality : cr.pick(['L', 'R'] as const);
  const avoid = [...handBoxes];
  let markerAt: { x: number; y: number } | undefined;
  if (!opts.noClutter) {
    const ms = markerSize(px, cr.uniform(1.2, 2.2));
    const spot = markerSpot(cr, W, H, ms, avoid, collRect);
    if (spot) {
      markerAt = drawMarker(att, W, H, marker, spot, cr);
      avoid.push(spot);
    }
  }
  const chainRng = rng.fork('chain');
  const params = { ...sampleChain(chainRng, wide), ...(opts.chain ?? {}) };
  const { field, coll } = gainField(W, H, px, params, collRect, chainRng);
  // soft tissue is smooth: its transmission multiplies the coarse gain field
  for (let i = 0; i < field.data.length; i++) field.data[i] *= Math.exp(-MU.soft * soft.data[i]);
  const image = imagingChain(att, W, H, field, coll, px, params, spec.seed);
  if (!opts.noClutter && cr.chance(0.7)) burnText(image, W, H, cr, px, avoid);

  return {
    spec, rows: H, columns: W, image,
    // a foot's joints are no hand's, an oblique hand's are not to be graded: no PA hands to find
    hands: spec.bodyPart === 'foot' || spec.obliqueDeg || spec.child ? [] : hands.map((h) => groundTruth(h, W, H)),
    marker, ...(markerAt ? { markerAt } : {}), patient,
    ...(spec.metal ? { metal: hands.flatMap((h) => h.metal.sites.map((site) => ({ laterality: h.laterality, site }))) } : {}),
  };
}

function validate(s: PhantomSpec): void {
  if (!(s.rows > 0 && s.columns > 0 && Number.isInteger(s.rows) && Number.isInteger(s.columns))) throw new Error(`phantom: rows and columns must be positive integers (got ${s.rows} x ${s.columns})`);
  if (!(s.pixelSpacingMm >= 0.05 && s.pixelSpacingMm <= 0.5)) throw new Error(`phantom: pixelSpacingMm ${s.pixelSpacingMm} is outside 0.05-0.5 mm (0.1-0.2 expected)`);
}

function samplePatient(spec: PhantomSpec, r: Rng): RenderedPhantom['patient'] {
  const [lo, hi] = spec.child ? [10, 14] : { healthy: [18, 75], ra: [28, 82], oa: [45, 88], mixed: [35, 85] }[spec.profile];
  const female = spec.profile === 'healthy' ? 0.5 : 0.68;
  return { ageYears: Math.round(r.uniform(lo, hi)), sex: r.chance(female) ? 'F' : 'M' };
}

function forced(g: HandGrades, f: RenderOptions['forceGrades']): HandGrades {
  if (!f) return g;
  const out = { ...g };
  for (const site of Object.keys(f) as JointSite[]) {
    const want = f[site]!;
    const merged: JointGrades = { ...out[site] };
    for (const sc of phantomScores(site)) {
      const v = want[sc];
      if (v !== undefined) merged[sc] = Math.max(0, Math.min(MAX_GRADE[sc], Math.round(v)));
    }
    out[site] = merged;
  }
  return out;
}

/** model-frame points that must stay inside the image: joint regions and fingertips */
function keyPoints(m: HandModel): V2[] {
  const pts: V2[] = [];
  for (const j of m.joints.values()) {
    const r = j.halfWidth * 1.5 + 2;
    pts.push([j.c[0] - r, j.c[1] - r], [j.c[0] + r, j.c[1] + r], [j.c[0] - r, j.c[1] + r], [j.c[0] + r, j.c[1] - r]);
  }
  for (const c of m.soft.capsules.slice(0, 5)) pts.push([c.p1[0], c.p1[1]]);
  pts.push([-25, -26], [25, -26]);
  return pts;
}

/**
 * Pose in the frame: rotation, mirroring for a right hand, size and position. A hand too big
 * for the field of view is shrunk (anatomy stays in mm: the pixel spacing stays honest).
 */
function place(m: HandModel, lat: Laterality, scale: number, px: number, region: Rect, r: Rng, wide: WideningLevel, nHands: number, kCap: number) {
  const maxRot = (nHands === 1 ? 30 : 15) * POSE_RANGES[wide].rotation;
  const phi = (r.uniform(-maxRot, maxRot) * Math.PI) / 180;
  const mir = lat === 'L' ? 1 : -1;
  const c = Math.cos(phi), s = Math.sin(phi);
  const ux: V2 = [mir * c, mir * s], vx: V2 = [s, -c];
  const pts = keyPoints(m).map(([u, v]) => [u * ux[0] + v * vx[0], u * ux[1] + v * vx[1]]);
  const minX = Math.min(...pts.map((p) => p[0])), maxX = Math.max(...pts.map((p) => p[0]));
  const minY = Math.min(...pts.map((p) => p[1])), maxY = Math.max(...pts.map((p) => p[1]));
  const mx = 0.02 * (region.x1 - region.x0), my = 0.02 * (region.y1 - region.y0);
  const kFit = Math.min((region.x1 - region.x0 - 2 * mx) / (maxX - minX), (region.y1 - region.y0 - 2 * my) / (maxY - minY));
  const k = Math.min(scale / px, kFit, kCap);
  const oxLo = region.x0 + mx - minX * k, oxHi = region.x1 - mx - maxX * k;
  const oyLo = region.y0 + my - minY * k, oyHi = region.y1 - my - maxY * k;
  const ox = r.uniform(oxLo, Math.max(oxLo, oxHi));
  // real films show the hand low in the field with a little forearm
  const oy = Math.max(oyLo, oyHi) - r.uniform(0, 0.3) * Math.max(0, oyHi - oyLo);
  const frame: Frame = { ox, oy, ux: [ux[0] * k, ux[1] * k], vx: [vx[0] * k, vx[1] * k], k, scale: k * px };
  const bbox = { x0: ox + minX * k, y0: oy + minY * k, x1: ox + maxX * k, y1: oy + maxY * k };
  return { frame, bbox };
}

function rasterHand(att: Float32Array, W: number, H: number, soft: Coarse, h: PlacedHand, tex: Texture): void {
  const f = h.frame;
  h.model.bones.forEach((b, i) => drawLongBone(att, W, H, f, b, MU.cortex, MU.cancellous, tex, i + 1));
  h.model.ellipsoids.forEach((e, i) => drawEllipsoid(att, W, H, f, e, 1, tex, 100 + i));
  for (const e of h.model.blobs) drawEllipsoid(att, W, H, f, e);
  for (const e of h.metal.wires) drawEllipsoid(att, W, H, f, e);
  // lesion blobs may drive the integral below zero; the chain clamps it (no bone is no bone)
  drawSoftTissue(soft.data, soft.w, soft.h, soft.F, f, h.model.soft);
}

/** the collimated field, in image pixels; `ang` (radians) tilts it about its centre */
interface Field extends Rect { ang: number }

/**
 * The collimated field. Radiographers collimate tightly around the hand; many modalities then
 * crop the stored image to the field, so in about a third of images no edge shows at all.
 * Otherwise a few mm to ~2.5 cm around the hands, some sides beyond the image, sometimes
 * tilted by a few degrees.
 */
function collimation(boxes: Rect[], px: number, W: number, H: number, r: Rng): Field {
  const open: Field = { x0: -1e6, y0: -1e6, x1: 1e6, y1: 1e6, ang: 0 };
  const u = { x0: Math.min(...boxes.map((b) => b.x0)), y0: Math.min(...boxes.map((b) => b.y0)), x1: Math.max(...boxes.map((b) => b.x1)), y1: Math.max(...boxes.map((b) => b.y1)) };
  // a hand that fills the film was cropped to its field; a small one in a big field was collimated
  const fill = ((Math.min(W, u.x1) - Math.max(0, u.x0)) * (Math.min(H, u.y1) - Math.max(0, u.y0))) / (W * H);
  if (r.chance(fill > 0.45 ? 0.5 : 0.15)) return open;
  const m = () => r.uniform(4, 25) / px;
  const side = (p: number) => r.chance(p);
  const f: Field = {
    x0: side(0.2) ? -1e6 : Math.max(0.02 * W, u.x0 - m()), y0: side(0.2) ? -1e6 : Math.max(0.02 * H, u.y0 - m()),
    x1: side(0.2) ? 1e6 : Math.min(0.98 * W, u.x1 + m()), y1: side(0.5) ? 1e6 : Math.min(0.98 * H, u.y1 + m()),
    ang: r.chance(0.5) ? (r.uniform(-4, 4) * Math.PI) / 180 : 0,
  };
  return f;
}

function markerSpot(r: Rng, W: number, H: number, ms: { w: number; h: number }, avoid: Rect[], coll: Rect): Rect | null {
  for (let t = 0; t < 20; t++) {
    const s = freeSpot(r, W, H, ms.w, ms.h, avoid);
    if (s && s.x0 >= coll.x0 && s.x1 <= coll.x1 && s.y0 >= coll.y0 && s.y1 <= coll.y1) return s;
  }
  return freeSpot(r, W, H, ms.w, ms.h, avoid);
}

/** detector gain non-uniformity, heel effect and the collimator shadow, on a coarse grid */
function gainField(W: number, H: number, px: number, p: ChainParams, c: Field, r: Rng): { field: Coarse; coll: Coarse } {
  const F = 4;
  const field = new Coarse(W, H, F), coll = new Coarse(W, H, F);
  const noise = new Coarse(W, H, 64);
  for (let i = 0; i < noise.data.length; i++) noise.data[i] = r.normal();
  noise.blur(1);
  const pen = Math.max(1, 1.2 / px);
  const row = new Float32Array(W);
  // the tilted field: test points turned back about the field's centre (open sides stay open)
  const cx = (Math.max(0, c.x0) + Math.min(W, c.x1)) / 2, cy = (Math.max(0, c.y0) + Math.min(H, c.y1)) / 2;
  const ca = Math.cos(c.ang), sa = Math.sin(c.ang);
  for (let gy = 0; gy < field.h; gy++) {
    const y = (gy + 0.5) * F;
    noise.row(Math.min(H - 1, Math.floor(y)), row);
    for (let gx = 0; gx < field.w; gx++) {
      const x = (gx + 0.5) * F;
      const xr = cx + (x - cx) * ca + (y - cy) * sa, yr = cy - (x - cx) * sa + (y - cy) * ca;
      const inside = Math.min(xr - c.x0, c.x1 - xr, yr - c.y0, c.y1 - yr) / pen + 0.5;
      const m = inside <= 0 ? 0 : inside >= 1 ? 1 : inside;
      const g = 1 + p.gainAmp * row[Math.min(W - 1, Math.floor(x))] * 2 + p.heel * (y / H - 0.5);
      const i = gy * field.w + gx;
      coll.data[i] = m;
      // outside the field only leakage and scatter reach the detector
      field.data[i] = g * (p.leak + (1 - p.leak) * m);
    }
  }
  return { field, coll };
}

function oneHot(score: Score, grade: number): GradeResult {
  const probabilities = new Array<number>(MAX_GRADE[score] + 1).fill(0);
  probabilities[grade] = 1;
  return { grade, probabilities };
}

function groundTruth(h: PlacedHand, W: number, H: number): HandResult {
  const f = h.frame;
  const joints: JointResult[] = JOINT_SITES.map((site) => {
    const j = h.model.joints.get(site)!;
    const [x, y] = toPx(f, j.c);
    const [ax, ay] = dirPx(f, j.axis);
    // both bone ends along the axis, the wider bone end plus margin across it
    const along = (j.halfWidth * 1.2 + j.gapMm / 2) * f.k, across = j.halfWidth * 1.35 * f.k;
    const hx = Math.abs(ax) * along + Math.abs(ay) * across;
    const hy = Math.abs(ay) * along + Math.abs(ax) * across;
    const box: [number, number, number, number] = [Math.max(0, x - hx), Math.max(0, y - hy), Math.min(W, x + hx), Math.min(H, y + hy)];
    const g = h.grades[site];
    const res: JointResult = { site, x, y, box, confidence: 1, severity: {} };
    for (const sc of scoresFor(site)) res[sc] = oneHot(sc, g[sc] ?? 0);
    // the gap between the bone ends' rims along the joint's axis, in true mm
    if (JSW_SITES.includes(site)) res.jswMm = j.gapMm * f.scale;
    res.severity = jointSeverity(res);
    return res;
  });
  return withSummary({ laterality: h.laterality, joints });
}
