import type { DisplayImage } from '../imaging/preprocess.js';
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

/** The film's panels, left to right (else top to bottom); [] when no border splits it into two views. */
export function panelsOf(img: DisplayImage): Panel[] {
  const across = splitOf(img);
  if (across !== undefined) {
    return [
      { x0: 0, columns: across, y0: 0, rows: img.rows },
      { x0: across, columns: img.columns - across, y0: 0, rows: img.rows },
    ];
  }
  const down = splitOf(transposed(img));
  if (down === undefined) return [];
  return [
    { x0: 0, columns: img.columns, y0: 0, rows: down },
    { x0: 0, columns: img.columns, y0: down, rows: img.rows - down },
  ];
}

/** The column at which a border band splits the film into two views, if one does. */
function splitOf(img: DisplayImage): number | undefined {
  const uniform = uniformColumns(img);
  const lo = Math.ceil(img.columns * PANEL_SPLIT.minShare);
  const hi = Math.floor(img.columns * (1 - PANEL_SPLIT.minShare));
  // a border has a view on each side: exposed columns over a fifth of the width both ways
  // (a film's empty margin is no border: the side beyond it shows nothing)
  const minContent = img.columns * PANEL_SPLIT.minShare;
  const contentLeftOf = prefixCounts(uniform.map((u) => !u));
  const bands = runs(uniform.flatMap((u, x) => (u && x >= lo && x <= hi ? [x] : []))).filter(
    ([a, b]) => contentLeftOf[a] >= minContent && contentLeftOf[img.columns] - contentLeftOf[b + 1] >= minContent,
  );
  if (bands.length === 0) return undefined;
  const centre = img.columns / 2;
  const band = bands.reduce((a, b) => (Math.abs(mid(b) - centre) < Math.abs(mid(a) - centre) ? b : a));
  return Math.round(mid(band));
}

/** Rows become columns: the row split is the column split of this. */
function transposed(img: DisplayImage): DisplayImage {
  const { rows, columns, data } = img;
  const out = new Float32Array(rows * columns);
  for (let y = 0; y < rows; y++) for (let x = 0; x < columns; x++) out[x * rows + y] = data[y * columns + x];
  return { rows: columns, columns: rows, data: out, pixelSpacingMm: [img.pixelSpacingMm[1], img.pixelSpacingMm[0]] };
}

/** Per column: are its sampled rows one value? */
function uniformColumns(img: DisplayImage): boolean[] {
  const { rows, columns, data } = img;
  const step = Math.max(1, Math.floor(rows / PANEL_SPLIT.sampledRows));
  const column: number[] = [];
  return Array.from({ length: columns }, (_, x) => {
    column.length = 0;
    for (let y = 0; y < rows; y += step) column.push(data[y * columns + x]);
    return isUniform(column);
  });
}

/** counts[i] = how many of flags[0..i-1] are set */
function prefixCounts(flags: boolean[]): number[] {
  const counts = [0];
  for (const f of flags) counts.push(counts[counts.length - 1] + (f ? 1 : 0));
  return counts;
}

function isUniform(values: number[]): boolean {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[sorted.length >> 1];
  const near = values.filter((v) => Math.abs(v - median) <= PANEL_SPLIT.tolerance).length;
  return near >= PANEL_SPLIT.uniformRows * values.length;
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
