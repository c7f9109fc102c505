import type { HandNotGraded } from '../analysis/hand-analysis.js';
import { WRIST_SITES, type JointSite, type Laterality } from '../analysis/joints.js';
import type { Candidate } from './detector.js';
import { DEFAULT_CALIBRATION, type DetectorCalibration } from './manifest.js';

/**
 * Is this a PA (or AP) hand? The scores are defined on PA views; an oblique or lateral view
 * overlaps the joints and foreshortens the spaces, so its grades would be wrong. A PA hand's
 * joints keep one layout up to position, size and rotation (and finger spread and flexion,
 * within limits); the joints found on an oblique or lateral view do not. The layout below is
 * the mean of 30 healthy phantom hands (left hand, thumb on the image's right, fingers up),
 * centred and scaled to MCP2-MCP5 = 1.
 */
export const PA_LAYOUT: Readonly<Record<JointSite, readonly [number, number]>> = {
  DIP2: [1.1184, -0.6951], DIP3: [0.7181, -1.207], DIP4: [0.0494, -1.304], DIP5: [-0.5504, -1.0872],
  PIP2: [0.8548, -0.4163], PIP3: [0.4945, -0.8167], PIP4: [-0.0697, -0.8881], PIP5: [-0.5527, -0.7675],
  IP1: [1.0384, 0.4518], MCP1: [0.5981, 0.7221], MCP2: [0.4006, 0.0652], MCP3: [0.124, -0.1703],
  MCP4: [-0.2634, -0.2148], MCP5: [-0.5585, -0.218], CMC1: [-0.1048, 0.9747], CMC3: [-0.4169, 0.7466],
  CMC4: [-0.6009, 0.6821], CMC5: [-0.7118, 0.6523], STT: [-0.3001, 1.1335], CSL: [-0.601, 1.0636],
  RC: [-0.6662, 1.2932],
};

/**
 * Largest layout residual (RMS distance after the best similarity fit, in MCP2-MCP5 units) of
 * a PA hand: phantom hands posed wider than training (rotation to 60 degrees, flexion to 65)
 * stay under 0.16; this is twice that.
 */
export const MAX_PA_RESIDUAL = 0.3;

/** Fewer joints than this and the layout says too little to judge (a partial view): kept. */
const MIN_JOINTS_TO_JUDGE = 8;

/** The best similarity fit of a hand's joints onto PA_LAYOUT, and its way back to the image. */
interface LayoutFit {
  /** RMS distance after the fit, in MCP2-MCP5 units */
  residual: number;
  /**
   * the turn (radians, image axes: x right, y down; positive turns +x towards +y) that brings
   * the hand into the layout's upright pose
   */
  tilt: number;
  /** where a site of the PA layout falls in the image under the fit */
  inImage(site: JointSite): { x: number; y: number };
  /** where any point of the layout's plane (MCP2-MCP5 units, a left hand's frame) falls in the image */
  at(p: readonly [number, number]): { x: number; y: number };
}

/**
 * Procrustes (rotation, scale, shift; no reflection) of the hand's joints onto PA_LAYOUT; a
 * right hand is mirrored first. Undefined with fewer than `minJoints` joints.
 */
function fitLayout(joints: readonly Pick<Candidate, 'site' | 'x' | 'y'>[], laterality: Laterality, minJoints: number): LayoutFit | undefined {
  if (joints.length < minJoints) return undefined;
  const flip = laterality === 'R' ? -1 : 1;
  const a = joints.map((j) => PA_LAYOUT[j.site]);
  const b = joints.map((j) => [flip * j.x, j.y] as const);
  const mean = (p: readonly (readonly [number, number])[]) => p.reduce((m, q) => [m[0] + q[0] / p.length, m[1] + q[1] / p.length], [0, 0]);
  const [ax, ay] = mean(a);
  const [bx, by] = mean(b);
  // best rotation and scale taking b onto a: closed form in 2D
  let sxx = 0;
  let sxy = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    const [u, v] = [b[i][0] - bx, b[i][1] - by];
    const [p, q] = [a[i][0] - ax, a[i][1] - ay];
    sxx += u * p + v * q;
    sxy += u * q - v * p;
    bb += u * u + v * v;
  }
  if (bb === 0) return undefined;
  const scale = Math.hypot(sxx, sxy) / bb;
  const angle = Math.atan2(sxy, sxx);
  const [c, s] = [Math.cos(angle) * scale, Math.sin(angle) * scale];
  let err = 0;
  for (let i = 0; i < a.length; i++) {
    const [u, v] = [b[i][0] - bx, b[i][1] - by];
    err += (c * u - s * v - (a[i][0] - ax)) ** 2 + (s * u + c * v - (a[i][1] - ay)) ** 2;
  }
  const det = c * c + s * s;
  return {
    residual: Math.sqrt(err / a.length),
    // a rotation of the mirrored points is its inverse in the image's own axes
    tilt: flip * angle,
    inImage: (site) => at(PA_LAYOUT[site]),
    at,
  };
  function at(point: readonly [number, number]): { x: number; y: number } {
    // the inverse of (u, v) -> (c u - s v, s u + c v), then the shift and the mirror back
    const [p, q] = [point[0] - ax, point[1] - ay];
    return { x: flip * ((c * p + s * q) / det + bx), y: (-s * p + c * q) / det + by };
  }
}

