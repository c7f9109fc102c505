import { HAND_NAMES, JOINT_SITES, type JointSite, type Laterality } from './joints.js';

/**
 * HandAnalysis: the one result object (docs/design.md). Inference produces it, every writer
 * (SR, SC, JSON, eval) consumes it, and the phantom writes its ground truth in the same
 * schema so that the evaluator compares like with like.
 *
 * Coordinates are in the source image's stored pixel grid: column `x`, row `y`, with
 * (0,0) at the top-left corner of the top-left pixel (the DICOM SCOORD convention).
 */
export interface GradeResult {
  grade: number;
  /** One probability per grade, summing to 1; a ground truth file gives a one-hot vector. */
  probabilities: number[];
}

export type SeverityClass = 'healthy' | 'mild' | 'severe';

/**
 * A joint found but not graded (src/inference/abstention.ts): `resolution` the film's pixels are
 * too coarse to see a joint space; `out-of-view` part of it is off the film; `exposure` its
 * region shows no contrast; `metal` metal (a plate, screw, wire or implant) lies over or beside
 * it; `overlapped` another finger joint of the hand was found on the same spot; `uncertain` the
 * detector is unsure of the site.
 */
export const JOINT_NOT_GRADED_CAUSES = ['out-of-view', 'exposure', 'metal', 'overlapped', 'uncertain', 'resolution'] as const;
export type JointNotGradedCause = (typeof JOINT_NOT_GRADED_CAUSES)[number];

export interface JointNotGraded {
  cause: JointNotGradedCause;
  reason: string;
}

export interface JointResult {
  site: JointSite;
  x: number;
  y: number;
  /** [x0, y0, x1, y1] */
  box: [number, number, number, number];
  confidence: number;
  jsn?: GradeResult;
  erosion?: GradeResult;
  kl?: GradeResult;
  /** joint space width, mm (JSW_SITES only): measured by the grader, or the phantom's truth */
  jswMm?: number;
  severity: { ra?: SeverityClass; oa?: SeverityClass };
  /** set instead of grades on a joint found but not graded */
  notGraded?: JointNotGraded;
}

/** The patterns a hand's summary states (src/analysis/severity.ts `handPattern`). */
export const HAND_PATTERNS = ['normal', 'RA-like', 'OA-like', 'mixed'] as const;

/** A hand's totals over its graded joints and its pattern. */
export interface HandTotals {
  svhJsn: number;
  svhErosion: number;
  klSum: number;
  pattern: (typeof HAND_PATTERNS)[number];
}

/**
 * A hand none of whose joints is graded: why (each cause once), and no totals or pattern, whose
 * 0s and "normal" would read as a healthy hand.
 */
export interface HandNotGradedSummary {
  notGraded: JointNotGradedCause[];
}

export type HandSummary = HandTotals | HandNotGradedSummary;

export interface HandResult {
  laterality: Laterality;
  joints: JointResult[];
  summary: HandSummary;
  /**
   * the view the film check found: `PA` where the joints lie as in a PA (or AP) view, with
   * the layout residual (RMS, in MCP2-MCP5 units) and the bound above which a hand is taken as oblique or lateral;
   * absent where it was not judged (the site grades every view, or too few joints)
   */
  view?: {
    /** `PA-partial`: a wrist-only or finger-only film (or a collimated hand): the joints in view lie as in a PA hand, the rest off the film */
    kind: 'PA' | 'PA-partial';
    layoutResidual: number;
    maxResidual: number;
    /** PA-partial: the sites not on the film (not graded, not found) */
    notInView?: JointSite[];
    /** PA-partial of a finger film: its digit and side are the header's, named by these attributes (a finger alone does not show which it is) */
    namedBy?: string;
  };
}

export interface ModelInfo {
  name: string;
  version: string;
  sha256: string;
}

