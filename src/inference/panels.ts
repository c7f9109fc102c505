import type { DisplayImage } from '../imaging/preprocess.js';
import { boxAround } from '../imaging/box.js';
import { movedCandidate, type Candidate } from './detector.js';

/**
 * Films of two views side by side (a PA wrist beside its lateral, a PA finger beside its
 * lateral: one CR plate exposed twice, or a montage) are split where nothing crosses from one
 * view to the other: a band of columns of one value from top to bottom (the unexposed strip
 * between two collimated fields, or a montage's border line). Read whole, such a film mixes
 * two views' joints and the detectors name none; read panel by panel, the PA view is a view
 * the detectors know. Views one above the other (a landscape plate stored turned, a montage
 * stacked) are split the same way at a band of rows, where no band of columns splits the film.
 * Pure: pixels in, rectangles out.
 */
export interface Panel {
  x0: number;
  columns: number;
  y0: number;
  rows: number;
}

/** Where a split may lie (share of the width) and how uniform a border column must be. */
export const PANEL_SPLIT = {
  minShare: 0.2,
  /** sampled rows within `tolerance` of the column's median value */
  uniformRows: 0.98,
  tolerance: 0.04,
  sampledRows: 256,
} as const;

/**
 * The film's panels, left to right (else top to bottom); [] when no border splits it into
 * views. Three views side by side (a PA, an oblique and a lateral wrist on one plate) give
 * three panels.
 */
export function panelsOf(img: DisplayImage): Panel[] {
  const across = splitsOf(uniformLines(img, 'columns'));
  if (across.length) return between(across, img.columns).map(([x0, columns]) => ({ x0, columns, y0: 0, rows: img.rows }));
  const down = splitsOf(uniformLines(img, 'rows'));
  return between(down, img.rows).map(([y0, rows]) => ({ x0: 0, columns: img.columns, y0, rows }));
}

/** How much of the film its empty margins must hold before the field inside them is read on its own. */
export const FIELD = {
  /** the field is at most this share of the film's area */
  maxShareOfFilm: 0.8,
  /** along each edge that has a margin beyond it, this share of the field's edge differs from the margin */
  framedShare: 0.5,
  /** the band inside each edge that is looked at, as a share of the field's size across it */
  edgeDepth: 0.04,
} as const;

/**
 * The exposed field inside the film's empty margins: a film shown on a viewer's black screen and
 * captured with it, or a collimated field masked black by the modality. Read whole, such a film
 * shows the hand at a fraction of the size the detectors learnt; its field is the longest run of
 * lines that are not one value, across and down (a caption line in the margin is a shorter run),
 * where the margins hold a fifth of the film at least. Pure: pixels in, a rectangle out.
 */
export function fieldOf(img: DisplayImage): Panel | undefined {
  const field = insideMargins(img);
  return field && field.columns * field.rows <= FIELD.maxShareOfFilm * img.columns * img.rows && framed(img, field) ? field : undefined;
}

/** The longest runs of lines that are not one value, across and down: the film less its empty margins. */
export function insideMargins(img: DisplayImage): Panel | undefined {
  const [x0, columns] = longestRun(uniformLines(img, 'columns').map((u) => !u));
  const [y0, rows] = longestRun(uniformLines(img, 'rows').map((u) => !u));
  return columns > 0 && rows > 0 ? { x0, columns, y0, rows } : undefined;
}

/**
 * Is the field set off from its margins: along every edge that has a margin beyond it, does most
 * of the edge differ from the margin's value? A collimated field shows exposed air (or a bright
 * shutter edge) inside a black mask; a film whose air is clipped to the same black as its empty
 * margins has no field, only a body part in the air, and is read whole as before (cropped to the
 * body part, a foot's rays read as fingers).
 */
function framed(img: DisplayImage, f: Panel): boolean {
  return framedShares(img, f).every((share) => share === undefined || share >= FIELD.framedShare);
}

/**
 * Per side (left, right, top, bottom; undefined where the field reaches the film's edge): the
 * share of the field's edge where, within a band of FIELD.edgeDepth of the field inside it, a
 * pixel differs from the margin's value beyond it. A band, not a line: a field turned a degree
 * or two meets the lines of the film at a slant.
 */
