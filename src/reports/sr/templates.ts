import type { GradeResult, HandResult, JointNotGradedCause, JointResult, SeverityClass } from '../../analysis/hand-analysis.js';
import { JSW_SITES, MAX_GRADE, scoresFor, trackingId, type Score } from '../../analysis/joints.js';
import { SEVERITY_CLASSES, erosionClass, severityCounts } from '../../analysis/severity.js';
import {
  CodeItem, CodedConcept, ContainerItem, ContentItem, ImageItem, NumItem, ScoordItem, SrBuildError, TextItem,
  UidRefItem, type ImageReference, type RelationshipType,
} from './content-items.js';
import {
  DCM, EQUIVALENT_MEANING, LANGUAGE_EN_US, PRIVATE, PRIVATE_SCHEME, SCT, SITE_CODES, UCUM, UMLS, countCode,
  gradeProbability, lateralityCode, patternCode, severityCode,
} from './codes.js';

/**
 * The PS3.16 templates the report is made of, as functions that return content items and
 * check what the template requires. Row numbers refer to PS3.16 (2024 editions).
 */

// ---------------------------------------------------------------------------------------
// Small templates

/** TID 1204 Language of Content Item and Descendants. */
export function languageOfContent(language: CodedConcept = LANGUAGE_EN_US): CodeItem {
  if (language.scheme !== 'RFC5646') {
    throw new SrBuildError(`TID 1204: language must be an RFC5646 code (CID 5000), got ${language.toString()}`);
  }
  return new CodeItem(DCM.LanguageOfContentItemAndDescendants, language, { relationship: 'HAS CONCEPT MOD' });
}

export interface DeviceObserver {
  /** Device Observer UID (121012), required by TID 1004 */
  uid: string;
  name?: string;
  manufacturer?: string;
  modelName?: string;
}

/** TID 1001 Observation Context with observer type Device and TID 1004 device attributes. */
export function deviceObserverContext(device: DeviceObserver): ContentItem[] {
  if (!device?.uid) throw new SrBuildError('TID 1004: Device Observer UID (121012) is required');
  const rel: RelationshipType = 'HAS OBS CONTEXT';
  const items: ContentItem[] = [
    new CodeItem(DCM.ObserverType, DCM.Device, { relationship: rel }),
    new UidRefItem(DCM.DeviceObserverUID, device.uid, { relationship: rel }),
  ];
  if (device.name) items.push(new TextItem(DCM.DeviceObserverName, device.name, { relationship: rel }));
  if (device.manufacturer) items.push(new TextItem(DCM.DeviceObserverManufacturer, device.manufacturer, { relationship: rel }));
  if (device.modelName) items.push(new TextItem(DCM.DeviceObserverModelName, device.modelName, { relationship: rel }));
  return items;
}

/** TID 4019 Algorithm Identification (as included by TID 1410/1501: HAS CONCEPT MOD). */
export function algorithmIdentification(name: string, version: string): TextItem[] {
  if (!name) throw new SrBuildError('TID 4019: Algorithm Name (111001) is required');
  if (!version) throw new SrBuildError('TID 4019: Algorithm Version (111003) is required');
  return [
    new TextItem(DCM.AlgorithmName, name, { relationship: 'HAS CONCEPT MOD' }),
    new TextItem(DCM.AlgorithmVersion, version, { relationship: 'HAS CONCEPT MOD' }),
  ];
}

/** TID 4108 Tracking Identifier: a human-readable identifier and a UID, both required here. */
export function trackingIdentifiers(identifier: string, uid: string): [TextItem, UidRefItem] {
  return [
    new TextItem(DCM.TrackingIdentifier, identifier, { relationship: 'HAS OBS CONTEXT' }),
    new UidRefItem(DCM.TrackingUniqueIdentifier, uid, { relationship: 'HAS OBS CONTEXT' }),
  ];
}

/** Finding Site (363698007) with Laterality (272741003) as its concept modifier. */
export function findingSite(site: CodedConcept, laterality?: CodedConcept): CodeItem {
  if (site.scheme !== 'SCT') throw new SrBuildError(`Finding Site must be a SNOMED CT code, got ${site.toString()}`);
  if (laterality && !(SCT.Left.equals(laterality) || SCT.Right.equals(laterality))) {
    throw new SrBuildError(`Laterality must be (7771000, SCT, Left) or (24028007, SCT, Right), got ${laterality.toString()}`);
  }
  const children = laterality ? [new CodeItem(SCT.Laterality, laterality, { relationship: 'HAS CONCEPT MOD' })] : [];
  return new CodeItem(SCT.FindingSite, site, { relationship: 'HAS CONCEPT MOD', children });
}

