import type { GradeResult, HandAnalysis, JointResult, SeverityClass } from '../analysis/hand-analysis.js';
import { JOINT_SITES, MAX_GRADE, type JointSite, type Score } from '../analysis/joints.js';
import { predictedGrade, SEVERITY_CLASSES, severityOf, STUDY_THRESHOLDS, type SeverityThresholds } from '../analysis/severity.js';
import { gradesOf, patternAgreement, type PatternAgreement } from './pattern.js';
import { centreDistance, flattenJoints, greedyMatch, jointKey, matchByIou, type FlatJoint } from './match.js';

/**
 * The evaluator's metrics. Pure: HandAnalysis values in, an EvalResult out, no I/O, so the
 * CLI can feed it ground truth and predictions read from files, or predictions made by
 * running the models, alike.
 *
 * Definitions (see also the comments at each function):
 *
 * - Joint key: (image = source.sopInstanceUID, hand laterality, site). A prediction only
 *   ever matches a true joint with the same key (match.ts).
 * - The reference study's metric (docs/design.md), per scheme (RA = JSN, OA = KL) and severity
 *   class c (healthy / mild / severe by the thresholds, STUDY_THRESHOLDS by default):
 *   detections = every predicted joint that carries the scheme's score, with
 *   score = detector confidence x P(c), P(c) = sum of its grade probabilities in class c;
 *   positives = true joints carrying that score whose TRUE grade falls in class c;
 *   greedy one-to-one matching by descending score at IoU >= 0.5 over the whole test set;
 *   AP with all-point interpolation (VOC 2010+: precision made monotone from the right,
 *   summed over the recall steps). Equal scores form one threshold: the PR curve gets one
 *   point per distinct score, so the AP does not depend on file order. A class without
 *   positives has AP null and is left out of the mean ("all joints" = mean of the classes).
 * - Images: only images with ground truth are evaluated. A ground-truth image without a
 *   prediction is a missed image: its joints stay in every denominator (recall, AP
 *   positives) and are never found. Predictions for images without ground truth are
 *   listed and otherwise ignored.
 * - Detection recall: true joints matched one-to-one (detections by descending confidence)
 *   by a predicted joint with IoU >= 0.5; and separately by a predicted joint whose centre
 *   lies within 10 % of that hand's TRUE MCP2-MCP5 centre distance (joints of hands whose
 *   truth lacks MCP2 or MCP5 are left out of that second figure and counted).
 * - Localisation: every true joint is paired one-to-one with a predicted joint of its key
 *   (detections by descending confidence, each taking the nearest unpaired true centre, no
 *   threshold), and the centre distance is measured in mm (source.pixelSpacingMm of the
 *   ground truth, else of the prediction; images without spacing are left out of the mm
 *   figures) and as a fraction of the hand's true MCP2-MCP5 distance.
 * - Grading: over the joints matched at IoU >= 0.5 (the detection-recall matching), true
 *   grade vs predicted grade = argmax of the predicted probabilities (lowest grade on a tie;
 *   the stated grade when there are no probabilities): confusion matrix (rows true, columns
 *   predicted), quadratic-weighted Cohen's kappa, accuracy, within-one accuracy.
 */

export type Scheme = 'ra' | 'oa';
export const SCHEME_SCORE: Record<Scheme, 'jsn' | 'kl'> = { ra: 'jsn', oa: 'kl' };
export const SCHEME_LABEL: Record<Scheme, string> = { ra: 'RA-JSN', oa: 'OA-KL' };
export { SEVERITY_CLASSES };

export interface EvalOptions {
  thresholds?: SeverityThresholds;
  /** IoU a detection needs to match a true joint (default 0.5) */
  iouThreshold?: number;
  /** distance criterion as a fraction of the hand's MCP2-MCP5 distance (default 0.1) */
  distanceFraction?: number;
}

export interface PrCurve {
  /** one point per distinct score, in descending score order */
  recall: number[];
  precision: number[];
  /** the score at each point */
  score: number[];
}

export interface ClassAp {
  cls: SeverityClass;
  /** null when the class has no positives */
  ap: number | null;
  positives: number;
  detections: number;
  truePositives: number;
  curve: PrCurve;
}