/**
 * The hand's frame: where a point of the PA layout's plane (MCP2-MCP5 units, a left hand,
 * fingers up) falls in the image, from the best fit of the layout to the hand's joints (a
 * right hand mirrored). Undefined with too few joints to judge.
 */
export function handFrame(joints: readonly Pick<Candidate, 'site' | 'x' | 'y'>[], laterality: Laterality): ((p: readonly [number, number]) => { x: number; y: number }) | undefined {
  return fitLayout(joints, laterality, MIN_JOINTS_TO_JUDGE)?.at;
}

/**
 * Joints far from the hand the others make: a film with two views of one hand (a PA and an
 * oblique side by side, common on a cassette) gives the detector, which names each site once
 * per side, some sites on one view and some on the other; the sites found on the second view
 * lie several hand-widths from where the first view's layout puts them. A least-squares fit
 * would bend to them, so the hand is found first as the largest set of joints that one
 * placement of the layout explains (every pair of joints proposes a placement; a joint within
 * `inlierSpans` of its place counts for it), and a joint more than `spans` MCP2-MCP5 distances
 * from its place in the layout fitted to that set is dropped, at most `maxDropped` of them. A
 * hand of any view keeps joints within that (an oblique's deviate by a fraction of a span).
 */
export const STRAY_JOINTS = { spans: 2, inlierSpans: 0.35, maxDropped: 7 } as const;

/** The hand's joints less those lying far from the hand the rest make (STRAY_JOINTS). */
export function withoutStrays<T extends Pick<Candidate, 'site' | 'x' | 'y'>>(hand: readonly T[], laterality: Laterality): { kept: T[]; strays: T[] } {
  const inliers = largestConsistentSet(hand, laterality);
  const fit = inliers && fitLayout(inliers, laterality, MIN_JOINTS_TO_JUDGE);
  if (!fit) return { kept: [...hand], strays: [] };
  const [m2, m5] = [fit.inImage('MCP2'), fit.inImage('MCP5')];
  const span = Math.hypot(m2.x - m5.x, m2.y - m5.y);
  const strays = hand.filter((j) => {
    const p = fit.inImage(j.site);
    return Math.hypot(j.x - p.x, j.y - p.y) > STRAY_JOINTS.spans * span;
  });
  if (strays.length === 0 || strays.length > STRAY_JOINTS.maxDropped) return { kept: [...hand], strays: [] };
  return { kept: hand.filter((j) => !strays.includes(j)), strays };
}

/**
 * The largest set of the hand's joints that one similarity placement of the PA layout puts
 * within STRAY_JOINTS.inlierSpans of their places, each placement proposed by a pair of joints
 * (all pairs: 210 for a whole hand). Undefined with too few joints.
 */
function largestConsistentSet<T extends Pick<Candidate, 'site' | 'x' | 'y'>>(hand: readonly T[], laterality: Laterality): T[] | undefined {
  if (hand.length < MIN_JOINTS_TO_JUDGE) return undefined;
  const flip = laterality === 'R' ? -1 : 1;
  const img = hand.map((j) => [flip * j.x, j.y] as const);
  const lay = hand.map((j) => PA_LAYOUT[j.site]);
  let best: T[] = [];
  for (let i = 0; i < hand.length; i++) {
    for (let k = i + 1; k < hand.length; k++) {
      const [au, av] = [lay[k][0] - lay[i][0], lay[k][1] - lay[i][1]];
      const [bu, bv] = [img[k][0] - img[i][0], img[k][1] - img[i][1]];
      const bb = bu * bu + bv * bv;
      if (bb === 0 || Math.hypot(au, av) < 0.5) continue;
      // the similarity taking image vector b onto layout vector a: (c, s) with a = [c -s; s c] b
      const c = (au * bu + av * bv) / bb;
      const s = (av * bu - au * bv) / bb;
      const set = hand.filter((_, n) => {
        const [u, v] = [img[n][0] - img[i][0], img[n][1] - img[i][1]];
        return Math.hypot(c * u - s * v - (lay[n][0] - lay[i][0]), s * u + c * v - (lay[n][1] - lay[i][1])) <= STRAY_JOINTS.inlierSpans;
      });
      if (set.length > best.length) best = set;
    }
  }
  return best.length >= MIN_JOINTS_TO_JUDGE ? best : undefined;
}

