import type { JointSite } from '../analysis/joints.js';
import { boxAround } from './box.js';

/**
 * From stored pixel values to what the models see. The training-set export and the node
 * both call these functions, so what a model was trained on is what it is given.
 *
 * The display image is "bone bright" in [0, 1] whatever the photometric interpretation,
 * windowed from the image's own percentiles (not the file's VOI window: sites set those
 * differently, and a model must not depend on them), through the film's tone curve where the
 * header gives one that is not a straight line (src/imaging/tone.ts).
 */
export interface DisplayImage {
  rows: number;
  columns: number;
  /** row-major, [0, 1], 1 = most attenuating */
  data: Float32Array;
  /** mm per pixel: [between rows, between columns] */
  pixelSpacingMm: [number, number];
  /** pixels that are no film (padding, a Display Shutter's hidden part), row-major, 1 = not film; absent where every pixel is film */
  offFilm?: Uint8Array;
}

export interface StoredImage {
  rows: number;
  columns: number;
  values: ArrayLike<number>;
  photometric: 'MONOCHROME1' | 'MONOCHROME2';
  pixelSpacingMm: [number, number];
  /** stored values that are padding, not image (src/imaging/decode.ts): shown as air (0), left out of the window */
  padding?: { lo: number; hi: number };
  /** pixels a Display Shutter hides (1), row-major (src/imaging/shutter.ts): shown as air (0), left out of the window */
  hidden?: Uint8Array;
  /** the film's tone curve where it is not a straight line (src/imaging/tone.ts): stored value to shown value */
  tone?: (stored: number) => number;
}

export const WINDOW_PERCENTILES: readonly [number, number] = [0.5, 99.5];

/**
 * Percentile window of any numeric image, from a 4096-bin histogram (fast, deterministic);
 * values within `skip` (padding) are not counted.
 */
