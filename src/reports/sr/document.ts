import { notGradedText, type GradeResult, type HandAnalysis, type HandSummary, type SeverityClass } from '../../analysis/hand-analysis.js';
import { JOINT_SITES, trackingId, type JointSite, type Laterality } from '../../analysis/joints.js';
import type { NaturalDataset } from '../../dicom/part10.js';
import { derivedUid } from '../../dicom/uid.js';
import {
  checkReportOptions, contributingEquipment, derivedInstance, dicomDateTime, generalEquipment, sourceIdentity,
  withCharacterSet, type ReportOptions, type SourceIdentity,
} from '../common.js';
import {
  CodedConcept, ContainerItem, ContentItem, SrBuildError, TextItem, checkTree, conceptsIn, imagesIn, type ImageReference,
  type SrIod,
} from './content-items.js';
import {
  DCM, PRIVATE, PRIVATE_SCHEME, PRIVATE_SCHEME_IDENTIFICATION, SCT, UMLS, countCode, gradeProbability, lateralityFromCode,
  patternFromCode, severityFromCode,
} from './codes.js';
import {
  deviceObserverContext, handSummaryGroup, handTrackingId, imageLibrary, jointGroup, measurementReport, noHandFinding,
  type GroupContext,
} from './templates.js';

export const SR_SOP_CLASS = {
  comprehensive3d: '1.2.840.10008.5.1.4.1.1.88.34',
  comprehensive: '1.2.840.10008.5.1.4.1.1.88.33',
} as const;

export interface SrOptions extends ReportOptions {
  /** Comprehensive 3D SR (88.34), or Comprehensive SR (88.33) for archives that lack 88.34 */
  sopClass: SrIod;
}

// Shared with the SC and GSPS writers; re-exported where the SR API always had it.
export { characterSetFor } from '../common.js';

const MODALITY_CODES: Record<string, CodedConcept> = { DX: DCM.DX, CR: DCM.CR };

/** The disclaimer put into every report (a Comment in the Qualitative Evaluations container). */
export function machineResultNotice(algorithmName: string, algorithmVersion: string): string {
  return (
    `Machine-generated result (${algorithmName} ${algorithmVersion}): automated joint detection and arthritis grading. ` +
    'Not verified by a physician; not for diagnosis alone.'
  );
}

/** What every report on one source image shares: its identity, the UIDs, the content time. */
interface ReportContext {
  iod: SrIod;
  options: SrOptions;
  src: SourceIdentity;
  sourceRef: ImageReference;
  modality?: CodedConcept;
  deviceUid: string;
  date: string;
  time: string;
}

function reportContext(analysis: HandAnalysis, source: NaturalDataset, options: SrOptions): ReportContext {
  const iod: SrIod = options.sopClass;
  if (!(iod in SR_SOP_CLASS)) throw new SrBuildError(`sopClass must be 'comprehensive3d' or 'comprehensive', got "${iod}"`);
  checkReportOptions(options, 'SR', SrBuildError);
  const src = sourceIdentity(analysis, source, 'the SR', SrBuildError);
  const { date, time } = dicomDateTime(options.contentDateTime ?? new Date(), SrBuildError);
  const modality = typeof source.Modality === 'string' ? MODALITY_CODES[source.Modality] : undefined;
  return {
    iod,
    options,
    src,
    sourceRef: { sopClassUID: src.sopClassUid, sopInstanceUID: src.sopInstanceUid },
    ...(modality ? { modality } : {}),
    deviceUid: derivedUid(['device', options.manufacturer, options.deviceName], options.uidRoot),
    date,
    time,
  };
}