/**
 * RMS residual of the hand's joints against PA_LAYOUT after the best rotation, scale and
 * shift (Procrustes, no reflection); a right hand is mirrored first. Undefined with too few joints.
 */
export function layoutResidual(joints: readonly Pick<Candidate, 'site' | 'x' | 'y'>[], laterality: Laterality): number | undefined {
  return fitLayout(joints, laterality, MIN_JOINTS_TO_JUDGE)?.residual;
}

/**
 * The layout fit's tilt (LayoutFit.tilt) of a hand lying upright (fingers up, the forearm down
 * the film): the PA layout's frame is not the film's, and an upright hand fits it turned by about
 * 25 degrees, one way for a right hand and the other for a left. Measured on hands found at no
 * quarter turn: phantom hands of the `--wider` test (drawn within 60 degrees of upright) median
 * -24 / +23 degrees (right / left), the Radiopaedia PA hands -26 / +26, the RSNA crops -26 / +28.
 */
export const UPRIGHT_TILT_RAD = (25 * Math.PI) / 180;

/**
 * A hand whose joints lie as in a PA hand: its layout residual, and how far it lies turned
 * from upright on the film (radians, the turn that brings it upright, as LayoutFit.tilt but
 * less the layout frame's own `UPRIGHT_TILT_RAD`). Undefined otherwise.
 */
export function paPose(joints: readonly Pick<Candidate, 'site' | 'x' | 'y'>[], laterality: Laterality): { residual: number; tilt: number } | undefined {
  const fit = fitLayout(joints, laterality, MIN_JOINTS_TO_JUDGE);
  if (!fit || fit.residual > MAX_PA_RESIDUAL) return undefined;
  return { residual: fit.residual, tilt: fit.tilt - (laterality === 'R' ? -UPRIGHT_TILT_RAD : UPRIGHT_TILT_RAD) };
}

/**
 * A partial PA view (a wrist-only or finger-only film, or a hand cut by the collimator): the
 * joints found lie as in a PA hand, and the PA layout fitted to them puts the sites not found
 * off the film or at its edge, where they cannot be seen. On a whole film with a hand-like
 * cluster (a foot, an elbow) the sites not found would fall inside the film: not partial.
 */
export const PARTIAL_VIEW = {
  /** joints a partial view needs (a wrist: RC, CSL, STT and the CMCs; two fingers: 6) */
  minJoints: 6,
  /**
   * mean detector confidence of those joints: above the whole hand's, as they are fewer (a
   * detector's own manifest may set another: calibration.partialMinMeanConfidence)
   */
  minMeanConfidence: 0.6,
  /** layout residual bound: fewer joints fit any layout more easily than 21 */
  maxResidual: 0.2,
  /** a site predicted this close to the edge (mm) or beyond counts as out of view */
  edgeMm: 8,
  /** sites predicted inside the film yet not found, tolerated (a joint the detector missed) */
  maxMissedInView: 2,
  /**
   * film beyond the radiocarpal joint, in MCP2-MCP5 spans (about 6 cm each): a wrist film
   * shows a few centimetres of forearm, a forearm film 20 cm and more, with the wrist at its
   * edge, and is not a view the scores are defined on
   */
  maxForearmSpans: 2.5,
} as const;

export interface PartialPaView {
  residual: number;
  /** the sites not found whose predicted place is off the film (or at its edge) */
  notInView: JointSite[];
  /** a joint left out because the others lie as in a PA hand without it (`partialFit`) */
  dropped?: Candidate;
  /** a finger film read by the finger its header names (src/inference/finger.ts): the attributes that name it */
  namedBy?: string;
}

/**
 * A finger read by the name its header gives it (src/inference/finger.ts) as a partial PA view:
 * its DIP, PIP and MCP fitted to that finger's in the PA layout (the proportions and the line of
 * the named finger, at `PARTIAL_VIEW.maxResidual`), every other site not in view.
 */
export function namedFingerView(finger: readonly Candidate[], laterality: Laterality, namedBy: string): PartialPaView | undefined {
  const fit = fitLayout(finger, laterality, finger.length);
  if (!fit || fit.residual > PARTIAL_VIEW.maxResidual) return undefined;
  const found = new Set(finger.map((c) => c.site));
  return { residual: fit.residual, notInView: (Object.keys(PA_LAYOUT) as JointSite[]).filter((site) => !found.has(site)), namedBy };
}