export interface SchemeAp {
  scheme: Scheme;
  label: string;
  score: 'jsn' | 'kl';
  classes: Record<SeverityClass, ClassAp>;
  /** mean AP of the classes that have positives; null if none has */
  mean: number | null;
  classesInMean: SeverityClass[];
}

export interface Stats {
  n: number;
  median: number;
  mean: number;
  p95: number;
  max: number;
}

export interface RecallFigure {
  matched: number;
  total: number;
  /** null when total is 0 */
  recall: number | null;
}

export interface SiteDetection {
  site: JointSite;
  truths: number;
  iouRecall: RecallFigure;
  distanceRecall: RecallFigure;
  errorMm: Stats | null;
  errorFraction: Stats | null;
}

export interface DetectionResult {
  truthJoints: number;
  /** predicted joints on the evaluated images */
  predictedJoints: number;
  /** predicted joints (evaluated images) not matched at IoU >= threshold */
  unmatchedPredictions: number;
  iouRecall: RecallFigure;
  distanceRecall: RecallFigure;
  /** true joints left out of the distance figures: their hand's truth lacks MCP2 or MCP5 */
  withoutMcpReference: number;
  perSite: SiteDetection[];
}

export interface LocalisationResult {
  /** true joints that had a predicted joint of their key */
  paired: number;
  /** centre error in mm (pairs on images with a pixel spacing) */
  errorMm: Stats | null;
  /** centre error / the hand's true MCP2-MCP5 distance */
  errorFraction: Stats | null;
  /** the raw values, for histograms */
  valuesMm: number[];
  valuesFraction: number[];
}

export interface GradingAgreement {
  score: Score;
  /** number of grades (max grade + 1) */
  grades: number;
  /** matched joints that have this score in both truth and prediction */
  n: number;
  /** confusion[true][predicted] */
  confusion: number[][];
  /** quadratic-weighted Cohen's kappa; null when undefined (no joints, or one grade only on both sides) */
  kappa: number | null;
  accuracy: number | null;
  withinOne: number | null;
}

/** The measured joint space width against the reference's, over matched joints that have both. */
export interface WidthAgreement {
  n: number;
  /** mean |predicted - true|, mm */
  maeMm: number;
  /** mean (predicted - true), mm: a systematic over- or under-measurement */
  biasMm: number;
  /** Pearson correlation; null where either side does not vary */
  correlation: number | null;
}

export interface EvalResult {
  meta: {
    /** distinct groundTruth.generator values of the truths ("" for none given) */
    generators: string[];
    /** every truth was made by the phantom */
    synthetic: boolean;
    /** truths made by the phantom */
    syntheticImages: number;
    images: { truth: number; predicted: number; evaluated: number };
    hands: number;
    joints: number;
    /** sopInstanceUIDs of ground-truth images without a prediction */
    missedImages: string[];
    /** sopInstanceUIDs of predictions without ground truth (ignored) */
    unexpectedImages: string[];
    thresholds: SeverityThresholds;
    iouThreshold: number;
    distanceFraction: number;
  };
  ap: Record<Scheme, SchemeAp>;
  /** joints found on evaluated images, and how many of them were graded (not abstained): abstaining on everything cannot pass unseen */
  coverage: { found: number; graded: number; share: number | null };
  detection: DetectionResult;
  localisation: LocalisationResult;
  grading: Record<Score, GradingAgreement>;
  /** null where the reference or the grader gives no widths */
  width: WidthAgreement | null;
  /** the hand's pattern against the truth's, each hand paired with the predicted hand of its side */
  pattern: PatternAgreement;
}

/** groundTruth.generator as `jointscore phantom` writes it (PHANTOM_GENERATOR in src/phantom/generate.ts). */
export const PHANTOM_GENERATOR_NAME = 'jointscore-phantom';

// ---------------------------------------------------------------------------------------
// Small statistics

