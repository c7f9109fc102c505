import type { HandAnalysis, JointResult } from '../analysis/hand-analysis.js';
import type { JointSite, Laterality } from '../analysis/joints.js';

/**
 * Geometry and one-to-one matching for the evaluator. Pure: no I/O.
 *
 * Matching rule used everywhere in src/eval: a predicted joint may only match a true joint
 * of the SAME IMAGE (source.sopInstanceUID), the SAME HAND LATERALITY and the SAME SITE
 * (the "joint key"). The detector names what it found, so a box that happens to overlap
 * the neighbouring joint does not count as finding it. Within one key, candidates are
 * assigned greedily: detections in descending score order, each taking the unmatched true
 * joint of its key with the best affinity (highest IoU, or nearest centre) among those that
 * pass the threshold; a detection with no such true joint left is unmatched (a false
 * positive where that matters: duplicates therefore count as false positives).
 */
export type Box = readonly [number, number, number, number];

/** Intersection over union of two [x0, y0, x1, y1] boxes; 0 when either has no area. */
export function iou(a: Box, b: Box): number {
  const ax0 = Math.min(a[0], a[2]), ax1 = Math.max(a[0], a[2]), ay0 = Math.min(a[1], a[3]), ay1 = Math.max(a[1], a[3]);
  const bx0 = Math.min(b[0], b[2]), bx1 = Math.max(b[0], b[2]), by0 = Math.min(b[1], b[3]), by1 = Math.max(b[1], b[3]);
  const iw = Math.min(ax1, bx1) - Math.max(ax0, bx0);
  const ih = Math.min(ay1, by1) - Math.max(ay0, by0);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const union = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter;
  return union > 0 ? inter / union : 0;
}

/** One joint of one hand of one image, flattened, with what the metrics need beside it. */
export interface FlatJoint {
  /** source.sopInstanceUID */
  image: string;
  laterality: Laterality;
  site: JointSite;
  joint: JointResult;
  /** [row spacing, column spacing] in mm, from the image's source.pixelSpacingMm */
  pixelSpacingMm?: readonly [number, number];
}

export function jointKey(j: Pick<FlatJoint, 'image' | 'laterality' | 'site'>): string {
  return `${j.image}|${j.laterality}|${j.site}`;
}

export function flattenJoints(analyses: readonly HandAnalysis[]): FlatJoint[] {
  const out: FlatJoint[] = [];
  for (const a of analyses) {
    for (const hand of a.hands) {
      for (const joint of hand.joints) {
        out.push({
          image: a.source.sopInstanceUID,
          laterality: hand.laterality,
          site: joint.site,
          joint,
          ...(a.source.pixelSpacingMm ? { pixelSpacingMm: a.source.pixelSpacingMm } : {}),
        });
      }
    }
  }
  return out;
}

/** Euclidean distance between two joint centres, in mm when a spacing is given, else in pixels. */
export function centreDistance(
  a: Pick<JointResult, 'x' | 'y'>,
  b: Pick<JointResult, 'x' | 'y'>,
  pixelSpacingMm?: readonly [number, number],
): number {
  // DICOM Pixel Spacing is [between rows (y), between columns (x)].
  const sy = pixelSpacingMm ? pixelSpacingMm[0] : 1;
  const sx = pixelSpacingMm ? pixelSpacingMm[1] : 1;
  return Math.hypot((a.x - b.x) * sx, (a.y - b.y) * sy);
}

export interface MatchResult {
  /** for each detection (input order): index of the true joint it matched, or -1 */
  detectionToTruth: number[];
  /** for each true joint (input order): index of the detection that matched it, or -1 */
  truthToDetection: number[];
  /** detection indices in the order they were processed (descending score, then input order) */
  order: number[];
}

/**
 * Greedy one-to-one matching. `affinity(d, t)` returns a number (higher is better) when the
 * pair is eligible, or null when it is not (below the IoU threshold, too far away). Only
 * pairs with equal `key` are considered. Detections are processed by descending `score`;
 * equal scores keep their input order (the caller sorts its input deterministically).
 */
export function greedyMatch<D, T>(
  detections: readonly D[],
  truths: readonly T[],
  opts: {
    detectionKey: (d: D) => string;
    truthKey: (t: T) => string;
    score: (d: D) => number;
    affinity: (d: D, t: T) => number | null;
  },
): MatchResult {
  const byKey = new Map<string, number[]>();
  truths.forEach((t, i) => {
    const k = opts.truthKey(t);
    const list = byKey.get(k);
    if (list) list.push(i);
    else byKey.set(k, [i]);
  });
  const scores = detections.map(opts.score);
  const order = detections.map((_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
  const detectionToTruth = new Array<number>(detections.length).fill(-1);
  const truthToDetection = new Array<number>(truths.length).fill(-1);
  for (const di of order) {
    const candidates = byKey.get(opts.detectionKey(detections[di]));
    if (!candidates) continue;
    let best = -1;
    let bestAffinity = -Infinity;
    for (const ti of candidates) {
      if (truthToDetection[ti] !== -1) continue;
      const a = opts.affinity(detections[di], truths[ti]);
      if (a === null || !(a > bestAffinity)) continue;
      best = ti;
      bestAffinity = a;
    }
    if (best !== -1) {
      detectionToTruth[di] = best;
      truthToDetection[best] = di;
    }
  }
  return { detectionToTruth, truthToDetection, order };
}

/** Greedy matching of flattened joints by IoU >= threshold, detections ranked by `score`. */
export function matchByIou(
  detections: readonly FlatJoint[],
  truths: readonly FlatJoint[],
  score: (d: FlatJoint) => number,
  threshold = 0.5,
): MatchResult {
  return greedyMatch(detections, truths, {
    detectionKey: jointKey,
    truthKey: jointKey,
    score,
    affinity: (d, t) => {
      const v = iou(d.joint.box, t.joint.box);
      return v >= threshold ? v : null;
    },
  });
}
