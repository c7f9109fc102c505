import { asImmature, type HandAnalysis, type HandNotGraded, type HandResult, type JointResult } from '../analysis/hand-analysis.js';
import { detectAnyOrientation, detectLevelled, type OrientedDetection, type QuarterTurns } from './orientation.js';
import { keepPaHands, MAX_PA_RESIDUAL, namedFingerView, PARTIAL_VIEW, recognisedHand, thumbOnFilm, type ViewCheck } from './view.js';
import { FINGER_READING, readNamedFinger, seeFinger, type DeclaredFinger } from './finger.js';
import { DEFAULT_CALIBRATION, type DetectorCalibration } from './manifest.js';
import { grade } from './grader.js';
import { childsPhyses, immatureReason } from './physes.js';
import { readMarkers } from './marker.js';
import type { Models } from './models.js';
import { exposedBox, fieldOf, onFilm, panelImage, panelsOf, type Panel } from './panels.js';
import { chooseSpacing, estimateSpacing, readScale, type ChosenSpacing } from './spacing.js';
import { onThumbGap } from './thumb-gap.js';
import { smallerImage, sureStructures, zoomRegion } from './zoom.js';
import type { Candidate } from './detector.js';
import { WRIST_SITES } from '../analysis/joints.js';
import { squarePixels, toDisplay, type DisplayImage, type SquarePixels, type StoredImage } from '../imaging/preprocess.js';

/**
 * One image in, one HandAnalysis out: display image (percentile window, bone bright),
 * detector, grader. No file I/O here: the caller decodes (src/imaging/decode.ts) and loads
 * the models (src/inference/models.ts).
 */
export interface AnalyzeInput extends StoredImage {
  sopInstanceUID: string;
}

export interface AnalyzeTimings {
  displayMs: number;
  detectMs: number;
  gradeMs: number;
}

export interface AnalyzeOptions {
  /** fewer joints found than this and a hand is not reported (default MIN_JOINTS_PER_HAND) */
  minJointsPerHand?: number;
  /** where the display image's spacing came from: 'default' when the file had none */
  spacingFrom?: 'header' | 'default';
  /** grade only hands in a PA layout (default true; src/inference/view.ts) */
  paViewsOnly?: boolean;
  /** leave hands with open growth plates ungraded (default true; src/inference/physes.ts) */
  openPhysesCheck?: boolean;
  /** move an unsure MCP1 onto its joint gap (default true; src/inference/thumb-gap.ts) */
  thumbGap?: boolean;
  /** where nothing is found, read the film's negative too (default true; `analyzeDisplay`) */
  negativeRead?: boolean;
  /** read a film at a slant again levelled where no partial view is read as it lies (default true; `partialViewsBy`) */
  levelled?: boolean;
  /** read the film's lead marker where a hand is found (default true; `withMarkers`) */
  markers?: boolean;
  /** the finger the header says the film shows, read where nothing else is found (`fingerNamed`) */
  finger?: DeclaredFinger;
  /** where nothing else is found, look for a finger film no header names (default true; `fingerSeen`) */
  fingerSeen?: boolean;
}

export async function analyzeImage(
  input: AnalyzeInput,
  models: Pick<Models, 'detector' | 'grader' | 'partialDetector'>,
  timings?: AnalyzeTimings,
  options: AnalyzeOptions = {},
): Promise<HandAnalysis> {
  const n = input.rows * input.columns;
  if (!(input.rows > 0 && input.columns > 0) || input.values.length < n) {
    throw new Error(`image of ${input.rows} x ${input.columns} pixels with ${input.values.length} stored values`);
  }
  const t0 = performance.now();
  const img = toDisplay(input);
  const displayMs = performance.now() - t0;
  const analysis = await analyzeDisplay(img, input.sopInstanceUID, models, timings, options);
  if (timings) timings.displayMs = displayMs;
  return analysis;
}