/** Linear-interpolation percentile (numpy's default) of unsorted values; p in [0, 1]. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const pos = p * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

export function summaryStats(values: readonly number[]): Stats | null {
  if (values.length === 0) return null;
  return {
    n: values.length,
    median: percentile(values, 0.5),
    mean: values.reduce((a, b) => a + b, 0) / values.length,
    p95: percentile(values, 0.95),
    max: Math.max(...values),
  };
}

function recallFigure(matched: number, total: number): RecallFigure {
  return { matched, total, recall: total > 0 ? matched / total : null };
}

// ---------------------------------------------------------------------------------------
// Average precision

/**
 * All-point interpolated AP (VOC 2010+) of a ranked list. `ranked` is in descending score
 * order; tp marks detections matched to a positive. Equal scores form one threshold (one
 * curve point after the whole group). Returns null AP when there are no positives.
 */
export function averagePrecision(
  ranked: readonly { score: number; tp: boolean }[],
  positives: number,
): { ap: number | null; curve: PrCurve } {
  const curve: PrCurve = { recall: [], precision: [], score: [] };
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < ranked.length; i++) {
    if (ranked[i].tp) tp++;
    else fp++;
    const last = i === ranked.length - 1 || ranked[i + 1].score !== ranked[i].score;
    if (!last) continue;
    curve.recall.push(positives > 0 ? tp / positives : 0);
    curve.precision.push(tp / (tp + fp));
    curve.score.push(ranked[i].score);
  }
  if (positives === 0) return { ap: null, curve };
  // VOC: mrec = [0, r..., 1], mpre = [0, p..., 0]; envelope from the right; sum over steps.
  const mrec = [0, ...curve.recall, 1];
  const mpre = [0, ...curve.precision, 0];
  for (let i = mpre.length - 2; i >= 0; i--) mpre[i] = Math.max(mpre[i], mpre[i + 1]);
  let ap = 0;
  for (let i = 0; i < mrec.length - 1; i++) {
    if (mrec[i + 1] !== mrec[i]) ap += (mrec[i + 1] - mrec[i]) * mpre[i + 1];
  }
  return { ap, curve };
}

/** P(class c) = sum of the grade probabilities whose grade falls in class c. */
export function classProbability(g: GradeResult, cls: SeverityClass, t: { mild: number; severe: number }): number {
  const probs = g.probabilities && g.probabilities.length > 0 ? g.probabilities : oneHot(g.grade, g.grade + 1);
  let p = 0;
  probs.forEach((v, grade) => {
    if (severityOf(grade, t) === cls) p += v;
  });
  return p;
}

function oneHot(grade: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => (i === grade ? 1 : 0));
}

/** The reference study's per-class AP for one scheme (see the header comment). */
export function schemeAp(
  truths: readonly FlatJoint[],
  predictions: readonly FlatJoint[],
  scheme: Scheme,
  thresholds: SeverityThresholds = STUDY_THRESHOLDS,
  iouThreshold = 0.5,
): SchemeAp {
  const score = SCHEME_SCORE[scheme];
  const t = thresholds[score];
  const dets = predictions.filter((p) => p.joint[score] !== undefined);
  const classes = {} as Record<SeverityClass, ClassAp>;
  for (const cls of SEVERITY_CLASSES) {
    const positives = truths.filter((g) => {
      const grade = g.joint[score];
      return grade !== undefined && severityOf(grade.grade, t) === cls;
    });
    const scoreOf = (d: FlatJoint) => d.joint.confidence * classProbability(d.joint[score]!, cls, t);
    const m = matchByIou(dets, positives, scoreOf, iouThreshold);
    const ranked = m.order.map((i) => ({ score: scoreOf(dets[i]), tp: m.detectionToTruth[i] !== -1 }));
    const { ap, curve } = averagePrecision(ranked, positives.length);
    classes[cls] = {
      cls,
      ap,
      positives: positives.length,
      detections: dets.length,
      truePositives: ranked.filter((r) => r.tp).length,
      curve,
    };
  }
  const inMean = SEVERITY_CLASSES.filter((c) => classes[c].ap !== null);
  const mean = inMean.length > 0 ? inMean.reduce((s, c) => s + classes[c].ap!, 0) / inMean.length : null;
  return { scheme, label: SCHEME_LABEL[scheme], score, classes, mean, classesInMean: inMean };
}

