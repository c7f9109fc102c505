import type { JointSite, Laterality } from '../../analysis/joints.js';
import { HAND_PATTERNS, type HandTotals, type SeverityClass } from '../../analysis/hand-analysis.js';
import { CodedConcept } from './content-items.js';
import type { NaturalDataset } from '../../dicom/part10.js';

/**
 * Every code the SR writer uses. Standard codes (DCM, SCT, UCUM, UMLS, RFC5646) were checked
 * against PS3.16 as pydicom 3.0.2 ships it (pydicom/sr/_concepts_dict.py), except where a
 * comment says otherwise. SvH / Kellgren-Lawrence grades and the study's severity classes
 * have no standard codes: they live in the private scheme {@link PRIVATE_SCHEME}, declared
 * in the Coding Scheme Identification Sequence, and each private concept name gets an
 * Equivalent Meaning of Concept Name (121050) child in the tree.
 */

const c = (value: string, scheme: string, meaning: string) => new CodedConcept(value, scheme, meaning);

export const DCM = {
  ImagingMeasurementReport: c('126000', 'DCM', 'Imaging Measurement Report'),
  LanguageOfContentItemAndDescendants: c('121049', 'DCM', 'Language of Content Item and Descendants'),
  ObserverType: c('121005', 'DCM', 'Observer Type'),
  Device: c('121007', 'DCM', 'Device'),
  DeviceObserverUID: c('121012', 'DCM', 'Device Observer UID'),
  DeviceObserverName: c('121013', 'DCM', 'Device Observer Name'),
  DeviceObserverManufacturer: c('121014', 'DCM', 'Device Observer Manufacturer'),
  DeviceObserverModelName: c('121015', 'DCM', 'Device Observer Model Name'),
  ProcedureReported: c('121058', 'DCM', 'Procedure reported'),
  ImageLibrary: c('111028', 'DCM', 'Image Library'),
  ImageLibraryGroup: c('126200', 'DCM', 'Image Library Group'),
  Modality: c('121139', 'DCM', 'Modality'),
  ImagingMeasurements: c('126010', 'DCM', 'Imaging Measurements'),
  MeasurementGroup: c('125007', 'DCM', 'Measurement Group'),
  TrackingIdentifier: c('112039', 'DCM', 'Tracking Identifier'),
  TrackingUniqueIdentifier: c('112040', 'DCM', 'Tracking Unique Identifier'),
  AlgorithmName: c('111001', 'DCM', 'Algorithm Name'),
  AlgorithmVersion: c('111003', 'DCM', 'Algorithm Version'),
  ImageRegion: c('111030', 'DCM', 'Image Region'),
  EquivalentMeaningOfConceptName: c('121050', 'DCM', 'Equivalent Meaning of Concept Name'),
  Comment: c('121106', 'DCM', 'Comment'),
  /** CID 7001 "Diagnostic Imaging Report Headings": each hand's findings in a sentence or two, first among the evaluations */
  Summary: c('121111', 'DCM', 'Summary'),
  /** Concept name of a coded finding (CIDs 3419, 6053, 7002, 9000); names the no-hand finding */
  Finding: c('121071', 'DCM', 'Finding'),
  /**
   * Contributing Equipment purpose, CID 7005 "Contributing Equipment Purposes of Reference":
   * 109101 Acquisition, 109102 Processing, 109103 Modifying, 109104 De-identifying Equipment...
   * There is no "Processing Algorithm" code in CID 7005; 109102 "Processing Equipment" is
   * the one for equipment that derived new information from the source (113961
   * "Reconstruction Algorithm" is not in CID 7005 and means CT/PET reconstruction).
   */
  ProcessingEquipment: c('109102', 'DCM', 'Processing Equipment'),
  /** (DX, DCM, "Digital Radiography"), CID 29 */
  DX: c('DX', 'DCM', 'Digital Radiography'),
  CR: c('CR', 'DCM', 'Computed Radiography'),
} as const;

export const SCT = {
  FindingSite: c('363698007', 'SCT', 'Finding Site'),
  Laterality: c('272741003', 'SCT', 'Laterality'),
  Left: c('7771000', 'SCT', 'Left'),
  Right: c('24028007', 'SCT', 'Right'),
  /** CID 100 "Quantitative Diagnostic Imaging Procedures" */
  ImagingProcedure: c('363679005', 'SCT', 'Imaging procedure'),
  Hand: c('85562004', 'SCT', 'Hand'),
} as const;

export const UMLS = {
  /** TID 1500 row 10: CONTAINER (C0034375, UMLS, "Qualitative Evaluations") */
  QualitativeEvaluations: c('C0034375', 'UMLS', 'Qualitative Evaluations'),
} as const;