/** The TID 1500 root: observer, procedure, image library, then the groups and evaluations given. */
function reportContent(ctx: ReportContext, groups: ContainerItem[], evaluations: ContentItem[]): ContainerItem {
  const { options } = ctx;
  const notice = machineResultNotice(options.algorithmName, options.algorithmVersion);
  const content = measurementReport({
    observerContext: deviceObserverContext({
      uid: ctx.deviceUid,
      name: options.deviceName,
      manufacturer: options.manufacturer,
      modelName: options.algorithmName,
    }),
    procedureReported: [SCT.ImagingProcedure],
    imageLibrary: imageLibrary([{ ref: ctx.sourceRef, ...(ctx.modality ? { modality: ctx.modality } : {}) }]),
    groups,
    qualitativeEvaluations: [...evaluations, new TextItem(DCM.Comment, notice, { relationship: 'CONTAINS' })],
  });
  checkTree(content, ctx.iod);
  // Every referenced image must be in Current Requested Procedure Evidence (PS3.3 C.17.2.3).
  for (const ref of imagesIn(content)) {
    if (ref.sopInstanceUID !== ctx.src.sopInstanceUid) throw new SrBuildError(`the tree references ${ref.sopInstanceUID}, not the source`);
  }
  return content;
}

/**
 * The TID 1500 Comprehensive (3D) SR for one analysed source image, as a dcmjs naturalized
 * dataset ready for writePart10. Deterministic: the same analysis, source and options
 * (including contentDateTime) give the same dataset and the same UIDs.
 */
export function buildSrDataset(analysis: HandAnalysis, source: NaturalDataset, options: SrOptions): NaturalDataset {
  const ctx = reportContext(analysis, source, options);
  const { sopInstanceUid } = ctx.src;
  const version = options.algorithmVersion;
  const groupCtx: GroupContext = {
    source: ctx.sourceRef,
    algorithmName: options.algorithmName,
    algorithmVersion: version,
    trackingUid: (id) => derivedUid([sopInstanceUid, version, 'sr', 'tracking', id], options.uidRoot),
  };
  const content = reportContent(ctx, handGroups(analysis, groupCtx), readingNotes(analysis));
  return srDocument(ctx, content, source);
}

/**
 * How the image was read where that differs from what its header says, as Comments beside
 * the notice: a reader checking a grade should know the scale it was made at.
 */
export function readingNotes(analysis: HandAnalysis): TextItem[] {
  const notes: string[] = [];
  const { pixelSpacingFrom, pixelSpacingMm, turnedDeg } = analysis.source;
  if (pixelSpacingFrom === 'estimated' && pixelSpacingMm) {
    notes.push(
      `Pixel spacing estimated from the hand's bone lengths: ${pixelSpacingMm[0].toFixed(3)} mm; the image's header had none, or one that disagreed by more than 1.5 times. Joints were graded at this scale.`,
    );
  }
  if (pixelSpacingFrom === 'default') notes.push('No pixel spacing in the header and too little of the hand to measure it: joints were graded at an assumed 0.15 mm.');
  if (turnedDeg) notes.push(`The hand lay turned: found after turning the image ${turnedDeg} degrees clockwise. Regions are in the image as stored.`);
  for (const hand of analysis.hands) {
    if (hand.view) {
      notes.push(
        `${hand.laterality === 'L' ? 'Left' : 'Right'} hand read as a PA view: its joints lie as in a PA view (layout residual ${hand.view.layoutResidual.toFixed(2)}; oblique and lateral views, above ${hand.view.maxResidual}, are not graded).`,
      );
    }
    const skipped = hand.joints.filter((j) => j.notGraded);
    if (skipped.length === 0) continue;
    const list = skipped.map((j) => `${trackingId(hand.laterality, j.site)} (${j.notGraded!.reason})`).join('; ');
    notes.push(`${skipped.length} of ${hand.joints.length} joints found on the ${hand.laterality === 'L' ? 'left' : 'right'} hand were not graded: ${list}.`);
  }
  return notes.map((n) => new TextItem(DCM.Comment, n, { relationship: 'CONTAINS' }));
}