/** The 121050 child that every private concept name carries. */
function equivalentMeaning(name: CodedConcept): TextItem[] {
  if (name.scheme !== PRIVATE_SCHEME) return [];
  const text = EQUIVALENT_MEANING[name.value];
  if (!text) throw new SrBuildError(`private code ${name.toString()} has no Equivalent Meaning of Concept Name`);
  return [new TextItem(DCM.EquivalentMeaningOfConceptName, text, { relationship: 'HAS CONCEPT MOD' })];
}

/** TID 300-style measurement: NUM, CONTAINS, with the equivalent meaning of a private name. */
export function measurement(name: CodedConcept, value: number, unit: CodedConcept, properties: ContentItem[] = []): NumItem {
  return new NumItem(name, value, unit, { relationship: 'CONTAINS', children: [...equivalentMeaning(name), ...properties] });
}

/** Qualitative evaluation (TID 1410/1501 row "CONTAINS CODE"). */
export function qualitativeEvaluation(name: CodedConcept, value: CodedConcept): CodeItem {
  return new CodeItem(name, value, { relationship: 'CONTAINS', children: equivalentMeaning(name) });
}

export interface LibraryImage {
  ref: ImageReference;
  modality?: CodedConcept;
}

/** TID 1600 Image Library: one Image Library Group holding the source image(s). */
export function imageLibrary(images: LibraryImage[]): ContainerItem {
  if (images.length === 0) throw new SrBuildError('TID 1600: the Image Library needs at least one image');
  const entries = images.map(
    (img) =>
      new ImageItem(undefined, img.ref, {
        relationship: 'CONTAINS',
        children: img.modality ? [new CodeItem(DCM.Modality, img.modality, { relationship: 'HAS ACQ CONTEXT' })] : [],
      }),
  );
  const group = new ContainerItem(DCM.ImageLibraryGroup, { relationship: 'CONTAINS', children: entries });
  return new ContainerItem(DCM.ImageLibrary, { relationship: 'CONTAINS', children: [group] });
}

/** A box [x0, y0, x1, y1] as a closed POLYLINE (5 points) Image Region, SELECTED FROM the source. */
export function imageRegionBox(box: readonly [number, number, number, number], source: ImageReference): ScoordItem {
  if (!Array.isArray(box) || box.length !== 4 || !box.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new SrBuildError(`Image Region: box must be 4 finite numbers [x0, y0, x1, y1], got ${JSON.stringify(box)}`);
  }
  const [x0, y0, x1, y1] = box;
  if (!(x1 > x0 && y1 > y0)) throw new SrBuildError(`Image Region: box ${JSON.stringify(box)} has x1 <= x0 or y1 <= y0`);
  return new ScoordItem(
    DCM.ImageRegion,
    'POLYLINE',
    [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]],
    { relationship: 'CONTAINS', children: [new ImageItem(undefined, source, { relationship: 'SELECTED FROM' })] },
  );
}

// ---------------------------------------------------------------------------------------
// Measurement groups

export interface MeasurementGroupSpec {
  /** 1410 Planar ROI Measurements (needs an image region) or 1501 Measurement and Qualitative Evaluation Group */
  template: '1410' | '1501';
  trackingIdentifier: string;
  trackingUid: string;
  findingSites?: CodeItem[];
  algorithm?: TextItem[];
  imageRegion?: ScoordItem;
  measurements?: NumItem[];
  evaluations?: CodeItem[];
}

