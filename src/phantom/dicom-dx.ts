import { createHash } from 'node:crypto';
import type { HandResult } from '../analysis/hand-analysis.js';
import { WRIST_SITES, type Laterality } from '../analysis/joints.js';
import { TransferSyntax, writePart10, type NaturalDataset } from '../dicom/part10.js';
import { LOSSLESS_COMPRESSED_SYNTAXES, TRANSFER_SYNTAX_NAMES, transcodeDataset } from '../dicom/transcode.js';
import { derivedUid } from '../dicom/uid.js';
import { VERSION } from '../version.js';
import type { RenderedPhantom } from './types.js';

/**
 * A rendered phantom as a DICOM Digital X-Ray Image Storage - For Presentation object
 * (1.2.840.10008.5.1.4.1.1.1.1), in any of the lossless transfer syntaxes.
 *
 * Everything in the file is a function of the rendered phantom and the options: no wall
 * clock, no random UIDs. Same inputs, same bytes.
 *
 * UIDs (all `derivedUid(['jointscore-phantom', seed, ...])`, under `uidRoot` if given):
 * - Study: the seed (and a patient name/ID override, if any). All encodings of one seed
 *   share one study, as the same patient's visit.
 * - Series and SOP Instance: the seed plus the encoding (bits stored, photometric
 *   interpretation, transfer syntax, body part). Each encoding is a distinct instance in
 *   its own series, so that a PACS holds all of them side by side (a lossless transcoding
 *   could keep the UID under DICOM rules, but then the archive would keep only one) and a
 *   result series derived from the source SOP Instance UID does not collide.
 *
 * Stored values: v = round(clamp(image, 0, 1) x (2^BitsStored - 1)); MONOCHROME1 stores
 * (2^BitsStored - 1) - v, so that bone (image 1) stays white on display. See
 * `quantisePhantomImage`.
 */

export const DX_FOR_PRESENTATION_SOP_CLASS = '1.2.840.10008.5.1.4.1.1.1.1';
export const PHANTOM_MANUFACTURER = 'jointscore phantom';
export const PHANTOM_MODEL = 'jointscore synthetic hand radiograph';

export type DxPhotometric = 'MONOCHROME1' | 'MONOCHROME2';

export type DxTransferSyntax =
  | typeof TransferSyntax.ExplicitVRLittleEndian
  | typeof TransferSyntax.JpegLossless
  | typeof TransferSyntax.JpegLsLossless
  | typeof TransferSyntax.Jpeg2000Lossless
  | typeof TransferSyntax.RleLossless;

export const DX_TRANSFER_SYNTAXES: readonly DxTransferSyntax[] = [
  TransferSyntax.ExplicitVRLittleEndian,
  ...LOSSLESS_COMPRESSED_SYNTAXES,
];

/**
 * Body Part Examined values the encoder knows an Anatomic Region code for: SNOMED CT codes
 * of CID 4009 "DX Anatomy Imaged" (checked against pydicom 3.0's copy of the PS3.16 tables;
 * dciodvfy does not check these codes).
 */
export const DX_BODY_PARTS = {
  HAND: { code: '85562004', meaning: 'Hand', paired: true },
  WRIST: { code: '74670003', meaning: 'Wrist joint', paired: true },
  FOOT: { code: '56459004', meaning: 'Foot', paired: true },
  KNEE: { code: '72696002', meaning: 'Knee', paired: true },
  CHEST: { code: '816094009', meaning: 'Chest', paired: false },
} as const;
export type DxBodyPart = keyof typeof DX_BODY_PARTS;

export interface PhantomDxOptions {
  /** 10..16 (Bits Allocated is always 16, Pixel Representation 0); default 12 */
  bitsStored?: number;
  /** default MONOCHROME2 */
  photometric?: DxPhotometric;
  /** default Explicit VR Little Endian */
  transferSyntax?: DxTransferSyntax;
  /** default HAND; another value makes a "non-hand" radiograph for selection tests */
  bodyPart?: DxBodyPart;
  /** default `PHANTOM^HAND^<seed>`; any UTF-8 text (the file says ISO_IR 192) */
  patientName?: string;
  /** default `JS-PH-<seed>` */
  patientId?: string;
  studyInstanceUID?: string;
  seriesInstanceUID?: string;
  sopInstanceUID?: string;
  /** a site's UID root; default `2.25.` */
  uidRoot?: string;
  /** Patient Orientation (row\column); default worked out from the ground-truth joints */
  patientOrientation?: [string, string];
  /** decode a compressed result again and check it is exact (default true) */
  verifyLossless?: boolean;
}