export function percentileRange(values: ArrayLike<number>, lowPct: number, highPct: number, skip?: { lo: number; hi: number }): [number, number] {
  const counts = values instanceof Uint16Array || values instanceof Int16Array ? valueCounts(values) : undefined;
  const skipped = (v: number) => skip !== undefined && v >= skip.lo && v <= skip.hi;
  let n = values.length;
  if (counts && skip) {
    for (let u = 0; u < 65536; u++) {
      if (counts.counts[u] && skipped(u - counts.offset)) {
        n -= counts.counts[u];
        counts.counts[u] = 0;
      }
    }
  } else if (skip) {
    for (let i = 0; i < values.length; i++) if (skipped(values[i])) n--;
  }
  if (n === 0) return [0, 1];
  let min = Infinity;
  let max = -Infinity;
  if (counts) {
    for (let u = 0; u < 65536; u++) {
      if (counts.counts[u] === 0) continue;
      min = Math.min(min, u - counts.offset);
      max = u - counts.offset;
    }
  } else {
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (skipped(v)) continue;
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  if (!(max > min)) return [min, min + 1];
  const bins = 4096;
  const hist = new Uint32Array(bins);
  const k = (bins - 1) / (max - min);
  // (x + 0.5) | 0 is Math.round for these non-negative x, at a fraction of its cost
  if (counts) {
    // 16-bit values: binned from the count of each value, the same bins as pixel by pixel
    for (let u = 0; u < 65536; u++) if (counts.counts[u]) hist[((u - counts.offset - min) * k + 0.5) | 0] += counts.counts[u];
  } else {
    for (let i = 0; i < values.length; i++) if (!skipped(values[i])) hist[((values[i] - min) * k + 0.5) | 0]++;
  }
  const at = (pct: number) => {
    const target = (pct / 100) * n;
    let acc = 0;
    for (let b = 0; b < bins; b++) {
      acc += hist[b];
      if (acc >= target) return min + b / k;
    }
    return max;
  };
  const lo = at(lowPct);
  const hi = at(highPct);
  return hi > lo ? [lo, hi] : [lo, lo + 1];
}

/** How often each 16-bit value occurs, indexed by value + offset (32768 for signed). */
function valueCounts(values: Uint16Array | Int16Array): { counts: Uint32Array; offset: number } {
  const counts = new Uint32Array(65536);
  if (values instanceof Uint16Array) {
    for (let i = 0; i < values.length; i++) counts[values[i]]++;
    return { counts, offset: 0 };
  }
  for (let i = 0; i < values.length; i++) counts[values[i] + 32768]++;
  return { counts, offset: 32768 };
}

export function toDisplay(stored: StoredImage): DisplayImage {
  const pad = stored.padding;
  const [lo, hi] = percentileRange(shownValues(stored), WINDOW_PERCENTILES[0], WINDOW_PERCENTILES[1], pad);
  // a tone curve is non-decreasing (or, a negative rescale, decreasing): the stored values'
  // percentiles carried through it are the percentiles of the film as shown
  const curve = stored.tone && stored.tone(hi) !== stored.tone(lo) ? stored.tone : undefined;
  const [from, to] = curve ? [Math.min(curve(lo), curve(hi)), Math.max(curve(lo), curve(hi))] : [lo, hi];
  const n = stored.rows * stored.columns;
  const scale = 1 / (to - from);
  const invert = stored.photometric === 'MONOCHROME1';
  const shown = (stored: number) => {
    if (pad && stored >= pad.lo && stored <= pad.hi) return 0;
    let v = ((curve ? curve(stored) : stored) - from) * scale;
    v = v < 0 ? 0 : v > 1 ? 1 : v;
    return invert ? 1 - v : v;
  };
  const { values } = stored;
  const data = new Float32Array(n);
  if (values instanceof Uint16Array || values instanceof Int16Array) {
    // 16-bit values: one table of every value's display value, then a lookup per pixel
    // (the same numbers as the expression per pixel, in a fifth of the time)
    const offset = values instanceof Int16Array ? 32768 : 0;
    const table = new Float32Array(65536);
    for (let k = 0; k < 65536; k++) table[k] = shown(k - offset);
    for (let i = 0; i < n; i++) data[i] = table[values[i] + offset];
  } else {
    for (let i = 0; i < n; i++) data[i] = shown(values[i]);
  }
  if (stored.hidden) for (let i = 0; i < n; i++) if (stored.hidden[i]) data[i] = 0;
  const offFilm = offFilmOf(stored);
  return { rows: stored.rows, columns: stored.columns, data, pixelSpacingMm: stored.pixelSpacingMm, ...(offFilm ? { offFilm } : {}) };
}

/**
 * The pixels that are no film, where there are any: a joint beside them is cut as at the film's
 * edge. Those a shutter hides, as it hides them; of the padding, the frame it makes around the box
 * of the other pixels (a film cropped or turned in a larger matrix), not padded pixels inside that
 * box: a modality whose air reaches the padding value would otherwise put every joint beside air.
 */
function offFilmOf(stored: StoredImage): Uint8Array | undefined {
  const { padding: pad, hidden, values, rows, columns } = stored;
  if (!pad && !hidden) return undefined;
  const off = hidden ? hidden.slice(0, rows * columns) : new Uint8Array(rows * columns);
  if (pad) {
    const film = boxAround(rows, columns, (i) => values[i] < pad.lo || values[i] > pad.hi);
    for (let y = 0; y < rows; y++) {
      for (let x = 0; x < columns; x++) if (!film || y < film.y0 || y > film.y1 || x < film.x0 || x > film.x1) off[y * columns + x] = 1;
    }
  }
  return off.includes(1) ? off : undefined;
}

/**
 * Pixels wider than they are tall (or taller than wide) by more than this share are made square
 * before analysis (`squarePixels`): the detectors learnt hands on square pixels, and a hand
 * stretched by a tenth along one axis no longer lies as the PA layout does.
 */
export const ANISOTROPY_TOLERANCE = 0.01;

/**
 * Pixels more than this many times taller than wide (or wider than tall) are taken as a spacing
 * mislabelled, not as pixels of that shape, and read as square: no detector gives such pixels,
 * and stretching by the ratio would multiply the film's memory by it (a spacing of 0.1\10 mm,
 * a hundredfold). Within it the stretched film is at most twice the stored one.
 */
export const MAX_PIXEL_ASPECT = 2;

/** A display image on square pixels, and the factors that took each axis there (new pixels per stored pixel). */
export interface SquarePixels {
  img: DisplayImage;
  /** columns: new pixels per stored pixel */
  fx: number;
  /** rows: new pixels per stored pixel */
  fy: number;
}

/**
 * A pixel's height over its width (row spacing over column spacing); 1 where within
 * ANISOTROPY_TOLERANCE of square, or past MAX_PIXEL_ASPECT either way (a mislabelled spacing).
 */
export function pixelAspectOf(img: Pick<DisplayImage, 'pixelSpacingMm'>): number {
  const [sr, sc] = img.pixelSpacingMm;
  const aspect = sr / sc;
  return Math.abs(aspect - 1) > ANISOTROPY_TOLERANCE && plausibleAspect(aspect) ? aspect : 1;
}

/** Within MAX_PIXEL_ASPECT of square, either way. */
export function plausibleAspect(aspect: number): boolean {
  return aspect <= MAX_PIXEL_ASPECT && aspect >= 1 / MAX_PIXEL_ASPECT;
}

/**
 * The image with its coarser axis stretched (linear interpolation) to the finer axis's spacing,
 * where Pixel Spacing's two values differ by more than ANISOTROPY_TOLERANCE; undefined where they
 * do not. Stretching the coarser axis loses nothing of the finer.
 */
export function squarePixels(img: DisplayImage): SquarePixels | undefined {
  const [sr, sc] = img.pixelSpacingMm;
  if (pixelAspectOf(img) === 1) return undefined;
  const rows = sr > sc ? Math.round((img.rows * sr) / sc) : img.rows;
  const columns = sc > sr ? Math.round((img.columns * sc) / sr) : img.columns;
  const [fy, fx] = [rows / img.rows, columns / img.columns];
  const [ys, xs] = [linearTaps(rows, img.rows, fy), linearTaps(columns, img.columns, fx)];
  const data = new Float32Array(rows * columns);
  const src = img.data;
  for (let y = 0; y < rows; y++) {
    const top = ys.i0[y] * img.columns;
    const below = ys.i1[y] * img.columns;
    const wy = ys.w[y];
    for (let x = 0; x < columns; x++) {
      const a = xs.i0[x];
      const b = xs.i1[x];
      const wx = xs.w[x];
      const up = src[top + a] + (src[top + b] - src[top + a]) * wx;
      const down = src[below + a] + (src[below + b] - src[below + a]) * wx;
      data[y * columns + x] = up + (down - up) * wy;
    }
  }
  const offFilm = img.offFilm && nearestResampled(img.offFilm, img.columns, rows, columns, fy, fx);
  return { img: { rows, columns, data, pixelSpacingMm: [sr / fy, sc / fx], ...(offFilm ? { offFilm } : {}) }, fx, fy };
}

/** A mask stretched by (fy, fx) to rows x columns, each pixel the stored pixel it lies on. */
function nearestResampled(mask: Uint8Array, stride: number, rows: number, columns: number, fy: number, fx: number): Uint8Array {
  const out = new Uint8Array(rows * columns);
  for (let y = 0; y < rows; y++) {
    const from = Math.floor(y / fy) * stride;
    for (let x = 0; x < columns; x++) out[y * columns + x] = mask[from + Math.floor(x / fx)];
  }
  return out;
}

/** For each of `n` output pixels, the two input pixels (of `len`) it lies between and the weight of the second, at `f` output pixels per input pixel; clamped at the ends. */
function linearTaps(n: number, len: number, f: number): { i0: Int32Array; i1: Int32Array; w: Float32Array } {
  const [i0, i1, w] = [new Int32Array(n), new Int32Array(n), new Float32Array(n)];
  for (let k = 0; k < n; k++) {
    const at = Math.min(len - 1, Math.max(0, (k + 0.5) / f - 0.5));
    i0[k] = Math.floor(at);
    i1[k] = Math.min(len - 1, i0[k] + 1);
    w[k] = at - i0[k];
  }
  return { i0, i1, w };
}

/** The stored values a viewer shows: all of them, less those a Display Shutter hides (same array type). */
function shownValues(stored: StoredImage): ArrayLike<number> {
  const { values, hidden } = stored;
  if (!hidden) return values;
  const Kind = values.constructor as new (n: number) => { [i: number]: number; length: number };
  let n = 0;
  for (let i = 0; i < hidden.length; i++) if (!hidden[i]) n++;
  const shown = new Kind(n);
  for (let i = 0, k = 0; i < values.length; i++) if (!hidden[i]) shown[k++] = values[i];
  return shown;
}

/**
 * The detector's input: the whole image shrunk by area averaging so its longer side is
 * `size`, placed at the top-left of a size x size square padded with 0 (air).
 * `scale` maps image pixels to input pixels (input = image * scale).
 */
export interface Letterboxed {
  size: number;
  scale: number;
  data: Float32Array;
  /** the image's block at the top-left corner, the rest is 0 */
  contentRows: number;
  contentColumns: number;
}

export function letterbox(img: DisplayImage, size: number): Letterboxed {
  const scale = size / Math.max(img.rows, img.columns);
  const outRows = Math.min(size, Math.round(img.rows * scale));
  const outCols = Math.min(size, Math.round(img.columns * scale));
  const rowSpans = areaSpans(img.rows, outRows);
  const colSpans = areaSpans(img.columns, outCols);
  // Separable area average: columns first into a temporary, then rows.
  const tmp = new Float32Array(img.rows * outCols);
  for (let r = 0; r < img.rows; r++) {
    const base = r * img.columns;
    for (let c = 0; c < outCols; c++) tmp[r * outCols + c] = spanMean(img.data, base, 1, colSpans[c]);
  }
  const data = new Float32Array(size * size);
  for (let c = 0; c < outCols; c++) {
    for (let r = 0; r < outRows; r++) data[r * size + c] = spanMean(tmp, c, outCols, rowSpans[r]);
  }
  return { size, scale, data, contentRows: outRows, contentColumns: outCols };
}

interface Span {
  first: number;
  last: number;
  /** weight of the first and last input pixels (partial coverage) */
  wFirst: number;
  wLast: number;
  total: number;
}

function areaSpans(inLen: number, outLen: number): Span[] {
  const step = inLen / outLen;
  const spans: Span[] = [];
  for (let o = 0; o < outLen; o++) {
    const a = o * step;
    const b = Math.min(inLen, (o + 1) * step);
    const first = Math.floor(a);
    const last = Math.min(inLen - 1, Math.ceil(b) - 1);
    const wFirst = first === last ? b - a : first + 1 - a;
    const wLast = first === last ? 0 : b - last;
    spans.push({ first, last, wFirst, wLast, total: b - a });
  }
  return spans;
}

function spanMean(src: Float32Array, base: number, stride: number, s: Span): number {
  let acc = src[base + s.first * stride] * s.wFirst;
  for (let i = s.first + 1; i < s.last; i++) acc += src[base + i * stride];
  if (s.last > s.first) acc += src[base + s.last * stride] * s.wLast;
  return acc / s.total;
}

/**
 * The grader's input: a square crop at a fixed physical scale, centred on a joint and
 * turned so that the joint's distal direction points up. `distal` is a direction in image
 * pixels (x right, y down); bilinear sampling, 0 outside the image.
 */
export interface CropGeometry {
  x: number;
  y: number;
  distal: { x: number; y: number };
}

export function sampleCrop(img: DisplayImage, g: CropGeometry, sizePx: number, mmPerPx: number): Float32Array {
  const len = Math.hypot(g.distal.x, g.distal.y) || 1;
  const dx = g.distal.x / len;
  const dy = g.distal.y / len;
  // crop "up" = distal; crop "right" = distal turned 90 degrees clockwise on screen
  const rx = -dy;
  const ry = dx;
  const [sr, sc] = img.pixelSpacingMm;
  const out = new Float32Array(sizePx * sizePx);
  const half = sizePx / 2;
  for (let i = 0; i < sizePx; i++) {
    const v = (i + 0.5 - half) * mmPerPx; // mm downwards in the crop = proximal
    for (let j = 0; j < sizePx; j++) {
      const u = (j + 0.5 - half) * mmPerPx;
      const px = g.x + (u * rx - v * dx) / sc - 0.5;
      const py = g.y + (u * ry - v * dy) / sr - 0.5;
      out[i * sizePx + j] = bilinear(img, px, py);
    }
  }
  return out;
}

/** Bilinear sample at (x, y) in pixel centres, 0 outside the image. */
export function bilinear(img: DisplayImage, x: number, y: number): number {
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  if (x0 < 0 || y0 < 0 || x0 + 1 >= img.columns || y0 + 1 >= img.rows) return 0;
  const fx = x - x0;
  const fy = y - y0;
  const i = y0 * img.columns + x0;
  const d = img.data;
  const top = d[i] + (d[i + 1] - d[i]) * fx;
  const bottom = d[i + img.columns] + (d[i + img.columns + 1] - d[i + img.columns]) * fx;
  return top + (bottom - top) * fy;
}

/**
 * Which two joints give a site's axis (proximal -> distal). Finger joints look along their
 * ray; wrist sites along the hand (RC -> MCP3).
 */
export const AXIS_PAIRS: Record<JointSite, [JointSite, JointSite]> = {
  DIP2: ['PIP2', 'DIP2'], DIP3: ['PIP3', 'DIP3'], DIP4: ['PIP4', 'DIP4'], DIP5: ['PIP5', 'DIP5'],
  PIP2: ['MCP2', 'DIP2'], PIP3: ['MCP3', 'DIP3'], PIP4: ['MCP4', 'DIP4'], PIP5: ['MCP5', 'DIP5'],
  IP1: ['MCP1', 'IP1'],
  MCP1: ['CMC1', 'IP1'], MCP2: ['MCP2', 'PIP2'], MCP3: ['MCP3', 'PIP3'], MCP4: ['MCP4', 'PIP4'], MCP5: ['MCP5', 'PIP5'],
  CMC1: ['CMC1', 'MCP1'], CMC3: ['CMC3', 'MCP3'], CMC4: ['CMC4', 'MCP4'], CMC5: ['CMC5', 'MCP5'],
  STT: ['RC', 'MCP2'], CSL: ['RC', 'MCP3'], RC: ['RC', 'MCP3'],
};

/** The distal direction at a site from the centres found on the same hand (image up when unknown). */
export function distalDirection(
  site: JointSite,
  centres: Partial<Record<JointSite, { x: number; y: number }>>,
): { x: number; y: number } {
  const tryPair = ([a, b]: [JointSite, JointSite]) => {
    const p = centres[a];
    const q = centres[b];
    if (!p || !q) return undefined;
    const d = { x: q.x - p.x, y: q.y - p.y };
    return Math.hypot(d.x, d.y) > 1e-6 ? d : undefined;
  };
  return tryPair(AXIS_PAIRS[site]) ?? tryPair(['RC', 'MCP3']) ?? tryPair(['MCP3', 'PIP3']) ?? { x: 0, y: -1 };
}