/** TID 1410 / TID 1501 Measurement Group (125007). */
export function measurementGroup(spec: MeasurementGroupSpec): ContainerItem {
  const where = `Measurement Group "${spec.trackingIdentifier}" (TID ${spec.template})`;
  if (spec.template === '1410') {
    if (!spec.imageRegion) throw new SrBuildError(`${where}: an Image Region (111030) SCOORD is required`);
    if (!(spec.imageRegion instanceof ScoordItem) || !DCM.ImageRegion.equals(spec.imageRegion.name)) {
      throw new SrBuildError(`${where}: the image region must be a SCOORD named ${DCM.ImageRegion.toString()}`);
    }
  } else if (spec.imageRegion) {
    throw new SrBuildError(`${where}: TID 1501 has no image region; use TID 1410`);
  }
  const measurements = spec.measurements ?? [];
  const evaluations = spec.evaluations ?? [];
  if (measurements.length + evaluations.length === 0) {
    throw new SrBuildError(`${where}: needs at least one measurement or qualitative evaluation`);
  }
  const seen = new Set<string>();
  for (const item of [...measurements, ...evaluations]) {
    const key = `${item.name!.scheme}:${item.name!.value}`;
    if (seen.has(key)) throw new SrBuildError(`${where}: ${item.describe()} appears twice`);
    seen.add(key);
    if (item.relationship !== 'CONTAINS') throw new SrBuildError(`${where}: ${item.describe()} must be CONTAINS`);
  }
  for (const fs of spec.findingSites ?? []) {
    if (!SCT.FindingSite.equals(fs.name)) throw new SrBuildError(`${where}: ${fs.describe()} is not a Finding Site`);
  }
  for (const a of spec.algorithm ?? []) {
    if (!DCM.AlgorithmName.equals(a.name) && !DCM.AlgorithmVersion.equals(a.name)) {
      throw new SrBuildError(`${where}: ${a.describe()} is not a TID 4019 item`);
    }
  }
  const children: ContentItem[] = [
    ...trackingIdentifiers(spec.trackingIdentifier, spec.trackingUid),
    ...(spec.findingSites ?? []),
    ...(spec.algorithm ?? []),
    ...(spec.imageRegion ? [spec.imageRegion] : []),
    ...measurements,
    ...evaluations,
  ];
  return new ContainerItem(DCM.MeasurementGroup, {
    relationship: 'CONTAINS',
    template: { templateIdentifier: spec.template },
    children,
  });
}

// ---------------------------------------------------------------------------------------
// TID 1500

export interface MeasurementReportSpec {
  language?: CodedConcept;
  observerContext: ContentItem[];
  procedureReported: CodedConcept[];
  imageLibrary?: ContainerItem;
  /** Measurement Groups for the (126010, DCM, "Imaging Measurements") container; none: no container */
  groups: ContainerItem[];
  /** TEXT / CODE items for the (C0034375, UMLS, "Qualitative Evaluations") container */
  qualitativeEvaluations?: ContentItem[];
}

/**
 * TID 1500 Measurement Report root container. At least one of Imaging Measurements (with
 * its groups) and Qualitative Evaluations must be there (as DCMTK's
 * TID1500_MeasurementReport::isValid checks); an empty container is never written.
 */
export function measurementReport(spec: MeasurementReportSpec): ContainerItem {
  const where = 'TID 1500 Measurement Report';
  if (!spec.observerContext.some((i) => DCM.ObserverType.equals(i.name))) {
    throw new SrBuildError(`${where}: the observation context needs an Observer Type (121005) item`);
  }
  if (spec.procedureReported.length === 0) throw new SrBuildError(`${where}: Procedure reported (121058) is required (1-n)`);
  const evaluations = spec.qualitativeEvaluations ?? [];
  if (spec.groups.length === 0 && evaluations.length === 0) {
    throw new SrBuildError(`${where}: needs at least one Measurement Group (Imaging Measurements) or Qualitative Evaluation`);
  }
  for (const g of spec.groups) {
    if (!(g instanceof ContainerItem) || !DCM.MeasurementGroup.equals(g.name)) {
      throw new SrBuildError(`${where}: ${g.describe()} is not a Measurement Group (125007) container`);
    }
  }
  for (const e of evaluations) {
    if (!(e instanceof CodeItem || e instanceof TextItem) || e.relationship !== 'CONTAINS') {
      throw new SrBuildError(`${where}: Qualitative Evaluations holds CONTAINS CODE or TEXT items only, got ${e.describe()}`);
    }
  }
  if (spec.imageLibrary && !DCM.ImageLibrary.equals(spec.imageLibrary.name)) {
    throw new SrBuildError(`${where}: ${spec.imageLibrary.describe()} is not an Image Library (111028)`);
  }
  const children: ContentItem[] = [
    languageOfContent(spec.language),
    ...spec.observerContext,
    ...spec.procedureReported.map((p) => new CodeItem(DCM.ProcedureReported, p, { relationship: 'HAS CONCEPT MOD' })),
    ...(spec.imageLibrary ? [spec.imageLibrary] : []),
  ];
  if (spec.groups.length > 0) {
    children.push(new ContainerItem(DCM.ImagingMeasurements, { relationship: 'CONTAINS', children: spec.groups }));
  }
  if (evaluations.length > 0) {
    children.push(new ContainerItem(UMLS.QualitativeEvaluations, { relationship: 'CONTAINS', children: evaluations }));
  }
  return new ContainerItem(DCM.ImagingMeasurementReport, {
    template: { templateIdentifier: '1500' },
    children,
  });
}