export interface PhantomDx {
  bytes: Buffer;
  sopInstanceUID: string;
  studyInstanceUID: string;
  seriesInstanceUID: string;
}

/** Maps the renderer's [0, 1] image to stored values (see the module comment). */
export function quantisePhantomImage(
  image: Float32Array,
  bitsStored: number,
  photometric: DxPhotometric,
): Uint16Array {
  checkBitsStored(bitsStored);
  const max = 2 ** bitsStored - 1;
  const out = new Uint16Array(image.length);
  const invert = photometric === 'MONOCHROME1';
  for (let i = 0; i < image.length; i++) {
    const x = image[i];
    const clamped = x > 0 ? (x < 1 ? x : 1) : 0; // NaN -> 0
    const v = Math.round(clamped * max);
    out[i] = invert ? max - v : v;
  }
  return out;
}

function checkBitsStored(bitsStored: number): void {
  if (!Number.isInteger(bitsStored) || bitsStored < 10 || bitsStored > 16) {
    throw new Error(`bitsStored must be an integer from 10 to 16, got ${bitsStored}`);
  }
}

/**
 * Window Center/Width (stored-value units, rescale is identity) spanning the 1st to 99th
 * percentile of the stored values, in the PS3.3 C.11.2.1.2 linear-function convention: the
 * window maps exactly `lo` to black and `hi` to white.
 */
export function percentileWindow(
  values: Uint16Array,
  bitsStored: number,
  lowFraction = 0.01,
  highFraction = 0.99,
): { center: number; width: number; lo: number; hi: number } {
  const histogram = new Uint32Array(2 ** bitsStored);
  for (let i = 0; i < values.length; i++) histogram[values[i]]++;
  const find = (fraction: number): number => {
    const target = Math.max(1, Math.ceil(fraction * values.length));
    let seen = 0;
    for (let v = 0; v < histogram.length; v++) {
      seen += histogram[v];
      if (seen >= target) return v;
    }
    return histogram.length - 1;
  };
  const lo = find(lowFraction);
  const hi = Math.max(lo, find(highFraction));
  const width = hi - lo + 1;
  const center = (lo + hi + 1) / 2;
  return { center, width, lo, hi };
}

const OPPOSITE: Record<string, string> = { L: 'R', R: 'L', H: 'F', F: 'H', A: 'P', P: 'A' };

const DISTAL_SITES = new Set(['DIP2', 'DIP3', 'DIP4', 'DIP5', 'PIP2', 'PIP3', 'PIP4', 'PIP5']);
const PROXIMAL_SITES = new Set<string>(WRIST_SITES);
const THUMB_SITES = new Set(['IP1', 'MCP1', 'CMC1']);
const LITTLE_SITES = new Set(['DIP5', 'PIP5', 'MCP5', 'CMC5']);

function centroid(hand: HandResult, sites: Set<string>): { x: number; y: number } | undefined {
  const joints = hand.joints.filter((j) => sites.has(j.site));
  if (joints.length === 0) return undefined;
  return {
    x: joints.reduce((s, j) => s + j.x, 0) / joints.length,
    y: joints.reduce((s, j) => s + j.y, 0) / joints.length,
  };
}

/**
 * Patient Orientation (0020,0020) of one hand from its ground-truth joints.
 *
 * PS3.17 Annex A: the labels of an extremity are those of the standard anatomic position
 * (palm anterior, fingers towards the feet, thumb lateral) and stay with the limb however
 * it is positioned. So the fingertip direction is F and the thumb direction is the hand's
 * own side (L for a left hand). The letters are the dominant direction of each image axis.
 *
 * render.ts shows hands fingers up with a LEFT hand's thumb on the image's RIGHT and a
 * RIGHT hand's thumb on the LEFT (the usual PA display, as the tube sees the dorsum). Then
 * for the left hand, moving right goes towards its thumb (L) and moving down towards its
 * wrist (H): L\H; for the right hand, moving right goes away from its thumb (away from R,
 * so L) and down towards the wrist: L\H as well. Mirror-image hands shown mirror-image
 * give the same letters; only a display flip changes them (R\H if the image is mirrored,
 * L\F if turned upside down). Returns undefined when the joints needed are missing.
 */