// ---------------------------------------------------------------------------------------
// Grading agreement

// the grade a result states, defined beside the pattern that reads it (severity.ts); the eval's importers take it from here
export { predictedGrade };

/** Quadratic-weighted Cohen's kappa of a square confusion matrix; null when undefined. */
export function quadraticKappa(confusion: readonly (readonly number[])[]): number | null {
  const k = confusion.length;
  const n = confusion.reduce((s, row) => s + row.reduce((a, b) => a + b, 0), 0);
  if (n === 0 || k < 2) return null;
  const rows = confusion.map((row) => row.reduce((a, b) => a + b, 0));
  const cols = Array.from({ length: k }, (_, j) => confusion.reduce((s, row) => s + row[j], 0));
  let observed = 0;
  let expected = 0;
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      const w = ((i - j) * (i - j)) / ((k - 1) * (k - 1));
      observed += w * confusion[i][j];
      expected += (w * rows[i] * cols[j]) / n;
    }
  }
  if (expected === 0) return null;
  return 1 - observed / expected;
}

/** Confusion matrix, kappa, accuracy and within-one accuracy of (true, predicted) grade pairs. */
export function gradingAgreement(score: Score, pairs: readonly { truth: number; predicted: number }[]): GradingAgreement {
  const grades = MAX_GRADE[score] + 1;
  const confusion = Array.from({ length: grades }, () => new Array<number>(grades).fill(0));
  let n = 0;
  let exact = 0;
  let within = 0;
  for (const { truth, predicted } of pairs) {
    const t = Math.min(Math.max(Math.round(truth), 0), grades - 1);
    const p = Math.min(Math.max(Math.round(predicted), 0), grades - 1);
    confusion[t][p]++;
    n++;
    if (t === p) exact++;
    if (Math.abs(t - p) <= 1) within++;
  }
  return {
    score,
    grades,
    n,
    confusion,
    kappa: quadraticKappa(confusion),
    accuracy: n > 0 ? exact / n : null,
    withinOne: n > 0 ? within / n : null,
  };
}

// ---------------------------------------------------------------------------------------
// Detection and localisation

const handKey = (j: Pick<FlatJoint, 'image' | 'laterality'>) => `${j.image}|${j.laterality}`;

/**
 * True MCP2-MCP5 centre distance per hand (key image|laterality), in mm where the image has
 * a pixel spacing, else in pixels (the same unit centreDistance then uses).
 */
export function mcpReference(truths: readonly FlatJoint[]): Map<string, number> {
  const mcp2 = new Map<string, FlatJoint>();
  const mcp5 = new Map<string, FlatJoint>();
  for (const t of truths) {
    if (t.site === 'MCP2' && !mcp2.has(handKey(t))) mcp2.set(handKey(t), t);
    if (t.site === 'MCP5' && !mcp5.has(handKey(t))) mcp5.set(handKey(t), t);
  }
  const out = new Map<string, number>();
  for (const [k, a] of mcp2) {
    const b = mcp5.get(k);
    if (!b) continue;
    const d = centreDistance(a.joint, b.joint, a.pixelSpacingMm);
    if (d > 0) out.set(k, d);
  }
  return out;
}

