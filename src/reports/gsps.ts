import type { HandAnalysis, SeverityClass } from '../analysis/hand-analysis.js';
import { HAND_NAMES } from '../analysis/joints.js';
import { firstNumber, type NaturalDataset } from '../dicom/part10.js';
import { readLut } from '../imaging/tone.js';
import { SEVERITY_COLOURS, worstSeverity } from '../imaging/preview.js';
import {
  ReportBuildError, checkReportOptions, contributingEquipment, derivedInstance, dicomDateTime, generalEquipment,
  seriesLaterality, sourceIdentity, withCharacterSet, type ReportOptions,
} from './common.js';
import { placeLabels } from './labels.js';

/**
 * The Grayscale Softcopy Presentation State (PS3.3 A.33.1) of a result: the joint boxes as
 * POLYLINEs and their labels as TEXT in PIXEL units on the source image, one graphic layer
 * per severity class with the class's colour as the layer's recommended display colour
 * (so a viewer that honours layer colours shows the same colours as the Secondary
 * Capture, and a reader can switch classes on and off), and the machine-generated notice
 * and per-hand summary as TEXT in DISPLAY units. The source's grayscale pipeline is
 * carried over (Modality LUT, window, Presentation LUT Shape, display shutter), so that
 * applying the presentation state changes nothing but the annotations.
 *
 * MONOCHROME1 sources: a presentation state's Presentation LUT, not the image's Photometric
 * Interpretation, decides polarity (PS3.4 N.2: the Photometric Interpretation is ignored once
 * a presentation state applies), so IDENTITY would show a MONOCHROME1 film inverted. The
 * Presentation LUT Shape is therefore INVERSE for MONOCHROME1 and IDENTITY for MONOCHROME2,
 * unless the source states its own Presentation LUT Shape (the DX and MG IODs require it),
 * which is then copied: it is what the viewer applies when it shows the image without the
 * presentation state.
 */

export class GspsBuildError extends ReportBuildError {
  constructor(message: string) {
    super(message);
    this.name = 'GspsBuildError';
  }
}

export const GSPS_SOP_CLASS_UID = '1.2.840.10008.5.1.4.1.1.11.1';

export interface GspsOptions extends ReportOptions {
  /** Content Label (CS: upper case, digits, space, underscore; at most 16); default "JOINTSCORE" */
  contentLabel?: string;
  /** Content Description; default names the algorithm and says the result is machine-made */
  contentDescription?: string;
  /** Content Creator's Name (PN); default the device name as a family name ("jointscore^") */
  creatorName?: string;
  /**
   * Window to apply, in the source's modality-LUT output units; default the source's own
   * first Window Center / Width (or its VOI LUT Sequence); none when the source has neither.
   */
  window?: { center: number; width: number; explanation?: string };
  /** Notice shown at the bottom of the display (DISPLAY units) */
  notice?: string;
}

/** The graphic layers, drawn in this order (lower Graphic Layer Order first: severe on top). */
export const GSPS_LAYERS: Record<SeverityClass | 'unknown' | 'notice', { name: string; order: number; description: string }> = {
  healthy: { name: 'JOINTS_HEALTHY', order: 1, description: 'Joints graded healthy (RA and OA)' },
  unknown: { name: 'JOINTS_UNGRADED', order: 2, description: 'Joints found but not graded' },
  mild: { name: 'JOINTS_MILD', order: 3, description: 'Joints graded mild (worst of JSN, erosion, KL)' },
  severe: { name: 'JOINTS_SEVERE', order: 4, description: 'Joints graded severe (worst of JSN, erosion, KL)' },
  notice: { name: 'NOTICE', order: 5, description: 'Machine-generated result notice and per-hand summary' },
};

const CONTENT_LABEL = /^[A-Z0-9_ ]{1,16}$/;

/**
 * sRGB colour "#rrggbb" to the DICOM-scaled CIELab triplet (PS3.3 C.10.7.1.1: L* 0..100
 * and a*, b* -128..127 mapped linearly to 0..65535), D50 white point as in the ICC PCS.
 */