export const UCUM = {
  /** ("1", UCUM, "no units"), CID 7181 */
  NoUnits: c('1', 'UCUM', 'no units'),
  /*
   * Grades, totals and counts are dimensionless, and were written as "1" until 2026-12-07. OHIF
   * prints a NUM as `${value ? value.toFixed(2) : ''} ${unit code}`: a grade 0 (most joints)
   * then read "grade:  1", a grade that exists (docs/viewer/README.md). UCUM annotations equal 1
   * as "1" does, and leave a blank where OHIF drops the 0, not a wrong number.
   */
  /** ("{grade}", UCUM, "grade"): SvH JSN, SvH erosion and Kellgren-Lawrence grades */
  Grade: c('{grade}', 'UCUM', 'grade'),
  /** ("{score}", UCUM, "score"): a hand's SvH totals and KL sum */
  Score: c('{score}', 'UCUM', 'score'),
  /** ("{joints}", UCUM, "joints"): a hand's counts of joints by class */
  Joints: c('{joints}', 'UCUM', 'joints'),
  /** ("{ratio}", UCUM, "ratio"), CID 7181: probabilities and confidences in [0, 1] */
  Ratio: c('{ratio}', 'UCUM', 'ratio'),
  /** ("mm", UCUM, "millimeter"), CID 7181: the joint space width */
  Millimeter: c('mm', 'UCUM', 'millimeter'),
} as const;

export const LANGUAGE_EN_US = c('en-US', 'RFC5646', 'English (United States)');

// ---------------------------------------------------------------------------------------
// Private coding scheme

/** Private designators start with "99" (PS3.16 8.2). */
export const PRIVATE_SCHEME = '99JSCORE';

/** Coding Scheme Identification Sequence item for the private scheme (PS3.3 C.12.1.1.2). */
export const PRIVATE_SCHEME_IDENTIFICATION: NaturalDataset = {
  CodingSchemeDesignator: PRIVATE_SCHEME,
  // A fixed UID: derivedUid(['jointscore', 'coding-scheme', '1'])
  CodingSchemeUID: '2.25.200047902402940201693483180439629801442',
  CodingSchemeName: 'jointscore private codes for hand arthritis scoring',
  CodingSchemeVersion: '1',
  CodingSchemeResponsibleOrganization: 'jointscore project',
};

const p = (value: string, meaning: string) => new CodedConcept(value, PRIVATE_SCHEME, meaning);

/**
 * Private concepts. `meaning` is the Code Meaning (<= 64 chars); `equivalent` the longer
 * plain-language Equivalent Meaning of Concept Name put beside a private concept name. The
 * grades', totals', counts' and the confidence's meanings are short ("SvH JSN grade", not
 * "Sharp/van der Heijde joint space narrowing grade", until 2026-12-07): OHIF labels each joint's region with a line
 * per NUM, 21 regions on one hand, and the long lines overlapped across the film
 * (docs/viewer/README.md); the Equivalent Meanings spell them out.
 */
export const PRIVATE = {
  SvhJsnGrade: p('JS-SVH-JSN', 'SvH JSN grade'),
  SvhErosionGrade: p('JS-SVH-ERO', 'SvH erosion grade'),
  KlGrade: p('JS-KL', 'KL grade'),
  RaSeverityClass: p('JS-RA-SEV', 'RA severity class from JSN grade'),
  OaSeverityClass: p('JS-OA-SEV', 'OA severity class from KL grade'),
  ErosionClass: p('JS-ERO-SEV', 'Erosion class from SvH erosion grade'),
  DetectionConfidence: p('JS-DET-CONF', 'Detection confidence'),
  /** no standard code names a radiographic joint space width; the grader measures it in mm */
  JointSpaceWidth: p('JS-JSW', 'Joint space width'),
  SvhJsnTotal: p('JS-SVH-JSN-TOT', 'SvH JSN total of hand'),
  SvhErosionTotal: p('JS-SVH-ERO-TOT', 'SvH erosion total of hand'),
  KlSum: p('JS-KL-SUM', 'KL sum of hand'),
  Pattern: p('JS-PATTERN', 'Arthritis pattern'),
  Healthy: p('JS-HEALTHY', 'healthy'),
  Mild: p('JS-MILD', 'mild'),
  Severe: p('JS-SEVERE', 'severe'),
  PatternNormal: p('JS-PAT-NORMAL', 'normal'),
  PatternRa: p('JS-PAT-RA', 'RA-like'),
  PatternOa: p('JS-PAT-OA', 'OA-like'),
  PatternMixed: p('JS-PAT-MIXED', 'mixed'),
  /**
   * The value of (121071, DCM, "Finding") in a report on an image where the detector found
   * no hand. No standard code says "not detected by the algorithm": (272519000, SCT, "Absent")
   * would claim the hand is absent from the patient, not from the detector's output.
   */
  NoHandFound: p('JS-NO-HAND', 'No hand found'),
  /** ... or found hands it did not grade (an oblique or lateral view): the reasons follow as Comments */
  HandNotGraded: p('JS-NOT-GRADED', 'Hand found, not graded'),
  /** a joint found but not graded: concept name, one of the values below; the measured reason is in the report's Comments */
  JointNotGraded: p('JS-JOINT-NOT-GRADED', 'Joint not graded'),
  OutOfView: p('JS-OUT-OF-VIEW', 'Joint partly out of view'),
  NoContrast: p('JS-NO-CONTRAST', 'No contrast in the joint region'),
  Overlapped: p('JS-OVERLAPPED', 'Joint overlapped by another'),
  MetalOverJoint: p('JS-METAL', 'Metal over the joint'),
  UncertainDetection: p('JS-UNSURE-SITE', 'Joint site uncertain'),
  CoarseFilm: p('JS-COARSE-FILM', 'Film resolution too coarse for the joint space'),
} as const;

