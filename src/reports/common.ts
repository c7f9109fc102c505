import type { HandAnalysis } from '../analysis/hand-analysis.js';
import type { NaturalDataset } from '../dicom/part10.js';
import { derivedUid, isValidUid } from '../dicom/uid.js';
import { VERSION } from '../version.js';
import { JointscoreError } from '../errors.js';

/**
 * What every result object (SR, Secondary Capture, Presentation State) shares: the options
 * shape, the Patient / Study attributes copied from the source, the source's identity,
 * date-times, the character set, and the equipment that made it (docs/design.md "DICOM results").
 */

/** Thrown when a result object cannot be built from its inputs (each writer subclasses it). */
export class ReportBuildError extends JointscoreError {
  readonly kind = 'output' as const;
  constructor(message: string) {
    super(message);
    this.name = 'ReportBuildError';
  }
}

type ErrorClass = new (message: string) => Error;

/** Options common to every result object. */
export interface ReportOptions {
  seriesNumber: number;
  seriesDescription: string;
  instanceNumber?: number;
  /** UID root of the site; UIDs are 2.25.<uuid> when absent */
  uidRoot?: string;
  manufacturer: string;
  deviceName: string;
  algorithmName: string;
  algorithmVersion: string;
  /** Content / instance creation date-time; now when absent (pass it for byte-identical re-runs) */
  contentDateTime?: Date;
}

/** Checks the fields of {@link ReportOptions}; `what` names the writer in messages ("SR", "SC"). */
export function checkReportOptions(options: ReportOptions, what: string, error: ErrorClass = ReportBuildError): void {
  for (const k of ['manufacturer', 'deviceName', 'algorithmName', 'algorithmVersion', 'seriesDescription'] as const) {
    if (typeof options[k] !== 'string' || options[k].trim() === '') throw new error(`${what} options: ${k} is required`);
  }
  // LO: at most 64 characters (dcmjs would write a longer value and dciodvfy reject it)
  for (const k of ['manufacturer', 'deviceName', 'algorithmName', 'algorithmVersion', 'seriesDescription'] as const) {
    if (options[k].length > 64) throw new error(`${what} options: ${k} is longer than 64 characters (LO)`);
  }
  if (!Number.isInteger(options.seriesNumber)) throw new error(`${what} options: seriesNumber must be an integer`);
  if (options.instanceNumber !== undefined && !Number.isInteger(options.instanceNumber)) {
    throw new error(`${what} options: instanceNumber must be an integer`);
  }
}

/** Patient (C.7.1.1), General Study (C.7.2.1) and Patient Study (C.7.2.2) attributes copied from the source. */
export const PATIENT_TYPE2 = ['PatientName', 'PatientID', 'PatientBirthDate', 'PatientSex'];
export const PATIENT_OPTIONAL = [
  'IssuerOfPatientID', 'IssuerOfPatientIDQualifiersSequence', 'TypeOfPatientID', 'PatientBirthTime',
  'QualityControlSubject', 'OtherPatientIDsSequence', 'PatientComments', 'PatientSpeciesDescription',
  'PatientSpeciesCodeSequence', 'PatientBreedDescription', 'PatientBreedCodeSequence', 'BreedRegistrationSequence',
  'ResponsiblePerson', 'ResponsiblePersonRole', 'ResponsibleOrganization', 'PatientIdentityRemoved',
  'DeidentificationMethod', 'DeidentificationMethodCodeSequence', 'ReferencedPatientSequence',
  'PatientBirthDateInAlternativeCalendar', 'PatientDeathDateInAlternativeCalendar', 'PatientAlternativeCalendar',
];
export const STUDY_TYPE2 = ['StudyDate', 'StudyTime', 'ReferringPhysicianName', 'StudyID', 'AccessionNumber'];
export const STUDY_OPTIONAL = [
  'IssuerOfAccessionNumberSequence', 'StudyDescription', 'ReferringPhysicianIdentificationSequence',
  'ConsultingPhysicianName', 'ConsultingPhysicianIdentificationSequence', 'PhysiciansOfRecord',
  'PhysiciansOfRecordIdentificationSequence', 'NameOfPhysiciansReadingStudy',
  'PhysiciansReadingStudyIdentificationSequence', 'RequestingServiceCodeSequence', 'ReferencedStudySequence',
  'ProcedureCodeSequence', 'ReasonForPerformedProcedureCodeSequence',
  // Patient Study module (U)
  'AdmittingDiagnosesDescription', 'PatientAge', 'PatientSize', 'PatientWeight',
];