/**
 * The same from a display image already made (`toDisplay`), for callers that also need it,
 * such as the result writers (the overlay is drawn on it): the window is computed once.
 *
 * Where nothing is found on the film as its header says to show it, and the film's edge is bright
 * as the air of a negative is (`NEGATIVE.edgeMedian`), its negative is read too: a MONOCHROME1
 * film sent as MONOCHROME2 (or a research picture saved inverted) shows bones dark on bright air,
 * which the detectors never learnt. Its answer is taken only where it grades a hand, and says so
 * (`source.readAsNegative`). A film whose pixels are not square is read stretched to square
 * pixels, as the detectors learnt hands, and its points given back on its own grid.
 */
export async function analyzeDisplay(
  img: DisplayImage,
  sopInstanceUID: string,
  models: Pick<Models, 'detector' | 'grader' | 'partialDetector'>,
  timings?: AnalyzeTimings,
  options: AnalyzeOptions = {},
): Promise<HandAnalysis> {
  const square = squarePixels(img);
  if (!square) return analyzeSquare(img, sopInstanceUID, models, timings, options);
  return onStoredGrid(await analyzeSquare(square.img, sopInstanceUID, models, timings, options), square, img);
}

/**
 * An analysis made on the film stretched to square pixels (`squarePixels`), taken back to the
 * stored pixel grid: points, boxes and markers where the viewer shows them, the spacing per axis.
 */
function onStoredGrid(a: HandAnalysis, { fx, fy }: SquarePixels, stored: DisplayImage): HandAnalysis {
  const at = <T extends { x: number; y: number }>(p: T): T => ({ ...p, x: p.x / fx, y: p.y / fy });
  const boxed = (j: JointResult): JointResult => ({ ...at(j), box: [j.box[0] / fx, j.box[1] / fy, j.box[2] / fx, j.box[3] / fy] });
  const onGrid = (s: [number, number]): [number, number] => [s[0] * fy, s[1] * fx];
  const { markers, pixelSpacingMm: spacing, pixelSpacingInHeaderMm: inHeader, jointsReadAtMm: readAt } = a.source;
  return {
    ...a,
    source: {
      ...a.source,
      rows: stored.rows,
      columns: stored.columns,
      ...(spacing ? { pixelSpacingMm: onGrid(spacing) } : {}),
      ...(inHeader ? { pixelSpacingInHeaderMm: onGrid(inHeader) } : {}),
      ...(readAt ? { jointsReadAtMm: onGrid(readAt) } : {}),
      ...(markers ? { markers: markers.map(at) } : {}),
    },
    hands: a.hands.map((h) => ({ ...h, joints: h.joints.map(boxed) })),
  };
}

/** `analyzeDisplay` on square pixels. */
async function analyzeSquare(
  img: DisplayImage,
  sopInstanceUID: string,
  models: Pick<Models, 'detector' | 'grader' | 'partialDetector'>,
  timings: AnalyzeTimings | undefined,
  options: AnalyzeOptions,
): Promise<HandAnalysis> {
  const shown = await analyzeAsShown(img, sopInstanceUID, models, timings, options);
  if (options.negativeRead === false || !nothingFound(shown) || !edgeLikeNegativeAir(img)) return withMarkers(shown, img, options);
  const inverted = negativeOf(img);
  const negative = await analyzeAsShown(inverted, sopInstanceUID, models, undefined, options);
  return negative.hands.length > 0
    ? withMarkers({ ...negative, source: { ...negative.source, readAsNegative: true } }, inverted, options)
    : withMarkers(shown, img, options);
}

/**
 * The film's lead markers (marker.ts) where a hand was found on it, graded or named: the side a
 * radiographer marked, for the laterality cross-check (src/analysis/laterality.ts). Read on the
 * image as it was analysed (a film read as its negative shows its lead white there), at the
 * spacing the joints were graded at.
 */
