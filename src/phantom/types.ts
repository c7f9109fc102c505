import type { HandResult } from '../analysis/hand-analysis.js';
import type { JointSite, Laterality } from '../analysis/joints.js';

/**
 * The contract between the phantom's renderer (pure computation), its DICOM encoder and
 * its previews. The renderer knows physics and anatomy; it knows nothing of DICOM.
 */
export type DiseaseProfile = 'healthy' | 'ra' | 'oa' | 'mixed';
export type HandLayout = 'one' | 'both';

export interface PhantomSpec {
  seed: number;
  profile: DiseaseProfile;
  layout: HandLayout;
  /** laterality of the single hand; ignored for `both` (left hand on the image's right, as PA films show it) */
  laterality: Laterality;
  rows: number;
  columns: number;
  /** detector pixel pitch, square, in mm (0.1 to 0.2) */
  pixelSpacingMm: number;
  /** widen pose/exposure ranges beyond the training defaults (for held-out tests) */
  wideRanges?: boolean;
  /** widen them further (src/phantom/ranges.ts level 2): tests of models trained on wide images too */
  widerRanges?: boolean;
  /** the film stored turned by quarter turns and/or mirrored (src/phantom/orient.ts) */
  turn?: FilmTurn;
  /** a single hand's film cut to what a wrist-only or finger-only film shows (src/phantom/partial.ts), before any turn */
  partialView?: 'wrist' | 'fingers';
  /** a foot (dorsoplantar) instead of the hand(s): a film the node must not read as a hand (src/phantom/foot.ts) */
  bodyPart?: 'foot';
  /** the hand turned about its long axis by this many degrees (src/phantom/oblique.ts): an oblique view, not to be graded */
  obliqueDeg?: number;
  /** with the fingers fanned apart as radiographers position an oblique (src/phantom/oblique.ts `fannedObliqueView`) */
  obliqueFanned?: true;
  /**
   * a child's hand (10-14 years, src/phantom/anatomy.ts `profile`): growth plates open, so
   * not to be graded; the film's truth has no graded hand
   */
  child?: true;
  /**
   * metal wires across two joints of each hand (src/phantom/metal.ts), as fixed fractures and
   * fused joints show them: joints the node must not grade; `RenderedPhantom.metal` names them
   */
  metal?: true;
  /**
   * the fingers deviated toward the ulna at the MCPs by this many degrees, as rheumatoid
   * hands drift (20-40 degrees in established disease), on top of the pose's own few degrees
   * either way, each finger turned about its metacarpal head: a PA hand the node must still grade
   */
  ulnarDriftDeg?: number;
}

/** A film stored turned clockwise by quarter turns, after a left-right mirror if `mirrored`. */
export interface FilmTurn {
  quarterTurns: 0 | 1 | 2 | 3;
  mirrored: boolean;
}

export interface RenderedPhantom {
  spec: PhantomSpec;
  rows: number;
  columns: number;
  /**
   * Detector output after the imaging chain, row-major, in [0, 1]: 0 = unattenuated
   * beam (black on a MONOCHROME2 display), 1 = most attenuating (bone white). The encoder
   * maps it to stored values for the chosen bit depth and photometric interpretation.
   */
  image: Float32Array;
  /** ground truth, in the HandAnalysis schema (true grades as one-hot probabilities) */
  hands: HandResult[];
  /** the joints a metal wire crosses (`PhantomSpec.metal`) */
  metal?: { laterality: Laterality; site: JointSite }[];
  /** the lead marker's letter, as burned into the image */
  marker: Laterality;
  /** the centre of the marker's letter (image pixels), where one was drawn (the film may have had no room for it) */
  markerAt?: { x: number; y: number };
  /** patient-level facts the DICOM header carries (synthetic) */
  patient: { ageYears: number; sex: 'F' | 'M' };
}
