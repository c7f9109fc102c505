import type { GradeResult, HandResult, HandSummary, HandTotals, JointNotGradedCause, JointResult, SeverityClass } from './hand-analysis.js';

/**
 * Severity classes as the reference study reports them (docs/design.md):
 * JSN 0 healthy, 1-2 mild, 3-4 severe; KL 0-1 healthy, 2 mild, 3-4 severe.
 */
export interface SeverityThresholds {
  /** lowest grade that counts as mild, lowest that counts as severe */
  jsn: { mild: number; severe: number };
  kl: { mild: number; severe: number };
}

export const STUDY_THRESHOLDS: SeverityThresholds = {
  jsn: { mild: 1, severe: 3 },
  kl: { mild: 2, severe: 3 },
};

export function severityOf(grade: number, t: { mild: number; severe: number }): SeverityClass {
  if (grade >= t.severe) return 'severe';
  if (grade >= t.mild) return 'mild';
  return 'healthy';
}

export function jointSeverity(
  j: Pick<JointResult, 'jsn' | 'kl'>,
  t: SeverityThresholds = STUDY_THRESHOLDS,
): JointResult['severity'] {
  return {
    ...(j.jsn ? { ra: severityOf(j.jsn.grade, t.jsn) } : {}),
    ...(j.kl ? { oa: severityOf(j.kl.grade, t.kl) } : {}),
  };
}

/** Argmax of the probabilities (lowest grade on a tie); the stated grade without probabilities. */
export function predictedGrade(g: GradeResult): number {
  const p = g.probabilities;
  if (!p || p.length === 0) return g.grade;
  let best = 0;
  for (let i = 1; i < p.length; i++) if (p[i] > p[best]) best = i;
  return best;
}

const sum = (xs: (GradeResult | undefined)[]) => xs.reduce((s, g) => s + (g?.grade ?? 0), 0);

/**
 * How many joints a hand's pattern needs: RA-like from PATTERN.raJoints joints among the MCP,
 * PIP and wrist sites with JSN >= 2 or an erosion, OA-like from PATTERN.oaJoints among the DIP,
 * PIP, IP1 and CMC1 sites with KL >= 2. Why three for RA: a pattern is polyarticular (the ACR
 * 1987 criteria ask for arthritis in three or more joint areas, hand joints meaning wrist, MCP
 * or PIP), and on real film single joints are called by chance: at two joints among the MCP
 * and wrist sites 5 of 21 held-out normal hands were said RA-like, at three among MCP, PIP and
 * wrist 1 (docs/evaluation.md "Real film: the hand's pattern").
 */
export const PATTERN = { raJoints: 3, oaJoints: 2 } as const;

const RA_PATTERN_SITES = /^(MCP|PIP|CMC[345]|STT|CSL|RC)/;
const OA_PATTERN_SITES = /^(DIP|PIP|IP1|CMC1)/;

/** A joint's grades as numbers, where it has them: what a pattern is judged on. */
export interface PatternJoint {
  site: string;
  jsn?: number;
  erosion?: number;
  kl?: number;
}

/** The pattern of a hand's joints (PATTERN: RA-like, OA-like, both: mixed). */
export function handPattern(joints: readonly PatternJoint[]): HandTotals['pattern'] {
  const raJoints = joints.filter((j) => RA_PATTERN_SITES.test(j.site) && ((j.jsn ?? 0) >= 2 || (j.erosion ?? 0) >= 1)).length;
  const oaJoints = joints.filter((j) => OA_PATTERN_SITES.test(j.site) && (j.kl ?? 0) >= 2).length;
  const ra = raJoints >= PATTERN.raJoints;
  const oa = oaJoints >= PATTERN.oaJoints;
  return ra && oa ? 'mixed' : ra ? 'RA-like' : oa ? 'OA-like' : 'normal';
}

/**
 * Where none of a hand's joints is graded, why (each cause once, in the order its joints give
 * them): the summary then says so instead of totals of 0 and a "normal" pattern, which would read
 * as a healthy hand. Undefined where any joint is graded (or none was found).
 */