/**
 * The layout fitted to a partial view's joints within PARTIAL_VIEW.maxResidual, or, where those
 * lie off it, to all of them but the one whose leaving out fits the rest best; undefined where
 * neither fits. Why: a few joints fit a layout only while every name is right, and one stray
 * name (a DIP found on the metacarpal shafts of a wrist film, 1-2 spans from its place: too near
 * for `withoutStrays`) sinks a wrist whose other 7 lie as in a PA hand. At least
 * `PARTIAL_VIEW.minJoints` are kept. Only for a detector that learnt partial views (`dropOne`):
 * the whole-hand detector names a wrist film's joints wrongly in several places, and a reading
 * of its that fits only without one of them is its error, not a stray (on a phantom wrist film
 * it took the place of the partial-view detector's right reading).
 */
function partialFit(hand: readonly Candidate[], laterality: Laterality, dropOne: boolean): { fit: LayoutFit; dropped?: Candidate } | undefined {
  const fits = (f: LayoutFit | undefined): f is LayoutFit => f !== undefined && f.residual <= PARTIAL_VIEW.maxResidual;
  const fit = fitLayout(hand, laterality, PARTIAL_VIEW.minJoints);
  if (fits(fit)) return { fit };
  if (!dropOne || hand.length <= PARTIAL_VIEW.minJoints) return undefined;
  let best: { fit: LayoutFit; dropped: Candidate } | undefined;
  for (const c of hand) {
    const f = fitLayout(hand.filter((o) => o !== c), laterality, PARTIAL_VIEW.minJoints);
    if (f && (!best || f.residual < best.fit.residual)) best = { fit: f, dropped: c };
  }
  return best && fits(best.fit) ? best : undefined;
}

/**
 * The hand's own axes in image pixels, from its fitted layout: the MCP2-MCP5 span (the unit the
 * view checks measure in) and the unit vector from the radiocarpal joint towards MCP3 (distal).
 */
function handAxis(fit: LayoutFit): { span: number; distal: { x: number; y: number } } {
  const [rc, mcp3, mcp2, mcp5] = (['RC', 'MCP3', 'MCP2', 'MCP5'] as const).map((site) => fit.inImage(site));
  const len = Math.hypot(mcp3.x - rc.x, mcp3.y - rc.y);
  return { span: Math.hypot(mcp2.x - mcp5.x, mcp2.y - mcp5.y), distal: { x: (mcp3.x - rc.x) / len, y: (mcp3.y - rc.y) / len } };
}

/** Film from the radiocarpal joint to the film's edge, away from the fingers, in MCP2-MCP5 spans. */
function forearmSpans(fit: LayoutFit, film: { rows: number; columns: number }): number {
  const { span, distal } = handAxis(fit);
  const rc = fit.inImage('RC');
  const d = { x: -distal.x, y: -distal.y };
  // how far the ray from the radiocarpal joint runs before it leaves the film
  const exits = [
    d.x > 0 ? (film.columns - rc.x) / d.x : d.x < 0 ? -rc.x / d.x : Infinity,
    d.y > 0 ? (film.rows - rc.y) / d.y : d.y < 0 ? -rc.y / d.y : Infinity,
  ];
  return Math.max(0, Math.min(...exits)) / span;
}

export function partialPaView(
  hand: readonly Candidate[],
  laterality: Laterality,
  film: { rows: number; columns: number; pixelSpacingMm: [number, number] },
  minMeanConfidence: number = PARTIAL_VIEW.minMeanConfidence,
  dropOne = false,
): PartialPaView | { forearm: string } | undefined {
  const mean = hand.reduce((s, c) => s + c.confidence, 0) / hand.length;
  if (hand.length < PARTIAL_VIEW.minJoints || mean < minMeanConfidence) return undefined;
  const fitted = partialFit(hand, laterality, dropOne);
  if (!fitted) return undefined;
  const { fit, dropped } = fitted;
  const [sr, sc] = film.pixelSpacingMm;
  const found = new Set(hand.filter((c) => c !== dropped).map((c) => c.site));
  const notInView: JointSite[] = [];
  let missedInView = 0;
  for (const site of Object.keys(PA_LAYOUT) as JointSite[]) {
    if (found.has(site)) continue;
    const { x, y } = fit.inImage(site);
    const edgeMm = Math.min(x * sc, y * sr, (film.columns - x) * sc, (film.rows - y) * sr);
    if (edgeMm < PARTIAL_VIEW.edgeMm) notInView.push(site);
    else missedInView++;
  }
  if (missedInView > PARTIAL_VIEW.maxMissedInView || notInView.length === 0 || notInView.some((site) => flankedOnItsRay(site, found))) return undefined;
  if (found.has('RC')) {
    const spans = forearmSpans(fit, film);
    if (spans > PARTIAL_VIEW.maxForearmSpans) {
      return { forearm: `a forearm film, the wrist at its edge (${spans.toFixed(1)} MCP2-MCP5 spans of film beyond the radiocarpal joint, a wrist film shows at most ${PARTIAL_VIEW.maxForearmSpans}): not a hand or wrist view; the scores are defined on PA hand views` };
    }
  }
  return { residual: fit.residual, notInView, ...(dropped ? { dropped } : {}) };
}

