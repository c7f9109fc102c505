import { asImmature, type HandAnalysis, type HandNotGraded } from '../analysis/hand-analysis.js';
import type { AnalysisConfig, OverlaySyntaxName } from '../config/types.js';
import { TransferSyntax, type NaturalDataset } from '../dicom/part10.js';
import { SPACING_NAMES, type DecodedImage } from '../imaging/decode.js';
import { decodeImage, pictureKind } from '../imaging/picture.js';
import { analyzeDisplay } from '../inference/analyze.js';
import type { Models } from '../inference/models.js';
import { toDisplay, type DisplayImage } from '../imaging/preprocess.js';
import type { Logger } from '../observability/logger.js';
import { declaredFinger, headerSide, patientAgeYears } from './declared.js';
import type { DeclaredFinger, NamedFinger } from '../inference/finger.js';
import { gspsApplies } from '../reports/gsps.js';
import { handSizeAt, spacingText } from '../reports/spacing-text.js';
import { inOverlaySyntax, OVERLAY_SYNTAXES } from '../reports/overlay-syntax.js';
import { buildNoHandReport, DEFAULT_RESULT_OPTIONS, startOverlay, startResultObjects, type OverlayStart, type ResultOptions } from './results.js';

/**
 * The one path from a received object's bytes to its results: decode, display image,
 * detector and grader, then the result objects the configuration asks for, with the no-hand
 * policy applied. The node's worker and `jointscore analyze` both call `analyseObject`, so
 * what a site validates offline is what the node sends. No file I/O: callers read the bytes
 * and write what comes back.
 */

export type ResultKind = 'sr' | 'pr' | 'sc';

/** Everything from the configuration that shapes the results of one object. */
export interface AnalysisPolicy {
  outputs: Record<ResultKind, boolean>;
  /** an image without a hand gets an SR saying so (else nothing) */
  reportNoHand: boolean;
  /** grade only hands in a PA layout (src/inference/view.ts) */
  paViewsOnly: boolean;
  /** hands of younger patients are not graded (0 = every age) */
  minGradingAgeYears: number;
  /** the overlay's transfer syntax (the SR and presentation state are always Explicit VR Little Endian) */
  overlaySyntax: OverlaySyntaxName;
  results: ResultOptions;
}

export function analysisPolicy(
  config: Pick<
    AnalysisConfig,
    'outputs' | 'reportNoHand' | 'uidRoot' | 'srClass' | 'seriesNumber' | 'seriesDescription' | 'paViewsOnly' | 'minGradingAgeYears'
  > & Partial<Pick<AnalysisConfig, 'overlaySyntax'>>,
  contentDateTime?: Date,
): AnalysisPolicy {
  return {
    outputs: { ...config.outputs },
    reportNoHand: config.reportNoHand,
    paViewsOnly: config.paViewsOnly,
    minGradingAgeYears: config.minGradingAgeYears,
    overlaySyntax: config.overlaySyntax ?? 'explicit',
    results: {
      ...DEFAULT_RESULT_OPTIONS,
      uidRoot: config.uidRoot,
      srClass: config.srClass,
      seriesNumberBase: config.seriesNumber,
      seriesDescription: config.seriesDescription,
      contentDateTime,
    },
  };
}

export interface ResultObject {
  kind: ResultKind;
  /** the overlay may still be rendering (sharp, on its own threads) or compressing when this returns */
  dataset: NaturalDataset | Promise<NaturalDataset>;
  /** the transfer syntax to write it in: its pixel data is already in it */
  transferSyntax: string;
}

export interface ObjectResults {
  image: DecodedImage;
  display: DisplayImage;
  analysis: HandAnalysis;
  /** in the order to serialise them: SR and PR first, while the overlay renders */
  objects: ResultObject[];
}

const ORDER: ResultKind[] = ['sr', 'pr', 'sc'];

/**
 * `name` names the object in error messages (a file path, a spool path). A PNG or JPEG
 * (`jointscore analyze` on a research set) is analysed the same way at `pictureSpacingMm`
 * (else the hand's own scale), as the finger `pictureFinger` where a finger film's header would
 * name one, and gets no DICOM results: it belongs to no study.
 */