export interface HandAnalysis {
  source: {
    sopInstanceUID: string;
    rows: number;
    columns: number;
    /** the film's spacing: what is measured on it (boxes, widths, distances) is in its mm; the joints were graded at it unless `jointsReadAtMm` */
    pixelSpacingMm?: [number, number];
    /** the file's header, its absence ('default'), or the hand's own size ('estimated': the header had none, or one the hand contradicted, src/inference/spacing.ts SPACING_TOLERANCE) */
    pixelSpacingFrom?: 'header' | 'estimated' | 'default';
    /** the header's spacing where the hand's own size overruled it (`pixelSpacingFrom` 'estimated') */
    pixelSpacingInHeaderMm?: [number, number];
    /** where an estimated spacing was measured: the fingers and palm, or (a wrist-only view) the carpus and the CMC row */
    pixelSpacingMeasuredOn?: 'hand' | 'wrist';
    /** the spacing the joints' crops were read at where it is not `pixelSpacingMm`: a whole hand's own, from its bone lengths (the grader sees every hand at the adult size it learnt) */
    jointsReadAtMm?: [number, number];
    /** the hand lay turned: the detector read it after turning the image this far clockwise (90, 180, 270); coordinates stay the source's */
    turnedDeg?: number;
    /** nothing was found on the image as its Photometric Interpretation shows it; its negative was read (a film sent inverted) */
    readAsNegative?: true;
    /** the film's lead markers read from its pixels, at most one per letter (src/inference/marker.ts; a cross-check of the side, src/analysis/laterality.ts) */
    markers?: MarkerReading[];
  };
  models: ModelInfo[];
  hands: HandResult[];
  /**
   * hands found but not graded, and why: `view` an oblique or lateral view (the scores are
   * defined on PA views); `unrecognised` too few joints, or too unsure, to be named as a hand's
   * (a wrist-only view, another body part); `immature` a child's hand (the scores are adult scores)
   */
  notGraded?: HandNotGraded[];
  /** present on ground truth files: what made them (the phantom, or a site's labelling) */
  groundTruth?: { generator: string; version: string; seed?: number; profile?: string };
}

/** A lead marker's letter read on the film. */
export interface MarkerReading {
  letter: Laterality;
  /** the letter reads mirrored: the image is shown mirrored (or the marker was laid reversed) */
  mirrored: boolean;
  /** quarter turns clockwise the letter lies turned by */
  quarterTurns: 0 | 1 | 2 | 3;
  /** its centre, image pixels */
  x: number;
  y: number;
  /** its longer side, mm at the spacing the joints were graded at */
  sizeMm: number;
  /** its fit to the letter (intersection over union) and by how much that beats the next glyph's */
  fit: number;
  margin: number;
}

/**
 * A hand found but not graded: which side, the kind of reason (see HandAnalysis.notGraded), and
 * the reason; `view` where the film shows less than a hand: `finger` a film of one finger whose
 * digit no header names (src/inference/finger.ts `seeFinger`), its side unknown unless the header gives it.
 */
export interface HandNotGraded {
  laterality?: Laterality;
  cause?: 'view' | 'unrecognised' | 'immature';
  view?: 'finger';
  reason: string;
}

/**
 * A child's film: its hands found are not graded, each listed with the reason (Patient's Age,
 * or open growth plates), beside whatever else was not graded.
 */
export function asImmature(analysis: { hands: readonly HandResult[]; notGraded?: readonly HandNotGraded[] }, reason: string): { hands: HandResult[]; notGraded: HandNotGraded[] } {
  return { hands: [], notGraded: [...(analysis.notGraded ?? []), ...analysis.hands.map((h) => ({ laterality: h.laterality, cause: 'immature' as const, reason }))] };
}

/** One line for a hand found but not graded, as the SR's comment and the job's reason give it. */
export function notGradedText(n: HandNotGraded): string {
  if (n.cause === 'unrecognised') return `Not recognised as a hand: ${n.reason}`;
  const side = n.laterality ? HAND_NAMES[n.laterality] : undefined;
  const what = n.view === 'finger' ? `Finger film${side ? ` (${side.toLowerCase()})` : ''}` : (side ?? 'Hand');
  return `${what} not graded: ${n.reason}`;
}

const DIGIT_NAMES: Readonly<Record<string, string>> = { '2': 'index', '3': 'middle', '4': 'ring', '5': 'little' };

/** The finger a finger film's hand was read as ("ring"), where the header named it (`view.namedBy`); else undefined. */
export function namedFingerOf(hand: Pick<HandResult, 'view' | 'joints'>): string | undefined {
  return hand.view?.namedBy ? DIGIT_NAMES[hand.joints[0]?.site.slice(-1) ?? ''] : undefined;
}

/**
 * The hand's sites (of the 21) with no joint found, less those a partial view has off the film: a
 * whole hand whose MCP3-5 were not found has totals over fewer joints than its neighbour's, and
 * the reader should know which were not scored. Only where the film check judged the view (PA or
 * partial PA): without it, which sites the film should show is not known.
 */
export function sitesNotFound(hand: Pick<HandResult, 'joints' | 'view'>): JointSite[] {
  if (!hand.view) return [];
  const seen = new Set<JointSite>([...hand.joints.map((j) => j.site), ...(hand.view.notInView ?? [])]);
  return JOINT_SITES.filter((s) => !seen.has(s));
}