function withMarkers(analysis: HandAnalysis, img: DisplayImage, options: AnalyzeOptions): HandAnalysis {
  if (options.markers === false || nothingFound(analysis)) return analysis;
  const markers = readMarkers({ ...img, pixelSpacingMm: analysis.source.pixelSpacingMm ?? img.pixelSpacingMm }, analysis.hands.flatMap((h) => h.joints));
  return markers.length ? { ...analysis, source: { ...analysis.source, markers } } : analysis;
}

/** No hand graded, and none found and named (another view, a child's hand). */
export function nothingFound(a: HandAnalysis): boolean {
  return a.hands.length === 0 && (a.notGraded ?? []).every((n) => n.cause === 'unrecognised');
}

/**
 * When a film is worth reading as a negative. Without the edge bound, the negative of an upper-limb
 * shoulder film (its edge half dark air, half soft tissue: median 0.63) gave a "hand" on the ribs;
 * twelve Radiopaedia hands inverted have edges at 0.84-1.00, upright hand films at air's black.
 */
export const NEGATIVE = {
  /** the band along the film's edges, as a share of its shorter side */
  edgeBand: 0.03,
  /** the band's median display value at least this (the air of a negative is near white) */
  edgeMedian: 0.75,
} as const;

/** Is the film's edge bright, as the air around a hand shown inverted is: half its band at least at the bound? */
function edgeLikeNegativeAir(img: DisplayImage): boolean {
  const { rows, columns, data } = img;
  const band = Math.max(1, Math.round(NEGATIVE.edgeBand * Math.min(rows, columns)));
  let [bright, n] = [0, 0];
  const count = (from: number, to: number) => {
    for (let i = from; i < to; i++) if (data[i] >= NEGATIVE.edgeMedian) bright++;
    n += to - from;
  };
  for (let y = 0; y < rows; y++) {
    const row = y * columns;
    if (y < band || y >= rows - band || columns <= 2 * band) count(row, row + columns);
    else {
      count(row, row + band);
      count(row + columns - band, row + columns);
    }
  }
  return bright >= n / 2;
}

/** Black and white exchanged. */
function negativeOf(img: DisplayImage): DisplayImage {
  return { ...img, data: img.data.map((v) => 1 - v) };
}

/** The analysis of the film as `img` shows it: its hands found, judged, graded. */
async function analyzeAsShown(
  img: DisplayImage,
  sopInstanceUID: string,
  models: Pick<Models, 'detector' | 'grader' | 'partialDetector'>,
  timings: AnalyzeTimings | undefined,
  options: AnalyzeOptions,
): Promise<HandAnalysis> {
  const [sr, sc] = img.pixelSpacingMm;
  if (!(sr > 0 && sc > 0)) throw new Error(`pixel spacing [${sr}, ${sc}] mm: expected two positive numbers`);
  const t1 = performance.now();
  const { hands: found, detectors, spacing } = await jointsToGrade(img, models, options);
  const { quarterTurns, candidates, paResiduals, partial } = found;
  const t2 = performance.now();
  const spaced = { ...img, pixelSpacingMm: spacing.mm };
  const read = { ...img, pixelSpacingMm: readScale(spacing) };
  const everyAge = await grade(spaced, candidates, models.grader.manifest, models.grader.runner, found.calibration.jointMinConfidence, read.pixelSpacingMm);
  // growth plates measured at the scale the joints were read at, the scale their bounds were set on (pictures read at the estimate)
  const { hands: graded, notGraded } = options.openPhysesCheck === false ? { hands: everyAge, notGraded: found.notGraded } : withoutChildren(read, everyAge, found.notGraded);
  const rounded = (r: number) => Math.round(r * 1000) / 1000;
  const hands = graded.map((h) => {
    const residual = paResiduals[h.laterality];
    const part = partial[h.laterality];
    if (part) return { ...h, view: { kind: 'PA-partial' as const, layoutResidual: rounded(part.residual), maxResidual: PARTIAL_VIEW.maxResidual, notInView: part.notInView, ...(part.namedBy ? { namedBy: part.namedBy } : {}) } };
    return residual === undefined ? h : { ...h, view: { kind: 'PA' as const, layoutResidual: rounded(residual), maxResidual: MAX_PA_RESIDUAL } };
  });
  const t3 = performance.now();
  if (timings) Object.assign(timings, { displayMs: 0, detectMs: t2 - t1, gradeMs: t3 - t2 });
  return {
    source: { sopInstanceUID, rows: img.rows, columns: img.columns, ...spacingOf(spacing), ...(quarterTurns ? { turnedDeg: quarterTurns * 90 } : {}) },
    models: [...detectors.map((d) => d.info), models.grader.info],
    hands,
    ...(notGraded.length ? { notGraded } : {}),
  };
}