/** Each site's place along its ray, carpus first (the thumb: MCP1, IP1). */
const ALONG_RAY: Readonly<Partial<Record<JointSite, { ray: number; rank: number }>>> = Object.fromEntries([
  ['MCP1', { ray: 1, rank: 1 }], ['IP1', { ray: 1, rank: 2 }],
  ...[2, 3, 4, 5].flatMap((ray) => (['MCP', 'PIP', 'DIP'] as const).map((kind, i) => [`${kind}${ray}`, { ray, rank: i + 1 }])),
]);

/**
 * A site "not in view" that lies between two joints found on its own ray (the carpus counting as
 * every ray's proximal end): the exposed field is convex, so a finger that is in view at both
 * ends is in view between them. A reading that says otherwise has named a far structure after
 * the ray (the elbow of a forearm film called a DIP, the superimposed metacarpals of a lateral
 * wrist read as fingers), not seen a partial view.
 */
function flankedOnItsRay(site: JointSite, found: ReadonlySet<JointSite>): boolean {
  const at = ALONG_RAY[site];
  if (!at) return false;
  const ranks = [...found].flatMap((f) => (WRIST_SITES.includes(f) ? [0] : ALONG_RAY[f]?.ray === at.ray ? [ALONG_RAY[f]!.rank] : []));
  return ranks.some((r) => r < at.rank) && ranks.some((r) => r > at.rank);
}

/**
 * Where a thumb not found says "no hand" (`thumbNotFound`) though the thumb's IP would lie off
 * the film: its MCP at least this far inside it. On phantom feet the fitted "MCP1" lay 0.13-0.26
 * spans inside on the three one-foot films graded as hands while both thumb joints had to be on
 * the film; a film cut 2 pixels short of a hand's MCP1 put the fitted place 0.06 inside.
 */
export const THUMB_IN_VIEW = {
  /** MCP2-MCP5 spans from the film's edge */
  mcp1InsideSpans: 0.1,
} as const;

const hasThumb = (hand: readonly Pick<Candidate, 'site'>[]) => hand.some((c) => c.site === 'MCP1' || c.site === 'IP1');

/**
 * Where the PA layout fitted to a hand's joints puts its thumb's MCP and IP: how far inside the
 * film's nearest edge each lies, in MCP2-MCP5 spans (negative: off the film); undefined where too
 * few joints are found to fit.
 */
export function thumbPlace(
  hand: readonly Pick<Candidate, 'site' | 'x' | 'y'>[],
  laterality: Laterality,
  film: { rows: number; columns: number; pixelSpacingMm: [number, number] },
): { mcp1: number; ip1: number } | undefined {
  const fit = fitLayout(hand, laterality, MIN_JOINTS_TO_JUDGE);
  if (!fit) return undefined;
  const [sr, sc] = film.pixelSpacingMm;
  const [m2, m5] = [fit.inImage('MCP2'), fit.inImage('MCP5')];
  const spanMm = Math.hypot((m2.x - m5.x) * sc, (m2.y - m5.y) * sr);
  const inside = (site: JointSite) => {
    const { x, y } = fit.inImage(site);
    return Math.min(x * sc, y * sr, (film.columns - x) * sc, (film.rows - y) * sr) / spanMm;
  };
  return { mcp1: inside('MCP1'), ip1: inside('IP1') };
}

/**
 * A whole hand's thumb: on a PA hand the thumb is the digit set apart, and the detector finds
 * its joints (on the real whole hands of docs/evaluation.md every hand read right has MCP1 or
 * IP1). Five rays without one are what a foot shows (a big toe in line with the others is no
 * thumb to the detector; phantom feet, src/phantom/foot.ts) and what misread finger, wrist and
 * forearm films showed: the reason, when neither thumb joint is found although the layout
 * fitted to the hand puts both on the film, or its MCP well inside it (`THUMB_IN_VIEW`: the
 * thumb's base is then in view, and its tip need not be). Undefined when the thumb is found or
 * out of view (a film cut short on the thumb's side).
 */
export function thumbNotFound(
  hand: readonly Candidate[],
  laterality: Laterality,
  film: { rows: number; columns: number; pixelSpacingMm: [number, number] },
): string | undefined {
  if (hasThumb(hand)) return undefined;
  const place = thumbPlace(hand, laterality, film);
  if (!place) return undefined;
  // both thumb joints on the film at all (a thumb joint even a few millimetres inside the edge is seen and
  // found), or its MCP well inside: nearer the edge the fitted place is within the layout's error of it (a
  // film cut 2 pixels short of the MCP put it 0.06 spans inside)
  const inView = (place.mcp1 > 0 && place.ip1 > 0) || place.mcp1 >= THUMB_IN_VIEW.mcp1InsideSpans;
  if (!inView) return undefined;
  return `${hand.length} joint-like structures lying as in a hand, but no thumb joint (MCP1, IP1) where a hand's thumb would be on the film: five rays without a thumb are a foot or another body part (or a hand without its thumb); the joints cannot be named as a hand's`;
}