/**
 * Copies the Patient, General Study and Patient Study modules from the source into `ds`
 * (type 2 attributes empty when the source lacks them), with the given Study Instance UID.
 * Values are copied as they are: the result must file into the source's patient and study.
 */
export function copyPatientAndStudy(source: NaturalDataset, ds: NaturalDataset, studyInstanceUid: string): void {
  for (const k of PATIENT_TYPE2) ds[k] = source[k] ?? '';
  for (const k of PATIENT_OPTIONAL) if (source[k] !== undefined) ds[k] = source[k];
  ds.StudyInstanceUID = studyInstanceUid;
  for (const k of STUDY_TYPE2) ds[k] = source[k] ?? '';
  for (const k of STUDY_OPTIONAL) if (source[k] !== undefined) ds[k] = source[k];
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** Local date and time as DA / TM (what modalities write; no Timezone Offset From UTC is set). */
export function dicomDateTime(d: Date, error: ErrorClass = ReportBuildError): { date: string; time: string } {
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) throw new error('contentDateTime is not a valid Date');
  return {
    date: `${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}`,
    time: `${pad(d.getHours())}${pad(d.getMinutes())}${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`,
  };
}

export function requireUid(source: NaturalDataset, keyword: string, why: string, error: ErrorClass = ReportBuildError): string {
  const v = source[keyword];
  if (typeof v !== 'string' || !isValidUid(v)) {
    throw new error(`source image: ${keyword} is ${v === undefined ? 'missing' : `"${v}", not a valid UID`}; ${why}`);
  }
  return v;
}

/** The identity of the analysed source image. */
export interface SourceIdentity {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  sopClassUid: string;
}

/**
 * The source's UIDs, checked: all present and valid, and the analysis is of this image.
 * `what` names the result object in messages ("the SC").
 */
export function sourceIdentity(
  analysis: HandAnalysis,
  source: NaturalDataset,
  what: string,
  error: ErrorClass = ReportBuildError,
): SourceIdentity {
  const id: SourceIdentity = {
    studyInstanceUid: requireUid(source, 'StudyInstanceUID', `${what} must go into the source study`, error),
    seriesInstanceUid: requireUid(source, 'SeriesInstanceUID', `${what} must reference the source series`, error),
    sopInstanceUid: requireUid(source, 'SOPInstanceUID', `${what} must reference the image it reports on`, error),
    sopClassUid: requireUid(source, 'SOPClassUID', `${what} must reference the image it reports on`, error),
  };
  if (analysis.source.sopInstanceUID !== id.sopInstanceUid) {
    throw new error(
      `the analysis is of image ${analysis.source.sopInstanceUID} but the source dataset is ${id.sopInstanceUid}: pass the image that was analysed`,
    );
  }
  return id;
}

/** General Equipment (C.7.5.1): this program as the maker of the result object. */
export function generalEquipment(options: ReportOptions): NaturalDataset {
  return {
    Manufacturer: options.manufacturer,
    ManufacturerModelName: options.deviceName,
    SoftwareVersions: [`jointscore ${VERSION}`, `${options.algorithmName} ${options.algorithmVersion}`].map((s) => s.slice(0, 64)),
  };
}

/** (109102, DCM, "Processing Equipment"), CID 7005 (see the SR's codes.ts for why this code). */
export const PROCESSING_EQUIPMENT_ITEM: Readonly<NaturalDataset> = Object.freeze({
  CodeValue: '109102',
  CodingSchemeDesignator: 'DCM',
  CodeMeaning: 'Processing Equipment',
});

/**
 * Contributing Equipment Sequence (SOP Common, C.12.1): the algorithm that derived the
 * result, with purpose (109102, DCM, "Processing Equipment"). `dateTime` is DA + TM.
 */
export function contributingEquipment(options: ReportOptions, dateTime: string): NaturalDataset[] {
  return [{
    PurposeOfReferenceCodeSequence: [{ ...PROCESSING_EQUIPMENT_ITEM }],
    Manufacturer: options.manufacturer,
    ManufacturerModelName: options.algorithmName,
    SoftwareVersions: options.algorithmVersion,
    ContributionDateTime: dateTime,
    ContributionDescription: `Automated joint detection and arthritis grading (${options.algorithmName} ${options.algorithmVersion})`,
  }];
}