/** The classes a hand's summary counts its joints by: RA (JSN), erosion (as drawn), OA (KL). */
export type CountedClass = 'RA' | 'ERO' | 'OA';
const COUNTED_NAMES: Record<CountedClass, string> = { RA: 'RA', ERO: 'erosion', OA: 'OA' };
/** In the order the hand summary lists them. */
const COUNTED_CLASSES: readonly CountedClass[] = ['RA', 'ERO', 'OA'];

/** Equivalent Meaning of Concept Name (121050) texts for private concept names. */
export const EQUIVALENT_MEANING: Record<string, string> = {
  'JS-SVH-JSN': 'Sharp/van der Heijde joint space narrowing grade (0 normal; 1 focal or doubtful; 2 generalised, < 50 % lost; 3 > 50 % lost or subluxation; 4 ankylosis or complete luxation)',
  'JS-SVH-ERO': 'Sharp/van der Heijde erosion grade (0 none; 1 discrete; 2-3 larger by surface area involved; 4-5 most of the bone)',
  'JS-KL': 'Kellgren-Lawrence grade for hand osteoarthritis (0 none to 4 large osteophytes, marked narrowing, severe sclerosis, deformity)',
  'JS-RA-SEV': 'Rheumatoid arthritis severity class derived from the SvH JSN grade by the configured thresholds',
  'JS-OA-SEV': 'Osteoarthritis severity class derived from the Kellgren-Lawrence grade by the configured thresholds',
  'JS-ERO-SEV': 'Class a joint is drawn in for its SvH erosion grade (1-2 mild, 3-5 severe): jointscore\'s own, so that an eroded joint is not shown as healthy; the reference study\'s RA classes are from JSN alone',
  'JS-DET-CONF': 'Confidence of the joint detector that this joint is present at this region (0 to 1)',
  'JS-JSW': 'Radiographic joint space width: the gap between the two bone ends along the joint axis, in mm, as the grader model measures it from the image at its pixel spacing',
  'JS-SVH-JSN-TOT': 'Sum of Sharp/van der Heijde joint space narrowing grades over the joints of one hand',
  'JS-SVH-ERO-TOT': 'Sum of Sharp/van der Heijde erosion grades over the joints of one hand',
  'JS-KL-SUM': 'Sum of Kellgren-Lawrence grades over the joints of one hand',
  'JS-PATTERN': 'Distribution pattern of joint damage in one hand (RA-like, OA-like, mixed or normal)',
  'JS-JOINT-NOT-GRADED': 'The joint was found but not graded; the value says why (partly out of view, no contrast, metal over it, overlapped by another joint found on the same spot, or site uncertain)',
};
for (let k = 0; k <= 5; k++) {
  EQUIVALENT_MEANING[`JS-P${k}`] = `Model probability that the grade is ${k}`;
}
for (const score of COUNTED_CLASSES) {
  for (const cls of ['healthy', 'mild', 'severe'] as const) {
    const name = score === 'ERO' ? 'erosion class (as drawn, JS-ERO-SEV)' : `${score} severity class`;
    EQUIVALENT_MEANING[countCode(score, cls).value] = `Number of joints of one hand in ${name} "${cls}"`;
  }
}