/**
 * The finding of a report on an image without a hand, for the root Qualitative Evaluations:
 * CODE (121071, DCM, "Finding") = (JS-NO-HAND, 99JSCORE, "No hand found"), with the
 * algorithm that looked (TID 4019) as its concept modifiers.
 */
export function noHandFinding(algorithmName: string, algorithmVersion: string, notGraded = false): CodeItem {
  return new CodeItem(DCM.Finding, notGraded ? PRIVATE.HandNotGraded : PRIVATE.NoHandFound, {
    relationship: 'CONTAINS',
    children: algorithmIdentification(algorithmName, algorithmVersion),
  });
}

// ---------------------------------------------------------------------------------------
// jointscore's groups: one per joint, one summary per hand

const GRADE_CODES: Record<Score, CodedConcept> = {
  jsn: PRIVATE.SvhJsnGrade,
  erosion: PRIVATE.SvhErosionGrade,
  kl: PRIVATE.KlGrade,
};

function gradeMeasurement(score: Score, g: GradeResult, where: string): NumItem {
  const max = MAX_GRADE[score];
  if (!g || !Number.isInteger(g.grade) || g.grade < 0 || g.grade > max) {
    throw new SrBuildError(`${where}: ${score} grade must be an integer 0..${max}, got ${JSON.stringify(g?.grade)}`);
  }
  const probs = g.probabilities ?? [];
  if (probs.length !== 0 && probs.length !== max + 1) {
    throw new SrBuildError(`${where}: ${score} needs ${max + 1} probabilities (one per grade), got ${probs.length}`);
  }
  if (!probs.every((q) => typeof q === 'number' && q >= 0 && q <= 1)) {
    throw new SrBuildError(`${where}: ${score} probabilities must be numbers in [0, 1]`);
  }
  const props = probs.map((q, k) =>
    new NumItem(gradeProbability(k), q, UCUM.Ratio, {
      relationship: 'HAS PROPERTIES',
      children: equivalentMeaning(gradeProbability(k)),
    }),
  );
  return measurement(GRADE_CODES[score], g.grade, UCUM.Grade, props);
}

export interface GroupContext {
  source: ImageReference;
  algorithmName: string;
  algorithmVersion: string;
  /** UID for a tracking identifier, deterministic in the caller's inputs */
  trackingUid: (trackingIdentifier: string) => string;
}

const NOT_GRADED_CODES: Record<JointNotGradedCause, CodedConcept> = {
  'out-of-view': PRIVATE.OutOfView,
  exposure: PRIVATE.NoContrast,
  metal: PRIVATE.MetalOverJoint,
  overlapped: PRIVATE.Overlapped,
  uncertain: PRIVATE.UncertainDetection,
  resolution: PRIVATE.CoarseFilm,
};

function widthMeasurement(joint: JointResult, where: string): NumItem {
  if (!JSW_SITES.includes(joint.site)) throw new SrBuildError(`${where}: joint space width is measured at the finger joints only (${JSW_SITES.join(', ')})`);
  if (!(joint.jswMm! >= 0 && Number.isFinite(joint.jswMm))) throw new SrBuildError(`${where}: joint space width must be a number of mm, 0 or more, got ${joint.jswMm}`);
  return measurement(PRIVATE.JointSpaceWidth, joint.jswMm!, UCUM.Millimeter);
}

