import type { GradeResult, HandTotals, JointResult, SeverityClass } from '../../src/analysis/hand-analysis.js';
import { JOINT_SITES, type JointSite, type Laterality } from '../../src/analysis/joints.js';
import type { NaturalDataset } from '../../src/dicom/part10.js';
import { CodedConcept, SrBuildError } from '../../src/reports/sr/content-items.js';
import { DCM, PRIVATE, SCT, UMLS, countCode, type CountedClass, gradeProbability, lateralityFromCode, patternFromCode, severityFromCode } from '../../src/reports/sr/codes.js';

/**
 * Reading jointscore's own SR back into values, for tests that check what was written (the
 * node itself never reads an SR). dsrdump, dciodvfy, pydicom and highdicom read the same
 * files independently.
 */


/** A joint as the SR holds it: the result's fields (box recovered from float32 Graphic Data, see {@link fromFloat32}) and the SR's own. */
export interface SrJoint extends Pick<JointResult, 'site' | 'box' | 'confidence' | 'jsn' | 'erosion' | 'kl' | 'jswMm' | 'severity'> {
  /** the class its erosion is drawn in (JS-ERO-SEV), where it has an erosion grade */
  erosionClass?: SeverityClass;
  trackingIdentifier: string;
  trackingUid: string;
  laterality: Laterality;
  /** The Finding Site code written for this joint */
  findingSite: CodedConcept;
  /** the code meaning of the reason, where the joint was not graded */
  notGraded?: string;
}

export interface SrHandSummary extends HandTotals {
  laterality: Laterality;
  counts: Record<'ra' | 'erosion' | 'oa', Record<SeverityClass, number>>;
}

/** A hand none of whose joints is graded: its counts (all 0) and why, no totals or pattern. */
export interface SrHandNotGraded {
  laterality: Laterality;
  counts: SrHandSummary['counts'];
  /** the meanings of its (JS-JOINT-NOT-GRADED) evaluations */
  noneGraded: string[];
}

/**
 * The shortest decimal that is the same float32: Graphic Data is FL, so 412.3 is stored as
 * 412.29998779296875; any input with at most 7 significant digits comes back exactly.
 */
export function fromFloat32(v: number): number {
  for (let p = 1; p <= 9; p++) {
    const d = Number(v.toPrecision(p));
    if (Math.fround(d) === v) return d;
  }
  return v;
}

const seq = (v: unknown): NaturalDataset[] => (Array.isArray(v) ? v : v ? [v as NaturalDataset] : []);
const one = (v: unknown): any => (Array.isArray(v) ? v[0] : v);
const nameOf = (item: NaturalDataset): CodedConcept | undefined =>
  item.ConceptNameCodeSequence ? CodedConcept.fromItem(seq(item.ConceptNameCodeSequence)[0]) : undefined;
const children = (item: NaturalDataset) => seq(item.ContentSequence);
const childrenNamed = (item: NaturalDataset, name: CodedConcept) => children(item).filter((c) => name.equals(nameOf(c)));

function numValue(item: NaturalDataset, where: string): number {
  const mv = seq(item.MeasuredValueSequence)[0];
  if (!mv) throw new SrBuildError(`${where}: NUM without a Measured Value Sequence`);
  const fp = one(mv.FloatingPointValue);
  if (typeof fp === 'number') return fp;
  const v = Number(one(mv.NumericValue));
  if (!Number.isFinite(v)) throw new SrBuildError(`${where}: Numeric Value "${mv.NumericValue}" is not a number`);
  return v;
}

function checkReportRoot(dataset: NaturalDataset): void {
  if (!DCM.ImagingMeasurementReport.equals(nameOf(dataset))) {
    throw new SrBuildError(`not a TID 1500 report: root concept is ${nameOf(dataset)?.toString() ?? 'missing'}`);
  }
}

/** The Measurement Groups; none in a report without Imaging Measurements (a no-hand report). */
function measurementGroups(dataset: NaturalDataset): NaturalDataset[] {
  checkReportRoot(dataset);
  const im = childrenNamed(dataset, DCM.ImagingMeasurements)[0];
  if (!im) {
    if (childrenNamed(dataset, UMLS.QualitativeEvaluations).length > 0) return [];
    throw new SrBuildError('TID 1500 report with neither Imaging Measurements (126010) nor Qualitative Evaluations (C0034375)');
  }
  return childrenNamed(im, DCM.MeasurementGroup);
}

