import { notGradedText, sitesNotFound, type HandAnalysis } from '../../analysis/hand-analysis.js';
import { handSizeAt, spacingText } from '../spacing-text.js';
import { HAND_NAMES, trackingId } from '../../analysis/joints.js';
import { markerCheck } from '../../analysis/laterality.js';
import type { NaturalDataset } from '../../dicom/part10.js';
import { derivedUid } from '../../dicom/uid.js';
import {
  checkReportOptions, contributingEquipment, derivedInstance, dicomDateTime, generalEquipment, resultUidVersion, sourceIdentity,
  withCharacterSet, type ReportOptions, type SourceIdentity,
} from '../common.js';
import {
  CodedConcept, ContainerItem, ContentItem, SrBuildError, TextItem, checkTree, conceptsIn, imagesIn, type ImageReference,
  type SrIod,
} from './content-items.js';
import { handFindings } from '../findings.js';
import { DCM, PRIVATE_SCHEME, PRIVATE_SCHEME_IDENTIFICATION, SCT } from './codes.js';
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
    trackingUid: (id) => derivedUid([sopInstanceUid, resultUidVersion(version), 'sr', 'tracking', id], options.uidRoot),
  };
  const summaries = analysis.hands.map((hand) => new TextItem(DCM.Summary, handFindings(hand), { relationship: 'CONTAINS' }));
  const content = reportContent(ctx, handGroups(analysis, groupCtx), [...summaries, ...readingNotes(analysis)]);
  return srDocument(ctx, content, source);
}

/** Why the header's spacing was not used: it had none, or one that would make the hand far larger or smaller than an adult's. */
function headerSpacingText(inHeader: [number, number] | undefined, estimated: [number, number]): string {
  if (!inHeader) return "the image's header had none.";
  return `the header's ${spacingText(inHeader)} would make this hand ${handSizeAt(inHeader, estimated)}, so it was set aside.`;
}

/**
 * How the image was read where that differs from what its header says, as Comments beside
 * the notice: a reader checking a grade should know the scale it was made at.
 */
export function readingNotes(analysis: HandAnalysis): TextItem[] {
  const notes: string[] = [];
  const { pixelSpacingFrom, pixelSpacingMm, pixelSpacingMeasuredOn, pixelSpacingInHeaderMm, turnedDeg, readAsNegative } = analysis.source;
  if (pixelSpacingFrom === 'estimated' && pixelSpacingMm) {
    const measured = pixelSpacingMeasuredOn === 'wrist'
      ? "the distances between the wrist's joints (a wrist-only view: less sure than bone lengths of a whole hand)"
      : "the hand's bone lengths";
    notes.push(`Pixel spacing estimated from ${measured}: ${spacingText(pixelSpacingMm)}; ${headerSpacingText(pixelSpacingInHeaderMm, pixelSpacingMm)} Joints were graded at this scale.`);
  }
  if (pixelSpacingFrom === 'default') notes.push('No pixel spacing in the header and too little of the hand to measure it: joints were graded at an assumed 0.15 mm.');
  if (readAsNegative) {
    notes.push(
      'Read as a negative: nothing was found on the image as its Photometric Interpretation (0028,0004) shows it, and the hand was found with black and white exchanged. The modality may send MONOCHROME1 pixels labelled MONOCHROME2 (or the reverse); check the image as displayed.',
    );
  }
  if (turnedDeg) notes.push(`The hand lay turned: found after turning the image ${turnedDeg} degrees clockwise. Regions are in the image as stored.`);
  const marker = markerCheck(analysis);
  if (marker) notes.push(marker.agrees ? marker.text : `Laterality check: ${marker.text}`);
  for (const hand of analysis.hands) {
    if (hand.view?.kind === 'PA') {
      notes.push(
        `${HAND_NAMES[hand.laterality]} read as a PA view: its joints lie as in a PA view (layout residual ${hand.view.layoutResidual.toFixed(2)}; oblique and lateral views, above ${hand.view.maxResidual}, are not graded).`,
      );
    } else if (hand.view?.kind === 'PA-partial' && hand.view.namedBy) {
      notes.push(
        `${HAND_NAMES[hand.laterality]} read as a finger film: which finger, and whose, as ${hand.view.namedBy} names them (a finger alone does not show it); its ${hand.joints.map((j) => j.site).join(', ')} found in line along the finger (layout residual ${hand.view.layoutResidual.toFixed(2)}, at most ${hand.view.maxResidual}). The other joints of the hand are not in view, so not graded. Totals cover the joints in view only.`,
      );
    } else if (hand.view?.kind === 'PA-partial') {
      const off = hand.view.notInView ?? [];
      notes.push(
        `${HAND_NAMES[hand.laterality]} read as a partial PA view (a wrist-only or finger-only film, or a hand cut by the film's edge): the ${hand.joints.length} joints found lie as in a PA hand (layout residual ${hand.view.layoutResidual.toFixed(2)}, at most ${hand.view.maxResidual}); not in view, so not graded: ${off.map((site) => trackingId(hand.laterality, site)).join(', ')}. Totals cover the joints in view only.`,
      );
    }
    const missing = sitesNotFound(hand);
    if (missing.length) {
      notes.push(`Not found on the ${HAND_NAMES[hand.laterality].toLowerCase()}, so not scored: ${missing.map((site) => trackingId(hand.laterality, site)).join(', ')}. Totals cover the joints found.`);
    }
    const skipped = hand.joints.filter((j) => j.notGraded);
    if (skipped.length === 0) continue;
    const list = skipped.map((j) => `${trackingId(hand.laterality, j.site)} (${j.notGraded!.reason})`).join('; ');
    notes.push(`${skipped.length} of ${hand.joints.length} joints found on the ${HAND_NAMES[hand.laterality].toLowerCase()} were not graded: ${list}.`);
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

/** One TID 1410 group per joint, then one TID 1410 summary per hand (over its joints' box); tracking identifiers unique. */
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
