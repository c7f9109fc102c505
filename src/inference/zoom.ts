import { DisplayHistogram } from '../imaging/display-histogram.js';
import type { DisplayImage } from '../imaging/preprocess.js';
import type { Candidate } from './detector.js';
import type { Panel } from './panels.js';
import { PARTIAL_VIEW } from './view.js';

/**
 * Where to read a film again, larger, when the detectors saw joint-like structures on it but no
 * hand they could name: the part that holds what they saw, with a margin. The detectors read a
 * film shrunk to their input; a wrist at the end of a long forearm film, or a film pasted small
 * on a larger canvas, then shows its carpus at half the size they learnt it (docs/evaluation.md,
 * "A wrist read larger"). Pure: candidates in, a rectangle of the film out.
 */
export const ZOOM = {
  /** structures this sure count toward where the hand lies */
  minConfidence: 0.3,
  /** at least this many of them (a partial view's joints) */
  minJoints: PARTIAL_VIEW.minJoints,
  /** the box around them grows by this share of its longer side on every side */
  margin: 0.25,
  /** a region this share of the film's area or more is not worth reading again */
  maxShareOfFilm: 0.6,
  /**
   * structures spanning less than this share of the film's longer side are no partial view's
   * joints (a wrist's span a sixth of the film would be read at six times its size)
   */
  minSpanOfFilm: 0.1,
} as const;

/** The structures the detectors saw with some confidence, where there are a partial view's worth of them. */
export function sureStructures(seen: readonly Candidate[]): Candidate[] | undefined {
  const sure = seen.filter((c) => c.confidence >= ZOOM.minConfidence);
  return sure.length >= ZOOM.minJoints ? sure : undefined;
}

export function zoomRegion(seen: readonly Candidate[], film: { rows: number; columns: number }): Panel | undefined {
  const sure = sureStructures(seen);
  if (!sure) return undefined;
  const xs = sure.map((c) => c.x);
  const ys = sure.map((c) => c.y);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  if (Math.max(x1 - x0, y1 - y0) < ZOOM.minSpanOfFilm * Math.max(film.rows, film.columns)) return undefined;
  const grow = ZOOM.margin * Math.max(x1 - x0, y1 - y0);
  const left = clamp(Math.floor(x0 - grow), 0, film.columns - 1);
  const top = clamp(Math.floor(y0 - grow), 0, film.rows - 1);
  const right = clamp(Math.ceil(x1 + grow), left + 1, film.columns);
  const bottom = clamp(Math.ceil(y1 + grow), top + 1, film.rows);
  const region = { x0: left, columns: right - left, y0: top, rows: bottom - top };
  return region.columns * region.rows < ZOOM.maxShareOfFilm * film.columns * film.rows ? region : undefined;
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/** The smaller reading's canvas (`smallerImage`). */
export const SMALLER = {
  /** the canvas's size over the film's */
  factor: 1.3,
  /** the padding's value: this quantile of the film's display values (its air) */
  airQuantile: 0.05,
} as const;

/**
 * A film read again smaller: set in the middle of a canvas `SMALLER.factor` times its size,
 * padded with its air. A magnified partial view (a wrist cut from a film at the carpus, as
 * research sets and some sites' wrist protocols show it) fills the film, and the detectors,
 * which learnt partial views cut from whole hands, see its carpus larger than they learnt it
 * (docs/evaluation.md, "A magnified wrist read smaller"). analyze.ts reads it only where the
 * detectors saw a partial view's worth of structures (`sureStructures`), so that a film with
 * nothing on it (a chest) costs no more. The panel's offset is negative: the film's pixel (x, y)
 * is the canvas's (x - x0, y - y0). Pure: pixels in, pixels out.
 */
export function smallerImage(img: DisplayImage): { panel: Panel; image: DisplayImage } {
  const rows = Math.round(img.rows * SMALLER.factor);
  const columns = Math.round(img.columns * SMALLER.factor);
  const top = (rows - img.rows) >> 1;
  const left = (columns - img.columns) >> 1;
  const data = new Float32Array(rows * columns).fill(DisplayHistogram.of(img.data).quantile(SMALLER.airQuantile));
  for (let y = 0; y < img.rows; y++) data.set(img.data.subarray(y * img.columns, (y + 1) * img.columns), (y + top) * columns + left);
  return { panel: { x0: -left, columns, y0: -top, rows }, image: { rows, columns, data, pixelSpacingMm: img.pixelSpacingMm } };
}
