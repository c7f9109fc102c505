import type { HandResult } from '../analysis/hand-analysis.js';
import type { JointSite, Laterality } from '../analysis/joints.js';
import type { DisplayImage } from '../imaging/preprocess.js';
import { valleyDepth } from '../imaging/profile.js';
import type { Candidate } from './detector.js';
import { buildGraderBatch } from './grader.js';

/**
 * Open growth plates, read from the pixels: a child's hand is not graded (SvH and KL are adult
 * scores; an unfused epiphysis beside its growth plate looks like a second, irregular joint
 * space), and the header's age is often missing or wrong on films a PACS routes.
 *
 * At every finger joint (MCP, PIP, DIP, the thumb's MCP1 and IP1) the bone distal to the joint
 * grows from its base: in a child the epiphysis there is a disc of bone 2-4 mm thick, cut off
 * from the shaft by the physis, a lucent line across the whole bone. On the grader's crop
 * (distal up, a fixed mm scale) that line is a narrow valley in the brightness along the bone's
 * axis, 2-6 mm distal to the joint, seen at the same level in three bands across the bone. The
 * head of the bone proximal to the joint has no physis in the same window (the metacarpals'
 * lie farther back), so the same valley measured 2-6 mm proximal is the film's own baseline
 * (trabecular texture, edge-enhancement halos): the evidence is the difference. A hand is
 * immature when that difference is clear at most of its finger joints.
 *
 * Measured on real films (docs/evaluation.md, "Children from the pixels"): the children's
 * hands on 9 RSNA, DHA and Radiopaedia films score 0.025-0.084 (median difference), adolescent
 * and adult hands at most 0.008, phantom adult hands at most 0.018.
 */
export const OPEN_PHYSES = {
  /** the window distal (physis) and proximal (baseline) to the joint centre, mm */
  nearMm: 2,
  farMm: 6,
  /** half-width of each of the three bands across the bone and their offsets from the axis, mm */
  bandHalfMm: 0.8,
  bandOffsetsMm: [-2, 0, 2],
  /** a valley's flanks are looked for this far either side (a physis is about 1 mm wide), mm */
  flankMm: 1,
  /** joints needed to judge a hand */
  minJoints: 8,
  /** median over the hand's finger joints of (physis valley - baseline valley), display units */
  minMedianDifference: 0.022,
  /** share of the hand's finger joints whose difference passes `jointDifference` */
  minShare: 0.4,
  jointDifference: 0.03,
} as const;

/** The joints whose distal bone has its growth plate at its base, near the joint. */
export const PHYSIS_SITES: ReadonlySet<JointSite> = new Set<JointSite>([
  'MCP1', 'MCP2', 'MCP3', 'MCP4', 'MCP5', 'IP1', 'PIP2', 'PIP3', 'PIP4', 'PIP5', 'DIP2', 'DIP3', 'DIP4', 'DIP5',
]);

export interface CropScale {
  /** side of the square crop, pixels */
  sizePx: number;
  mmPerPx: number;
}

/**
 * Brightness along the crop's vertical axis (row 0 = distal), averaged over a band of columns
 * `offsetMm` from the centre.
 */
function axialProfile(crop: Float32Array, s: CropScale, offsetMm: number): Float32Array {
  const half = Math.round(OPEN_PHYSES.bandHalfMm / s.mmPerPx);
  const c0 = Math.round(s.sizePx / 2 + offsetMm / s.mmPerPx);
  const out = new Float32Array(s.sizePx);
  for (let r = 0; r < s.sizePx; r++) {
    let sum = 0;
    for (let c = c0 - half; c <= c0 + half; c++) sum += crop[r * s.sizePx + c];
    out[r] = sum / (2 * half + 1);
  }
  return out;
}

/**
 * The deepest valley between rows a and b (a < b) seen in all three bands at the same level
 * (within a row): a line across the bone, not a spot.
 */
function lineValley(profiles: Float32Array[], a: number, b: number, w: number): number {
  let best = 0;
  for (let r = Math.max(1, a); r < Math.min(profiles[0].length - 1, b); r++) {
    const across = Math.min(...profiles.map((p) => Math.max(valleyDepth(p, r - 1, w), valleyDepth(p, r, w), valleyDepth(p, r + 1, w))));
    best = Math.max(best, across);
  }
  return best;
}

/**
 * One joint's growth-plate evidence: the line valley 2-6 mm distal to the joint minus the one
 * 2-6 mm proximal (crop: distal up, centred on the joint; display values in [0, 1]). Pure.
 */