type Detector = Models['detector'];

/** The spacing chosen, as the analysis's source states it. */
function spacingOf(spacing: ChosenSpacing): Pick<HandAnalysis['source'], 'pixelSpacingMm' | 'pixelSpacingFrom' | 'pixelSpacingMeasuredOn' | 'pixelSpacingInHeaderMm' | 'jointsReadAtMm'> {
  return {
    pixelSpacingMm: spacing.mm,
    pixelSpacingFrom: spacing.from,
    ...(spacing.measuredOn ? { pixelSpacingMeasuredOn: spacing.measuredOn } : {}),
    ...(spacing.headerMm ? { pixelSpacingInHeaderMm: spacing.headerMm } : {}),
    ...(spacing.readAtMm ? { jointsReadAtMm: spacing.readAtMm } : {}),
  };
}

/**
 * The film's graded hands, less a child's: where any hand shows open growth plates
 * (physes.ts) every hand on the film is the same child's and none is graded, each named with
 * the reason.
 */
function withoutChildren(img: DisplayImage, hands: HandResult[], notGraded: HandNotGraded[]): { hands: HandResult[]; notGraded: HandNotGraded[] } {
  const child = childsPhyses(img, hands);
  return child ? asImmature({ hands, notGraded }, immatureReason(child)) : { hands, notGraded };
}

/**
 * The joints the node grades on a film and the spacing it grades them at: hands found at any
 * turn and judged as views, spacing from the header or, failing that, the hand, the thumb's
 * MCP on its joint gap (thumb-gap.ts). Exported so
 * that training and evaluation scripts crop exactly what serving crops.
 */
export async function jointsToGrade(
  img: DisplayImage,
  models: Pick<Models, 'detector' | 'partialDetector'>,
  options: AnalyzeOptions = {},
): Promise<Omit<Found, 'seen'> & { spacing: ChosenSpacing }> {
  const { hands, detectors } = await findHands(img, models, options);
  const spacing = chooseSpacing(img.pixelSpacingMm, options.spacingFrom ?? 'header', estimateSpacing(hands.candidates));
  // the spacing is chosen on the detector's points; the thumb's MCP then moves at that scale
  const candidates = options.thumbGap === false ? hands.candidates : onThumbGap({ ...img, pixelSpacingMm: spacing.mm }, hands.candidates);
  return { hands: { ...hands, candidates }, detectors, spacing };
}

/** A film's hands, the detectors that found them, and every joint those detectors found (film frame, before the view check). */
type Found = { hands: FoundHands; detectors: Detector[]; seen: Candidate[] };

/** One detector's hands at any turn, judged as views (whole PA hands, partial PA views, the rest named). */
type FoundHands = ViewCheck & { quarterTurns: QuarterTurns; calibration: DetectorCalibration };

/** A part of the film read on its own (`panelImage`), its joints put back into the film's frame. */
type ReadOn = { panel: Panel; image: DisplayImage };

/**
 * One detector's reading of the film, or of a part of it (`part`: read at the detector's full
 * input, the joints put back into the film's frame); judged on the whole film either way. Also
 * the joints it found before the view check.
 */
