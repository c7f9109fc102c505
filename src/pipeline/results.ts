import type { HandAnalysis } from '../analysis/hand-analysis.js';
import type { NaturalDataset } from '../dicom/part10.js';
import { pixelAspectOf, type DisplayImage } from '../imaging/preprocess.js';
import type { ReportOptions } from '../reports/common.js';
import { buildGspsDataset, gspsApplies } from '../reports/gsps.js';
import { buildSecondaryCapture, startOverlayPicture, type OverlayPicture } from '../reports/secondary-capture.js';
import { buildNoHandSrDataset, buildSrDataset } from '../reports/sr/index.js';
import { VERSION } from '../version.js';
import { DEFAULT_CONFIG } from '../config/defaults.js';

/**
 * The result objects for one analysed radiograph: the TID 1500 SR, the Secondary Capture
 * overlay and the presentation state. Each goes in its own series (a series holds one
 * modality), numbered from `seriesNumberBase`; UIDs derive from the source SOP Instance
 * UID and the model version inside the writers, so a re-run replaces rather than duplicates.
 */
export interface ResultOptions {
  /** SR, SC and PR get this number + 0, 1, 2 */
  seriesNumberBase: number;
  seriesDescription: string;
  uidRoot?: string;
  manufacturer: string;
  deviceName: string;
  srClass: 'comprehensive3d' | 'comprehensive';
  maxOverlaySide: number;
  contentDateTime?: Date;
}

export const DEFAULT_RESULT_OPTIONS: ResultOptions = {
  seriesNumberBase: DEFAULT_CONFIG.analysis.seriesNumber,
  seriesDescription: DEFAULT_CONFIG.analysis.seriesDescription,
  manufacturer: 'jointscore',
  deviceName: 'jointscore',
  srClass: 'comprehensive3d',
  maxOverlaySide: 2048,
};

export interface ResultObjects {
  sr: NaturalDataset;
  sc: NaturalDataset;
  pr: NaturalDataset;
}

/** Algorithm name and version as reports show them: the models' names and versions joined. */
export function algorithmIdentity(analysis: HandAnalysis): { algorithmName: string; algorithmVersion: string } {
  if (analysis.models.length === 0) return { algorithmName: 'jointscore', algorithmVersion: VERSION };
  return {
    algorithmName: analysis.models.map((m) => m.name).join('+').slice(0, 64),
    algorithmVersion: analysis.models.map((m) => m.version).join('+').slice(0, 64),
  };
}

/** The display values (0..1) as 8-bit grey, rounded half up as Math.round does (a third of its time). */
function gray8(display: DisplayImage): Uint8Array {
  const { data } = display;
  const out = new Uint8Array(data.length);
  for (let i = 0; i < out.length; i++) {
    const v = data[i] * 255;
    out[i] = v <= 0 ? 0 : v >= 255 ? 255 : (v + 0.5) | 0;
  }
  return out;
}

/** What every result object of one analysis shares: series description, UIDs, device, algorithm. */
function reportBase(analysis: HandAnalysis, options: ResultOptions): Omit<ReportOptions, 'seriesNumber'> {
  return {
    seriesDescription: options.seriesDescription,
    uidRoot: options.uidRoot,
    manufacturer: options.manufacturer,
    deviceName: options.deviceName,
    contentDateTime: options.contentDateTime,
    ...algorithmIdentity(analysis),
  };
}

/**
 * The overlay's radiograph, which needs no analysis: the node starts it before the models run
 * (sharp works on its own thread); startResultObjects starts it itself when not given one.
 */
export interface OverlayStart {
  gray: Uint8Array;
  picture: Promise<OverlayPicture>;
}

export function startOverlay(display: DisplayImage, options: ResultOptions = DEFAULT_RESULT_OPTIONS): OverlayStart {
  const gray = gray8(display);
  const picture = startOverlayPicture({ gray, rows: display.rows, columns: display.columns, pixelAspect: pixelAspectOf(display) }, options.maxOverlaySide);
  // not awaited when no hand is found: a failure then must not end the process
  picture.catch(() => undefined);
  return { gray, picture };
}

export async function buildResultObjects(
  analysis: HandAnalysis,
  source: NaturalDataset,
  display: DisplayImage,
  options: ResultOptions = DEFAULT_RESULT_OPTIONS,
): Promise<ResultObjects> {
  const started = startResultObjects(analysis, source, display, options);
  return { sr: started.sr!, pr: started.pr!, sc: (await started.sc)! };
}

/**
 * The same objects, the overlay still rendering: sharp draws it on its own threads while
 * the caller serialises the SR and the presentation state on the main thread.
 */
export function startResultObjects(
  analysis: HandAnalysis,
  source: NaturalDataset,
  display: DisplayImage,
  options: ResultOptions = DEFAULT_RESULT_OPTIONS,
  wanted: Record<keyof ResultObjects, boolean> = { sr: true, pr: true, sc: true },
  overlay?: OverlayStart,
): Partial<{ sr: NaturalDataset; pr: NaturalDataset; sc: Promise<NaturalDataset> }> {
  const base = reportBase(analysis, options);
  // started first: sharp draws the overlay on its own threads while the SR and PR are built
  const started = wanted.sc ? (overlay ?? startOverlay(display, options)) : undefined;
  const sc = started
    ? buildSecondaryCapture(
        { gray: started.gray, rows: display.rows, columns: display.columns, pixelAspect: pixelAspectOf(display) },
        analysis,
        source,
        { ...base, seriesNumber: options.seriesNumberBase + 1, maxSide: options.maxOverlaySide },
        started.picture,
      )
    : undefined;
  // handled here so that a failure before the caller awaits it is not an unhandled rejection
  // (which ends the process); the caller's await still sees it
  sc?.catch(() => undefined);
  return {
    ...(sc ? { sc } : {}),
    ...(wanted.sr ? { sr: buildSrDataset(analysis, source, { ...base, seriesNumber: options.seriesNumberBase, sopClass: options.srClass }) } : {}),
    ...(wanted.pr && gspsApplies(source) ? { pr: buildGspsDataset(analysis, source, { ...base, seriesNumber: options.seriesNumberBase + 2 }) } : {}),
  };
}

/**
 * The result for a radiograph in which no hand was found (`analysis.reportNoHand`): the SR
 * alone, saying so, in the series and with the UIDs the SR of a hand would have. No SC and
 * no PR: there is nothing to outline, and a copy of a radiograph that is not a hand with one
 * sentence burned in would add a derived image to the study for what the SR already says.
 */
export function buildNoHandReport(
  analysis: HandAnalysis,
  source: NaturalDataset,
  options: ResultOptions = DEFAULT_RESULT_OPTIONS,
): Pick<ResultObjects, 'sr'> {
  const base = reportBase(analysis, options);
  return { sr: buildNoHandSrDataset(analysis, source, { ...base, seriesNumber: options.seriesNumberBase, sopClass: options.srClass }) };
}