function framedShares(img: DisplayImage, f: Panel): Array<number | undefined> {
  const value = (x: number, y: number) => img.data[y * img.columns + x];
  const depthX = Math.max(1, Math.round(FIELD.edgeDepth * f.columns));
  const depthY = Math.max(1, Math.round(FIELD.edgeDepth * f.rows));
  // each side: is there a margin beyond it; the pixel at position k along it, depth d inside; the margin's pixel at k
  const sides = [
    { has: f.x0 > 0, along: f.rows, depth: depthX, at: (k: number, d: number) => value(f.x0 + d, f.y0 + k), out: (k: number) => value(f.x0 - 1, f.y0 + k) },
    { has: f.x0 + f.columns < img.columns, along: f.rows, depth: depthX, at: (k: number, d: number) => value(f.x0 + f.columns - 1 - d, f.y0 + k), out: (k: number) => value(f.x0 + f.columns, f.y0 + k) },
    { has: f.y0 > 0, along: f.columns, depth: depthY, at: (k: number, d: number) => value(f.x0 + k, f.y0 + d), out: (k: number) => value(f.x0 + k, f.y0 - 1) },
    { has: f.y0 + f.rows < img.rows, along: f.columns, depth: depthY, at: (k: number, d: number) => value(f.x0 + k, f.y0 + f.rows - 1 - d), out: (k: number) => value(f.x0 + k, f.y0 + f.rows) },
  ];
  return sides.map((side) => {
    if (!side.has) return undefined;
    const margin = median(Array.from({ length: side.along }, (_, k) => side.out(k)));
    let differs = 0;
    for (let k = 0; k < side.along; k++) {
      for (let d = 0; d < side.depth; d++) {
        if (Math.abs(side.at(k, d) - margin) > PANEL_SPLIT.tolerance) {
          differs++;
          break;
        }
      }
    }
    return differs / side.along;
  });
}

/** The upper median (display values: float32 already). */
function median(values: ArrayLike<number>): number {
  const sorted = Float32Array.from(values).sort();
  return sorted[sorted.length >> 1];
}

/** [start, length] of the longest run of set flags ([0, 0] for none). */
function longestRun(flags: boolean[]): [number, number] {
  let best: [number, number] = [0, 0];
  for (const [a, b] of runs(flags.flatMap((f, i) => (f ? [i] : [])))) if (b - a + 1 > best[1]) best = [a, b - a + 1];
  return best;
}

/** [start, length] of each stretch between the splits; none without a split. */
function between(splits: number[], n: number): Array<[number, number]> {
  if (splits.length === 0) return [];
  const edges = [0, ...splits, n];
  return splits.concat(n).map((end, i) => [edges[i], end - edges[i]]);
}

/**
 * Where border bands split the film into views: `uniform[i]` says whether line i (a column, or
 * a row) is one value from end to end. A border has a view on each side: exposed lines over a
 * fifth of the film both ways (a film's empty margin is no border: the side beyond it shows
 * nothing), and every panel the splits make holds a fifth of the film's exposed lines at least
 * (two lines a little apart are one border, not a panel between them).
 */
function splitsOf(uniform: boolean[]): number[] {
  const n = uniform.length;
  const minContent = n * PANEL_SPLIT.minShare;
  const contentBefore = prefixCounts(uniform.map((u) => !u));
  // the content rule alone keeps a split off the film's outer fifths: no other bound is needed
  const splits: number[] = [];
  for (const band of runs(uniform.flatMap((u, x) => (u ? [x] : [])))) {
    const at = Math.round(mid(band));
    const from = splits.length ? splits[splits.length - 1] : 0;
    if (contentBefore[at] - contentBefore[from] >= minContent && contentBefore[n] - contentBefore[at] >= minContent) splits.push(at);
  }
  return splits;
}

/**
 * Each film's uniform lines, kept while its pixels live: a film without a hand is scanned for
 * panels and then for its exposed field (`panelsOf`, `fieldOf`), the same lines both times.
 */
const uniformCache = new WeakMap<DisplayImage['data'], { rows: number; columns: number; lines: Partial<Record<'columns' | 'rows', boolean[]>> }>();

/** Per column (or row): are its sampled pixels one value from end to end? */
function uniformLines(img: DisplayImage, lines: 'columns' | 'rows'): boolean[] {
  let kept = uniformCache.get(img.data);
  if (!kept || kept.rows !== img.rows || kept.columns !== img.columns) uniformCache.set(img.data, (kept = { rows: img.rows, columns: img.columns, lines: {} }));
  return (kept.lines[lines] ??= scanLines(img, lines));
}