async function handsBy(detector: Detector, img: DisplayImage, options: AnalyzeOptions, partialDropOne = false, part?: ReadOn): Promise<{ hands: FoundHands; seen: Candidate[] }> {
  return judged(detector, img, options, partialDropOne, await detectAnyOrientation(part?.image ?? img, detector.manifest, detector.runner, options.minJointsPerHand), part);
}

/**
 * The partial-view detector's reading of the film as it lies; where that is no partial PA view
 * and the film lies at a slant, its reading levelled (orientation.ts `detectLevelled`) where that
 * is one. A view read as it lies is kept even where the levelled reading is surer: moved by a
 * few millimetres, the joints of magnified RA wrists were graded differently (two non-erosive
 * wrists' erosion score 0.17 -> 0.61 and 0.32; the RA wrists' AUC 0.79 -> 0.66).
 */
async function partialViewsBy(detector: Detector, img: DisplayImage, options: AnalyzeOptions, part?: ReadOn): Promise<{ hands: FoundHands; seen: Candidate[] }> {
  const asLies = await handsBy(detector, img, options, true, part);
  if (onlyPartialViews(asLies.hands) || options.levelled === false) return asLies;
  const found = await detectLevelled(part?.image ?? img, detector.manifest, detector.runner, options.minJointsPerHand);
  const levelled = found && judged(detector, img, options, true, found, part);
  return levelled && onlyPartialViews(levelled.hands) ? levelled : asLies;
}

/** A detector's joints (`found`, on `part` where given) put into the film's frame and judged as views there. */
function judged(detector: Detector, img: DisplayImage, options: AnalyzeOptions, partialDropOne: boolean, found: OrientedDetection, part?: ReadOn): { hands: FoundHands; seen: Candidate[] } {
  // a part read larger lies inside the film; a film read smaller has padding around it, where nothing is the film's
  const seen = part ? onFilm(found.candidates, part.panel).filter((c) => c.x >= 0 && c.y >= 0 && c.x < img.columns && c.y < img.rows) : found.candidates;
  const calibration = detector.manifest.calibration ?? DEFAULT_CALIBRATION;
  const hands = { ...keepPaHands(seen, img, options.paViewsOnly !== false, recognisedHand(calibration), partialDropOne), quarterTurns: found.quarterTurns, calibration };
  return { hands, seen };
}

/**
 * The film's hands (`handsOn`); where none is found on the whole film, or a partial view named
 * across two of its panels (`acrossPanels`), and it is made of panels side by side (panels.ts:
 * two views on one plate), the hands of the panel that has the most,
 * put back into the film's pixel frame; where neither, a partial view read again larger or smaller
 * (`readAgain`); where none of these, the finger the header names (`fingerNamed`), else a film of
 * one finger seen without its name (`fingerSeen`: not graded).
 */
async function findHands(
  img: DisplayImage,
  models: Pick<Models, 'detector' | 'partialDetector'>,
  options: AnalyzeOptions,
): Promise<Found> {
  const field = exposedBox(img);
  const whole = await handsOn(img, models, options, field ? { panel: field, image: panelImage(img, field) } : undefined);
  const panels = sawNoHand(whole.hands) || onlyPartialViews(whole.hands) ? panelsOf(img) : [];
  if (!sawNoHand(whole.hands) && !acrossPanels(whole.hands, panels)) return whole;
  let best: Found | undefined;
  for (const panel of panels) {
    const found = onWholeFilm(await handsOn(panelImage(img, panel), models, options), panel, img);
    if (found.hands.candidates.length > (best?.hands.candidates.length ?? 0)) best = found;
  }
  if (best) return best;
  // a partial view across panels that no panel reads alone stays as the whole film read it
  if (!sawNoHand(whole.hands)) return whole;
  return (await readAgain(img, whole.seen, models, options)) ?? (await fingerNamed(img, whole, models, options)) ?? (await fingerSeen(img, whole, models, options)) ?? whole;
}

/**
 * A film of one finger that no header names (or names without a spacing to read it at): seen from
 * its pixels (finger.ts `seeFinger`) and reported as a finger film, not graded, since a finger
 * alone shows neither which finger it is nor whose; "no hand" would tell the reader less. The side
 * where the header gives it. At the header's spacing the phalanges must have a finger's length too.
 */