export function handPatientOrientation(hand: HandResult): [string, string] | undefined {
  const distal = centroid(hand, DISTAL_SITES);
  const proximal = centroid(hand, PROXIMAL_SITES);
  const thumb = centroid(hand, THUMB_SITES);
  const little = centroid(hand, LITTLE_SITES);
  if (!distal || !proximal || !thumb || !little) return undefined;
  const norm = (v: { x: number; y: number }) => {
    const n = Math.hypot(v.x, v.y) || 1;
    return { x: v.x / n, y: v.y / n };
  };
  const finger = norm({ x: distal.x - proximal.x, y: distal.y - proximal.y }); // towards F
  const lateral = norm({ x: thumb.x - little.x, y: thumb.y - little.y }); // towards the hand's side
  const side = hand.laterality;
  const letter = (f: number, t: number): string =>
    Math.abs(f) >= Math.abs(t) ? (f > 0 ? 'F' : 'H') : t > 0 ? side : OPPOSITE[side];
  return [letter(finger.x, lateral.x), letter(finger.y, lateral.y)];
}

/** render.ts's display convention (fingers up, left thumb on the right): L\H for either hand. */
export const DEFAULT_HAND_PATIENT_ORIENTATION: [string, string] = ['L', 'H'];

/**
 * Patient Orientation of the film: from the first hand whose joints say it, else the
 * display convention for the body part (a PA chest shown as if facing the patient, head
 * up: L\F; anything else: the hand default).
 */
export function phantomPatientOrientation(rendered: RenderedPhantom, bodyPart: DxBodyPart = 'HAND'): [string, string] {
  for (const hand of rendered.hands) {
    const o = handPatientOrientation(hand);
    if (o) return o;
  }
  return bodyPart === 'CHEST' ? ['L', 'F'] : DEFAULT_HAND_PATIENT_ORIENTATION;
}

function imageLaterality(rendered: RenderedPhantom, bodyPart: DxBodyPart): 'L' | 'R' | 'B' | 'U' {
  if (!DX_BODY_PARTS[bodyPart].paired) return 'U';
  const sides = new Set<Laterality>(rendered.hands.map((h) => h.laterality));
  if (sides.size === 2) return 'B';
  if (sides.size === 1) return [...sides][0];
  return rendered.spec.layout === 'both' ? 'B' : rendered.spec.laterality;
}

