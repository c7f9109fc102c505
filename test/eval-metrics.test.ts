import { describe, expect, it } from 'vitest';
import type { GradeResult, HandAnalysis, JointResult } from '../src/analysis/hand-analysis.js';
import { JOINT_SITES, MAX_GRADE, scoresFor, type JointSite, type Laterality, type Score } from '../src/analysis/joints.js';
import { withSummary } from '../src/analysis/severity.js';
import { parseAnalysis } from '../src/eval/dataset.js';
import { renderMarkdown } from '../src/eval/report.js';
import { iou } from '../src/eval/match.js';
import {
  averagePrecision,
  classProbability,
  evaluate,
  gradingAgreement,
  percentile,
  PHANTOM_GENERATOR_NAME,
  quadraticKappa,
} from '../src/eval/metrics.js';
import { PHANTOM_GENERATOR } from '../src/phantom/generate.js';

const oneHot = (grade: number, score: Score): GradeResult => ({
  grade,
  probabilities: Array.from({ length: MAX_GRADE[score] + 1 }, (_, i) => (i === grade ? 1 : 0)),
});

function joint(site: JointSite, x: number, y: number, grades: Partial<Record<Score, number>>, confidence = 1, half = 10): JointResult {
  const j: JointResult = { site, x, y, box: [x - half, y - half, x + half, y + half], confidence, severity: {} };
  for (const s of ['jsn', 'erosion', 'kl'] as const) if (grades[s] !== undefined) j[s] = oneHot(grades[s]!, s);
  return j;
}

function analysis(uid: string, hands: { laterality: Laterality; joints: JointResult[] }[], spacing: [number, number] = [0.2, 0.2]): HandAnalysis {
  return {
    source: { sopInstanceUID: uid, rows: 1000, columns: 1000, pixelSpacingMm: spacing },
    models: [],
    hands: hands.map((h) => withSummary(h)),
    groundTruth: { generator: PHANTOM_GENERATOR_NAME, version: 'test' },
  };
}