async function fingerSeen(img: DisplayImage, whole: Found, models: Pick<Models, 'detector' | 'partialDetector'>, options: AnalyzeOptions): Promise<Found | undefined> {
  const detector = models.partialDetector;
  // a finger named at the header's spacing was looked for by `fingerNamed` among every chain this would see
  const namedAtSpacing = options.finger && 'finger' in options.finger && options.spacingFrom !== 'default';
  if (!detector || options.fingerSeen === false || namedAtSpacing) return undefined;
  const spacing = options.spacingFrom === 'default' ? undefined : Math.sqrt(img.pixelSpacingMm[0] * img.pixelSpacingMm[1]);
  const seen = await seeFinger(img, detector.manifest, detector.runner, spacing);
  if (!seen) return undefined;
  const declared = options.finger;
  const laterality = declared && ('finger' in declared ? declared.finger.laterality : declared.laterality);
  const reason =
    `a finger film: a finger's DIP, PIP and MCP found in line across ${Math.round(100 * seen.extent)} % of the film's length ` +
    `(a finger film's is ${Math.round(100 * FINGER_READING.minExtent)} % or more; its weakest joint ${seen.score.toFixed(2)}); fingers without the hand around them show neither which they are nor whose, ` +
    'and a finger film is graded only as the finger its header names';
  const notGraded: HandNotGraded = { ...(laterality ? { laterality } : {}), cause: 'view', view: 'finger', reason };
  return { ...whole, hands: { ...whole.hands, candidates: [], partial: {}, notGraded: [notGraded] } };
}

/**
 * A finger film read by the finger its header names (finger.ts), where nothing else is found: its
 * DIP, PIP and MCP as a partial PA view of that finger. Only at the header's spacing: a finger is
 * told from a forearm's bone ends by its phalanges' lengths in millimetres.
 */
async function fingerNamed(img: DisplayImage, whole: Found, models: Pick<Models, 'detector' | 'partialDetector'>, options: AnalyzeOptions): Promise<Found | undefined> {
  const named = options.finger && 'finger' in options.finger ? options.finger.finger : undefined;
  const detector = models.partialDetector;
  if (!named || !detector || options.spacingFrom === 'default') return undefined;
  const read = await readNamedFinger(img, named, detector.manifest, detector.runner);
  const view = read && namedFingerView(read.candidates, named.laterality, named.says);
  if (!read || !view) return undefined;
  const calibration = detector.manifest.calibration ?? DEFAULT_CALIBRATION;
  const hands: FoundHands = { candidates: read.candidates, paResiduals: {}, partial: { [named.laterality]: view }, notGraded: [], quarterTurns: read.quarterTurns, calibration };
  return { hands, detectors: [models.detector, detector], seen: whole.seen };
}

/**
 * A partial view the detectors could not name at the film's scale, read again: larger, the part
 * of the film holding what the detectors saw (zoom.ts: a wrist at the end of a long forearm
 * film), else the exposed field inside the film's empty margins (panels.ts `fieldOf`: a film
 * captured on a viewer's black screen, a collimated field masked black), judged as a panel is;
 * else smaller where they saw a partial view's worth of structures (zoom.ts `smallerImage`: a
 * magnified wrist that fills its film). Each answer is taken only when every hand it keeps is a
 * partial PA view (the smaller reading's only when it is a wrist alone): on the upper-limb films
 * the one whole hand the zoomed reading added was a hand in a cast, and phantom feet read on their
 * field came out as whole hands (7 of 40 against 3, 1280 x 1024 films).
 */
