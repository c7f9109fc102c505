import type { GradeResult, HandResult, HandSummary, JointResult, SeverityClass } from './hand-analysis.js';

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

const sum = (xs: (GradeResult | undefined)[]) => xs.reduce((s, g) => s + (g?.grade ?? 0), 0);

/**
 * Hand-level totals and a coarse pattern: RA-like when narrowing/erosion sit at MCP, PIP
 * and wrist sites, OA-like when KL damage sits at DIP, PIP and thumb base.
 */
export function summarizeHand(joints: JointResult[]): HandSummary {
  const svhJsn = sum(joints.map((j) => j.jsn));
  const svhErosion = sum(joints.map((j) => j.erosion));
  const klSum = sum(joints.map((j) => j.kl));
  const raJoints = joints.filter(
    (j) => /^(MCP|CMC[345]|STT|CSL|RC)/.test(j.site) && ((j.jsn?.grade ?? 0) >= 2 || (j.erosion?.grade ?? 0) >= 1),
  ).length;
  const oaJoints = joints.filter((j) => /^(DIP|PIP|IP1|CMC1)/.test(j.site) && (j.kl?.grade ?? 0) >= 2).length;
  const ra = raJoints >= 2;
  const oa = oaJoints >= 2;
  const pattern: HandSummary['pattern'] = ra && oa ? 'mixed' : ra ? 'RA-like' : oa ? 'OA-like' : 'normal';
  return { svhJsn, svhErosion, klSum, pattern };
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

/** The worse of a joint's RA and OA severity classes, or 'unknown' when it has neither. */
export function worstSeverity(joint: Pick<JointResult, 'severity'>): SeverityClass | 'unknown' {
  const classes = [joint.severity?.ra, joint.severity?.oa].filter((c): c is SeverityClass => c !== undefined);
  if (classes.length === 0) return 'unknown';
  return classes.reduce((a, b) => (SEVERITY_CLASSES.indexOf(b) > SEVERITY_CLASSES.indexOf(a) ? b : a));
}