/**
 * A thumb found where a big toe lies. The first metacarpal is shorter than the second and
 * starts at the carpus, so a thumb's MCP lies well proximal to the finger MCP row however the
 * thumb is held (adducted and straight, about a third of a span short of it), and its IP at
 * most a proximal phalanx beyond; a foot's first MTP lies in the MTP row (the first metatarsal
 * about as long as the second) and the hallux's IP beyond it. Measured along the hand's axis
 * from MCP2, in MCP2-MCP5 spans, with the PA layout fitted to the joints other than the
 * thumb's, on the detector's joints as the view check sees them: the whole hands of the real
 * films in docs/evaluation.md (62) reach -0.25 (MCP1) and 0.30 (IP1), 600 phantom hands posed
 * wider than training -0.25 and 0.27; the phantom feet that pass the other checks put MCP1 at
 * -0.06 and up (5 of 7) and IP1 at 0.42 and up (5 of 10). Each bound is the hands' farthest
 * plus a tenth of a span (docs/evaluation.md, "A thumb where a big toe lies").
 */
export const BIG_TOE = { mcp1Along: -0.15, ip1Along: 0.4 } as const;

/** Where the thumb's joints found lie along the hand from MCP2 (spans; + distal), the layout fitted to the other joints. */
export function thumbAlongHand(hand: readonly Pick<Candidate, 'site' | 'x' | 'y'>[], laterality: Laterality): Partial<Record<'MCP1' | 'IP1', number>> | undefined {
  const fit = fitLayout(hand.filter((c) => c.site !== 'MCP1' && c.site !== 'IP1'), laterality, MIN_JOINTS_TO_JUDGE);
  if (!fit) return undefined;
  const { span, distal } = handAxis(fit);
  const mcp2 = fit.inImage('MCP2');
  const along = (p: { x: number; y: number }) => ((p.x - mcp2.x) * distal.x + (p.y - mcp2.y) * distal.y) / span;
  const out: Partial<Record<'MCP1' | 'IP1', number>> = {};
  for (const c of hand) if (c.site === 'MCP1' || c.site === 'IP1') out[c.site] = along(c);
  return out;
}

/** The reason a whole hand's thumb is a big toe (BIG_TOE), or undefined. */
export function thumbAsBigToe(hand: readonly Candidate[], laterality: Laterality): string | undefined {
  const at = thumbAlongHand(hand, laterality);
  if (!at) return undefined;
  const mcp1 = at.MCP1 !== undefined && at.MCP1 > BIG_TOE.mcp1Along;
  const ip1 = at.IP1 !== undefined && at.IP1 > BIG_TOE.ip1Along;
  if (!mcp1 && !ip1) return undefined;
  const where = mcp1 ? `MCP1 ${at.MCP1!.toFixed(2)} spans from the MCP row (a thumb's lies ${-BIG_TOE.mcp1Along} or more short of it)` : `IP1 ${at.IP1!.toFixed(2)} spans beyond the MCP row (a thumb's at most ${BIG_TOE.ip1Along})`;
  return `${hand.length} joint-like structures lying as in a hand, but the joint named ${mcp1 ? 'MCP1' : 'IP1'} lies where a big toe's does (${where}): a foot, not a hand; the joints cannot be named as a hand's`;
}

/**
 * Whole hands found on a part of a film (a panel: panels.ts) judged again against the whole
 * film for their thumb: a panel can cut a hand's thumb side off, and a foot's field cut out
 * between collimator lines passes a thumb check that sees only the panel. `check`'s candidates
 * are in the film's pixel frame. Partial views keep their own judgement (the rest of the hand
 * is off their panel: that is what makes them partial).
 */
export function thumbOnFilm(check: ViewCheck, film: { rows: number; columns: number; pixelSpacingMm: [number, number] }): ViewCheck {
  const out: ViewCheck = { ...check, candidates: [...check.candidates], notGraded: [...check.notGraded] };
  for (const laterality of ['L', 'R'] as const) {
    if (check.partial[laterality]) continue;
    const hand = out.candidates.filter((c) => c.laterality === laterality);
    const noThumb = hand.length ? thumbNotFound(hand, laterality, film) : undefined;
    if (!noThumb) continue;
    out.candidates = out.candidates.filter((c) => c.laterality !== laterality);
    out.notGraded.push({ laterality, cause: 'unrecognised', reason: noThumb });
    const { [laterality]: _dropped, ...residuals } = out.paResiduals;
    out.paResiduals = residuals;
  }
  return out;
}