export async function analyseObject(
  bytes: Uint8Array,
  name: string,
  models: Models,
  policy: AnalysisPolicy,
  log: Logger,
  pictureSpacingMm?: number,
  pictureFinger?: NamedFinger,
): Promise<ObjectResults> {
  const picture = pictureKind(bytes) !== undefined;
  const image = await decodeImage(bytes, name, { pictureSpacingMm, log });
  const display = toDisplay(image);
  // the overlay's radiograph is shrunk while the models run (a third of the overlay's time)
  const overlay = !picture && policy.outputs.sc ? startOverlay(display, policy.results) : undefined;
  const spacingFrom = image.pixelSpacingSource === 'default' ? 'default' : 'header';
  // a site that grades every age (minGradingAgeYears 0) grades children's hands whatever their growth plates show
  const openPhysesCheck = policy.minGradingAgeYears > 0;
  const finger = picture ? (pictureFinger ? { finger: pictureFinger } : undefined) : declaredFinger(image.dataset);
  const found = await analyzeDisplay(display, image.sopInstanceUID, models, undefined, { spacingFrom, paViewsOnly: policy.paViewsOnly, openPhysesCheck, finger });
  const analysis = withFingerNotRead(picture ? found : withAgePolicy(found, image.dataset, policy.minGradingAgeYears), finger, spacingFrom, picture ? undefined : image.dataset);
  if (analysis.hands.length === 0 && finger) log.info(`${name}: ${fingerNotRead(finger, spacingFrom)}`, { file: name, sopInstanceUID: image.sopInstanceUID });
  if (analysis.source.readAsNegative) log.warn(readAsNegativeMessage(name, picture ? undefined : image.photometric), { file: name, sopInstanceUID: image.sopInstanceUID });
  const setAside = headerSpacingSetAside(name, SPACING_NAMES[image.pixelSpacingSource], analysis.source);
  if (setAside) log.warn(setAside, { file: name, sopInstanceUID: image.sopInstanceUID });
  if (!picture && policy.outputs.pr && analysis.hands.length > 0 && !gspsApplies(image.dataset)) {
    log.info(`${name}: no presentation state: the film is stored in colour, and a grayscale presentation state applies to MONOCHROME images only; the SR and the overlay carry the result`, { file: name, sopInstanceUID: image.sopInstanceUID });
  }
  return { image, display, analysis, objects: picture ? [] : resultObjects(analysis, image.dataset, display, policy, overlay) };
}

/** What reads a finger film seen without its name: the header naming the finger and its side, as a site's modality can. */
const FINGER_FIX_HEADER = 'the header names no finger; name it at the modality in the Series Description ("R 5TH FINGER", "LEFT INDEX FINGER") or the Anatomic Region Sequence (0008,2218), with Image Laterality (0020,0062), and the film is read as that finger';
const FINGER_FIX_PICTURE = 'name it with `jointscore analyze --finger` (the side and digit, as R5) at the picture\'s `--spacing`';

/** Why a film its header calls a finger film got no finger read: the header's gap and its fix, or what the pixels did not show. */
function fingerNotRead(finger: DeclaredFinger, spacingFrom: 'header' | 'default'): string {
  if ('unnamed' in finger) return `not read as a finger film: ${finger.unnamed}`;
  if (spacingFrom === 'default') return `not read as a finger film (${finger.finger.says}): the header gives no Pixel Spacing (0028,0030) or Imager Pixel Spacing (0018,1164), and a finger is told from other bones by its phalanges' lengths in millimetres`;
  return `the header names a finger (${finger.finger.says}), but no finger's DIP, PIP and MCP were found in line on the image`;
}

/**
 * A finger film its header names (or half names) that was not read: why, beside the hands found
 * and not graded, where the side is known (the SR's Comment and the job's reason carry it; the
 * reader of "No hand found" on a finger film learns what to set at the modality). A finger film
 * seen from the pixels (analyze.ts `fingerSeen`) gets the same fix on its own entry.
 */
