import { readdir, stat, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { escapeXml, histogram } from '../imaging/preview.js';

/**
 * The realism contact sheet: phantom previews beside real radiographs, each tile with
 * its file name, its group and its intensity histogram, the other group's mean
 * histogram drawn over it, so that a person can judge at a glance whether the synthetic
 * films look like real ones.
 *
 * Layout (tile positions, histogram bars, labels) is pure functions returning numbers
 * and SVG strings; reading folders, decoding and encoding with sharp happen only in
 * `renderContactSheet` / `makeContactSheet`.
 */

export type Group = 'synthetic' | 'real';

export const PHANTOM_EXTENSIONS: readonly string[] = ['.png'];
export const REAL_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg'];

export const GROUP_COLOURS: Record<Group, string> = { synthetic: '#4da3ff', real: '#c7c7cc' };
/** colour of the other group's mean histogram, drawn over each tile's own */
export const OTHER_MEAN_COLOUR = '#ff9f0a';
const BACKGROUND = '#101014';
const HIST_BACKGROUND = '#1c1c22';

/** Fixed sizes of the sheet, in output pixels. */
export const SHEET_METRICS = {
  margin: 12,
  gap: 10,
  /** title and legend band at the top */
  headerHeight: 48,
  /** one line naming the group and its folder above each group's rows */
  sectionHeight: 26,
  /** two lines above each tile: file name; group and overlap */
  labelHeight: 34,
  /** space between the image and its histogram */
  histGap: 4,
  /** tile height = round(tile width x this): portrait, like a hand film */
  tileAspect: 1.25,
  /** histogram height = round(tile width x this), at least 40 */
  histAspect: 0.28,
} as const;

export interface SheetLayoutOptions {
  /** tile width in pixels */
  tile: number;
  /** tiles per row */
  perRow: number;
}

export interface CellLayout {
  group: Group;
  /** index within its group */
  index: number;
  /** left edge of the cell (label, image and histogram share it) */
  x: number;
  /** top of the two label lines */
  labelY: number;
  /** the image box: x, imageY, tileWidth x tileHeight */
  imageY: number;
  histY: number;
}

export interface SectionLayout {
  group: Group;
  y: number;
}

export interface SheetLayout {
  width: number;
  height: number;
  tileWidth: number;
  tileHeight: number;
  histHeight: number;
  perRow: number;
  sections: SectionLayout[];
  cells: CellLayout[];
}

/** Height of one row of cells: label, image, gap, histogram. */
export function cellHeight(tileWidth: number): number {
  const m = SHEET_METRICS;
  return m.labelHeight + Math.round(tileWidth * m.tileAspect) + m.histGap + histHeightFor(tileWidth);
}

function histHeightFor(tileWidth: number): number {
  return Math.max(40, Math.round(tileWidth * SHEET_METRICS.histAspect));
}

/**
 * Where everything goes: a header, then the synthetic group's rows, then the real
 * group's rows, each group under a section line, `perRow` cells a row, left-aligned.
 * Width = 2 margins + perRow tiles + (perRow - 1) gaps.
 */
export function layoutContactSheet(nSynthetic: number, nReal: number, options: SheetLayoutOptions): SheetLayout {
  const { tile, perRow } = options;
  if (!Number.isInteger(tile) || tile < 32) throw new RangeError(`tile width must be an integer >= 32, got ${tile}`);
  if (!Number.isInteger(perRow) || perRow < 1) throw new RangeError(`tiles per row must be a positive integer, got ${perRow}`);
  const m = SHEET_METRICS;
  const tileHeight = Math.round(tile * m.tileAspect);
  const histHeight = histHeightFor(tile);
  const rowHeight = cellHeight(tile);
  const width = 2 * m.margin + perRow * tile + (perRow - 1) * m.gap;
  const sections: SectionLayout[] = [];
  const cells: CellLayout[] = [];
  let y = m.margin + m.headerHeight;
  for (const [group, n] of [['synthetic', nSynthetic], ['real', nReal]] as const) {
    if (n <= 0) continue;
    sections.push({ group, y });
    y += m.sectionHeight;
    const rows = Math.ceil(n / perRow);
    for (let i = 0; i < n; i++) {
      const r = Math.floor(i / perRow);
      const c = i % perRow;
      const labelY = y + r * (rowHeight + m.gap);
      cells.push({
        group,
        index: i,
        x: m.margin + c * (tile + m.gap),
        labelY,
        imageY: labelY + m.labelHeight,
        histY: labelY + m.labelHeight + tileHeight + m.histGap,
      });
    }
    y += rows * rowHeight + (rows - 1) * m.gap + m.gap;
  }
  const height = y - m.gap + m.margin;
  return { width, height, tileWidth: tile, tileHeight, histHeight, perRow, sections, cells };
}

/** Element-wise mean of equal-length histograms (empty list: empty array). */
export function meanHistogram(histograms: readonly (readonly number[])[]): number[] {
  if (histograms.length === 0) return [];
  const bins = histograms[0].length;
  const mean = new Array<number>(bins).fill(0);
  for (const h of histograms) {
    if (h.length !== bins) throw new RangeError(`histograms differ in length: ${h.length} vs ${bins}`);
    for (let i = 0; i < bins; i++) mean[i] += h[i] / histograms.length;
  }
  return mean;
}

/** Histogram intersection, sum of min(a_i, b_i): 1 for identical normalised histograms, 0 for disjoint. */
export function histogramOverlap(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new RangeError(`histograms differ in length: ${a.length} vs ${b.length}`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.min(a[i], b[i]);
  return s;
}

const r1 = (v: number): string => (Math.round(v * 10) / 10).toString();

export interface HistogramSvgOptions {
  x: number;
  y: number;
  width: number;
  height: number;
  colour: string;
  /** drawn as a line over the bars (e.g. the other group's mean) */
  other?: readonly number[];
  otherColour?: string;
}

/**
 * A histogram as an SVG fragment: a dark panel, one bar a bin in `colour`, and `other`
 * as a polyline over it. Bar heights are square-root scaled (so the black background's
 * spike doesn't flatten everything else) against the largest value of either series.
 */
export function histogramSvg(hist: readonly number[], options: HistogramSvgOptions): string {
  const { x, y, width, height, colour } = options;
  const other = options.other && options.other.length === hist.length ? options.other : undefined;
  const peak = Math.max(1e-12, ...hist, ...(other ?? []));
  const ref = Math.sqrt(peak);
  const inner = height - 2;
  const bw = width / Math.max(1, hist.length);
  const parts = [`<rect x="${x}" y="${y}" width="${width}" height="${height}" fill="${HIST_BACKGROUND}"/>`];
  hist.forEach((v, i) => {
    const h = (Math.sqrt(Math.max(0, v)) / ref) * inner;
    if (h < 0.05) return;
    parts.push(`<rect x="${r1(x + i * bw)}" y="${r1(y + height - 1 - h)}" width="${r1(Math.max(0.5, bw - 0.5))}" height="${r1(h)}" fill="${colour}"/>`);
  });
  if (other) {
    const pts = other
      .map((v, i) => `${r1(x + (i + 0.5) * bw)},${r1(y + height - 1 - (Math.sqrt(Math.max(0, v)) / ref) * inner)}`)
      .join(' ');
    parts.push(`<polyline points="${pts}" fill="none" stroke="${options.otherColour ?? OTHER_MEAN_COLOUR}" stroke-width="1.5"/>`);
  }
  return parts.join('');
}

/** Shortens `text` to at most `maxChars` characters, eliding the middle ("shsnet_…img8.png"). */
export function fitText(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  if (maxChars <= 1) return text.slice(0, Math.max(0, maxChars));
  const tail = Math.ceil((maxChars - 1) / 2);
  const head = maxChars - 1 - tail;
  return `${text.slice(0, head)}…${text.slice(text.length - tail)}`;
}

/** One tile's facts, as the overlay needs them. */
export interface TileInfo {
  group: Group;
  name: string;
  histogram: number[];
}

export interface SheetTexts {
  phantomsDir: string;
  realDir: string;
  /** total files found per group (the sheet may show fewer) */
  found: Record<Group, number>;
}

const MONO_CHAR_EM = 0.602; // advance of DejaVu Sans Mono, in em

/**
 * The whole overlay as one SVG (sheet-sized, transparent where images go): header with
 * legend and the mean-histogram overlap, section lines, per-tile labels and frames,
 * histograms with the other group's mean. Pure: a string.
 */
export function contactSheetSvg(layout: SheetLayout, tiles: readonly TileInfo[], texts: SheetTexts): string {
  const m = SHEET_METRICS;
  const byGroup = (g: Group) => tiles.filter((t) => t.group === g).map((t) => t.histogram);
  const means: Record<Group, number[]> = { synthetic: meanHistogram(byGroup('synthetic')), real: meanHistogram(byGroup('real')) };
  const bothGroups = means.synthetic.length > 0 && means.real.length > 0;
  const overlap = bothGroups ? histogramOverlap(means.synthetic, means.real) : undefined;
  const parts: string[] = [];
  const W = layout.width;

  // header
  const hx = m.margin;
  const hy = m.margin;
  parts.push(
    `<text x="${hx}" y="${hy + 16}" font-size="16" font-weight="bold" fill="#f2f2f7">` +
      `jointscore phantom realism: synthetic vs real` +
      (overlap !== undefined ? ` — mean-histogram overlap ${overlap.toFixed(2)}` : '') +
      `</text>`,
  );
  const ly = hy + 36;
  let lx = hx;
  const legend = (colour: string, text: string, line = false): void => {
    parts.push(
      line
        ? `<line x1="${lx}" y1="${ly - 4}" x2="${lx + 16}" y2="${ly - 4}" stroke="${colour}" stroke-width="2"/>`
        : `<rect x="${lx}" y="${ly - 10}" width="16" height="10" fill="${colour}"/>`,
      `<text x="${lx + 22}" y="${ly}" font-size="12" fill="#d1d1d6">${escapeXml(text)}</text>`,
    );
    lx += 22 + Math.ceil(text.length * 12 * 0.56) + 18;
  };
  legend(GROUP_COLOURS.synthetic, 'synthetic histogram');
  legend(GROUP_COLOURS.real, 'real histogram');
  legend(OTHER_MEAN_COLOUR, 'mean of the other group', true);
  if (lx < W - 200) {
    parts.push(`<text x="${lx}" y="${ly}" font-size="12" fill="#8e8e93">grey 0–255, ${tiles[0]?.histogram.length ?? 0} bins, √ scale</text>`);
  }

  // sections
  const maxChars = (px: number, size: number) => Math.max(4, Math.floor(px / (size * MONO_CHAR_EM)));
  for (const s of layout.sections) {
    const dir = s.group === 'synthetic' ? texts.phantomsDir : texts.realDir;
    const shown = layout.cells.filter((c) => c.group === s.group).length;
    const head = `${s.group}: ${shown} of ${texts.found[s.group]} from `;
    const room = maxChars(W - 2 * m.margin, 13) - head.length;
    parts.push(
      `<text x="${m.margin}" y="${s.y + 18}" font-size="13" font-family="DejaVu Sans Mono" fill="${GROUP_COLOURS[s.group]}">` +
        `${escapeXml(head + fitText(dir, Math.max(8, room)))}</text>`,
    );
  }

  // cells
  for (const cell of layout.cells) {
    const tile = tiles.filter((t) => t.group === cell.group)[cell.index];
    if (!tile) continue;
    const other = cell.group === 'synthetic' ? means.real : means.synthetic;
    const colour = GROUP_COLOURS[cell.group];
    const tw = layout.tileWidth;
    parts.push(
      `<text x="${cell.x}" y="${cell.labelY + 13}" font-size="12" font-family="DejaVu Sans Mono" fill="#f2f2f7">` +
        `${escapeXml(fitText(tile.name, maxChars(tw, 12)))}</text>`,
    );
    const second =
      other.length === tile.histogram.length ? `${cell.group} · overlap ${histogramOverlap(tile.histogram, other).toFixed(2)}` : cell.group;
    parts.push(`<text x="${cell.x}" y="${cell.labelY + 28}" font-size="12" fill="${colour}">${escapeXml(second)}</text>`);
    parts.push(
      `<rect x="${cell.x + 0.5}" y="${cell.imageY + 0.5}" width="${tw - 1}" height="${layout.tileHeight - 1}" fill="none" stroke="${colour}" stroke-opacity="0.5"/>`,
    );
    parts.push(
      histogramSvg(tile.histogram, {
        x: cell.x,
        y: cell.histY,
        width: tw,
        height: layout.histHeight,
        colour,
        other: other.length ? other : undefined,
      }),
    );
  }

  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${layout.height}" font-family="DejaVu Sans">` +
    parts.join('') +
    `</svg>`
  );
}

/** `count` items spread evenly over `items` (first and last included), in order. */
export function pickEvenly<T>(items: readonly T[], count: number): T[] {
  if (count >= items.length) return items.slice();
  if (count <= 0) return [];
  if (count === 1) return [items[0]];
  const out: T[] = [];
  for (let i = 0; i < count; i++) out.push(items[Math.round((i * (items.length - 1)) / (count - 1))]);
  return out;
}

const naturalOrder = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

/**
 * The image files of a folder (not recursive), by extension, in natural order. Throws an
 * error naming the folder and the option when it's missing, not a folder, or has none.
 */
export async function listImages(dir: string, extensions: readonly string[], option: string): Promise<string[]> {
  const what = `${option} folder ${dir}`;
  let st;
  try {
    st = await stat(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`${what} does not exist${code && code !== 'ENOENT' ? ` (${code})` : ''}`);
  }
  if (!st.isDirectory()) throw new Error(`${what} is not a folder`);
  const entries = await readdir(dir, { withFileTypes: true });
  const files = entries
    .filter((e) => (e.isFile() || e.isSymbolicLink()) && extensions.includes(path.extname(e.name).toLowerCase()))
    .map((e) => e.name)
    .sort(naturalOrder.compare);
  if (files.length === 0) {
    throw new Error(`${what} holds no ${extensions.map((e) => e.slice(1).toUpperCase()).join('/')} files`);
  }
  return files.map((f) => path.join(dir, f));
}

export interface ContactSheetOptions {
  /** folder of phantom preview PNGs */
  phantomsDir: string;
  /** folder of real radiographs, PNG or JPEG */
  realDir: string;
  /**
   * Draw the real films themselves (default). Off: only their histograms, for a sheet that
   * is published or committed where the real films' terms do not allow copies.
   */
  realPictures?: boolean;
  /** most tiles a group shows, spread evenly over its sorted files (default 6) */
  count?: number;
  /** tile width in pixels (default 320); tiles are 1.25 times as tall */
  tile?: number;
  /** tiles per row (default: the larger group's tile count, at most 6) */
  perRow?: number;
  /** histogram bins (default 64) */
  bins?: number;
}

export interface ContactSheet {
  png: Buffer;
  width: number;
  height: number;
  synthetic: string[];
  real: string[];
  /** per tile, in sheet order: file, group, normalised histogram of the tile's grey levels */
  tiles: { file: string; group: Group; histogram: number[] }[];
  /** histogram intersection of the two groups' mean histograms, 0..1 */
  meanOverlap: number;
}

interface LoadedTile {
  pixels: Buffer;
  width: number;
  height: number;
}

/** Decodes any image sharp reads into an 8-bit grey tile that fits inside w x h. */
async function loadTile(file: string, w: number, h: number): Promise<LoadedTile> {
  try {
    const { data, info } = await sharp(file)
      .rotate() // EXIF orientation (JPEG)
      .flatten({ background: '#000000' })
      .toColourspace('b-w')
      .resize(w, h, { fit: 'inside' })
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 1) throw new Error(`expected 1 channel after grey conversion, got ${info.channels}`);
    return { pixels: data, width: info.width, height: info.height };
  } catch (err) {
    throw new Error(`cannot read image ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** A copy of 8-bit grey values with `step` levels merged: v -> floor(v / step) * step + floor(step / 2). */
export function posterise(values: Uint8Array, step: number): Buffer {
  const out = Buffer.alloc(values.length);
  const half = step >> 1;
  for (let i = 0; i < values.length; i++) out[i] = Math.min(255, values[i] - (values[i] % step) + half);
  return out;
}

/** Reads both folders, lays out and renders the sheet as a small (palette) PNG. */
export async function renderContactSheet(options: ContactSheetOptions): Promise<ContactSheet> {
  const count = options.count ?? 6;
  const tileW = options.tile ?? 320;
  const bins = options.bins ?? 64;
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`count must be a positive integer, got ${count}`);
  if (!Number.isInteger(tileW) || tileW < 64 || tileW > 2048) throw new RangeError(`tile must be an integer from 64 to 2048, got ${tileW}`);

  const allSynthetic = await listImages(options.phantomsDir, PHANTOM_EXTENSIONS, '--phantoms');
  const allReal = await listImages(options.realDir, REAL_EXTENSIONS, '--real');
  const synthetic = pickEvenly(allSynthetic, count);
  const real = pickEvenly(allReal, count);
  const perRow = options.perRow ?? Math.min(6, Math.max(synthetic.length, real.length));
  const layout = layoutContactSheet(synthetic.length, real.length, { tile: tileW, perRow });

  const files: { group: Group; file: string }[] = [
    ...synthetic.map((file) => ({ group: 'synthetic' as const, file })),
    ...real.map((file) => ({ group: 'real' as const, file })),
  ];
  const loaded = await Promise.all(files.map((f) => loadTile(f.file, layout.tileWidth, layout.tileHeight)));
  const tiles: TileInfo[] = files.map((f, i) => ({
    group: f.group,
    name: path.basename(f.file),
    histogram: histogram(new Uint8Array(loaded[i].pixels.buffer, loaded[i].pixels.byteOffset, loaded[i].pixels.length), bins),
  }));

  const svg = contactSheetSvg(layout, tiles, {
    phantomsDir: options.phantomsDir,
    realDir: options.realDir,
    found: { synthetic: allSynthetic.length, real: allReal.length },
  });
  const drawn = layout.cells.filter((_, i) => options.realPictures !== false || files[i].group !== 'real');
  const composites: sharp.OverlayOptions[] = drawn.map((cell) => {
    const t = loaded[layout.cells.indexOf(cell)];
    return {
      input: posterise(t.pixels, 2),
      raw: { width: t.width, height: t.height, channels: 1 as const },
      left: cell.x + Math.floor((layout.tileWidth - t.width) / 2),
      top: cell.imageY + Math.floor((layout.tileHeight - t.height) / 2),
    };
  });
  composites.push({ input: Buffer.from(svg), left: 0, top: 0 });
  for (const cell of layout.cells) {
    if (drawn.includes(cell)) continue;
    const note =
      `<svg xmlns="http://www.w3.org/2000/svg" width="${layout.tileWidth}" height="${layout.tileHeight}">` +
      `<text x="50%" y="50%" text-anchor="middle" font-family="DejaVu Sans" font-size="13" fill="#8e8e93">` +
      `film not reproduced: histogram only</text></svg>`;
    composites.push({ input: Buffer.from(note), left: cell.x, top: cell.imageY });
  }

  const png = await sharp({ create: { width: layout.width, height: layout.height, channels: 3, background: BACKGROUND } })
    .composite(composites)
    .removeAlpha()
    // A 128-colour palette, lightly dithered: 100-200 kB for two rows of six 320 px tiles,
    // against 400+ kB at 256 colours and over 1 MB as plain RGB. Small enough to commit.
    // The tiles are posterised to 128 grey levels first (`posterise`): without that the
    // quantiser spends palette entries on blue-tinted greys borrowed from the histograms.
    .png({ palette: true, colours: 128, dither: 0.5, compressionLevel: 9, effort: 7 })
    .toBuffer();

  const means = [
    meanHistogram(tiles.filter((t) => t.group === 'synthetic').map((t) => t.histogram)),
    meanHistogram(tiles.filter((t) => t.group === 'real').map((t) => t.histogram)),
  ];
  return {
    png,
    width: layout.width,
    height: layout.height,
    synthetic,
    real,
    tiles: files.map((f, i) => ({ file: f.file, group: f.group, histogram: tiles[i].histogram })),
    meanOverlap: histogramOverlap(means[0], means[1]),
  };
}

/** `renderContactSheet`, then writes the PNG to `outFile` (creating its folder). */
export async function makeContactSheet(options: ContactSheetOptions & { outFile: string }): Promise<ContactSheet & { outFile: string }> {
  if (path.extname(options.outFile).toLowerCase() !== '.png') {
    throw new Error(`--out ${options.outFile}: the contact sheet is a PNG; give a file name ending in .png`);
  }
  const sheet = await renderContactSheet(options);
  await mkdir(path.dirname(path.resolve(options.outFile)), { recursive: true });
  await writeFile(options.outFile, sheet.png);
  return { ...sheet, outFile: options.outFile };
}