export interface SrEvaluation {
  name: CodedConcept;
  /** the coded value of a CODE item, the text of a TEXT item */
  value: CodedConcept | string;
}

/** The items of the report-level Qualitative Evaluations container (the finding, the notice). */
export function readSrQualitativeEvaluations(dataset: NaturalDataset): SrEvaluation[] {
  checkReportRoot(dataset);
  const container = childrenNamed(dataset, UMLS.QualitativeEvaluations)[0];
  return (container ? children(container) : []).map((item, i) => {
    const where = `Qualitative Evaluations item ${i + 1}`;
    const name = CodedConcept.fromItem(seq(item.ConceptNameCodeSequence)[0], where);
    const value = item.ValueType === 'CODE' ? CodedConcept.fromItem(seq(item.ConceptCodeSequence)[0], where) : String(one(item.TextValue) ?? '');
    return { name, value };
  });
}

/** Whether the report is one {@link buildNoHandSrDataset} wrote: Finding = "No hand found". */
export function isNoHandReport(dataset: NaturalDataset): boolean {
  return readSrQualitativeEvaluations(dataset).some(
    (e) => DCM.Finding.equals(e.name) && e.value instanceof CodedConcept && (PRIVATE.NoHandFound.equals(e.value) || PRIVATE.HandNotGraded.equals(e.value)),
  );
}

function trackingOf(group: NaturalDataset): { id: string; uid: string } {
  const id = one(childrenNamed(group, DCM.TrackingIdentifier)[0]?.TextValue);
  const uid = one(childrenNamed(group, DCM.TrackingUniqueIdentifier)[0]?.UID);
  if (typeof id !== 'string' || typeof uid !== 'string') throw new SrBuildError('Measurement Group without tracking identifiers');
  return { id, uid };
}

function siteOf(group: NaturalDataset, where: string): { code: CodedConcept; laterality?: Laterality } {
  const fs = childrenNamed(group, SCT.FindingSite)[0];
  if (!fs) throw new SrBuildError(`${where}: no Finding Site`);
  const code = CodedConcept.fromItem(seq(fs.ConceptCodeSequence)[0], `${where} finding site`);
  const lat = childrenNamed(fs, SCT.Laterality)[0];
  return lat ? { code, laterality: lateralityFromCode(CodedConcept.fromItem(seq(lat.ConceptCodeSequence)[0])) } : { code };
}

function gradeOf(group: NaturalDataset, name: CodedConcept, where: string): GradeResult | undefined {
  const item = childrenNamed(group, name)[0];
  if (!item) return undefined;
  const grade = numValue(item, where);
  const probs: number[] = [];
  for (let k = 0; ; k++) {
    const p = childrenNamed(item, gradeProbability(k))[0];
    if (!p) break;
    probs.push(numValue(p, where));
  }
  return { grade, probabilities: probs };
}