function scanLines(img: DisplayImage, lines: 'columns' | 'rows'): boolean[] {
  const { rows, columns, data } = img;
  const [count, along] = lines === 'columns' ? [columns, rows] : [rows, columns];
  const step = Math.max(1, Math.floor(along / PANEL_SPLIT.sampledRows));
  const n = Math.ceil(along / step);
  // the sampled pixels of every line, line by line; a column's gathered row by row, in the order
  // the film lies in memory (read down a column, each pixel is a cache line of its own)
  const sampled = new Float32Array(count * n);
  if (lines === 'columns') {
    for (let k = 0, j = 0; k < along; k += step, j++) for (let i = 0, row = k * columns; i < count; i++) sampled[i * n + j] = data[row + i];
  } else {
    for (let i = 0; i < count; i++) for (let k = 0, j = i * n, row = i * columns; k < along; k += step, j++) sampled[j] = data[row + k];
  }
  return Array.from({ length: count }, (_, i) => isUniform(sampled.subarray(i * n, (i + 1) * n)));
}

/** counts[i] = how many of flags[0..i-1] are set */
function prefixCounts(flags: boolean[]): number[] {
  const counts = [0];
  for (const f of flags) counts.push(counts[counts.length - 1] + (f ? 1 : 0));
  return counts;
}

/** Bins of half the tolerance over the display range [0, 1], for the quick refusal below. */
const BIN = PANEL_SPLIT.tolerance / 2;
const bins = new Uint32Array(Math.ceil(1 / BIN) + 1);

/**
 * Within tolerance of the median nearly everywhere. Every line of a film is tested and nearly
 * none is uniform, so a histogram refuses first: values within the tolerance of any centre
 * lie in five neighbouring bins, and where no five hold enough the sort is not needed.
 */
function isUniform(values: Float32Array): boolean {
  const need = PANEL_SPLIT.uniformRows * values.length;
  bins.fill(0);
  const last = bins.length - 1;
  for (let i = 0; i < values.length; i++) {
    const b = Math.floor(values[i] / BIN);
    bins[b > last ? last : b < 0 ? 0 : b]++;
  }
  let window = 0;
  let most = 0;
  for (let b = 0; b < bins.length; b++) {
    window += bins[b] - (b >= 5 ? bins[b - 5] : 0);
    most = Math.max(most, window);
  }
  if (most < need) return false;
  const centre = median(values);
  let near = 0;
  for (const v of values) if (Math.abs(v - centre) <= PANEL_SPLIT.tolerance) near++;
  return near >= need;
}

function runs(xs: number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const x of xs) {
    const last = out[out.length - 1];
    if (last && x === last[1] + 1) last[1] = x;
    else out.push([x, x]);
  }
  return out;
}

const mid = ([a, b]: [number, number]) => (a + b) / 2;

/**
 * The box around the film's exposed pixels, where pixels that are no film (padding, a Display
 * Shutter's hidden part: `DisplayImage.offFilm`) lie beyond it on some side. Read inside it, a
 * collimated field's edge is the image's edge, as the detectors learnt films cut short; read whole,
 * fingers cut by a shutter end in the air it is shown as, and the detector took the cut for their
 * tips (a phantom's DIP3 and DIP4 found 10 mm proximal, on the middle phalanx: test/field-edge.test.ts).
 */
export function exposedBox(img: DisplayImage): Panel | undefined {
  const off = img.offFilm;
  const film = off && boxAround(img.rows, img.columns, (i) => off[i] === 0);
  if (!film) return undefined;
  const box = { x0: film.x0, y0: film.y0, columns: film.x1 - film.x0 + 1, rows: film.y1 - film.y0 + 1 };
  return box.columns === img.columns && box.rows === img.rows ? undefined : box;
}

/** The panel as an image of its own (same spacing). */
export function panelImage(img: DisplayImage, p: Panel): DisplayImage {
  const data = new Float32Array(p.rows * p.columns);
  for (let y = 0; y < p.rows; y++) {
    const from = (p.y0 + y) * img.columns + p.x0;
    data.set(img.data.subarray(from, from + p.columns), y * p.columns);
  }
  return { rows: p.rows, columns: p.columns, data, pixelSpacingMm: img.pixelSpacingMm };
}

/** Candidates found on a panel, in the whole film's pixel frame. */
export function onFilm(candidates: readonly Candidate[], p: Panel): Candidate[] {
  return candidates.map((c) => movedCandidate(c, (x, y) => [x + p.x0, y + p.y0]));
}