/** A full hand, every site, deterministic varied grades (so that every class and grade occurs). */
function fullHand(laterality: Laterality, seed: number): { laterality: Laterality; joints: JointResult[] } {
  const joints = JOINT_SITES.map((site, i) => {
    const g = (s: Score) => (i * 7 + seed * 3 + (s === 'kl' ? 1 : s === 'erosion' ? 2 : 0)) % (MAX_GRADE[s] + 1);
    const grades: Partial<Record<Score, number>> = {};
    for (const s of scoresFor(site)) grades[s] = g(s);
    return joint(site, 100 + (i % 5) * 60, 100 + Math.floor(i / 5) * 60, grades);
  });
  return { laterality, joints };
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

describe('iou', () => {
  it('is 1 for the same box, 0 for disjoint or touching boxes, and the overlap ratio otherwise', () => {
    expect(iou([0, 0, 10, 10], [0, 0, 10, 10])).toBe(1);
    expect(iou([0, 0, 10, 10], [20, 20, 30, 30])).toBe(0);
    expect(iou([0, 0, 10, 10], [10, 0, 20, 10])).toBe(0);
    expect(iou([0, 0, 10, 10], [5, 0, 15, 10])).toBeCloseTo(50 / 150, 12);
    expect(iou([0, 0, 10, 10], [0, 0, 5, 5])).toBeCloseTo(25 / 100, 12);
    expect(iou([0, 0, 0, 10], [0, 0, 10, 10])).toBe(0);
  });
});

describe('averagePrecision (all-point interpolation)', () => {
  it('a known ranking: TP FP TP FP with 3 positives -> 1/3 * 1 + 1/3 * 2/3 = 5/9', () => {
    const r = averagePrecision(
      [
        { score: 0.9, tp: true },
        { score: 0.8, tp: false },
        { score: 0.7, tp: true },
        { score: 0.6, tp: false },
      ],
      3,
    );
    expect(r.ap).toBeCloseTo(5 / 9, 12);
    expect(r.curve.recall).toEqual([1 / 3, 1 / 3, 2 / 3, 2 / 3]);
    expect(r.curve.precision).toEqual([1, 0.5, 2 / 3, 0.5]);
  });
  it('the precision envelope: a later higher precision lifts earlier recall levels', () => {
    // FP TP TP, 2 positives: (R .0, P 0) (R .5, P .5) (R 1, P 2/3) -> envelope 2/3 everywhere -> AP 2/3
    const r = averagePrecision(
      [
        { score: 3, tp: false },
        { score: 2, tp: true },
        { score: 1, tp: true },
      ],
      2,
    );
    expect(r.ap).toBeCloseTo(2 / 3, 12);
  });
  it('equal scores are one threshold, so the order within a tie does not matter', () => {
    const a = averagePrecision([{ score: 0.5, tp: true }, { score: 0.5, tp: false }], 1);
    const b = averagePrecision([{ score: 0.5, tp: false }, { score: 0.5, tp: true }], 1);
    expect(a.ap).toBeCloseTo(0.5, 12);
    expect(b.ap).toBeCloseTo(0.5, 12);
  });
  it('is null without positives, 0 without detections', () => {
    expect(averagePrecision([{ score: 1, tp: false }], 0).ap).toBeNull();
    expect(averagePrecision([], 4).ap).toBe(0);
  });
});

describe('the study metric through evaluate()', () => {
  // One image, one left hand: MCP2, MCP3, MCP4 truly severe (JSN 4), MCP5 truly healthy (JSN 0).
  const truth = analysis('1.2.3', [
    {
      laterality: 'L',
      joints: [
        joint('MCP2', 100, 100, { jsn: 4 }),
        joint('MCP3', 200, 100, { jsn: 4 }),
        joint('MCP4', 300, 100, { jsn: 4 }),
        joint('MCP5', 400, 100, { jsn: 0 }),
      ],
    },
  ]);

  it('perfect predictions give AP 1 in every class that has positives', () => {
    const r = evaluate([truth], [clone(truth)]);
    expect(r.ap.ra.classes.severe.ap).toBe(1);
    expect(r.ap.ra.classes.healthy.ap).toBe(1);
    expect(r.ap.ra.classes.mild.ap).toBeNull(); // no positives
    expect(r.ap.ra.mean).toBe(1);
    expect(r.ap.ra.classesInMean).toEqual(['healthy', 'severe']);
  });

  it('the hand pattern: three MCPs at JSN 4 are RA-like on both sides; one of them read JSN 0 leaves two, and the pattern normal', () => {
    expect(evaluate([truth], [clone(truth)]).pattern).toEqual({
      hands: 1, agreed: 1, share: 1, confusion: { 'RA-like': { 'RA-like': 1 } }, allZero: { hands: 0, notNormal: 0 },
    });
    const pred = clone(truth);
    pred.hands[0].joints[1].jsn = oneHot(0, 'jsn');
    const r = evaluate([truth], [pred]);
    expect(r.pattern).toMatchObject({ hands: 1, agreed: 0, share: 0, confusion: { 'RA-like': { normal: 1 } } });
    expect(renderMarkdown(r)).toMatch(/## Hand pattern[\s\S]*0 of 1 hands agree[\s\S]*\| RA-like \| 1 \| 0 \| 0 \| 0 \|/);
  });

  it('a joint not graded counts against coverage and, having no grade, cannot score in AP; it survives the JSON round trip', () => {
    const pred = clone(truth);
    const mcp2 = pred.hands[0].joints[0];
    delete mcp2.jsn;
    mcp2.severity = {};
    mcp2.notGraded = { cause: 'exposure', reason: 'no contrast' };
    const back = parseAnalysis(JSON.stringify(pred), 'pred.json', 'prediction');
    expect(back.hands[0].joints[0].notGraded).toEqual({ cause: 'exposure', reason: 'no contrast' });
    const r = evaluate([truth], [back]);
    expect(r.coverage).toEqual({ found: truth.hands[0].joints.length, graded: truth.hands[0].joints.length - 1, share: (truth.hands[0].joints.length - 1) / truth.hands[0].joints.length });
    expect(r.ap.ra.classes.severe.truePositives).toBe(r.ap.ra.classes.severe.positives - 1);
    expect(evaluate([truth], [clone(truth)]).coverage.share).toBe(1);
  });

  it('joint space widths: measured against the truth where both have one, read back from JSON, bad ones refused', () => {
    const t = clone(truth);
    const finger = t.hands[0].joints.filter((j) => /^(MCP|PIP|DIP|IP1)/.test(j.site));
    finger.forEach((j, i) => { j.jswMm = 1 + 0.1 * i; });
    const pred = clone(t);
    pred.hands[0].joints.filter((j) => j.jswMm !== undefined).forEach((j, i) => { j.jswMm = j.jswMm! + (i % 2 ? 0.2 : 0); });
    const back = parseAnalysis(JSON.stringify(pred), 'pred.json', 'prediction');
    const w = evaluate([t], [back]).width!;
    expect(w.n).toBe(finger.length);
    expect(w.maeMm).toBeCloseTo((0.2 * Math.floor(finger.length / 2)) / finger.length, 12);
    expect(w.biasMm).toBeCloseTo(w.maeMm, 12); // every error an over-measurement
    expect(w.correlation!).toBeGreaterThan(0.5);
    expect(evaluate([truth], [clone(truth)]).width).toBeNull(); // no widths on either side
    pred.hands[0].joints[0].jswMm = -1;
    expect(() => parseAnalysis(JSON.stringify(pred), 'pred.json', 'prediction')).toThrow(/jswMm \(MCP2\)/);
  });

  it('a known ranking gives the hand-computed AP (wrong class = FP, a missed joint lowers recall)', () => {
    const pred = analysis('1.2.3', [
      {
        laterality: 'L',
        joints: [
          joint('MCP2', 100, 100, { jsn: 4 }, 0.9), // severe score 0.9: TP
          joint('MCP5', 400, 100, { jsn: 4 }, 0.8), // severe score 0.8, truly healthy: FP
          joint('MCP3', 200, 100, { jsn: 4 }, 0.7), // severe score 0.7: TP
          joint('MCP4', 340, 100, { jsn: 4 }, 0.6), // box moved 40 px of 20: IoU 0 -> FP; true MCP4 never found
        ],
      },
    ]);
    const r = evaluate([truth], [pred]);
    const severe = r.ap.ra.classes.severe;
    expect(severe.positives).toBe(3);
    expect(severe.truePositives).toBe(2);
    expect(severe.ap).toBeCloseTo(1 / 3 + (1 / 3) * (2 / 3), 12); // 5/9
    // healthy: detections all score 0 (P(healthy) = 0); the true healthy MCP5 is matched at score 0
    // in a tie group of 4 with 1 TP -> one point (R 1, P 1/4) -> AP 0.25
    expect(r.ap.ra.classes.healthy.ap).toBeCloseTo(0.25, 12);
  });

  it('the score is confidence x P(class), P(class) summing the grade probabilities in the class', () => {
    const g: GradeResult = { grade: 2, probabilities: [0.1, 0.2, 0.3, 0.25, 0.15] };
    const t = { mild: 1, severe: 3 };
    expect(classProbability(g, 'healthy', t)).toBeCloseTo(0.1, 12);
    expect(classProbability(g, 'mild', t)).toBeCloseTo(0.5, 12);
    expect(classProbability(g, 'severe', t)).toBeCloseTo(0.4, 12);
    // a ranking decided by probabilities: MCP2 less sure of severe than the healthy MCP5
    const pred = clone(truth);
    const [mcp2, , , mcp5] = pred.hands[0].joints;
    mcp2.jsn = { grade: 4, probabilities: [0, 0, 0.6, 0.1, 0.3] }; // severe 0.4
    mcp5.jsn = { grade: 3, probabilities: [0.3, 0, 0, 0.7, 0] }; // severe 0.7 but truly healthy
    const r = evaluate([truth], [pred]);
    // severe ranking: MCP3 1 (TP), MCP4 1 (TP) [tie], MCP5 0.7 (FP), MCP2 0.4 (TP)
    // points: (2/3, 1) (2/3, 2/3) (1, 3/4) -> envelope 1 to 2/3, 3/4 to 1 -> AP 2/3 + 1/3 * 3/4 = 11/12
    expect(r.ap.ra.classes.severe.ap).toBeCloseTo(11 / 12, 12);
  });

  it('duplicates count as false positives', () => {
    const pred = clone(truth);
    pred.hands[0].joints.splice(1, 0, joint('MCP2', 101, 100, { jsn: 4 }, 0.95)); // a second MCP2
    pred.hands[0].joints.find((j) => j.site === 'MCP2' && j.x === 100)!.confidence = 0.99;
    pred.hands[0].joints.find((j) => j.site === 'MCP3')!.confidence = 0.9;
    pred.hands[0].joints.find((j) => j.site === 'MCP4')!.confidence = 0.85;
    const r = evaluate([truth], [pred]);
    // severe: MCP2 .99 TP, MCP2' .95 FP, MCP3 .9 TP, MCP4 .85 TP -> (1/3,1) (1/3,1/2) (2/3,2/3) (1,3/4)
    // envelope: 1 | 3/4 | 3/4 -> AP = 1/3 + 2/3 * 3/4 = 5/6
    expect(r.ap.ra.classes.severe.ap).toBeCloseTo(5 / 6, 12);
    expect(r.detection.unmatchedPredictions).toBe(1);
    expect(r.detection.iouRecall.recall).toBe(1);
  });

  it('a prediction matches only the same site and laterality, even when the boxes coincide', () => {
    const pred = clone(truth);
    pred.hands[0].laterality = 'R';
    const r = evaluate([truth], [pred]);
    expect(r.detection.iouRecall.matched).toBe(0);
    expect(r.ap.ra.classes.severe.ap).toBe(0);
    const renamed = clone(truth);
    renamed.hands[0].joints[0].site = 'PIP2';
    expect(evaluate([truth], [renamed]).detection.iouRecall.matched).toBe(3);
  });
});

describe('kappa, confusion, accuracy', () => {
  it('quadratic-weighted kappa of a hand-computed 3x3 matrix is 0.75', () => {
    // N 7, rows 3 3 1, cols 2 3 2; observed weighted disagreement 0.5, expected 2 -> 1 - 0.5/2
    expect(quadraticKappa([[2, 1, 0], [0, 2, 1], [0, 0, 1]])).toBeCloseTo(0.75, 12);
  });
  it('is 1 for perfect agreement, -1 for a perfect reversal of two grades, null when undefined', () => {
    expect(quadraticKappa([[3, 0], [0, 2]])).toBe(1);
    expect(quadraticKappa([[0, 2], [2, 0]])).toBeCloseTo(-1, 12);
    expect(quadraticKappa([[0, 0], [0, 0]])).toBeNull();
    expect(quadraticKappa([[5, 0], [0, 0]])).toBeNull();
  });
  it('gradingAgreement counts rows = true, columns = predicted; accuracy and within-one', () => {
    const g = gradingAgreement('kl', [
      { truth: 0, predicted: 0 },
      { truth: 2, predicted: 3 },
      { truth: 4, predicted: 1 },
      { truth: 1, predicted: 1 },
    ]);
    expect(g.grades).toBe(5);
    expect(g.confusion[2][3]).toBe(1);
    expect(g.confusion[4][1]).toBe(1);
    expect(g.accuracy).toBe(0.5);
    expect(g.withinOne).toBe(0.75);
  });
  it('the predicted grade is the argmax of the probabilities, not the stated grade', () => {
    const truth = analysis('9', [{ laterality: 'R', joints: [joint('MCP2', 100, 100, { erosion: 3 }), joint('MCP3', 200, 100, { erosion: 1 })] }]);
    const pred = clone(truth);
    pred.hands[0].joints[0].erosion = { grade: 3, probabilities: [0, 0, 0.6, 0.4, 0, 0] };
    const r = evaluate([truth], [pred]);
    expect(r.grading.erosion.confusion[3][2]).toBe(1);
    expect(r.grading.erosion.accuracy).toBe(0.5);
  });
});

describe('detection recall and localisation', () => {
  // MCP2 (100,100) to MCP5 (200,100) at 0.2 mm: a 20 mm reference; 10 % = 2 mm = 10 px
  const truth = analysis('7.7', [
    {
      laterality: 'L',
      joints: [
        joint('MCP2', 100, 100, {}, 1, 20),
        joint('MCP5', 200, 100, {}, 1, 20),
        joint('PIP3', 150, 20, {}, 1, 20),
        joint('DIP3', 150, -40, {}, 1, 20),
      ],
    },
  ]);
  it('measures centre errors in mm and as a fraction of MCP2-MCP5, and recall by IoU and by distance', () => {
    const pred = clone(truth);
    pred.hands[0].joints[2] = joint('PIP3', 158, 20, {}, 1, 20); // 8 px = 1.6 mm = 0.08: IoU 32/48 .. 0.667
    pred.hands[0].joints[3] = joint('DIP3', 165, -40, {}, 1, 20); // 15 px = 3 mm = 0.15: IoU 25/55 = 0.45
    const r = evaluate([truth], [pred]);
    expect(r.detection.iouRecall).toEqual({ matched: 3, total: 4, recall: 0.75 });
    expect(r.detection.distanceRecall).toEqual({ matched: 3, total: 4, recall: 0.75 });
    expect(r.localisation.paired).toBe(4);
    expect([...r.localisation.valuesMm].sort((a, b) => a - b).map((v) => +v.toFixed(9))).toEqual([0, 0, 1.6, 3]);
    expect(r.localisation.errorMm!.median).toBeCloseTo(0.8, 9);
    expect(r.localisation.errorMm!.max).toBeCloseTo(3, 9);
    expect(r.localisation.errorFraction!.max).toBeCloseTo(0.15, 9);
    const dip3 = r.detection.perSite.find((s) => s.site === 'DIP3')!;
    expect(dip3.iouRecall.recall).toBe(0);
    expect(dip3.errorMm!.median).toBeCloseTo(3, 9);
  });
  it('uses the pixel spacing per axis (rows, columns)', () => {
    const t = analysis('a', [{ laterality: 'L', joints: [joint('MCP2', 100, 100, {}), joint('MCP5', 200, 100, {})] }], [0.5, 0.1]);
    const p = clone(t);
    p.hands[0].joints[0].y += 2; // 2 rows at 0.5 mm
    expect(evaluate([t], [p]).localisation.errorMm!.max).toBeCloseTo(1, 12);
  });
  it('a ground-truth image without a prediction is missed: its joints count as not found', () => {
    const other = clone(truth);
    other.source.sopInstanceUID = '7.8';
    const stray = clone(truth);
    stray.source.sopInstanceUID = '7.9';
    const r = evaluate([truth, other], [clone(truth), stray]);
    expect(r.meta.missedImages).toEqual(['7.8']);
    expect(r.meta.unexpectedImages).toEqual(['7.9']);
    expect(r.meta.images).toEqual({ truth: 2, predicted: 2, evaluated: 1 });
    expect(r.detection.iouRecall.recall).toBe(0.5);
  });
  it('percentile interpolates linearly', () => {
    expect(percentile([1, 2, 3, 4, 5], 0.5)).toBe(3);
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(percentile([0, 10], 0.95)).toBeCloseTo(9.5, 12);
  });
});

describe('ground truth against itself', () => {
  it('gives AP 1, kappa 1, recall 1 and error 0', () => {
    const truths = [analysis('1', [fullHand('L', 1)]), analysis('2', [fullHand('R', 2), fullHand('L', 3)])];
    const r = evaluate(truths, clone(truths));
    for (const s of ['ra', 'oa'] as const) {
      for (const c of ['healthy', 'mild', 'severe'] as const) {
        expect(r.ap[s].classes[c].positives).toBeGreaterThan(0);
        expect(r.ap[s].classes[c].ap).toBe(1);
      }
      expect(r.ap[s].mean).toBe(1);
    }
    for (const k of ['jsn', 'erosion', 'kl'] as const) {
      expect(r.grading[k].kappa).toBe(1);
      expect(r.grading[k].accuracy).toBe(1);
    }
    expect(r.detection.iouRecall.recall).toBe(1);
    expect(r.detection.distanceRecall.recall).toBe(1);
    expect(r.localisation.errorMm!.max).toBe(0);
    expect(r.localisation.errorFraction!.max).toBe(0);
    expect(r.meta.synthetic).toBe(true);
    expect(r.meta.joints).toBe(3 * JOINT_SITES.length);
  });
});

describe('reading HandAnalysis files', () => {
  it('names the file and the field on errors', () => {
    expect(() => parseAnalysis('{', 'a.json', 'prediction')).toThrow(/a\.json: not valid JSON/);
    expect(() => parseAnalysis('{"hands": []}', 'b.json', 'prediction')).toThrow(/b\.json: source: expected an object/);
    const t = analysis('1', [{ laterality: 'L', joints: [joint('MCP2', 10, 10, { jsn: 2 })] }]);
    const bad = clone(t) as unknown as { hands: { joints: { box: unknown; jsn: unknown }[] }[] };
    bad.hands[0].joints[0].box = [1, 2, 3];
    expect(() => parseAnalysis(JSON.stringify(bad), 'c.json', 'prediction')).toThrow(
      /c\.json: hands\[0\]\.joints\[0\]\.box \(MCP2\): expected \[x0, y0, x1, y1\]/,
    );
    const noProbs = clone(t) as unknown as { hands: { joints: { jsn: { grade: number; probabilities?: number[] } }[] }[] };
    delete noProbs.hands[0].joints[0].jsn.probabilities;
    expect(() => parseAnalysis(JSON.stringify(noProbs), 'd.json', 'prediction')).toThrow(/d\.json: .*jsn \(MCP2\)\.probabilities: expected 5 numbers/);
    // ground truth may omit probabilities: a one-hot vector stands in
    expect(parseAnalysis(JSON.stringify(noProbs), 'e.json', 'ground truth').hands[0].joints[0].jsn!.probabilities).toEqual([0, 0, 1, 0, 0]);
  });
  it("knows the phantom's generator name", () => {
    expect(PHANTOM_GENERATOR_NAME).toBe(PHANTOM_GENERATOR);
  });
});