async function readAgain(img: DisplayImage, seen: Candidate[], models: Pick<Models, 'detector' | 'partialDetector'>, options: AnalyzeOptions): Promise<Found | undefined> {
  const region = zoomRegion(seen, img);
  const zoomed = region ? await handsOn(img, models, options, { panel: region, image: panelImage(img, region) }) : undefined;
  if (zoomed && onlyPartialViews(zoomed.hands)) return zoomed;
  const field = fieldOf(img);
  const inField = field ? onWholeFilm(await handsOn(panelImage(img, field), models, options), field, img) : undefined;
  if (inField && onlyPartialViews(inField.hands)) return inField;
  if (!sureStructures(seen)) return undefined;
  // not levelled: a film without a hand at a slant comes this far too; levelling this reading as well
  // made the levelled readings cost it 163 ms instead of 43-72 (docs/evaluation.md "Partial views read levelled")
  const smaller = await handsOn(img, models, { ...options, levelled: false }, smallerImage(img));
  return onlyMagnifiedWrists(smaller.hands) ? smaller : undefined;
}

/**
 * Partial views of the wrist alone: what a film read smaller is taken for. A magnified wrist's
 * carpus and CMC row name themselves; fingers read smaller were named on the wrong phalanges or
 * the wrong side (a finger film, a thumb series on the upper-limb films).
 */
function onlyMagnifiedWrists(hands: FoundHands): boolean {
  return onlyPartialViews(hands) && hands.candidates.every((c) => WRIST_SITES.includes(c.site));
}

/** A panel's hands in the film's pixel frame, whole hands judged again for their thumb on the whole film. */
function onWholeFilm(found: Found, panel: Panel, img: DisplayImage): Found {
  return { ...found, hands: { ...found.hands, ...thumbOnFilm({ ...found.hands, candidates: onFilm(found.hands.candidates, panel) }, img) } };
}

/**
 * A hand whose joints lie on two panels of a film of views side by side: a partial view named
 * across a PA wrist and its other view (a phantom two-view wrist film: its MCP1 on the other
 * view's thumb), which only the panels read apart can name. Asked of partial views alone: a whole
 * hand beside another view is named on its own panel.
 */
function acrossPanels(hands: FoundHands, panels: Panel[]): boolean {
  const panelOf = (c: Candidate) => panels.findIndex((p) => c.x >= p.x0 && c.x < p.x0 + p.columns && c.y >= p.y0 && c.y < p.y0 + p.rows);
  const sides = new Set(hands.candidates.map((c) => c.laterality));
  return [...sides].some((side) => new Set(hands.candidates.filter((c) => c.laterality === side).map(panelOf)).size > 1);
}

/** Hands found, every one a partial PA view. */
function onlyPartialViews(hands: FoundHands): boolean {
  return hands.candidates.length > 0 && hands.candidates.every((c) => hands.partial[c.laterality]);
}

/** Nothing found, or nothing that could be named: no hand, not a hand in another view. */
function sawNoHand(hands: FoundHands): boolean {
  return hands.candidates.length === 0 && hands.notGraded.every((n) => n.cause === 'unrecognised');
}

/**
 * The detector's hands; where it sees no hand at all (nothing, or nothing it can name) and a
 * partial-view detector is loaded, that detector's partial PA views instead. The second
 * detector learnt wrist-only and finger-only films and names their joints where the first
 * cannot, but reads whole hands less well: it is asked only when the first found no hand, and
 * its answer is taken only when every hand it keeps is a partial view.
 */
async function handsOn(
  img: DisplayImage,
  models: Pick<Models, 'detector' | 'partialDetector'>,
  options: AnalyzeOptions,
  part?: ReadOn,
): Promise<Found> {
  const first = await handsBy(models.detector, img, options, false, part);
  if (!models.partialDetector || !sawNoHand(first.hands)) return { hands: first.hands, detectors: [models.detector], seen: first.seen };
  const second = await partialViewsBy(models.partialDetector, img, options, part);
  const seen = [...first.seen, ...second.seen];
  return onlyPartialViews(second.hands)
    ? { hands: second.hands, detectors: [models.detector, models.partialDetector], seen }
    : { hands: first.hands, detectors: [models.detector], seen };
}