/**
 * The TID 1500 SR for a source image in which no hand was found: no Imaging Measurements,
 * only the root Qualitative Evaluations with (121071, DCM, "Finding") = "No hand found" and
 * the machine-made notice. Same title, observer, image library, series and UIDs as the SR
 * {@link buildSrDataset} would write for that image and model version.
 */
export function buildNoHandSrDataset(analysis: HandAnalysis, source: NaturalDataset, options: SrOptions): NaturalDataset {
  if (!Array.isArray(analysis?.hands) || analysis.hands.length !== 0) {
    throw new SrBuildError(
      `a no-hand report is for an analysis without hands; this one has ${analysis?.hands?.length ?? 'no list of'} hand(s): use buildSrDataset`,
    );
  }
  const ctx = reportContext(analysis, source, options);
  // hands found but not graded say so, each with its reason, instead of "No hand found";
  // structures not recognised as a hand leave the finding "No hand found", with what was seen
  const notGraded = analysis.notGraded ?? [];
  const why = notGraded.map((n) => new TextItem(DCM.Comment, notGradedText(n), { relationship: 'CONTAINS' }));
  const handSeen = notGraded.some((n) => n.cause !== 'unrecognised');
  const finding = noHandFinding(options.algorithmName, options.algorithmVersion, handSeen);
  const content = reportContent(ctx, [], [finding, ...why, ...readingNotes(analysis)]);
  return srDocument(ctx, content, source);
}

/** One TID 1410 group per joint, then one TID 1501 summary per hand; tracking identifiers unique. */
function handGroups(analysis: HandAnalysis, ctx: GroupContext): ContainerItem[] {
  const seen = new Set<string>();
  const groups: ContainerItem[] = [];
  for (const hand of analysis.hands) {
    if (hand.laterality !== 'L' && hand.laterality !== 'R') {
      throw new SrBuildError(`hand laterality must be "L" or "R", got ${JSON.stringify(hand.laterality)}`);
    }
    for (const joint of hand.joints) {
      const id = `${hand.laterality}-${joint.site}`;
      if (seen.has(id)) throw new SrBuildError(`joint ${id} appears twice in the analysis: tracking identifiers must be unique`);
      seen.add(id);
      groups.push(jointGroup(hand.laterality, joint, ctx));
    }
  }
  for (const hand of analysis.hands) {
    if (seen.has(handTrackingId(hand.laterality))) throw new SrBuildError(`two ${hand.laterality} hands in the analysis`);
    seen.add(handTrackingId(hand.laterality));
    groups.push(handSummaryGroup(hand, ctx));
  }
  return groups;
}

/** The SR dataset around a content tree: patient and study, the SR series, the document modules. */
function srDocument(ctx: ReportContext, content: ContainerItem, source: NaturalDataset): NaturalDataset {
  const { options, src, date, time } = ctx;
  // One SR per source image and model version, in one SR series per source series and version.
  const ds = derivedInstance({ sopClassUid: SR_SOP_CLASS[ctx.iod], kind: 'sr', modality: 'SR', source, src, options, date, time });
  ds.ReferencedPerformedProcedureStepSequence = [];
  // General Equipment
  Object.assign(ds, generalEquipment(options));
  Object.assign(ds, documentGeneral(ctx));
  if (conceptsIn(content).some((c) => c.scheme === PRIVATE_SCHEME)) {
    ds.CodingSchemeIdentificationSequence = [{ ...PRIVATE_SCHEME_IDENTIFICATION }];
  }
  // SR Document Content: the root content item's attributes sit in the dataset itself.
  Object.assign(ds, content.toDataset());
  return withCharacterSet(source, ds);
}