/** TID 1410 group for one joint: its grades, or why it was not graded. */
export function jointGroup(laterality: 'L' | 'R', joint: JointResult, ctx: GroupContext): ContainerItem {
  const id = trackingId(laterality, joint.site);
  const where = `joint ${id}`;
  const site = SITE_CODES[joint.site];
  if (!site) throw new SrBuildError(`${where}: unknown joint site "${joint.site}"`);
  const allowed = scoresFor(joint.site);
  const measurements: NumItem[] = [];
  for (const score of ['jsn', 'erosion', 'kl'] as const) {
    const g = joint[score];
    if (!g) continue;
    if (!allowed.includes(score)) {
      throw new SrBuildError(`${where}: ${score} is not scored at ${joint.site} (docs/design.md joint vocabulary)`);
    }
    measurements.push(gradeMeasurement(score, g, where));
  }
  if (!(joint.confidence >= 0 && joint.confidence <= 1)) {
    throw new SrBuildError(`${where}: confidence must be in [0, 1], got ${joint.confidence}`);
  }
  measurements.push(measurement(PRIVATE.DetectionConfidence, joint.confidence, UCUM.Ratio));
  if (joint.jswMm !== undefined) measurements.push(widthMeasurement(joint, where));
  const evaluations: CodeItem[] = [];
  if (joint.notGraded) {
    if (joint.jsn || joint.erosion || joint.kl || joint.jswMm !== undefined) throw new SrBuildError(`${where}: a joint not graded carries no grades and no width`);
    const why = NOT_GRADED_CODES[joint.notGraded.cause];
    if (!why) throw new SrBuildError(`${where}: unknown reason a joint is not graded: ${JSON.stringify(joint.notGraded.cause)}`);
    evaluations.push(qualitativeEvaluation(PRIVATE.JointNotGraded, why));
  }
  const sev = joint.severity ?? {};
  if (sev.ra) evaluations.push(qualitativeEvaluation(PRIVATE.RaSeverityClass, severityCode(sev.ra)));
  const erosion = erosionClass(joint);
  if (erosion) evaluations.push(qualitativeEvaluation(PRIVATE.ErosionClass, severityCode(erosion)));
  if (sev.oa) evaluations.push(qualitativeEvaluation(PRIVATE.OaSeverityClass, severityCode(sev.oa)));
  return measurementGroup({
    template: '1410',
    trackingIdentifier: id,
    trackingUid: ctx.trackingUid(id),
    findingSites: [findingSite(site.code, lateralityCode(laterality))],
    algorithm: algorithmIdentification(ctx.algorithmName, ctx.algorithmVersion),
    imageRegion: imageRegionBox(joint.box, ctx.source),
    measurements,
    evaluations,
  });
}

/** Tracking identifier of a hand's summary group. */
export const handTrackingId = (laterality: 'L' | 'R') => `${laterality}-HAND`;

/** The box [x0, y0, x1, y1] around all of a hand's joint boxes (the hand summary's Image Region). */
export function handBox(hand: HandResult): [number, number, number, number] {
  if (hand.joints.length === 0) throw new SrBuildError(`hand ${hand.laterality}: no joints, so no region for its summary`);
  const boxes = hand.joints.map((j) => j.box);
  return [
    Math.min(...boxes.map((b) => b[0])),
    Math.min(...boxes.map((b) => b[1])),
    Math.max(...boxes.map((b) => b[2])),
    Math.max(...boxes.map((b) => b[3])),
  ];
}

/**
 * TID 1410 group for one hand's totals, counts by severity class and pattern, over the box
 * around the hand's joints. (A TID 1501 group, without an Image Region, would be as valid;
 * but OHIF 3.13 stops loading an SR at the first Measurement Group without a SCOORD, and
 * then draws none of the joints: docs/viewer/README.md.)
 */
export function handSummaryGroup(hand: HandResult, ctx: GroupContext): ContainerItem {
  const id = handTrackingId(hand.laterality);
  const s = hand.summary;
  const counts = severityCounts(hand.joints);
  // a hand none of whose joints is graded carries why instead of totals and a pattern (the counts, all 0, stay true)
  const measurements: NumItem[] = 'notGraded' in s
    ? []
    : [
        measurement(PRIVATE.SvhJsnTotal, s.svhJsn, UCUM.Score),
        measurement(PRIVATE.SvhErosionTotal, s.svhErosion, UCUM.Score),
        measurement(PRIVATE.KlSum, s.klSum, UCUM.Score),
      ];
  for (const [key, label] of [['ra', 'RA'], ['erosion', 'ERO'], ['oa', 'OA']] as const) {
    for (const cls of SEVERITY_CLASSES) measurements.push(measurement(countCode(label, cls), counts[key][cls], UCUM.Joints));
  }
  return measurementGroup({
    template: '1410',
    trackingIdentifier: id,
    trackingUid: ctx.trackingUid(id),
    findingSites: [findingSite(SCT.Hand, lateralityCode(hand.laterality))],
    algorithm: algorithmIdentification(ctx.algorithmName, ctx.algorithmVersion),
    imageRegion: imageRegionBox(handBox(hand), ctx.source),
    measurements,
    evaluations: 'notGraded' in s
      ? s.notGraded.map((cause) => qualitativeEvaluation(PRIVATE.JointNotGraded, NOT_GRADED_CODES[cause]))
      : [qualitativeEvaluation(PRIVATE.Pattern, patternCode(s.pattern))],
  });
}