/**
 * Joints that lie as in no PA hand and include no thumb joint: not a hand in an oblique or
 * lateral view (the thumb stands apart in those, and the detector finds it: on the real films
 * of docs/evaluation.md every hand rejected for its view but one had MCP1 or IP1), but
 * joint-like structures on something else (an elbow's screws and plate, a foot, a forearm in
 * a cast): "no hand" is what the film shows.
 */
function notAHandInAnotherView(hand: readonly Candidate[], residual: number): Omit<HandNotGraded, 'laterality'> {
  return {
    cause: 'unrecognised',
    reason: `${hand.length} joint-like structures without a thumb joint (MCP1, IP1) whose layout is no hand's (layout residual ${residual.toFixed(2)} > ${MAX_PA_RESIDUAL}): another body part, or a hand the detector cannot name`,
  };
}

/**
 * Two MCP joints found on one place. The metacarpal heads sit side by side whatever the hand
 * does on a PA film (fingers flex, spread and drift; the heads hardly move against each other):
 * the whole hands graded on the Radiopaedia and upper-limb films of docs/evaluation.md keep every
 * pair of MCPs (MCP1-MCP5) at 0.62 or more of its distance in PA_LAYOUT, 600 phantom hands posed
 * wider than training (upright and turned) at 0.64 or more (`scripts/film-kinds.mjs`, closestMcpPair).
 * On an oblique the heads overlap and the detector names one twice (0.06 and 0.19 on two real
 * obliques graded as PA before this check). A quarter stays under half the lowest PA share.
 * Pairs elsewhere are no such sign: a flexed finger's DIP and PIP, or the fingers of a hand with
 * ulnar drift, may lie close on a PA film.
 */
export const MCP_NAMED_TWICE = { shareOfLayout: 0.25 } as const;

const MCP_ROW: readonly JointSite[] = ['MCP1', 'MCP2', 'MCP3', 'MCP4', 'MCP5'];

/**
 * The two MCPs of a hand lying closest for their distance in PA_LAYOUT (the layout fitted to
 * the hand), and that share; undefined with too few joints to fit or fewer than two MCPs.
 */
export function closestMcpPair(hand: readonly Pick<Candidate, 'site' | 'x' | 'y'>[], laterality: Laterality): { sites: [JointSite, JointSite]; share: number } | undefined {
  const fit = fitLayout(hand, laterality, MIN_JOINTS_TO_JUDGE);
  if (!fit) return undefined;
  const { span } = handAxis(fit);
  const row = hand.filter((c) => MCP_ROW.includes(c.site));
  let closest: { sites: [JointSite, JointSite]; share: number } | undefined;
  row.forEach((a, i) => {
    for (const b of row.slice(i + 1)) {
      const [pa, pb] = [PA_LAYOUT[a.site], PA_LAYOUT[b.site]];
      const share = Math.hypot(a.x - b.x, a.y - b.y) / span / Math.hypot(pa[0] - pb[0], pa[1] - pb[1]);
      if (!closest || share < closest.share) closest = { sites: [a.site, b.site], share };
    }
  });
  return closest;
}

/** closestMcpPair where under MCP_NAMED_TWICE.shareOfLayout: one head named twice. */
export function mcpNamedTwice(hand: readonly Pick<Candidate, 'site' | 'x' | 'y'>[], laterality: Laterality): { sites: [JointSite, JointSite]; share: number } | undefined {
  const closest = closestMcpPair(hand, laterality);
  return closest && closest.share < MCP_NAMED_TWICE.shareOfLayout ? closest : undefined;
}

function mcpNamedTwiceView(hand: readonly Candidate[], laterality: Laterality): Omit<HandNotGraded, 'laterality'> | undefined {
  const twice = mcpNamedTwice(hand, laterality);
  if (!twice) return undefined;
  return {
    cause: 'view',
    reason: `two MCP joints found on one place (${twice.sites.join(' and ')} at ${twice.share.toFixed(2)} of their distance in a PA hand, which keeps ${MCP_NAMED_TWICE.shareOfLayout * 2} or more): overlapping metacarpal heads, as in an oblique view; the scores are defined on PA views`,
  };
}

/**
 * When the detector's joints make a hand it can name: `handMinJoints` of the 21 sites at a
 * mean confidence of `handMinMeanConfidence` (the detector manifest's calibration). Below
 * either bound the sites' names cannot be trusted, so grades written under them would
 * describe the wrong joints.
 */
export interface RecognisedHand {
  minJoints: number;
  minMeanConfidence: number;
  /** a partial PA view's bound on the same detector's confidence scale */
  partialMinMeanConfidence: number;
}