function withFingerNotRead(analysis: HandAnalysis, finger: DeclaredFinger | undefined, spacingFrom: 'header' | 'default', header: NaturalDataset | undefined): HandAnalysis {
  if (analysis.notGraded?.some((n) => n.view === 'finger')) {
    const fix = !header ? FINGER_FIX_PICTURE : !finger ? FINGER_FIX_HEADER : 'unnamed' in finger ? `its header: ${finger.unnamed}` : fingerNotRead(finger, spacingFrom);
    // the side as the header gives it (Image Laterality, Laterality, a description), where it does not call the film a finger film
    const side = header && headerSide(header)?.side;
    const seen = (n: HandNotGraded): HandNotGraded => ({ ...(side ? { laterality: side } : {}), ...n, reason: `${n.reason}: ${fix}` });
    return { ...analysis, notGraded: analysis.notGraded.map((n) => (n.view === 'finger' ? seen(n) : n)) };
  }
  const laterality = finger && ('finger' in finger ? finger.finger.laterality : finger.laterality);
  if (!finger || !laterality || analysis.hands.length > 0 || (analysis.notGraded ?? []).some((n) => n.cause !== 'unrecognised')) return analysis;
  return { ...analysis, notGraded: [...(analysis.notGraded ?? []), { laterality, cause: 'unrecognised', reason: fingerNotRead(finger, spacingFrom) }] };
}

/** What the administrator reads where the hand contradicted the header's spacing and was graded at its own: the attribute to check. */
export function headerSpacingSetAside(name: string, attribute: string, source: HandAnalysis['source']): string | undefined {
  const { pixelSpacingInHeaderMm: inHeader, pixelSpacingMm: graded } = source;
  if (!inHeader || !graded) return undefined;
  return (
    `${name}: ${attribute} ${spacingText(inHeader)} would make the hand ${handSizeAt(inHeader, graded)}: graded at ${spacingText(graded)}, the spacing its bone lengths give (the SR and overlay say so). ` +
    'Check the attribute at the modality (its calibration, or a film resized or digitised with the spacing carried over)'
  );
}

/** What the administrator reads where a film was graded on its negative: the attribute to check at the modality. */
export function readAsNegativeMessage(name: string, photometric?: string): string {
  return photometric
    ? `${name}: nothing found on the image as Photometric Interpretation (0028,0004) "${photometric}" shows it; its negative shows a hand and was graded. Check that the modality labels its pixels right (MONOCHROME1: bright is air; MONOCHROME2: bright is bone)`
    : `${name}: nothing found on the picture as stored; its negative shows a hand and was graded (a picture saved inverted?)`;
}

/**
 * A child's hands are found but not graded: SvH and KL are adult scores, and growth plates
 * and unfused epiphyses look like widened or irregular joints. Unknown age is graded unless
 * the pixels show open growth plates (analyzeDisplay, src/inference/physes.ts).
 */
export function withAgePolicy(analysis: HandAnalysis, source: NaturalDataset, minGradingAgeYears: number): HandAnalysis {
  const age = minGradingAgeYears > 0 ? patientAgeYears(source) : undefined;
  if (age === undefined || age >= minGradingAgeYears || analysis.hands.length === 0) return analysis;
  const reason = `skeletally immature: patient aged ${Math.floor(age)} years (Patient's Age (0010,1010), or Birth Date and Study Date), under analysis.minGradingAgeYears ${minGradingAgeYears}; SvH and KL are adult scores`;
  return { ...analysis, ...asImmature(analysis, reason) };
}

/** SR, PR and SC for an image with a hand; without one, the no-hand SR when asked for, else nothing. */
export function resultObjects(
  analysis: HandAnalysis,
  source: NaturalDataset,
  display: DisplayImage,
  policy: AnalysisPolicy,
  overlay?: OverlayStart,
): ResultObject[] {
  const built: Partial<Record<ResultKind, NaturalDataset | Promise<NaturalDataset>>> =
    analysis.hands.length > 0
      ? startResultObjects(analysis, source, display, policy.results, policy.outputs, overlay)
      : policy.reportNoHand
        ? buildNoHandReport(analysis, source, policy.results)
        : {};
  return ORDER.filter((kind) => built[kind] !== undefined && policy.outputs[kind]).map((kind) => {
    if (kind !== 'sc') return { kind, dataset: built[kind]!, transferSyntax: TransferSyntax.ExplicitVRLittleEndian };
    const sc = Promise.resolve(built.sc!).then((ds) => inOverlaySyntax(ds, policy.overlaySyntax));
    // as startResultObjects does: a failure before the caller awaits it (it writes the SR and PR
    // first) must not be an unhandled rejection, which ends the process; the caller's await sees it
    sc.catch(() => undefined);
    return { kind, dataset: sc, transferSyntax: OVERLAY_SYNTAXES[policy.overlaySyntax] };
  });
}
