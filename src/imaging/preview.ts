import sharp from 'sharp';
import type { HandResult, JointResult, SeverityClass } from '../analysis/hand-analysis.js';
import { SEVERITY_COLOURS, worstSeverity } from '../analysis/severity.js';
import { trackingId } from '../analysis/joints.js';

/**
 * Previews of float radiographs: windowing to 8 bits, histograms, and a downscaled PNG
 * with the ground truth (or a result) optionally drawn on it. Everything but
 * `previewPng` is pure computation; sharp is only used at the edge, to resize and encode.
 */

export interface Window {
  /** value shown black */
  low: number;
  /** value shown white */
  high: number;
}

/** Default percentiles of the automatic window, in percent. */
export const DEFAULT_WINDOW_PERCENTILES: readonly [number, number] = [0.5, 99.5];

const WINDOW_BINS = 4096;
const WINDOW_SAMPLES = 1 << 20;

function checkSize(image: ArrayLike<number>, rows: number, columns: number): void {
  if (!Number.isInteger(rows) || !Number.isInteger(columns) || rows <= 0 || columns <= 0) {
    throw new RangeError(`image size must be positive integers, got ${rows} rows x ${columns} columns`);
  }
  if (image.length !== rows * columns) {
    throw new RangeError(
      `image has ${image.length} values, expected rows x columns = ${rows} x ${columns} = ${rows * columns}`,
    );
  }
}

/**
 * A display window from the percentiles of the image's values (ignoring NaN/Infinity):
 * `low` at the `lowPct` percentile, `high` at the `highPct` percentile, so that a few hot
 * or dead pixels, the lead marker or a collimator edge don't wash out the bone.
 * Computed from a 4096-bin histogram between the (sampled) min and max, so its
 * resolution is (max - min) / 4096; images over 2^20 values are sampled on a fixed stride. A flat image gives a window of width
 * 1 around its value, which maps it to mid-grey-ish rather than dividing by zero.
 */
export function percentileWindow(
  image: ArrayLike<number>,
  lowPct = DEFAULT_WINDOW_PERCENTILES[0],
  highPct = DEFAULT_WINDOW_PERCENTILES[1],
): Window {
  if (!(lowPct >= 0 && highPct <= 100 && lowPct < highPct)) {
    throw new RangeError(`window percentiles must satisfy 0 <= low < high <= 100, got ${lowPct}, ${highPct}`);
  }
  // Large images are sampled on a fixed stride (deterministic): a million values give
  // percentiles to well under a bin's width, at a fraction of the cost.
  const stride = Math.max(1, Math.floor(image.length / WINDOW_SAMPLES));
  let min = Infinity;
  let max = -Infinity;
  let n = 0;
  for (let i = 0; i < image.length; i += stride) {
    const v = image[i];
    if (Number.isFinite(v)) {
      if (v < min) min = v;
      if (v > max) max = v;
      n++;
    }
  }
  if (n === 0) return { low: 0, high: 1 };
  if (max - min <= 0) return { low: min - 0.5, high: min + 0.5 };
  const counts = new Uint32Array(WINDOW_BINS);
  const scale = WINDOW_BINS / (max - min);
  for (let i = 0; i < image.length; i += stride) {
    const v = image[i];
    if (!Number.isFinite(v)) continue;
    let b = ((v - min) * scale) | 0;
    if (b >= WINDOW_BINS) b = WINDOW_BINS - 1;
    counts[b]++;
  }
  const binWidth = (max - min) / WINDOW_BINS;
  const lowTarget = (lowPct / 100) * n;
  const highTarget = (highPct / 100) * n;
  let low = min;
  let high = max;
  let cum = 0;
  let lowFound = false;
  for (let b = 0; b < WINDOW_BINS; b++) {
    const next = cum + counts[b];
    if (!lowFound && next > lowTarget) {
      low = min + b * binWidth;
      lowFound = true;
    }
    if (next >= highTarget) {
      high = min + (b + 1) * binWidth;
      break;
    }
    cum = next;
  }
  if (high <= low) high = low + binWidth;
  return { low, high };
}

/**
 * Maps a float image to 8-bit grey, linearly from `window.low` (0) to `window.high`
 * (255), clamped, monotonic non-decreasing in the input value. NaN maps to 0. Without a
 * window, `percentileWindow` chooses one. Bone (high values) is white, as on a
 * MONOCHROME2 display of the phantom's convention.
 */
export function toGray8(image: ArrayLike<number>, rows: number, columns: number, window?: Window): Uint8Array {
  checkSize(image, rows, columns);
  const w = window ?? percentileWindow(image);
  if (!(Number.isFinite(w.low) && Number.isFinite(w.high) && w.high > w.low)) {
    throw new RangeError(`window must have finite low < high, got low=${w.low} high=${w.high}`);
  }
  const out = new Uint8Array(rows * columns);
  const scale = 255 / (w.high - w.low);
  const low = w.low;
  for (let i = 0; i < out.length; i++) {
    const v = (image[i] - low) * scale;
    // NaN fails both comparisons and stays 0; +0.5 rounds to nearest.
    out[i] = v >= 255 ? 255 : v > 0 ? (v + 0.5) | 0 : 0;
  }
  return out;
}

