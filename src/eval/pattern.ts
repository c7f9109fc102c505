import type { HandResult, HandTotals } from '../analysis/hand-analysis.js';
import type { JointSite } from '../analysis/joints.js';
import { handPattern, predictedGrade, type PatternJoint } from '../analysis/severity.js';

type Pattern = HandTotals['pattern'];

/** A reference's grades of one hand, by site (a score left out is not scored). */
export type ReferenceGrades = ReadonlyMap<JointSite, { jsn?: number; erosion?: number; kl?: number }>;

/**
 * The hand's pattern (RA-like, OA-like, mixed, normal; severity.ts `handPattern`) judged on the
 * reference's grades and on the models' for the same joint scores (those both give: a reference
 * that scores no KL says nothing of OA, and the models' KL must not count against it).
 */
export interface PatternAgreement {
  hands: number;
  agreed: number;
  share: number | null;
  /** reference pattern -> predicted pattern -> hands */
  confusion: Partial<Record<Pattern, Partial<Record<Pattern, number>>>>;
  /** hands the reference grades all zero, and those the models give a pattern other than normal */
  allZero: { hands: number; notNormal: number };
}

/** The joint scores both the reference and the hand give, as the reference grades them and as the models do. */
export function commonScores(reference: ReferenceGrades, hand: HandResult): { reference: PatternJoint[]; predicted: PatternJoint[] } {
  const found = new Map(hand.joints.map((j) => [j.site, j]));
  const out = { reference: [] as PatternJoint[], predicted: [] as PatternJoint[] };
  for (const [site, ref] of reference) {
    const j = found.get(site);
    if (!j) continue;
    const r: PatternJoint = { site };
    const p: PatternJoint = { site };
    for (const score of ['jsn', 'erosion', 'kl'] as const) {
      const g = j[score];
      if (ref[score] === undefined || !g) continue;
      r[score] = ref[score];
      p[score] = predictedGrade(g);
    }
    out.reference.push(r);
    out.predicted.push(p);
  }
  return out;
}

/** Pattern agreement over hands, each a reference's grades and the models' hand for it. */
export function patternAgreement(pairs: Iterable<{ reference: ReferenceGrades; hand: HandResult }>): PatternAgreement {
  const a: PatternAgreement = { hands: 0, agreed: 0, share: null, confusion: {}, allZero: { hands: 0, notNormal: 0 } };
  for (const { reference, hand } of pairs) {
    const common = commonScores(reference, hand);
    const [r, p] = [handPattern(common.reference), handPattern(common.predicted)];
    a.hands++;
    if (r === p) a.agreed++;
    const row = (a.confusion[r] ??= {});
    row[p] = (row[p] ?? 0) + 1;
    if ([...reference.values()].every((g) => !g.jsn && !g.erosion && !g.kl)) {
      a.allZero.hands++;
      if (p !== 'normal') a.allZero.notNormal++;
    }
  }
  return { ...a, share: a.hands ? a.agreed / a.hands : null };
}

/** A hand's own grades as a reference (a phantom's truth). */
export function gradesOf(hand: HandResult): ReferenceGrades {
  return new Map(hand.joints.map((j) => [j.site, { jsn: j.jsn?.grade, erosion: j.erosion?.grade, kl: j.kl?.grade }]));
}