/** Parses the joints (TID 1410 groups) of an SR that {@link buildSrDataset} wrote. */
export function readSrJoints(dataset: NaturalDataset): SrJoint[] {
  const out: SrJoint[] = [];
  for (const group of measurementGroups(dataset)) {
    const region = childrenNamed(group, DCM.ImageRegion)[0];
    const { id, uid } = trackingOf(group);
    if (!region || /^[LR]-HAND$/.test(id)) continue; // a hand summary (TID 1410 over the hand's joints; TID 1501 before)
    const m = /^([LR])-(.+)$/.exec(id);
    if (!m || !(JOINT_SITES as readonly string[]).includes(m[2])) {
      throw new SrBuildError(`tracking identifier "${id}" is not <L|R>-<joint site>`);
    }
    const laterality = m[1] as Laterality;
    const site = m[2] as JointSite;
    const fs = siteOf(group, id);
    if (fs.laterality !== laterality) {
      throw new SrBuildError(`${id}: Finding Site laterality ${fs.laterality} contradicts the tracking identifier`);
    }
    const gd: number[] = Array.isArray(region.GraphicData) ? region.GraphicData : [region.GraphicData];
    if (one(region.GraphicType) !== 'POLYLINE' || gd.length !== 10) {
      throw new SrBuildError(`${id}: Image Region is not a closed 5-point POLYLINE`);
    }
    const xs = [gd[0], gd[2], gd[4], gd[6]].map(fromFloat32);
    const ys = [gd[1], gd[3], gd[5], gd[7]].map(fromFloat32);
    const box: [number, number, number, number] = [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
    const conf = childrenNamed(group, PRIVATE.DetectionConfidence)[0];
    const joint: SrJoint = {
      trackingIdentifier: id,
      trackingUid: uid,
      laterality,
      site,
      findingSite: fs.code,
      box,
      confidence: conf ? numValue(conf, id) : NaN,
      severity: {},
    };
    const jsn = gradeOf(group, PRIVATE.SvhJsnGrade, id);
    const erosion = gradeOf(group, PRIVATE.SvhErosionGrade, id);
    const kl = gradeOf(group, PRIVATE.KlGrade, id);
    if (jsn) joint.jsn = jsn;
    if (erosion) joint.erosion = erosion;
    if (kl) joint.kl = kl;
    const width = childrenNamed(group, PRIVATE.JointSpaceWidth)[0];
    if (width) {
      const unit = CodedConcept.fromItem(seq(seq(width.MeasuredValueSequence)[0]?.MeasurementUnitsCodeSequence)[0]);
      if (unit.value !== 'mm' || unit.scheme !== 'UCUM') throw new SrBuildError(`${id}: joint space width in ${unit.toString()}, not (mm, UCUM)`);
      joint.jswMm = numValue(width, id);
    }
    const ra = childrenNamed(group, PRIVATE.RaSeverityClass)[0];
    const oa = childrenNamed(group, PRIVATE.OaSeverityClass)[0];
    if (ra) joint.severity.ra = severityFromCode(CodedConcept.fromItem(seq(ra.ConceptCodeSequence)[0]));
    if (oa) joint.severity.oa = severityFromCode(CodedConcept.fromItem(seq(oa.ConceptCodeSequence)[0]));
    const ero = childrenNamed(group, PRIVATE.ErosionClass)[0];
    if (ero) joint.erosionClass = severityFromCode(CodedConcept.fromItem(seq(ero.ConceptCodeSequence)[0]));
    const skipped = childrenNamed(group, PRIVATE.JointNotGraded)[0];
    if (skipped) joint.notGraded = CodedConcept.fromItem(seq(skipped.ConceptCodeSequence)[0]).meaning;
    out.push(joint);
  }
  return out;
}

/** Parses the per-hand summary groups (TID 1410 over the hand's joints; TID 1501 before). */
export function readSrHandSummaries(dataset: NaturalDataset): (SrHandSummary | SrHandNotGraded)[] {
  const out: (SrHandSummary | SrHandNotGraded)[] = [];
  for (const group of measurementGroups(dataset)) {
    const { id } = trackingOf(group);
    const m = /^([LR])-HAND$/.exec(id);
    if (!m) continue;
    const num = (name: CodedConcept) => {
      const item = childrenNamed(group, name)[0];
      if (!item) throw new SrBuildError(`${id}: missing ${name.toString()}`);
      return numValue(item, id);
    };
    const counts = (score: CountedClass) => ({
      healthy: num(countCode(score, 'healthy')),
      mild: num(countCode(score, 'mild')),
      severe: num(countCode(score, 'severe')),
    });
    const pat = childrenNamed(group, PRIVATE.Pattern)[0];
    const why = childrenNamed(group, PRIVATE.JointNotGraded).map((item) => CodedConcept.fromItem(seq(item.ConceptCodeSequence)[0]).meaning);
    if (!pat && why.length) {
      if (childrenNamed(group, PRIVATE.SvhJsnTotal).length) throw new SrBuildError(`${id}: totals beside "not graded"`);
      out.push({ laterality: m[1] as Laterality, counts: { ra: counts('RA'), erosion: counts('ERO'), oa: counts('OA') }, noneGraded: why });
      continue;
    }
    if (!pat) throw new SrBuildError(`${id}: missing pattern`);
    out.push({
      laterality: m[1] as Laterality,
      svhJsn: num(PRIVATE.SvhJsnTotal),
      svhErosion: num(PRIVATE.SvhErosionTotal),
      klSum: num(PRIVATE.KlSum),
      pattern: patternFromCode(CodedConcept.fromItem(seq(pat.ConceptCodeSequence)[0])),
      counts: { ra: counts('RA'), erosion: counts('ERO'), oa: counts('OA') },
    });
  }
  return out;
}