/** SR Document General module (less the content): flags, evidence, contributing equipment. */
function documentGeneral(ctx: ReportContext): NaturalDataset {
  const { options, src, date, time } = ctx;
  return {
    InstanceNumber: options.instanceNumber ?? 1,
    CompletionFlag: 'COMPLETE',
    VerificationFlag: 'UNVERIFIED',
    ContentDate: date,
    ContentTime: time,
    PerformedProcedureCodeSequence: [],
    CurrentRequestedProcedureEvidenceSequence: [{
      StudyInstanceUID: src.studyInstanceUid,
      ReferencedSeriesSequence: [{
        SeriesInstanceUID: src.seriesInstanceUid,
        ReferencedSOPSequence: [{ ReferencedSOPClassUID: src.sopClassUid, ReferencedSOPInstanceUID: src.sopInstanceUid }],
      }],
    }],
    // The algorithm as contributing equipment: CID 7005 has no "Processing Algorithm";
    // (109102, DCM, "Processing Equipment") is the purpose for equipment that processed the source.
    ContributingEquipmentSequence: contributingEquipment(options, `${date}${time}`),
  };
}

// ---------------------------------------------------------------------------------------
// Reading our own SR back

export interface SrJoint {
  trackingIdentifier: string;
  trackingUid: string;
  laterality: Laterality;
  site: JointSite;
  /** The Finding Site code written for this joint */
  findingSite: CodedConcept;
  /** [x0, y0, x1, y1], recovered from float32 Graphic Data (see {@link fromFloat32}) */
  box: [number, number, number, number];
  confidence: number;
  jsn?: GradeResult;
  erosion?: GradeResult;
  kl?: GradeResult;
  severity: { ra?: SeverityClass; oa?: SeverityClass };
  /** the code meaning of the reason, where the joint was not graded */
  notGraded?: string;
}

export interface SrHandSummary extends HandSummary {
  laterality: Laterality;
  counts: { ra: Record<SeverityClass, number>; oa: Record<SeverityClass, number> };
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
    if (!region) continue; // a TID 1501 hand summary
    const { id, uid } = trackingOf(group);
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
    const ra = childrenNamed(group, PRIVATE.RaSeverityClass)[0];
    const oa = childrenNamed(group, PRIVATE.OaSeverityClass)[0];
    if (ra) joint.severity.ra = severityFromCode(CodedConcept.fromItem(seq(ra.ConceptCodeSequence)[0]));
    if (oa) joint.severity.oa = severityFromCode(CodedConcept.fromItem(seq(oa.ConceptCodeSequence)[0]));
    const skipped = childrenNamed(group, PRIVATE.JointNotGraded)[0];
    if (skipped) joint.notGraded = CodedConcept.fromItem(seq(skipped.ConceptCodeSequence)[0]).meaning;
    out.push(joint);
  }
  return out;
}

/** Parses the per-hand summary groups (TID 1501). */
export function readSrHandSummaries(dataset: NaturalDataset): SrHandSummary[] {
  const out: SrHandSummary[] = [];
  for (const group of measurementGroups(dataset)) {
    if (childrenNamed(group, DCM.ImageRegion).length > 0) continue;
    const { id } = trackingOf(group);
    const m = /^([LR])-HAND$/.exec(id);
    if (!m) continue;
    const num = (name: CodedConcept) => {
      const item = childrenNamed(group, name)[0];
      if (!item) throw new SrBuildError(`${id}: missing ${name.toString()}`);
      return numValue(item, id);
    };
    const counts = (score: 'RA' | 'OA') => ({
      healthy: num(countCode(score, 'healthy')),
      mild: num(countCode(score, 'mild')),
      severe: num(countCode(score, 'severe')),
    });
    const pat = childrenNamed(group, PRIVATE.Pattern)[0];
    if (!pat) throw new SrBuildError(`${id}: missing pattern`);
    out.push({
      laterality: m[1] as Laterality,
      svhJsn: num(PRIVATE.SvhJsnTotal),
      svhErosion: num(PRIVATE.SvhErosionTotal),
      klSum: num(PRIVATE.KlSum),
      pattern: patternFromCode(CodedConcept.fromItem(seq(pat.ConceptCodeSequence)[0])),
      counts: { ra: counts('RA'), oa: counts('OA') },
    });
  }
  return out;
}