/** Probability that the grade is k (child of a grade NUM, HAS PROPERTIES). */
export function gradeProbability(k: number): CodedConcept {
  if (!Number.isInteger(k) || k < 0 || k > 9) throw new RangeError(`grade ${k} out of range`);
  return p(`JS-P${k}`, `Probability of grade ${k}`);
}

export function countCode(score: CountedClass, cls: SeverityClass): CodedConcept {
  return p(`JS-N-${score}-${cls.toUpperCase()}`, `Joints ${COUNTED_NAMES[score]} ${cls}`);
}

export function severityCode(cls: SeverityClass): CodedConcept {
  return { healthy: PRIVATE.Healthy, mild: PRIVATE.Mild, severe: PRIVATE.Severe }[cls];
}

export function severityFromCode(code: CodedConcept): SeverityClass {
  for (const cls of ['healthy', 'mild', 'severe'] as const) if (severityCode(cls).equals(code)) return cls;
  throw new Error(`unknown severity class code ${code.toString()}`);
}

export function patternCode(pattern: HandTotals['pattern']): CodedConcept {
  return {
    normal: PRIVATE.PatternNormal,
    'RA-like': PRIVATE.PatternRa,
    'OA-like': PRIVATE.PatternOa,
    mixed: PRIVATE.PatternMixed,
  }[pattern];
}

export function patternFromCode(code: CodedConcept): HandTotals['pattern'] {
  for (const pat of HAND_PATTERNS) if (patternCode(pat).equals(code)) return pat;
  throw new Error(`unknown pattern code ${code.toString()}`);
}

export function lateralityCode(l: Laterality): CodedConcept {
  return l === 'L' ? SCT.Left : SCT.Right;
}

export function lateralityFromCode(code: CodedConcept): Laterality {
  if (SCT.Left.equals(code)) return 'L';
  if (SCT.Right.equals(code)) return 'R';
  throw new Error(`laterality code ${code.toString()} is neither Left nor Right`);
}

// ---------------------------------------------------------------------------------------
// Joint sites -> SNOMED CT body structures

export interface SiteCode {
  code: CodedConcept;
  /**
   * true: the code names exactly this joint (verified in a published SNOMED CT value set);
   * false: a broader structure that certainly contains the joint, used until the exact
   * concept is verified. The exact site is always in the Tracking Identifier ("L-PIP3").
   */
  exact: boolean;
}

// Verified: 289002, 6059006, 5493005 appear with these names in the FHIR "SNOMED CT Body
// Structures" value set (hl7.org/fhir/ValueSet/body-site). 85562004 Hand, 74670003 Wrist
// joint, 125682004 Finger joint and 8205005 Wrist region structure are in PS3.16
// (CIDs 4031/4042/7304/8134).
const FINGER_JOINT = c('125682004', 'SCT', 'Finger joint');
const WRIST_JOINT = c('74670003', 'SCT', 'Wrist joint');
const WRIST_REGION = c('8205005', 'SCT', 'Wrist region structure');

export const SITE_CODES: Record<JointSite, SiteCode> = {
  DIP2: { code: FINGER_JOINT, exact: false },
  DIP3: { code: FINGER_JOINT, exact: false },
  DIP4: { code: FINGER_JOINT, exact: false },
  DIP5: { code: FINGER_JOINT, exact: false },
  PIP2: { code: FINGER_JOINT, exact: false },
  PIP3: { code: FINGER_JOINT, exact: false },
  PIP4: { code: FINGER_JOINT, exact: false },
  PIP5: { code: FINGER_JOINT, exact: false },
  // SNOMED CT does not count the thumb as a finger: use Hand until the thumb-joint codes are verified.
  IP1: { code: SCT.Hand, exact: false },
  MCP1: { code: SCT.Hand, exact: false },
  MCP2: { code: c('289002', 'SCT', 'Metacarpophalangeal joint of index finger'), exact: true },
  MCP3: { code: c('6059006', 'SCT', 'Metacarpophalangeal joint of middle finger'), exact: true },
  MCP4: { code: FINGER_JOINT, exact: false },
  MCP5: { code: c('5493005', 'SCT', 'Metacarpophalangeal joint of little finger'), exact: true },
  CMC1: { code: SCT.Hand, exact: false },
  CMC3: { code: SCT.Hand, exact: false },
  CMC4: { code: SCT.Hand, exact: false },
  CMC5: { code: SCT.Hand, exact: false },
  STT: { code: WRIST_REGION, exact: false },
  CSL: { code: WRIST_REGION, exact: false },
  // SNOMED CT's "Wrist joint structure" is the radiocarpal joint.
  RC: { code: WRIST_JOINT, exact: true },
};