function detectionAndLocalisation(
  truths: readonly FlatJoint[],
  predictions: readonly FlatJoint[],
  iouThreshold: number,
  distanceFraction: number,
): { detection: DetectionResult; localisation: LocalisationResult; iouMatch: number[] } {
  const conf = (d: FlatJoint) => d.joint.confidence;
  const byIou = matchByIou(predictions, truths, conf, iouThreshold);
  const ref = mcpReference(truths);
  // The distance is measured with the truth's spacing (the prediction's if the truth has none).
  const spacing = (d: FlatJoint, t: FlatJoint) => t.pixelSpacingMm ?? d.pixelSpacingMm;
  const byDistance = greedyMatch(predictions, truths, {
    detectionKey: jointKey,
    truthKey: jointKey,
    score: conf,
    affinity: (d, t) => {
      const r = ref.get(handKey(t));
      if (r === undefined) return null;
      // the reference is in mm only when the truth has a spacing: measure in the same unit
      const dist = centreDistance(d.joint, t.joint, t.pixelSpacingMm);
      return dist <= distanceFraction * r ? -dist : null;
    },
  });
  const paired = greedyMatch(predictions, truths, {
    detectionKey: jointKey,
    truthKey: jointKey,
    score: conf,
    affinity: (d, t) => -centreDistance(d.joint, t.joint, spacing(d, t)),
  });

  const errMm: { site: JointSite; v: number }[] = [];
  const errFrac: { site: JointSite; v: number }[] = [];
  truths.forEach((t, ti) => {
    const di = paired.truthToDetection[ti];
    if (di === -1) return;
    const d = predictions[di];
    const s = spacing(d, t);
    if (s) errMm.push({ site: t.site, v: centreDistance(d.joint, t.joint, s) });
    const r = ref.get(handKey(t));
    if (r !== undefined) errFrac.push({ site: t.site, v: centreDistance(d.joint, t.joint, t.pixelSpacingMm) / r });
  });

  const evaluable = (t: FlatJoint) => ref.has(handKey(t));
  const perSite: SiteDetection[] = [];
  for (const site of JOINT_SITES) {
    const idx = truths.map((t, i) => (t.site === site ? i : -1)).filter((i) => i !== -1);
    if (idx.length === 0) continue;
    const ev = idx.filter((i) => evaluable(truths[i]));
    perSite.push({
      site,
      truths: idx.length,
      iouRecall: recallFigure(idx.filter((i) => byIou.truthToDetection[i] !== -1).length, idx.length),
      distanceRecall: recallFigure(ev.filter((i) => byDistance.truthToDetection[i] !== -1).length, ev.length),
      errorMm: summaryStats(errMm.filter((e) => e.site === site).map((e) => e.v)),
      errorFraction: summaryStats(errFrac.filter((e) => e.site === site).map((e) => e.v)),
    });
  }
  const evaluableCount = truths.filter(evaluable).length;
  const detection: DetectionResult = {
    truthJoints: truths.length,
    predictedJoints: predictions.length,
    unmatchedPredictions: byIou.detectionToTruth.filter((t) => t === -1).length,
    iouRecall: recallFigure(byIou.truthToDetection.filter((d) => d !== -1).length, truths.length),
    distanceRecall: recallFigure(byDistance.truthToDetection.filter((d) => d !== -1).length, evaluableCount),
    withoutMcpReference: truths.length - evaluableCount,
    perSite,
  };
  const valuesMm = errMm.map((e) => e.v);
  const valuesFraction = errFrac.map((e) => e.v);
  const localisation: LocalisationResult = {
    paired: paired.truthToDetection.filter((d) => d !== -1).length,
    errorMm: summaryStats(valuesMm),
    errorFraction: summaryStats(valuesFraction),
    valuesMm,
    valuesFraction,
  };
  return { detection, localisation, iouMatch: byIou.truthToDetection };
}

// ---------------------------------------------------------------------------------------
// Everything

/** Share of joints found that were graded. */
export function coverageOf(joints: readonly Pick<JointResult, 'notGraded'>[]): EvalResult['coverage'] {
  const graded = joints.filter((j) => !j.notGraded).length;
  return { found: joints.length, graded, share: joints.length ? graded / joints.length : null };
}

/** The measured widths against the reference's: mean absolute error, bias, Pearson correlation; null without pairs. */
export function widthAgreement(pairs: readonly { truth: number; predicted: number }[]): WidthAgreement | null {
  const n = pairs.length;
  if (n === 0) return null;
  const mean = (f: (p: { truth: number; predicted: number }) => number) => pairs.reduce((a, p) => a + f(p), 0) / n;
  const mt = mean((p) => p.truth), mp = mean((p) => p.predicted);
  const cov = mean((p) => (p.truth - mt) * (p.predicted - mp));
  const vt = mean((p) => (p.truth - mt) ** 2), vp = mean((p) => (p.predicted - mp) ** 2);
  return {
    n,
    maeMm: mean((p) => Math.abs(p.predicted - p.truth)),
    biasMm: mp - mt,
    correlation: vt > 0 && vp > 0 ? cov / Math.sqrt(vt * vp) : null,
  };
}