export function recognisedHand(c: DetectorCalibration = DEFAULT_CALIBRATION): RecognisedHand {
  return {
    minJoints: c.handMinJoints,
    minMeanConfidence: c.handMinMeanConfidence,
    partialMinMeanConfidence: c.partialMinMeanConfidence ?? PARTIAL_VIEW.minMeanConfidence,
  };
}

export interface ViewCheck {
  /** the hands to grade */
  candidates: Candidate[];
  /** the layout residual of each hand kept where its view was judged (a PA layout) */
  paResiduals: Partial<Record<Laterality, number>>;
  /** hands kept as partial PA views (too few joints for a whole hand, the rest off the film) */
  partial: Partial<Record<Laterality, PartialPaView>>;
  /** hands found but not graded, with the reason */
  notGraded: HandNotGraded[];
}

/**
 * Why this hand's joints should not be graded, or undefined when they should. `residual` is
 * its layoutResidual, undefined where the view is not judged (paViewsOnly off, too few joints).
 */
export function handNotGraded(
  hand: readonly Candidate[],
  residual: number | undefined,
  recognised: RecognisedHand = recognisedHand(),
): Omit<HandNotGraded, 'laterality'> | undefined {
  const mean = hand.reduce((s, c) => s + c.confidence, 0) / hand.length;
  if (hand.length < recognised.minJoints || mean < recognised.minMeanConfidence) {
    return {
      cause: 'unrecognised',
      reason: `${hand.length} joint-like structures at a mean detector confidence of ${mean.toFixed(2)} (a hand needs ${recognised.minJoints} of 21 joints at ${recognised.minMeanConfidence}; a partial view ${PARTIAL_VIEW.minJoints} at ${recognised.partialMinMeanConfidence} lying as in a PA hand, with the joints not found off the film): another body part, or a view the detector does not know; the joints cannot be named reliably`,
    };
  }
  if (residual !== undefined && residual > MAX_PA_RESIDUAL) {
    return {
      cause: 'view',
      reason: `the joints found do not lie as in a PA view (layout residual ${residual.toFixed(2)} > ${MAX_PA_RESIDUAL}): an oblique or lateral view, or not a hand; the scores are defined on PA views`,
    };
  }
  return undefined;
}

/**
 * Keeps the hands recognised as hands whose joints lie as in a PA view (any view where
 * `paViewsOnly` is false: the site's choice), and partial PA views (wrist-only, finger-only
 * films: judged on `film`, the image the candidates' pixels are in); names the others and why.
 */
export function keepPaHands(
  candidates: readonly Candidate[],
  film: { rows: number; columns: number; pixelSpacingMm: [number, number] },
  paViewsOnly = true,
  recognised: RecognisedHand = recognisedHand(),
  /** a partial view may leave one stray name out (`partialFit`): for a partial-view detector's reading */
  partialDropOne = false,
): ViewCheck {
  const out: ViewCheck = { candidates: [], paResiduals: {}, partial: {}, notGraded: [] };
  for (const laterality of ['L', 'R'] as const) {
    const { kept: hand } = withoutStrays(candidates.filter((c) => c.laterality === laterality), laterality);
    if (hand.length === 0) continue;
    const residual = paViewsOnly ? layoutResidual(hand, laterality) : undefined;
    const why = handNotGraded(hand, residual, recognised) ?? (residual !== undefined ? mcpNamedTwiceView(hand, laterality) : undefined);
    const partial = why?.cause === 'unrecognised' && hand.length < recognised.minJoints ? partialPaView(hand, laterality, film, recognised.partialMinMeanConfidence, partialDropOne) : undefined;
    if (partial && 'forearm' in partial) {
      // a forearm film is another body part, not a hand in another view: "no hand" is what it shows
      out.notGraded.push({ laterality, cause: 'unrecognised', reason: partial.forearm });
      continue;
    }
    if (partial) {
      out.candidates.push(...hand.filter((c) => c !== partial.dropped));
      out.partial[laterality] = partial;
      continue;
    }
    if (why) {
      const noHand = why.cause === 'view' && residual !== undefined && residual > MAX_PA_RESIDUAL && !hasThumb(hand);
      out.notGraded.push({ laterality, ...(noHand ? notAHandInAnotherView(hand, residual) : why) });
      continue;
    }
    // where the thumb lies along the hand means something only for a hand in a PA layout (a
    // site that grades every view gets no layout check, and a lateral's thumb lies anywhere)
    const noThumb = thumbNotFound(hand, laterality, film) ?? (residual !== undefined ? thumbAsBigToe(hand, laterality) : undefined);
    if (noThumb) {
      out.notGraded.push({ laterality, cause: 'unrecognised', reason: noThumb });
      continue;
    }
    out.candidates.push(...hand);
    if (residual !== undefined) out.paResiduals[laterality] = residual;
  }
  return out;
}