export function hexToDicomLab(hex: string): [number, number, number] {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) throw new RangeError(`colour must be #rrggbb, got ${hex}`);
  const lin = [m[1], m[2], m[3]].map((h) => {
    const c = parseInt(h, 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  // sRGB to XYZ, Bradford-adapted to D50 (the ICC sRGB profile's matrix)
  const X = 0.4360747 * lin[0] + 0.3850649 * lin[1] + 0.1430804 * lin[2];
  const Y = 0.2225045 * lin[0] + 0.7168786 * lin[1] + 0.0606169 * lin[2];
  const Z = 0.0139322 * lin[0] + 0.0971045 * lin[1] + 0.7141733 * lin[2];
  const f = (t: number) => (t > (6 / 29) ** 3 ? Math.cbrt(t) : t / (3 * (6 / 29) ** 2) + 4 / 29);
  const fx = f(X / 0.9642);
  const fy = f(Y / 1.0);
  const fz = f(Z / 0.8249);
  const L = 116 * fy - 16;
  const a = 500 * (fx - fy);
  const b = 200 * (fy - fz);
  const clamp = (v: number) => Math.min(65535, Math.max(0, Math.round(v)));
  return [clamp((L * 65535) / 100), clamp(((a + 128) * 65535) / 255), clamp(((b + 128) * 65535) / 255)];
}

const first = (v: unknown): unknown => (Array.isArray(v) ? v[0] : v);
const num = firstNumber;

/**
 * A grayscale presentation state may reference MONOCHROME images only (its LUTs act on one
 * sample, PS3.4 N.2): a film stored in colour (src/imaging/colour.ts) gets none; its SR and
 * overlay carry the result.
 */
export function gspsApplies(source: NaturalDataset): boolean {
  return Number(first(source.SamplesPerPixel) ?? 1) === 1;
}

/** Presentation LUT Shape for the source (see the module comment on MONOCHROME1). */
export function presentationLutShape(source: NaturalDataset): 'IDENTITY' | 'INVERSE' {
  const own = first(source.PresentationLUTShape);
  if (own === 'IDENTITY' || own === 'INVERSE') return own;
  return first(source.PhotometricInterpretation) === 'MONOCHROME1' ? 'INVERSE' : 'IDENTITY';
}

/** Softcopy VOI LUT items: the option's window, else the source's first window, else its first VOI LUT. */
function softcopyVoiLut(source: NaturalDataset, options: GspsOptions): NaturalDataset[] | undefined {
  if (options.window) {
    const { center, width, explanation } = options.window;
    if (!Number.isFinite(center) || !(width >= 1)) throw new GspsBuildError(`window: center must be finite and width >= 1, got ${center}, ${width}`);
    return [{ WindowCenter: center, WindowWidth: width, ...(explanation ? { WindowCenterWidthExplanation: explanation } : {}) }];
  }
  const center = num(source.WindowCenter);
  const width = num(source.WindowWidth);
  if (center !== undefined && width !== undefined && width >= 1) {
    const item: NaturalDataset = { WindowCenter: center, WindowWidth: width };
    const expl = first(source.WindowCenterWidthExplanation);
    if (typeof expl === 'string' && expl !== '') item.WindowCenterWidthExplanation = expl;
    const fn = first(source.VOILUTFunction);
    if (typeof fn === 'string' && fn !== '') item.VOILUTFunction = fn;
    return [item];
  }
  const voi = Array.isArray(source.VOILUTSequence) ? source.VOILUTSequence[0] : undefined;
  if (voi && voi.LUTDescriptor !== undefined && voi.LUTData !== undefined) {
    // LUT Descriptor and LUT Data have VR "US or SS" / "US or OW": dcmjs needs to be told which.
    // A Softcopy VOI LUT's entries must be 8 or 16 bits (C.11.8): a 10-15 bit LUT from the image
    // is rescaled to 16 bits, which keeps its output range (0 to 2^n - 1 means black to white).
    const read = readLut(voi);
    if (!('data' in read)) throw new GspsBuildError(`source VOI LUT: ${read.unreadable}`);
    const outBits = read.bits <= 8 ? 8 : 16;
    const scale = (2 ** outBits - 1) / (2 ** read.bits - 1);
    const out = read.data.map((v) => Math.round(v * scale));
    const lut: NaturalDataset = {
      LUTDescriptor: [read.data.length === 65536 ? 0 : read.data.length, read.firstMapped, outBits],
      LUTData: [out.buffer],
      _vrMap: { LUTDescriptor: 'US', LUTData: 'OW' },
    };
    if (read.explanation) lut.LUTExplanation = read.explanation;
    return [{ VOILUTSequence: [lut] }];
  }
  return undefined;
}

const SHUTTER_KEYS = [
  'ShutterShape', 'ShutterLeftVerticalEdge', 'ShutterRightVerticalEdge', 'ShutterUpperHorizontalEdge',
  'ShutterLowerHorizontalEdge', 'CenterOfCircularShutter', 'RadiusOfCircularShutter', 'VerticesOfThePolygonalShutter',
  'ShutterPresentationColorCIELabValue',
];

const f3 = (v: number) => Math.round(v * 1000) / 1000;

/**
 * The presentation state for the analysed `source`: same patient and study, a new series
 * (Modality PR), deterministic UIDs from (source SOP Instance UID, model version, 'pr').
 */
export function buildGspsDataset(analysis: HandAnalysis, source: NaturalDataset, options: GspsOptions): NaturalDataset {
  checkReportOptions(options, 'GSPS', GspsBuildError);
  if (!gspsApplies(source)) throw new GspsBuildError(`the source has Samples per Pixel (0028,0002) ${first(source.SamplesPerPixel)}: a grayscale presentation state applies to MONOCHROME images only`);
  const src = sourceIdentity(analysis, source, 'the presentation state', GspsBuildError);
  const rows = num(source.Rows) ?? analysis.source.rows;
  const columns = num(source.Columns) ?? analysis.source.columns;
  if (rows !== analysis.source.rows || columns !== analysis.source.columns) {
    throw new GspsBuildError(
      `the analysis is of a ${analysis.source.rows} x ${analysis.source.columns} image but the source is ${rows} x ${columns}`,
    );
  }
  const contentLabel = options.contentLabel ?? 'JOINTSCORE';
  if (!CONTENT_LABEL.test(contentLabel)) {
    throw new GspsBuildError(`contentLabel must be 1-16 of A-Z, 0-9, space, underscore, got "${contentLabel}"`);
  }
  const version = options.algorithmVersion;
  const { date, time } = dicomDateTime(options.contentDateTime ?? new Date(), GspsBuildError);

  const { annotations, layers } = graphicAnnotation(analysis, rows, columns, options);

  // General Series + Presentation Series
  const ds = derivedInstance({ sopClassUid: GSPS_SOP_CLASS_UID, kind: 'pr', modality: 'PR', source, src, options, date, time });
  ds.Laterality = seriesLaterality(source);
  if (source.BodyPartExamined !== undefined) ds.BodyPartExamined = source.BodyPartExamined;
  // General Equipment
  Object.assign(ds, generalEquipment(options));
  // Presentation State Identification
  ds.InstanceNumber = options.instanceNumber ?? 1;
  ds.ContentLabel = contentLabel;
  ds.ContentDescription = (
    options.contentDescription ??
    `Machine-made joint grades, ${options.algorithmName} ${version}`
  ).slice(0, 64);
  ds.ContentCreatorName = options.creatorName ?? `${options.deviceName}^`;
  ds.PresentationCreationDate = date;
  ds.PresentationCreationTime = time;
  // Presentation State Relationship
  ds.ReferencedSeriesSequence = [{
    SeriesInstanceUID: src.seriesInstanceUid,
    ReferencedImageSequence: [{ ReferencedSOPClassUID: src.sopClassUid, ReferencedSOPInstanceUID: src.sopInstanceUid }],
  }];
  // Display Shutter (copied: the presentation state's shutter replaces the image's own)
  if (typeof first(source.ShutterShape) === 'string') {
    for (const k of SHUTTER_KEYS) if (source[k] !== undefined) ds[k] = source[k];
    ds.ShutterPresentationValue = num(source.ShutterPresentationValue) ?? 0;
  }
  ds.DisplayedAreaSelectionSequence = [displayedArea(source, rows, columns)];
  // Graphic Annotation + Graphic Layer
  ds.GraphicAnnotationSequence = annotations;
  ds.GraphicLayerSequence = layers;
  // Modality LUT (the source's, so that the window means the same values)
  Object.assign(ds, modalityLut(source));
  // Softcopy VOI LUT
  const voi = softcopyVoiLut(source, options);
  if (voi) ds.SoftcopyVOILUTSequence = voi;
  // Softcopy Presentation LUT
  ds.PresentationLUTShape = presentationLutShape(source);
  // SOP Common
  ds.ContributingEquipmentSequence = contributingEquipment(options, `${date}${time}`);
  return withCharacterSet(source, ds);
}

/**
 * The Graphic Annotation and Graphic Layer Sequences: each joint's box (POLYLINE) and label (TEXT)
 * in source pixels, on the layer of its worst severity; the notice and each hand's summary fixed
 * to the display, on the notice layer.
 */
function graphicAnnotation(analysis: HandAnalysis, rows: number, columns: number, options: GspsOptions): { annotations: NaturalDataset[]; layers: NaturalDataset[] } {
  // Labels: the same greedy placement as the burned-in overlay, in source pixels, with a
  // font sized for a viewer that fits the image to the screen height.
  const fitHeight = Math.max(rows, columns / 1.6);
  const fontSize = Math.max(11, Math.round(fitHeight * 0.0135));
  const labels = placeLabels(analysis.hands, 1, 1, { x: 0, y: 0, width: columns, height: rows }, fontSize, Math.max(2, Math.round(fitHeight / 420)));

  const byLayer = new Map<string, { graphics: NaturalDataset[]; texts: NaturalDataset[] }>();
  let i = 0;
  for (const hand of analysis.hands) {
    for (const joint of hand.joints) {
      const label = labels[i++];
      const [x0, y0, x1, y1] = joint.box;
      if (![x0, y0, x1, y1].every(Number.isFinite) || !(x1 > x0 && y1 > y0)) {
        throw new GspsBuildError(`${hand.laterality}-${joint.site}: box ${JSON.stringify(joint.box)} is not [x0, y0, x1, y1] with x1 > x0, y1 > y0`);
      }
      const layer = GSPS_LAYERS[worstSeverity(joint)].name;
      if (!byLayer.has(layer)) byLayer.set(layer, { graphics: [], texts: [] });
      const entry = byLayer.get(layer)!;
      entry.graphics.push({
        GraphicAnnotationUnits: 'PIXEL',
        GraphicDimensions: 2,
        NumberOfGraphicPoints: 5,
        GraphicData: [x0, y0, x1, y0, x1, y1, x0, y1, x0, y0],
        GraphicType: 'POLYLINE',
        GraphicFilled: 'N',
      });
      const p = label.plate;
      entry.texts.push({
        BoundingBoxAnnotationUnits: 'PIXEL',
        AnchorPointAnnotationUnits: 'PIXEL',
        UnformattedTextValue: label.text,
        BoundingBoxTopLeftHandCorner: [p.x, p.y],
        BoundingBoxBottomRightHandCorner: [p.x + p.width, p.y + p.height],
        BoundingBoxTextHorizontalJustification: 'LEFT',
        AnchorPoint: [x0, y0],
        AnchorPointVisibility: label.displaced ? 'Y' : 'N',
      });
    }
  }

  // Notice and per-hand summaries, fixed to the display (DISPLAY units: 0..1 of the displayed area).
  const notice = options.notice ?? `Machine-generated result (${options.algorithmName} ${options.algorithmVersion}) - not for diagnosis alone`;
  const noticeTexts: NaturalDataset[] = [{
    BoundingBoxAnnotationUnits: 'DISPLAY',
    UnformattedTextValue: notice,
    BoundingBoxTopLeftHandCorner: [0.02, 0.94],
    BoundingBoxBottomRightHandCorner: [0.98, 0.99],
    BoundingBoxTextHorizontalJustification: 'CENTER',
  }];
  analysis.hands.forEach((hand, k) => {
    const s = hand.summary;
    const top = 0.01 + k * 0.05;
    noticeTexts.push({
      BoundingBoxAnnotationUnits: 'DISPLAY',
      UnformattedTextValue: 'notGraded' in s
        ? `${HAND_NAMES[hand.laterality]}: no joint graded (${s.notGraded.join(', ')})`
        : `${HAND_NAMES[hand.laterality]}: SvH JSN ${s.svhJsn}, erosion ${s.svhErosion}, KL sum ${s.klSum}, ${s.pattern}`,
      BoundingBoxTopLeftHandCorner: [0.02, f3(top)],
      BoundingBoxBottomRightHandCorner: [0.98, f3(top + 0.04)],
      BoundingBoxTextHorizontalJustification: 'LEFT',
    });
  });

  const layerOrder = (['healthy', 'unknown', 'mild', 'severe'] as const).filter((k) => byLayer.has(GSPS_LAYERS[k].name));
  const annotations: NaturalDataset[] = layerOrder.map((k) => ({
    GraphicLayer: GSPS_LAYERS[k].name,
    TextObjectSequence: byLayer.get(GSPS_LAYERS[k].name)!.texts,
    GraphicObjectSequence: byLayer.get(GSPS_LAYERS[k].name)!.graphics,
  }));
  annotations.push({ GraphicLayer: GSPS_LAYERS.notice.name, TextObjectSequence: noticeTexts });
  const layers: NaturalDataset[] = [...layerOrder, 'notice' as const].map((k) => ({
    GraphicLayer: GSPS_LAYERS[k].name,
    GraphicLayerOrder: GSPS_LAYERS[k].order,
    GraphicLayerRecommendedDisplayGrayscaleValue: 0xffff,
    GraphicLayerRecommendedDisplayCIELabValue: hexToDicomLab(k === 'notice' ? '#ffffff' : SEVERITY_COLOURS[k]),
    GraphicLayerDescription: GSPS_LAYERS[k].description,
  }));
  return { annotations, layers };
}

/** Displayed Area: the whole image, scaled to fit, at the source's pixel spacing (else its pixels' shape). */
function displayedArea(source: NaturalDataset, rows: number, columns: number): NaturalDataset {
  const area: NaturalDataset = {
    DisplayedAreaTopLeftHandCorner: [1, 1],
    DisplayedAreaBottomRightHandCorner: [columns, rows],
    PresentationSizeMode: 'SCALE TO FIT',
  };
  const spacing = Array.isArray(source.PixelSpacing) ? source.PixelSpacing.map(Number) : undefined;
  const imager = Array.isArray(source.ImagerPixelSpacing) ? source.ImagerPixelSpacing.map(Number) : undefined;
  if (spacing?.length === 2 && spacing.every((v: number) => v > 0)) {
    area.PresentationPixelSpacing = spacing;
  } else if (imager?.length === 2 && imager.every((v: number) => v > 0) && imager[0] !== imager[1]) {
    area.PresentationPixelAspectRatio = [Math.round(imager[0] * 10000), Math.round(imager[1] * 10000)];
  } else {
    area.PresentationPixelAspectRatio = [1, 1];
  }
  return area;
}

/** The source's Modality LUT (a sequence, or its rescale), for the presentation state to apply before its window. */
function modalityLut(source: NaturalDataset): NaturalDataset {
  if (Array.isArray(source.ModalityLUTSequence) && source.ModalityLUTSequence.length > 0) return { ModalityLUTSequence: source.ModalityLUTSequence };
  if (num(source.RescaleSlope) === undefined || num(source.RescaleIntercept) === undefined) return {};
  return {
    RescaleIntercept: num(source.RescaleIntercept),
    RescaleSlope: num(source.RescaleSlope),
    RescaleType: typeof first(source.RescaleType) === 'string' ? first(source.RescaleType) : 'US',
  };
}