/**
 * Histogram of 8-bit values in `bins` equal bins over 0..255 (bin i covers values
 * floor(i*256/bins) .. floor((i+1)*256/bins)-1), normalised to fractions that sum to 1
 * (all zeros for an empty input), so images of different sizes compare directly.
 */
export function histogram(values: Uint8Array, bins = 64): number[] {
  if (!Number.isInteger(bins) || bins < 1 || bins > 256) {
    throw new RangeError(`bins must be an integer from 1 to 256, got ${bins}`);
  }
  const counts = new Float64Array(bins);
  // lookup table: value -> bin
  const lut = new Uint16Array(256);
  for (let v = 0; v < 256; v++) lut[v] = Math.min(bins - 1, Math.floor((v * bins) / 256));
  for (let i = 0; i < values.length; i++) counts[lut[values[i]]]++;
  const n = values.length;
  return Array.from(counts, (c) => (n > 0 ? c / n : 0));
}

/** Output size of a preview: fits inside maxSide x maxSide, never enlarges. */
export function previewSize(rows: number, columns: number, maxSide: number): { width: number; height: number; scale: number } {
  if (!Number.isInteger(maxSide) || maxSide < 1) throw new RangeError(`maxSide must be a positive integer, got ${maxSide}`);
  const scale = Math.min(1, maxSide / Math.max(rows, columns));
  return {
    width: Math.max(1, Math.round(columns * scale)),
    height: Math.max(1, Math.round(rows * scale)),
    scale,
  };
}

// The classes and their colours live with the severity rules; the overlay writers import them from here too.
export { SEVERITY_COLOURS, worstSeverity };

export function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

const f1 = (v: number): string => (Math.round(v * 10) / 10).toString();

/**
 * SVG (width x height) drawing each joint's box, centre and tracking identifier
 * (`L-MCP2`), coloured by its worst severity, with source pixel coordinates scaled by
 * width/columns and height/rows. Pure: a string.
 */
export function truthOverlaySvg(
  hands: readonly HandResult[],
  rows: number,
  columns: number,
  width: number,
  height: number,
): string {
  const sx = width / columns;
  const sy = height / rows;
  const fontSize = Math.max(10, Math.round(Math.min(width, height) / 60));
  const stroke = Math.max(2, Math.round(Math.min(width, height) / 400));
  const parts: string[] = [];
  for (const hand of hands) {
    for (const j of hand.joints) {
      const colour = SEVERITY_COLOURS[worstSeverity(j)];
      const [x0, y0, x1, y1] = j.box;
      const bx = x0 * sx;
      const by = y0 * sy;
      const cx = j.x * sx;
      const cy = j.y * sy;
      parts.push(
        `<rect x="${f1(bx)}" y="${f1(by)}" width="${f1((x1 - x0) * sx)}" height="${f1((y1 - y0) * sy)}" ` +
          `fill="none" stroke="${colour}" stroke-width="${stroke}"/>`,
        `<circle cx="${f1(cx)}" cy="${f1(cy)}" r="${stroke + 1}" fill="${colour}"/>`,
        `<text x="${f1(bx)}" y="${f1(Math.max(fontSize, by - 2))}" fill="${colour}" ` +
          `stroke="#000" stroke-width="${Math.max(1, fontSize / 6).toFixed(1)}" paint-order="stroke">` +
          `${escapeXml(trackingId(hand.laterality, j.site))}</text>`,
      );
    }
  }
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `font-family="DejaVu Sans" font-size="${fontSize}" font-weight="bold">${parts.join('')}</svg>`
  );
}

export interface PreviewOptions {
  /** longest side of the output in pixels; the image is only ever shrunk (default 1024) */
  maxSide?: number;
  /** display window; default `percentileWindow` of the image */
  window?: Window;
  /** when given, the PNG is RGB with joint boxes, centres and site labels drawn on */
  truth?: readonly HandResult[];
}

/**
 * A downscaled 8-bit PNG of a float radiograph: greyscale, or RGB with the joints drawn
 * when `truth` is given. Deterministic (same input, same bytes). On a 2048 x 2560 image
 * it takes some tens of milliseconds: one windowing pass in JS, then sharp resizes.
 */
export async function previewPng(
  image: ArrayLike<number>,
  rows: number,
  columns: number,
  options: PreviewOptions = {},
): Promise<Buffer> {
  const { width, height } = previewSize(rows, columns, options.maxSide ?? 1024);
  const gray = toGray8(image, rows, columns, options.window);
  let pipeline = sharp(Buffer.from(gray.buffer, gray.byteOffset, gray.byteLength), {
    raw: { width: columns, height: rows, channels: 1 },
  });
  if (width !== columns || height !== rows) {
    pipeline = pipeline.resize(width, height, { fit: 'fill', kernel: 'lanczos3' });
  }
  if (options.truth && options.truth.length > 0) {
    // sharp composites after resizing, so the overlay is drawn at preview resolution.
    const svg = truthOverlaySvg(options.truth, rows, columns, width, height);
    return pipeline
      .toColourspace('srgb')
      .composite([{ input: Buffer.from(svg), top: 0, left: 0 }])
      .removeAlpha()
      .png({ compressionLevel: 6 })
      .toBuffer();
  }
  return pipeline.toColourspace('b-w').png({ compressionLevel: 6 }).toBuffer();
}