function noneGradedCauses(joints: readonly JointResult[]): JointNotGradedCause[] | undefined {
  if (!joints.length || joints.some((j) => !j.notGraded)) return undefined;
  return [...new Set(joints.map((j) => j.notGraded!.cause))];
}

/** Hand-level totals and its pattern; where none of its joints is graded, why instead. */
export function summarizeHand(joints: JointResult[]): HandSummary {
  const notGraded = noneGradedCauses(joints);
  if (notGraded) return { notGraded };
  const pattern = handPattern(joints.map((j) => ({ site: j.site, jsn: j.jsn?.grade, erosion: j.erosion?.grade, kl: j.kl?.grade })));
  return { svhJsn: sum(joints.map((j) => j.jsn)), svhErosion: sum(joints.map((j) => j.erosion)), klSum: sum(joints.map((j) => j.kl)), pattern };
}

export function withSummary(hand: Omit<HandResult, 'summary'>): HandResult {
  return { ...hand, summary: summarizeHand(hand.joints) };
}

/** The classes in order of severity. */
export const SEVERITY_CLASSES: readonly SeverityClass[] = ['healthy', 'mild', 'severe'];

/** One colour per class in every picture jointscore draws on a radiograph (SC, GSPS layers, previews). */
export const SEVERITY_COLOURS: Record<SeverityClass | 'unknown', string> = {
  healthy: '#34c759',
  mild: '#ffb000',
  severe: '#ff3b30',
  unknown: '#32ade6',
};

/**
 * The class an SvH erosion grade is drawn in. Not the study's (its RA classes are JSN's alone):
 * ours, so that a joint with an erosion is not drawn as healthy. An erosion is damage the SvH
 * score counts as it counts narrowing: 1-2 (discrete, or larger over a little of the surface)
 * mild, 3-5 (up to most of the bone) severe, as JSN's 1-2 and 3-4.
 */
export const EROSION_DRAWN: { mild: number; severe: number } = { mild: 1, severe: 3 };

/** The class a joint's erosion grade is drawn in (EROSION_DRAWN); undefined where it has none. */
export function erosionClass(joint: Partial<Pick<JointResult, 'erosion'>>): SeverityClass | undefined {
  return joint.erosion ? severityOf(joint.erosion.grade, EROSION_DRAWN) : undefined;
}

/**
 * How many of a hand's joints are in each class: RA (JSN), erosion (as drawn) and OA (KL).
 * The overlay's class table and the SR's hand counts are these, so they add up to the boxes.
 */
export function severityCounts(joints: readonly JointResult[]): Record<'ra' | 'erosion' | 'oa', Record<SeverityClass, number>> {
  const counts = { ra: zeroCounts(), erosion: zeroCounts(), oa: zeroCounts() };
  for (const j of joints) {
    if (j.severity?.ra) counts.ra[j.severity.ra]++;
    const erosion = erosionClass(j);
    if (erosion) counts.erosion[erosion]++;
    if (j.severity?.oa) counts.oa[j.severity.oa]++;
  }
  return counts;
}

const zeroCounts = (): Record<SeverityClass, number> => ({ healthy: 0, mild: 0, severe: 0 });

/**
 * The worst of a joint's RA (JSN) and OA (KL) classes and its erosion's drawn class: the colour
 * and layer every picture gives its box. 'unknown' where it has none of them.
 */
export function worstSeverity(joint: Pick<JointResult, 'severity'> & Partial<Pick<JointResult, 'erosion'>>): SeverityClass | 'unknown' {
  const classes = [joint.severity?.ra, joint.severity?.oa, erosionClass(joint)].filter((c): c is SeverityClass => c !== undefined);
  if (classes.length === 0) return 'unknown';
  return classes.reduce((a, b) => (SEVERITY_CLASSES.indexOf(b) > SEVERITY_CLASSES.indexOf(a) ? b : a));
}