/**
 * Evaluates predictions against ground truth. Images are paired by source.sopInstanceUID;
 * a UID given twice on the same side is an error (the caller names the files).
 */
export function evaluate(
  truths: readonly HandAnalysis[],
  predictions: readonly HandAnalysis[],
  options: EvalOptions = {},
): EvalResult {
  const thresholds = options.thresholds ?? STUDY_THRESHOLDS;
  const iouThreshold = options.iouThreshold ?? 0.5;
  const distanceFraction = options.distanceFraction ?? 0.1;
  const uids = (xs: readonly HandAnalysis[], what: string) => {
    const seen = new Set<string>();
    for (const x of xs) {
      const u = x.source.sopInstanceUID;
      if (seen.has(u)) throw new Error(`evaluate: two ${what} analyses have source.sopInstanceUID ${u}`);
      seen.add(u);
    }
    return seen;
  };
  const truthUids = uids(truths, 'ground-truth');
  const predUids = uids(predictions, 'predicted');
  const evaluatedPreds = predictions.filter((p) => truthUids.has(p.source.sopInstanceUID));
  const missedImages = truths.map((t) => t.source.sopInstanceUID).filter((u) => !predUids.has(u));
  const unexpectedImages = predictions.map((p) => p.source.sopInstanceUID).filter((u) => !truthUids.has(u));

  const tj = flattenJoints(truths);
  const pj = flattenJoints(evaluatedPreds);
  const { detection, localisation, iouMatch } = detectionAndLocalisation(tj, pj, iouThreshold, distanceFraction);

  const grading = {} as Record<Score, GradingAgreement>;
  for (const score of Object.keys(MAX_GRADE) as Score[]) {
    const pairs: { truth: number; predicted: number }[] = [];
    tj.forEach((t, ti) => {
      const di = iouMatch[ti];
      const tg = t.joint[score];
      if (di === -1 || !tg) return;
      const pg = pj[di].joint[score];
      if (!pg) return;
      pairs.push({ truth: tg.grade, predicted: predictedGrade(pg) });
    });
    grading[score] = gradingAgreement(score, pairs);
  }
  const widths: { truth: number; predicted: number }[] = [];
  tj.forEach((t, ti) => {
    const di = iouMatch[ti];
    const predicted = di === -1 ? undefined : pj[di].joint.jswMm;
    if (t.joint.jswMm !== undefined && predicted !== undefined) widths.push({ truth: t.joint.jswMm, predicted });
  });

  const isPhantom = (t: HandAnalysis) => t.groundTruth?.generator === PHANTOM_GENERATOR_NAME;
  const generators = [...new Set(truths.map((t) => t.groundTruth?.generator ?? ''))].sort();
  return {
    meta: {
      generators,
      synthetic: truths.length > 0 && truths.every(isPhantom),
      syntheticImages: truths.filter(isPhantom).length,
      images: { truth: truths.length, predicted: predictions.length, evaluated: truths.length - missedImages.length },
      hands: truths.reduce((s, t) => s + t.hands.length, 0),
      joints: tj.length,
      missedImages,
      unexpectedImages,
      thresholds,
      iouThreshold,
      distanceFraction,
    },
    ap: { ra: schemeAp(tj, pj, 'ra', thresholds, iouThreshold), oa: schemeAp(tj, pj, 'oa', thresholds, iouThreshold) },
    coverage: coverageOf(pj.map((p) => p.joint)),
    detection,
    localisation,
    grading,
    width: widthAgreement(widths),
    pattern: patternAgreement(handPairs(truths, evaluatedPreds)),
  };
}

/** Each truth hand with the predicted hand of the same image and side, where there is one. */
function* handPairs(truths: readonly HandAnalysis[], predictions: readonly HandAnalysis[]) {
  const byUid = new Map(predictions.map((p) => [p.source.sopInstanceUID, p]));
  for (const t of truths) {
    for (const th of t.hands) {
      const hand = byUid.get(t.source.sopInstanceUID)?.hands.find((h) => h.laterality === th.laterality);
      if (hand) yield { reference: gradesOf(th), hand };
    }
  }
}