const hasNonAscii = (v: unknown): boolean => {
  if (typeof v === 'string') return /[^\x00-\x7f]/.test(v);
  if (Array.isArray(v)) return v.some(hasNonAscii);
  if (v && typeof v === 'object' && !(v instanceof ArrayBuffer) && !ArrayBuffer.isView(v)) {
    return Object.values(v).some(hasNonAscii);
  }
  return false;
};

/**
 * Specific Character Set of a result object. dcmjs decodes the source's text by its character set
 * but always encodes as UTF-8, so copying e.g. "ISO_IR 100" beside a UTF-8 "Müller" would
 * corrupt the name: when any value is non-ASCII the result declares ISO_IR 192 (UTF-8); when all
 * values are ASCII the source's declaration is copied as it is (it is then true either way).
 */
export function characterSetFor(sourceCharset: unknown, dataset: NaturalDataset): string | string[] | undefined {
  if (hasNonAscii(dataset)) return 'ISO_IR 192';
  if (sourceCharset === undefined || sourceCharset === '') return undefined;
  return sourceCharset as string | string[];
}

/** `ds` with Specific Character Set first (chosen by {@link characterSetFor}), when it needs one. */
export function withCharacterSet(source: NaturalDataset, ds: NaturalDataset): NaturalDataset {
  const charset = characterSetFor(source.SpecificCharacterSet, ds);
  return charset === undefined ? ds : { SpecificCharacterSet: charset, ...ds };
}

/**
 * General Series Laterality for a result series about a hand (a paired structure, so the
 * attribute is always present, type 2C): the source's Laterality, else its Image Laterality
 * when that is L or R (the DX IOD requires Image Laterality), else empty, meaning unknown
 * (both hands on one film, or a source that does not say). The analysis's own idea of the
 * side is not used: series metadata should restate the source, not the model.
 */
export function seriesLaterality(source: NaturalDataset): string {
  const one = (v: unknown) => (Array.isArray(v) ? v[0] : v);
  const lat = one(source.Laterality);
  if (lat === 'L' || lat === 'R') return lat;
  const img = one(source.ImageLaterality);
  if (img === 'L' || img === 'R') return img;
  return '';
}

/**
 * What result UIDs are derived from besides the source: the software's version as well as the
 * models', since a release that changes the analysis with the same models (a new rule, a new
 * step) changes the result, and an archive that keeps the first copy of a UID would never
 * show the new one. A retry by the same release keeps its UIDs and replaces what it sent.
 */
export function resultUidVersion(algorithmVersion: string, softwareVersion: string = VERSION): string {
  return `jointscore ${softwareVersion}|${algorithmVersion}`;
}

/**
 * The start every result object shares (highdicom's SOPClass and MONAI Deploy's
 * write_common_modules play this part): SOP Common, the source's patient and study, and a
 * new series per source series and release, with UIDs derived from (source UID, software and
 * model versions, kind) so that a re-run replaces what it sent before.
 */
export function derivedInstance(a: {
  sopClassUid: string;
  /** 'sr', 'sc' or 'pr': keeps the three objects' UIDs apart */
  kind: string;
  modality: string;
  source: NaturalDataset;
  src: SourceIdentity;
  options: Pick<ReportOptions, 'uidRoot' | 'algorithmVersion' | 'seriesNumber' | 'seriesDescription'>;
  date: string;
  time: string;
}): NaturalDataset {
  const { src, options, kind, date, time } = a;
  const root = options.uidRoot;
  const version = resultUidVersion(options.algorithmVersion);
  const ds: NaturalDataset = {};
  ds.SOPClassUID = a.sopClassUid;
  ds.SOPInstanceUID = derivedUid([src.sopInstanceUid, version, kind, 'instance'], root);
  ds.InstanceCreationDate = date;
  ds.InstanceCreationTime = time;
  copyPatientAndStudy(a.source, ds, src.studyInstanceUid);
  ds.Modality = a.modality;
  ds.SeriesInstanceUID = derivedUid([src.seriesInstanceUid, version, kind, 'series'], root);
  ds.SeriesNumber = options.seriesNumber;
  ds.SeriesDate = date;
  ds.SeriesTime = time;
  ds.SeriesDescription = options.seriesDescription;
  return ds;
}