/** Deterministic numbers from the seed (not from the renderer's random stream). */
function seedHash(seed: number, label: string): number {
  return createHash('sha1').update(`jointscore-phantom\u0000${seed}\u0000${label}`).digest().readUInt32BE(0);
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');
const daDate = (d: Date): string => `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}`;
const tmTime = (secondsOfDay: number): string =>
  `${pad(Math.floor(secondsOfDay / 3600))}${pad(Math.floor(secondsOfDay / 60) % 60)}${pad(secondsOfDay % 60)}`;

/** A DS value of at most 16 characters (dcmjs would truncate longer ones silently). */
function ds(x: number): string {
  for (let digits = 10; digits >= 1; digits--) {
    const s = String(Number(x.toPrecision(digits)));
    if (s.length <= 16) return s;
  }
  throw new Error(`cannot write ${x} as a DS`);
}

export interface PhantomDxDataset {
  dataset: NaturalDataset;
  storedValues: Uint16Array;
  sopInstanceUID: string;
  studyInstanceUID: string;
  seriesInstanceUID: string;
}

/** The uncompressed, naturalized DX dataset (before any compression). */
export function buildPhantomDxDataset(rendered: RenderedPhantom, options: PhantomDxOptions = {}): PhantomDxDataset {
  const bitsStored = options.bitsStored ?? 12;
  checkBitsStored(bitsStored);
  const photometric = options.photometric ?? 'MONOCHROME2';
  if (photometric !== 'MONOCHROME1' && photometric !== 'MONOCHROME2') {
    throw new Error(`photometric must be MONOCHROME1 or MONOCHROME2, got ${String(photometric)}`);
  }
  const transferSyntax = options.transferSyntax ?? TransferSyntax.ExplicitVRLittleEndian;
  if (!DX_TRANSFER_SYNTAXES.includes(transferSyntax)) {
    throw new Error(`transferSyntax ${transferSyntax} is not one of ${DX_TRANSFER_SYNTAXES.join(', ')}`);
  }
  const bodyPart = options.bodyPart ?? (rendered.spec.bodyPart === 'foot' ? 'FOOT' : 'HAND');
  const region = DX_BODY_PARTS[bodyPart];
  if (!region) {
    throw new Error(`bodyPart ${String(bodyPart)} is not one of ${Object.keys(DX_BODY_PARTS).join(', ')}`);
  }
  const { rows, columns, image, spec, patient } = rendered;
  if (image.length !== rows * columns) {
    throw new Error(`phantom image has ${image.length} pixels, expected rows x columns = ${rows * columns}`);
  }
  const seed = spec.seed;

  // UIDs
  const patientKey = [options.patientName ?? '', options.patientId ?? ''];
  const encodingKey = [bitsStored, photometric, transferSyntax, bodyPart];
  const root = options.uidRoot;
  const studyInstanceUID =
    options.studyInstanceUID ?? derivedUid(['jointscore-phantom', seed, 'study', ...patientKey], root);
  const seriesInstanceUID =
    options.seriesInstanceUID ??
    derivedUid(['jointscore-phantom', seed, 'series', ...patientKey, ...encodingKey], root);
  const sopInstanceUID =
    options.sopInstanceUID ??
    derivedUid(['jointscore-phantom', seed, 'instance', ...patientKey, ...encodingKey], root);

  // dates and times: from the seed, never from the clock
  const studyDay = new Date(Date.UTC(2024, 0, 1) + (seedHash(seed, 'study-day') % 731) * 86_400_000);
  const studySeconds = 8 * 3600 + (seedHash(seed, 'study-time') % (9 * 3600));
  const ageYears = Math.max(0, Math.floor(patient.ageYears));
  const birth = new Date(
    Date.UTC(studyDay.getUTCFullYear() - ageYears, studyDay.getUTCMonth(), studyDay.getUTCDate()) -
      (1 + (seedHash(seed, 'birthday') % 364)) * 86_400_000,
  );
  const studyDate = daDate(studyDay);

  // pixels and window
  const storedValues = quantisePhantomImage(image, bitsStored, photometric);
  const window = percentileWindow(storedValues, bitsStored);
  const pixelBytes = new Uint8Array(storedValues.length * 2);
  const view = new DataView(pixelBytes.buffer);
  for (let i = 0; i < storedValues.length; i++) view.setUint16(i * 2, storedValues[i], true);

  const spacing = ds(spec.pixelSpacingMm);
  const orientation = options.patientOrientation ?? phantomPatientOrientation(rendered, bodyPart);
  const laterality = imageLaterality(rendered, bodyPart);
  const kvp = 50 + (seedHash(seed, 'kvp') % 11);
  const tsName = TRANSFER_SYNTAX_NAMES[transferSyntax] ?? transferSyntax;

  const dataset: NaturalDataset = {
    // SOP Common
    SpecificCharacterSet: 'ISO_IR 192',
    ImageType: ['ORIGINAL', 'PRIMARY'],
    SOPClassUID: DX_FOR_PRESENTATION_SOP_CLASS,
    SOPInstanceUID: sopInstanceUID,
    // General Study, General Series, General Image dates and times
    StudyDate: studyDate,
    SeriesDate: studyDate,
    AcquisitionDate: studyDate,
    ContentDate: studyDate,
    StudyTime: tmTime(studySeconds),
    SeriesTime: tmTime(studySeconds + 60),
    AcquisitionTime: tmTime(studySeconds + 90),
    ContentTime: tmTime(studySeconds + 95),
    AccessionNumber: '',
    Modality: 'DX',
    PresentationIntentType: 'FOR PRESENTATION',
    Manufacturer: PHANTOM_MANUFACTURER,
    ReferringPhysicianName: '',
    StudyDescription: `XR ${bodyPart} PA (synthetic phantom)`,
    SeriesDescription: `PA ${bodyPart.toLowerCase()} phantom ${bitsStored}-bit ${photometric} ${tsName}`.slice(0, 64),
    ManufacturerModelName: PHANTOM_MODEL,
    // Patient
    PatientName: options.patientName ?? `PHANTOM^HAND^${seed}`,
    PatientID: options.patientId ?? `JS-PH-${seed}`,
    PatientBirthDate: daDate(birth),
    PatientSex: patient.sex,
    PatientAge: `${pad(Math.min(ageYears, 999), 3)}Y`,
    // DX Anatomy Imaged, X-Ray acquisition (optional, plausible values for a hand)
    BodyPartExamined: bodyPart,
    KVP: String(kvp),
    ExposureTime: '20',
    XRayTubeCurrent: '100',
    Exposure: '2',
    SoftwareVersions: `jointscore ${VERSION}`,
    // DX Detector
    DetectorType: 'SCINTILLATOR',
    ImagerPixelSpacing: [spacing, spacing],
    // DX Positioning
    ViewPosition: 'PA',
    PositionerType: '',
    // General Study / Series / Image identification
    StudyInstanceUID: studyInstanceUID,
    SeriesInstanceUID: seriesInstanceUID,
    StudyID: String(seed).slice(0, 16),
    SeriesNumber: 1,
    InstanceNumber: 1,
    PatientOrientation: orientation,
    ImageLaterality: laterality,
    // Image Pixel / DX Image
    SamplesPerPixel: 1,
    PhotometricInterpretation: photometric,
    Rows: rows,
    Columns: columns,
    PixelSpacing: [spacing, spacing],
    BitsAllocated: 16,
    BitsStored: bitsStored,
    HighBit: bitsStored - 1,
    PixelRepresentation: 0,
    BurnedInAnnotation: 'NO',
    RecognizableVisualFeatures: 'NO',
    PixelIntensityRelationship: 'LOG',
    PixelIntensityRelationshipSign: photometric === 'MONOCHROME2' ? -1 : 1,
    WindowCenter: ds(window.center),
    WindowWidth: ds(window.width),
    RescaleIntercept: '0',
    RescaleSlope: '1',
    RescaleType: 'US',
    WindowCenterWidthExplanation: 'PERCENTILE 1-99',
    LossyImageCompression: '00',
    PresentationLUTShape: photometric === 'MONOCHROME2' ? 'IDENTITY' : 'INVERSE',
    // sequences
    AnatomicRegionSequence: [{ CodeValue: region.code, CodingSchemeDesignator: 'SCT', CodeMeaning: region.meaning }],
    AcquisitionContextSequence: [],
    ViewCodeSequence: [
      {
        // CID 4010 "DX View": 272479007 is postero-anterior (399348003 is antero-posterior)
        CodeValue: '272479007',
        CodingSchemeDesignator: 'SCT',
        CodeMeaning: 'postero-anterior',
      },
    ],
    PixelData: [pixelBytes.buffer],
    _vrMap: { PixelData: 'OW' },
  };
  return { dataset, storedValues, sopInstanceUID, studyInstanceUID, seriesInstanceUID };
}

/** Encodes a rendered phantom as a DX For Presentation Part 10 file. */
export async function encodePhantomDx(rendered: RenderedPhantom, options: PhantomDxOptions = {}): Promise<PhantomDx> {
  const built = buildPhantomDxDataset(rendered, options);
  const transferSyntax = options.transferSyntax ?? TransferSyntax.ExplicitVRLittleEndian;
  const dataset =
    transferSyntax === TransferSyntax.ExplicitVRLittleEndian
      ? built.dataset
      : await transcodeDataset(built.dataset, TransferSyntax.ExplicitVRLittleEndian, transferSyntax, {
          verifyLossless: options.verifyLossless ?? true,
        });
  return {
    bytes: writePart10(dataset, transferSyntax),
    sopInstanceUID: built.sopInstanceUID,
    studyInstanceUID: built.studyInstanceUID,
    seriesInstanceUID: built.seriesInstanceUID,
  };
}