export function physisEvidence(crop: Float32Array, s: CropScale): number {
  const profiles = OPEN_PHYSES.bandOffsetsMm.map((o) => axialProfile(crop, s, o));
  const centre = s.sizePx / 2;
  const row = (mmDistal: number) => Math.round(centre - mmDistal / s.mmPerPx);
  const w = Math.max(1, Math.round(OPEN_PHYSES.flankMm / s.mmPerPx));
  const { nearMm, farMm } = OPEN_PHYSES;
  return lineValley(profiles, row(farMm), row(nearMm), w) - lineValley(profiles, row(-nearMm), row(-farMm), w);
}

export interface OpenPhyses {
  /** finger joints measured */
  joints: number;
  /** median of their evidence */
  median: number;
  /** share of them past OPEN_PHYSES.jointDifference */
  share: number;
}

/** A hand's joints' evidence summed up; undefined when too few joints to judge. Pure. */
export function openPhysesOf(evidence: readonly number[]): OpenPhyses | undefined {
  if (evidence.length < OPEN_PHYSES.minJoints) return undefined;
  const sorted = [...evidence].sort((a, b) => a - b);
  return {
    joints: evidence.length,
    median: sorted[Math.floor(sorted.length / 2)],
    share: evidence.filter((e) => e > OPEN_PHYSES.jointDifference).length / evidence.length,
  };
}

export function isImmature(o: OpenPhyses | undefined): o is OpenPhyses {
  return o !== undefined && o.median >= OPEN_PHYSES.minMedianDifference && o.share >= OPEN_PHYSES.minShare;
}

export function immatureReason(o: OpenPhyses): string {
  return `skeletally immature: open growth plates seen at ${Math.round(o.share * o.joints)} of ${o.joints} finger joints (a lucent line across the base of the bone distal to the joint; median evidence ${o.median.toFixed(3)} >= ${OPEN_PHYSES.minMedianDifference}); SvH and KL are adult scores`;
}

/**
 * A film is a child's when any of its graded hands shows open growth plates (the hands on one
 * film are one patient's): the surest such hand's evidence, or undefined for an adult's film.
 * Serving (analyze.ts) and the real crops cut for training and evaluation
 * (models/training/real_crops.mjs) both ask this, so a measure on real joints counts only
 * joints the node would grade.
 */
export function childsPhyses(img: DisplayImage, hands: readonly HandResult[]): OpenPhyses | undefined {
  const immature = [...openPhysesOfHands(img, hands).values()].filter(isImmature);
  return immature.length ? immature.reduce((a, b) => (b.median > a.median ? b : a)) : undefined;
}

/** The grader's crop geometry at which OPEN_PHYSES was measured (jointscore-grader 0.6.0's). */
const MEASURED_AT: CropScale = { sizePx: 112, mmPerPx: 0.16 };

/**
 * Each graded hand's growth-plate evidence, measured at the grader's refined joint centres (the
 * detector's are a millimetre or two off, as much as an epiphysis is thick).
 */
export function openPhysesOfHands(img: DisplayImage, hands: readonly HandResult[]): Map<Laterality, OpenPhyses> {
  return openPhysesByHand(img, hands.flatMap((h) => h.joints.map((j) => ({ laterality: h.laterality, site: j.site, x: j.x, y: j.y, confidence: j.confidence }))));
}

/**
 * Each hand's growth-plate evidence on a film: its finger joints cropped as the grader crops
 * them (distal up), measured, summed up. Hands with too few finger joints are left out.
 */
export function openPhysesByHand(img: DisplayImage, candidates: readonly Candidate[]): Map<Laterality, OpenPhyses> {
  const batch = buildGraderBatch(img, candidates, MEASURED_AT.sizePx, MEASURED_AT.mmPerPx);
  const n = MEASURED_AT.sizePx * MEASURED_AT.sizePx;
  const evidence = new Map<Laterality, number[]>();
  batch.rows.forEach((c, i) => {
    if (!PHYSIS_SITES.has(c.site)) return;
    const list = evidence.get(c.laterality) ?? [];
    list.push(physisEvidence(batch.crop.subarray(i * n, (i + 1) * n), MEASURED_AT));
    evidence.set(c.laterality, list);
  });
  const out = new Map<Laterality, OpenPhyses>();
  for (const [side, e] of evidence) {
    const o = openPhysesOf(e);
    if (o) out.set(side, o);
  }
  return out;
}
