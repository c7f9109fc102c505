import sharp from 'sharp';
import { namedFingerOf, sitesNotFound, type HandAnalysis, type JointNotGradedCause, type JointResult, type SeverityClass } from '../analysis/hand-analysis.js';
import { HAND_NAMES } from '../analysis/joints.js';
import { spacingText } from './spacing-text.js';
import { markerCheck } from '../analysis/laterality.js';
import { severityCounts } from '../analysis/severity.js';
import type { NaturalDataset } from '../dicom/part10.js';
import { SEVERITY_COLOURS, escapeXml } from '../imaging/preview.js';
import {
  ReportBuildError, checkReportOptions, contributingEquipment, derivedInstance, dicomDateTime, generalEquipment,
  seriesLaterality, sourceIdentity, withCharacterSet, type ReportOptions,
} from './common.js';
import { placeLabels, textWidth, wrapText, type PlacedLabel, type Rect } from './labels.js';

export { jointLabel, placeLabels, textWidth, wrapText, type PlacedLabel, type Rect } from './labels.js';

/**
 * The Secondary Capture result (docs/design.md "DICOM results"): the radiograph with every joint
 * outlined in its severity colour and labelled with its grades, a legend, a summary per
 * hand, the models, and a notice that the result is machine-made, burned into an RGB
 * image for viewers that show neither SR nor presentation states.
 *
 * Layout: the radiograph is never covered by the panel. The canvas is extended by a panel
 * at the right of portrait and square films (the usual one-hand film: the anatomy keeps the
 * full canvas height, which is what a viewer's fit-to-window uses on landscape displays), and
 * below landscape films (both hands side by side: a right panel would make a very wide
 * canvas and shrink the hands more). The panel's blocks flow into a second column when one
 * would be taller than the image (right) or across the width (bottom). `panel` forces
 * either. Only the joint boxes and their small labels are drawn over the anatomy; labels
 * are placed greedily where they cover no box and no other label. No patient identity is
 * burned in.
 *
 * Fonts are sized relative to the height a viewer fits to the screen (the canvas height,
 * or its width / 1.6 when that is larger), so that a canvas shown 1000 pixels high
 * gives labels of about 13 and panel text of about 16 screen pixels whatever the source
 * resolution; never below 11 image pixels.
 *
 * Everything but {@link renderOverlay} (which calls sharp) is pure.
 */

export class ScBuildError extends ReportBuildError {
  constructor(message: string) {
    super(message);
    this.name = 'ScBuildError';
  }
}

export const SC_SOP_CLASS_UID = '1.2.840.10008.5.1.4.1.1.7';

export const DEFAULT_SC_MAX_SIDE = 2048;

export const DEFAULT_SC_NOTICE = 'Machine-generated result \u2014 not for diagnosis alone';

export interface OverlayOptions {
  /** Longest side of the radiograph part of the picture in pixels; only ever shrinks (default 2048). */
  maxSide?: number;
  /**
   * Where the legend and summary panel goes: 'auto' (default) right of portrait and square
   * films (columns <= 1.2 x rows), below landscape ones; 'right' or 'bottom' force it.
   */
  panel?: 'auto' | 'right' | 'bottom';
  /** The notice shown at the top of the panel (default {@link DEFAULT_SC_NOTICE}). */
  notice?: string;
  /** Title line of the panel (default "jointscore: hand arthritis scoring"). */
  title?: string;
  /** A stored pixel's height over its width (row spacing over column spacing; default 1, square): the picture is drawn in true proportion, on square pixels. */
  pixelAspect?: number;
}

/** The source radiograph as 8-bit grey ready to show, and its pixels' aspect (`OverlayOptions.pixelAspect`). */
export interface OverlayDisplay {
  gray: Uint8Array;
  rows: number;
  columns: number;
  pixelAspect?: number;
}

/** A run of text in one colour; `dx` places it at that offset from the line's left edge. */
export interface TextRun {
  text: string;
  colour?: string;
  dx?: number;
}

export type PanelLineKind = 'notice' | 'heading' | 'text' | 'swatch';

export interface PanelLine {
  kind: PanelLineKind;
  runs: TextRun[];
  /** for 'swatch' lines: the colour of the square drawn before the text */
  swatch?: string;
}

/** A group of lines kept together (never split across columns). */
export interface PanelBlock {
  id: 'notice' | 'title' | 'models' | 'legend' | `hand-${'L' | 'R'}`;
  lines: PanelLine[];
}

export interface OverlayLayout {
  /** canvas pixels per source pixel, along columns and rows */
  scaleX: number;
  scaleY: number;
  /** the radiograph, at the canvas's top-left corner */
  image: Rect;
  panel: Rect & { side: 'right' | 'bottom' };
  canvas: { width: number; height: number };
  /** the notice's red banner, in canvas pixels (for tests and for the record) */
  notice: Rect;
  fonts: { label: number; text: number; heading: number; notice: number };
  stroke: number;
  margin: number;
  /** the panel's blocks, each with where it was placed */
  blocks: { block: PanelBlock; x: number; y: number; width: number; height: number }[];
  labels: PlacedLabel[];
}

const PANEL_BACKGROUND = '#1c1c1e';
const PANEL_TEXT = '#f2f2f7';
const PANEL_DIM = '#aeaeb2';
const NOTICE_FILL = '#c1121f';

const SEVERITY_NAMES: Record<SeverityClass | 'unknown', string> = {
  healthy: 'healthy',
  mild: 'mild',
  severe: 'severe',
  unknown: 'not graded',
};

const text = (kind: PanelLineKind, s: string, colour?: string): PanelLine => ({
  kind,
  runs: [{ text: s, ...(colour ? { colour } : {}) }],
});

/**
 * The panel's content as blocks of lines: notice, title and models, legend, and one
 * summary per hand. `wrapWidth` is the text width available for prose (legend notes);
 * the counts table uses run offsets computed at `fontSize`.
 */
export function panelBlocks(
  analysis: HandAnalysis,
  fonts: OverlayLayout['fonts'],
  wrapWidth: number,
  opts: OverlayOptions = {},
): PanelBlock[] {
  const notice = opts.notice ?? DEFAULT_SC_NOTICE;
  const marker = markerCheck(analysis);
  const blocks: PanelBlock[] = [];
  blocks.push({
    id: 'notice',
    lines: wrapText(notice, wrapWidth - fonts.notice, fonts.notice).map((l) => text('notice', l, '#ffffff')),
  });
  blocks.push({
    id: 'title',
    lines: [
      ...wrapText(opts.title ?? 'jointscore: hand arthritis scoring', wrapWidth, fonts.heading).map((l) => text('heading', l)),
      ...wrapText('Joints found and graded by software. Check every finding on the original image.', wrapWidth, fonts.text)
        .map((l) => text('text', l, PANEL_DIM)),
      // a film graded on its negative is shown here as its header says: the reader should know why it may look inverted
      ...(analysis.source.readAsNegative
        ? wrapText('Read as a negative: nothing was found on the image as its header shows it. Check its Photometric Interpretation.', wrapWidth, fonts.text)
          .map((l) => text('text', l, SEVERITY_COLOURS.mild))
        : []),
      // a lead marker that disputes the side found: the reader checks the side before anything else
      ...(marker && !marker.agrees ? wrapText(`Laterality check: ${marker.text}`, wrapWidth, fonts.text).map((l) => text('text', l, SEVERITY_COLOURS.mild)) : []),
    ],
  });
  blocks.push({
    id: 'models',
    lines: [
      text('heading', analysis.models.length > 1 ? 'Models' : 'Model'),
      ...analysis.models.map((m) => text('text', `${m.name} ${m.version}`)),
      ...(analysis.models.length === 0 ? [text('text', '(none recorded)', PANEL_DIM)] : []),
      // the SR says how the scale was found; a viewer that shows no SR shows this
      ...wrapText(scaleNote(analysis.source) ?? '', wrapWidth, fonts.text).map((l) => text('text', l, PANEL_DIM)),
    ],
  });
  const legend: PanelLine[] = wrapText('Box colour: worst of JSN, erosion and KL class', wrapWidth, fonts.heading).map((l) => text('heading', l));
  for (const k of ['healthy', 'mild', 'severe', 'unknown'] as const) {
    legend.push({ kind: 'swatch', swatch: SEVERITY_COLOURS[k], runs: [{ text: SEVERITY_NAMES[k] }] });
  }
  for (const note of [
    'JSN: SvH joint space narrowing 0\u20134',
    'E: SvH erosion 0\u20135',
    'KL: Kellgren\u2013Lawrence 0\u20134',
  ]) {
    legend.push(...wrapText(note, wrapWidth, fonts.text).map((l) => text('text', l, PANEL_DIM)));
  }
  blocks.push({ id: 'legend', lines: legend });

  // The counts table: a label column, then healthy / mild / severe right-aligned columns.
  const f = fonts.text;
  const labelW = Math.max(textWidth('OA (KL)', f), textWidth('RA (JSN)', f)) + f;
  const colW = Math.max(...(['healthy', 'mild', 'severe'] as const).map((k) => textWidth(SEVERITY_NAMES[k], f))) + f * 0.6;
  const cols = (cells: string[], colours: (string | undefined)[]): TextRun[] =>
    cells.map((c, i) => ({
      text: c,
      dx: i === 0 ? 0 : labelW + (i - 1) * colW + (colW - textWidth(c, f)),
      ...(colours[i] ? { colour: colours[i] } : {}),
    }));
  const sevColours = [undefined, SEVERITY_COLOURS.healthy, SEVERITY_COLOURS.mild, SEVERITY_COLOURS.severe];
  const headingLines = (hand: HandAnalysis['hands'][number]) => {
    const seen = sitesSeen(hand);
    return [text('heading', handHeading(hand)), ...(seen ? [text('text', seen, SEVERITY_COLOURS.unknown)] : [])];
  };
  for (const hand of analysis.hands) {
    const c = severityCounts(hand.joints);
    const s = hand.summary;
    if ('notGraded' in s) {
      const causes = s.notGraded.map((cause) => NOT_GRADED_PHRASES[cause]).join(', ');
      blocks.push({
        id: `hand-${hand.laterality}`,
        lines: [...headingLines(hand), ...wrapText(`No joint graded: ${causes}`, wrapWidth, fonts.text).map((l) => text('text', l, SEVERITY_COLOURS.unknown))],
      });
      continue;
    }
    blocks.push({
      id: `hand-${hand.laterality}`,
      lines: [
        ...headingLines(hand),
        // the SvH score a rheumatologist follows is narrowing and erosion together
        text('text', `SvH total ${s.svhJsn + s.svhErosion} (JSN ${s.svhJsn}, erosion ${s.svhErosion})`),
        text('text', `KL sum ${s.klSum}`),
        { kind: 'text', runs: [{ text: `Pattern: ${s.pattern}` }, ...notGradedRun(hand.joints)] },
        { kind: 'text', runs: cols(['', 'healthy', 'mild', 'severe'], sevColours) },
        { kind: 'text', runs: cols(['RA (JSN)', String(c.ra.healthy), String(c.ra.mild), String(c.ra.severe)], []) },
        { kind: 'text', runs: cols(['Erosion', String(c.erosion.healthy), String(c.erosion.mild), String(c.erosion.severe)], []) },
        { kind: 'text', runs: cols(['OA (KL)', String(c.oa.healthy), String(c.oa.mild), String(c.oa.severe)], []) },
      ],
    });
  }
  return blocks;
}

/** Why a hand's joints were not graded, in a few words for the panel (the SR says each joint's reason). */
const NOT_GRADED_PHRASES: Record<JointNotGradedCause, string> = {
  resolution: 'the film is too coarse to see a joint space',
  'out-of-view': 'joints out of view',
  exposure: 'no contrast at the joints',
  metal: 'metal over the joints',
  overlapped: 'joints overlapping',
  uncertain: 'joint sites unsure',
};

/** "; 2 not graded" after a hand's pattern where joints were found but not graded (the SR says why). */
/** Where the joints' scale did not come from the header: estimated from the hand (the header's value set aside, where it had one), or assumed. */
export function scaleNote(source: HandAnalysis['source']): string | undefined {
  if (source.pixelSpacingFrom === 'default') return `Scale assumed: ${spacingText(source.pixelSpacingMm ?? [0.15, 0.15])} a pixel (none in the header)`;
  if (source.pixelSpacingFrom !== 'estimated' || !source.pixelSpacingMm) return undefined;
  const on = source.pixelSpacingMeasuredOn === 'wrist' ? 'wrist' : 'hand';
  const aside = source.pixelSpacingInHeaderMm ? `; the header's ${spacingText(source.pixelSpacingInHeaderMm)} set aside` : '';
  return `Scale estimated from the ${on}: ${spacingText(source.pixelSpacingMm)} a pixel${aside}`;
}

/** A hand's heading: its side and joints; of a finger film, which finger the header names. */
export function handHeading(hand: HandAnalysis['hands'][number]): string {
  const digit = namedFingerOf(hand);
  if (digit) return `${HAND_NAMES[hand.laterality]}, ${digit} finger (per header): ${hand.joints.length} joints`;
  return `${HAND_NAMES[hand.laterality]}: ${hand.joints.length} joints`;
}

/** The line under the heading, where there is one: a partial view's sites off the film, and the sites not found (named where few; the SR names all). */
export function sitesSeen(hand: HandAnalysis['hands'][number]): string | undefined {
  const missing = sitesNotFound(hand);
  if (hand.view?.kind === 'PA-partial' && !namedFingerOf(hand)) {
    return `Partial view: ${hand.view.notInView?.length ?? 0} not in view${missing.length ? `, ${missing.length} not found` : ''}`;
  }
  if (missing.length === 0) return undefined;
  return missing.length <= 3 ? `Not found: ${missing.join(', ')}` : `${missing.length} sites not found`;
}

function notGradedRun(joints: readonly JointResult[]): TextRun[] {
  const n = joints.filter((j) => j.notGraded).length;
  return n ? [{ text: `; ${n} not graded`, colour: SEVERITY_COLOURS.unknown }] : [];
}

const lineHeight = (kind: PanelLineKind, fonts: OverlayLayout['fonts']) =>
  Math.round((kind === 'notice' ? fonts.notice : kind === 'heading' ? fonts.heading : fonts.text) * 1.3);

const lineWidth = (line: PanelLine, fonts: OverlayLayout['fonts']) => {
  const size = line.kind === 'notice' ? fonts.notice : line.kind === 'heading' ? fonts.heading : fonts.text;
  let w = 0;
  let x = 0;
  for (const r of line.runs) {
    x = r.dx ?? x;
    x += textWidth(r.text, size);
    w = Math.max(w, x);
  }
  return w + (line.kind === 'swatch' ? size * 1.6 : 0) + (line.kind === 'notice' ? size : 0);
};

function blockSize(block: PanelBlock, fonts: OverlayLayout['fonts']): { width: number; height: number } {
  let height = 0;
  let width = 0;
  for (const l of block.lines) {
    height += lineHeight(l.kind, fonts);
    width = Math.max(width, lineWidth(l, fonts));
  }
  if (block.id === 'notice') height += fonts.notice; // the banner's padding
  return { width: Math.ceil(width), height };
}

/** The source's size in pixels of its finer axis: the coarser axis stretched by the pixels' aspect (height over width). */
function trueShape(rows: number, columns: number, pixelAspect: number): { w: number; h: number } {
  return { w: columns * Math.max(1, 1 / pixelAspect), h: rows * Math.max(1, pixelAspect) };
}

/**
 * The radiograph's size on the overlay: the source's, its coarser axis stretched where its
 * pixels are not square (`pixelAspect`, a pixel's height over its width), then shrunk to `maxSide`.
 */
export function overlaySize(rows: number, columns: number, maxSide: number, pixelAspect = 1): { width: number; height: number } {
  if (!Number.isInteger(rows) || !Number.isInteger(columns) || rows <= 0 || columns <= 0) {
    throw new RangeError(`image size must be positive integers, got ${rows} rows x ${columns} columns`);
  }
  if (!Number.isInteger(maxSide) || maxSide < 64) throw new RangeError(`maxSide must be an integer >= 64, got ${maxSide}`);
  if (!(pixelAspect > 0)) throw new RangeError(`pixelAspect must be positive, got ${pixelAspect}`);
  const { w, h } = trueShape(rows, columns, pixelAspect);
  const scale = Math.min(1, maxSide / Math.max(w, h));
  return { width: Math.max(1, Math.round(w * scale)), height: Math.max(1, Math.round(h * scale)) };
}

/**
 * Where everything goes on the canvas, for a source of `rows` x `columns` pixels. Pure and
 * deterministic. Font sizes follow the height the canvas is fitted to on screen, and the
 * panel's size follows its content, so the two are settled in three bounded passes.
 */
export function overlayLayout(rows: number, columns: number, analysis: HandAnalysis, opts: OverlayOptions = {}): OverlayLayout {
  const { width: iw, height: ih } = overlaySize(rows, columns, opts.maxSide ?? DEFAULT_SC_MAX_SIDE, opts.pixelAspect);
  const shape = trueShape(rows, columns, opts.pixelAspect ?? 1);
  const portrait = shape.w <= shape.h * 1.2;
  const side = opts.panel === 'right' || opts.panel === 'bottom' ? opts.panel : portrait ? 'right' : 'bottom';
  if (opts.panel !== undefined && !['auto', 'right', 'bottom'].includes(opts.panel)) {
    throw new RangeError(`panel must be 'auto', 'right' or 'bottom', got ${JSON.stringify(opts.panel)}`);
  }
  let canvasW = iw;
  let canvasH = ih;
  let result: Omit<OverlayLayout, 'labels'> | undefined;
  // Fonts follow the canvas, the canvas follows the panel, the panel follows the fonts:
  // start from the bare image and refine twice (a bounded number of passes, so the result
  // is always defined; the last pass's fonts are sized for the canvas of the pass before).
  for (let round = 0; round < 3; round++) {
    // the height a viewer fits to a ~1000 x 1600 screen
    const fitHeight = Math.max(canvasH, canvasW / 1.6);
    const fonts = {
      label: Math.max(11, Math.round(fitHeight * 0.0135)),
      text: Math.max(12, Math.round(fitHeight * 0.016)),
      heading: Math.max(13, Math.round(fitHeight * 0.0185)),
      notice: Math.max(15, Math.round(fitHeight * 0.026)),
    };
    const margin = Math.round(fonts.text * 0.9);
    const stroke = Math.max(2, Math.round(fitHeight / 420));
    const gapY = Math.round(fonts.text * 0.9);
    const wrap = Math.round(fonts.text * 15);
    const content = panelBlocks(analysis, fonts, wrap, opts).map((b) => ({ block: b, ...blockSize(b, fonts) }));
    const colW = Math.max(wrap, ...content.map((c) => c.width));
    let blocks: OverlayLayout['blocks'];
    let panel: OverlayLayout['panel'];
    if (side === 'right') {
      // one column, or two when one would be taller than the image
      let flow = flowColumns(content, 1, colW, margin, gapY, iw + margin, margin);
      if (flow.height > ih - 2 * margin) flow = flowColumns(content, 2, colW, margin, gapY, iw + margin, margin);
      blocks = flow.placed;
      panel = { side, x: iw, y: 0, width: flow.columns * (colW + margin) + margin, height: Math.max(ih, flow.height + 2 * margin) };
      canvasW = iw + panel.width;
      canvasH = panel.height;
    } else {
      // as many columns as the image's width holds
      const width = Math.max(iw, colW + 2 * margin);
      const n = Math.max(1, Math.floor((width - margin) / (colW + margin)));
      const flow = flowColumns(content, n, colW, margin, gapY, margin, ih + margin);
      blocks = flow.placed;
      panel = { side, x: 0, y: ih, width, height: flow.height + 2 * margin };
      canvasW = width;
      canvasH = ih + panel.height;
    }
    const nb = blocks[0];
    result = {
      scaleX: iw / columns,
      scaleY: ih / rows,
      image: { x: 0, y: 0, width: iw, height: ih },
      panel,
      canvas: { width: canvasW, height: canvasH },
      notice: { x: nb.x, y: nb.y, width: nb.width, height: nb.height },
      fonts,
      stroke,
      margin,
      blocks,
    };
  }
  const r = result!;
  return { ...r, labels: placeLabels(analysis.hands, r.scaleX, r.scaleY, r.image, r.fonts.label, r.stroke) };
}

/**
 * Blocks into at most `n` columns in reading order: down the first column, then the next,
 * breaking where a column would pass an even share of the total height (the notice always
 * heads the first column). Heights include no trailing gap.
 */
function flowColumns<T extends { height: number }>(
  content: T[],
  n: number,
  colW: number,
  margin: number,
  gapY: number,
  x0: number,
  y0: number,
): { placed: (T & { x: number; y: number; width: number })[]; height: number; columns: number } {
  const total = content.reduce((h, c) => h + c.height + gapY, 0) - gapY;
  const target = Math.max(total / n, ...content.map((c) => c.height));
  let k = 0;
  let y = 0;
  let height = 0;
  const placed = content.map((c) => {
    if (y > 0 && y + c.height > target + 1 && k < n - 1) {
      k++;
      y = 0;
    }
    const p = { ...c, x: x0 + k * (colW + margin), y: y0 + y, width: colW };
    y += c.height + gapY;
    height = Math.max(height, y - gapY);
    return p;
  });
  return { placed, height, columns: k + 1 };
}

const n1 = (v: number): string => (Math.round(v * 10) / 10).toString();

function panelSvg(layout: OverlayLayout): string {
  const { fonts } = layout;
  const out: string[] = [];
  const p = layout.panel;
  out.push(`<rect x="${p.x}" y="${p.y}" width="${p.width}" height="${p.height}" fill="${PANEL_BACKGROUND}"/>`);
  for (const { block, x, y, width, height } of layout.blocks) {
    let cy = y;
    if (block.id === 'notice') {
      out.push(
        `<rect x="${x}" y="${y}" width="${width}" height="${height}" rx="${Math.round(fonts.notice / 4)}" ` +
          `fill="${NOTICE_FILL}" stroke="#ffffff" stroke-width="${Math.max(2, Math.round(fonts.notice / 10))}"/>`,
      );
      cy += fonts.notice / 2;
    }
    for (const line of block.lines) {
      const lh = lineHeight(line.kind, fonts);
      const size = line.kind === 'notice' ? fonts.notice : line.kind === 'heading' ? fonts.heading : fonts.text;
      const baseline = cy + lh * 0.78;
      let tx = line.kind === 'notice' ? x + fonts.notice / 2 : x;
      if (line.kind === 'swatch' && line.swatch) {
        const s = Math.round(size * 0.95);
        out.push(
          `<rect x="${n1(tx)}" y="${n1(baseline - s * 0.85)}" width="${s}" height="${s}" fill="none" ` +
            `stroke="${line.swatch}" stroke-width="${Math.max(2, layout.stroke)}"/>`,
        );
        tx += size * 1.6;
      }
      const tspans = line.runs
        .map((r) =>
          `<tspan${r.dx !== undefined ? ` x="${n1(tx + r.dx)}"` : ''} fill="${r.colour ?? PANEL_TEXT}">${escapeXml(r.text)}</tspan>`,
        )
        .join('');
      out.push(`<text x="${n1(tx)}" y="${n1(baseline)}" font-size="${size}">${tspans}</text>`);
      cy += lh;
    }
  }
  return out.join('');
}

function labelsSvg(layout: OverlayLayout): string {
  const out: string[] = [];
  const { stroke, fonts } = layout;
  // boxes first (dark halo under the colour, for contrast on bright bone), then labels on top
  for (const l of layout.labels) {
    const b = l.box;
    out.push(
      `<rect x="${n1(b.x)}" y="${n1(b.y)}" width="${n1(b.width)}" height="${n1(b.height)}" fill="none" ` +
        `stroke="#000000" stroke-opacity="0.6" stroke-width="${stroke + 2}"/>`,
      `<rect x="${n1(b.x)}" y="${n1(b.y)}" width="${n1(b.width)}" height="${n1(b.height)}" fill="none" ` +
        `stroke="${l.colour}" stroke-width="${stroke}"/>`,
    );
  }
  for (const l of layout.labels) {
    const p = l.plate;
    if (l.displaced) {
      const bx = Math.min(Math.max(p.x + p.width / 2, l.box.x), l.box.x + l.box.width);
      const by = Math.min(Math.max(p.y + p.height / 2, l.box.y), l.box.y + l.box.height);
      const px = Math.min(Math.max(bx, p.x), p.x + p.width);
      const py = Math.min(Math.max(by, p.y), p.y + p.height);
      out.push(`<line x1="${n1(px)}" y1="${n1(py)}" x2="${n1(bx)}" y2="${n1(by)}" stroke="${l.colour}" stroke-width="${Math.max(1, stroke - 1)}"/>`);
    }
    out.push(
      `<rect x="${p.x}" y="${p.y}" width="${p.width}" height="${p.height}" fill="#000000" fill-opacity="0.72"/>`,
      `<text x="${n1(p.x + fonts.label * 0.25)}" y="${n1(p.y + p.height * 0.8)}" font-size="${fonts.label}" fill="${l.colour}">` +
        `${escapeXml(l.text)}</text>`,
    );
  }
  return out.join('');
}

/** Part of the overlay as an SVG of `area`'s size, drawn through a viewBox at the canvas's coordinates. */
const svgDocument = (area: Rect, body: string): string =>
  `<svg xmlns="http://www.w3.org/2000/svg" width="${area.width}" height="${area.height}" ` +
  `viewBox="${area.x} ${area.y} ${area.width} ${area.height}" font-family="DejaVu Sans" font-weight="bold">${body}</svg>`;

/** The whole overlay (boxes, labels, panel) as one SVG the size of the canvas. Pure. */
export function overlaySvg(layout: OverlayLayout): string {
  const { width, height } = layout.canvas;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `font-family="DejaVu Sans" font-weight="bold">${panelSvg(layout)}${labelsSvg(layout)}</svg>`
  );
}

/**
 * The canvas pixels the boxes, leader lines and label plates can touch: their union, grown
 * by the widest stroke's half and a pixel of antialiasing, in whole pixels within the canvas.
 */
export function labelsArea(layout: OverlayLayout): Rect | undefined {
  if (layout.labels.length === 0) return undefined;
  const grow = (layout.stroke + 2) / 2 + 1;
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const l of layout.labels) {
    for (const r of [l.box, l.plate]) {
      x0 = Math.min(x0, r.x);
      y0 = Math.min(y0, r.y);
      x1 = Math.max(x1, r.x + r.width);
      y1 = Math.max(y1, r.y + r.height);
    }
  }
  const x = Math.max(0, Math.floor(x0 - grow));
  const y = Math.max(0, Math.floor(y0 - grow));
  return {
    x,
    y,
    width: Math.min(layout.canvas.width, Math.ceil(x1 + grow)) - x,
    height: Math.min(layout.canvas.height, Math.ceil(y1 + grow)) - y,
  };
}

const contains = (outer: Rect, inner: Rect): boolean =>
  inner.x >= outer.x && inner.y >= outer.y && inner.x + inner.width <= outer.x + outer.width && inner.y + inner.height <= outer.y + outer.height;

/**
 * The part of the panel that holds text and banners: its blocks grown by a margin, within the
 * panel. The panel SVG paints the panel's colour under them, so the rest of the panel is that
 * colour whether drawn or not.
 */
export function panelContentArea(layout: OverlayLayout): Rect {
  const p = layout.panel;
  const grow = layout.margin;
  const x0 = Math.max(p.x, Math.min(...layout.blocks.map((b) => b.x)) - grow);
  const y0 = Math.max(p.y, Math.min(...layout.blocks.map((b) => b.y)) - grow);
  const x1 = Math.min(p.x + p.width, Math.max(...layout.blocks.map((b) => b.x + b.width)) + grow);
  const y1 = Math.min(p.y + p.height, Math.max(...layout.blocks.map((b) => b.y + b.height)) + grow);
  const x = Math.floor(x0);
  const y = Math.floor(y0);
  return { x, y, width: Math.ceil(x1) - x, height: Math.ceil(y1) - y };
}

/** Rows of an RGB picture `width` pixels wide: the rectangle `r` copied out, or `from` copied into it. */
function copyRect(rgb: Uint8Array, width: number, r: Rect): Buffer {
  const out = Buffer.allocUnsafe(r.width * r.height * 3);
  for (let y = 0; y < r.height; y++) out.set(rgb.subarray(((r.y + y) * width + r.x) * 3, ((r.y + y) * width + r.x + r.width) * 3), y * r.width * 3);
  return out;
}

function pasteRect(rgb: Uint8Array, width: number, r: Rect, from: Uint8Array): void {
  for (let y = 0; y < r.height; y++) rgb.set(from.subarray(y * r.width * 3, (y + 1) * r.width * 3), ((r.y + y) * width + r.x) * 3);
}

/** An SVG layer drawn over an RGB rectangle by sharp, RGB back. */
async function drawOver(rgb: Buffer, area: Rect, svg: string): Promise<Buffer> {
  return sharp(rgb, { raw: { width: area.width, height: area.height, channels: 3 } })
    .composite([{ input: Buffer.from(svg), left: 0, top: 0 }])
    .removeAlpha()
    .raw()
    .toBuffer();
}

export interface OverlayImage {
  /** RGB, 8 bits a sample, interleaved (R G B R G B ...), row by row */
  rgb: Uint8Array;
  rows: number;
  columns: number;
}

export interface RenderedOverlay extends OverlayImage {
  layout: OverlayLayout;
}

/**
 * The canvas the simple way: the radiograph (RGB, at the layout's image size) extended by the
 * panel's colour and the canvas-sized SVG composited over all of it. renderOverlay takes this
 * way where a mark reaches off the radiograph; bench/results.mjs times it as the reference.
 */
export async function overlayAsOneSvg(rgbImage: Buffer, layout: OverlayLayout): Promise<Buffer> {
  const { image, canvas } = layout;
  return sharp(rgbImage, { raw: { width: image.width, height: image.height, channels: 3 } })
    .extend({ right: canvas.width - image.width, bottom: canvas.height - image.height, background: PANEL_BACKGROUND })
    .composite([{ input: Buffer.from(overlaySvg(layout)), left: 0, top: 0 }])
    .removeAlpha()
    .raw()
    .toBuffer();
}

/** The radiograph as the overlay shows it: RGB, shrunk to fit `maxSide`. */
export interface OverlayPicture {
  rgb: Buffer;
  width: number;
  height: number;
}

/**
 * The overlay's radiograph, made by sharp (the grey value in all three samples, shrunk first
 * where it must be). It needs no analysis, so the node starts it while the models run.
 */
export async function startOverlayPicture(display: OverlayDisplay, maxSide: number = DEFAULT_SC_MAX_SIDE): Promise<OverlayPicture> {
  const { gray, rows, columns } = display;
  const { width, height } = overlaySize(rows, columns, maxSide, display.pixelAspect);
  let radiograph = sharp(Buffer.from(gray.buffer, gray.byteOffset, gray.byteLength), { raw: { width: columns, height: rows, channels: 1 } });
  if (width !== columns || height !== rows) radiograph = radiograph.resize(width, height, { fit: 'fill', kernel: 'lanczos3' });
  return { rgb: await radiograph.toColourspace('srgb').raw().toBuffer(), width, height };
}

/**
 * Draws the overlay. `display` is the source radiograph as 8-bit grey ready to show
 * (windowed, 0 black, 255 white, so a MONOCHROME1 source already inverted), in the
 * stored orientation and at the source's size (rows x columns of the analysis). The
 * radiograph is shrunk to fit `maxSide`, the canvas extended by the panel, and the
 * SVG composited. Deterministic: same inputs, same pixels.
 */
export async function renderOverlay(
  display: OverlayDisplay,
  analysis: HandAnalysis,
  opts: OverlayOptions = {},
  picture?: Promise<OverlayPicture>,
): Promise<RenderedOverlay> {
  const { gray, rows, columns } = display;
  if (gray.length !== rows * columns) {
    throw new RangeError(`gray has ${gray.length} values, expected rows x columns = ${rows} x ${columns}`);
  }
  if (analysis.source.rows !== rows || analysis.source.columns !== columns) {
    throw new RangeError(
      `the analysis is of a ${analysis.source.rows} x ${analysis.source.columns} image but the display image is ${rows} x ${columns}`,
    );
  }
  const layout = overlayLayout(rows, columns, analysis, { ...opts, pixelAspect: display.pixelAspect });
  const { image, canvas } = layout;
  const marks = labelsArea(layout);
  const text = panelContentArea(layout);
  const background = Buffer.from(PANEL_BACKGROUND.slice(1), 'hex');
  // The panel's text and the joint marks are each drawn over their own rectangle only (a
  // composite over the whole canvas cost a third of the overlay's time). Compositing is pixel
  // by pixel and each part's SVG is drawn through a viewBox shifted by whole pixels, so the
  // picture is the one a canvas-sized SVG composited over the canvas gives, but for a few
  // antialiased text edges that land a grey level or a few apart (36 samples, at most 6 levels,
  // on the 2047 x 1531 film of test/secondary-capture.test.ts; none on the fixture sizes).
  // Drawing each part at the canvas's own coordinates gave every pixel but cost much of the gain.
  const [{ rgb: rgbImage }, panelText] = await Promise.all([
    picture ?? startOverlayPicture(display, opts.maxSide),
    drawOver(Buffer.alloc(text.width * text.height * 3, background), text, svgDocument(text, panelSvg(layout))),
  ]);
  // (a picture started for another size would be caught here)
  if (rgbImage.length !== image.width * image.height * 3) {
    throw new Error(`sharp returned ${rgbImage.length} bytes for the ${image.width} x ${image.height} radiograph, expected RGB`);
  }
  if (marks && !contains(layout.image, marks)) {
    // a mark reaching off the radiograph (a joint at its edge): the one-SVG way, as ever
    const data = await overlayAsOneSvg(rgbImage, layout);
    return { rgb: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), rows: canvas.height, columns: canvas.width, layout };
  }
  if (marks) pasteRect(rgbImage, image.width, marks, await drawOver(copyRect(rgbImage, image.width, marks), marks, svgDocument(marks, labelsSvg(layout))));
  const data = Buffer.alloc(canvas.width * canvas.height * 3, background);
  pasteRect(data, canvas.width, image, rgbImage);
  pasteRect(data, canvas.width, text, panelText);
  return { rgb: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), rows: canvas.height, columns: canvas.width, layout };
}

// ---------------------------------------------------------------------------------------
// The DICOM object

export interface ScOptions extends ReportOptions {
  /**
   * Modality of the SC series (General Series; the SC Equipment module's Modality is the
   * same attribute). Default 'OT': the object is a derived picture, not an acquisition, and
   * should not be caught by DX hanging protocols.
   */
  modality?: string;
}

const SOURCE_FOR_PROCESSING_ITEM = {
  CodeValue: '121322',
  CodingSchemeDesignator: 'DCM',
  CodeMeaning: 'Source image for image processing operation',
};

/**
 * The Secondary Capture Image (1.2.840.10008.5.1.4.1.1.7) holding `image` (from
 * {@link renderOverlay}), for the analysed `source`: same patient and study, a new
 * series, deterministic UIDs from (source SOP Instance UID, model version, 'sc').
 *
 * Pixel Spacing and Nominal Scanned Pixel Spacing are left out on purpose: the picture
 * is for looking, not measuring (the SR has the geometry), Nominal Scanned Pixel Spacing
 * describes film digitisers, and the extended canvas holds a panel that is no anatomy.
 * Patient Orientation is copied, as the picture is only scaled, never rotated or flipped.
 * No patient identity is burned into the pixels.
 */
export function buildSecondaryCaptureDataset(
  image: OverlayImage | RenderedOverlay,
  analysis: HandAnalysis,
  source: NaturalDataset,
  options: ScOptions,
): NaturalDataset {
  checkReportOptions(options, 'SC', ScBuildError);
  const src = sourceIdentity(analysis, source, 'the SC', ScBuildError);
  const { rgb, rows, columns } = image;
  if (!Number.isInteger(rows) || !Number.isInteger(columns) || rows <= 0 || columns <= 0 || rows > 65535 || columns > 65535) {
    throw new ScBuildError(`SC image size must be 1..65535 rows and columns, got ${rows} x ${columns}`);
  }
  if (!(rgb instanceof Uint8Array) || rgb.length !== rows * columns * 3) {
    throw new ScBuildError(`SC pixels: expected ${rows * columns * 3} RGB bytes, got ${rgb?.length}`);
  }
  const modality = options.modality ?? 'OT';
  const { date, time } = dicomDateTime(options.contentDateTime ?? new Date(), ScBuildError);

  // General Series
  const ds = derivedInstance({ sopClassUid: SC_SOP_CLASS_UID, kind: 'sc', modality, source, src, options, date, time });
  ds.Laterality = seriesLaterality(source);
  if (source.BodyPartExamined !== undefined) ds.BodyPartExamined = source.BodyPartExamined;
  // General Equipment (U) and SC Equipment
  Object.assign(ds, generalEquipment(options));
  ds.ConversionType = 'WSD';
  ds.SecondaryCaptureDeviceManufacturer = options.manufacturer;
  ds.SecondaryCaptureDeviceManufacturerModelName = options.deviceName;
  ds.SecondaryCaptureDeviceSoftwareVersions = ds.SoftwareVersions;
  // General Image
  ds.InstanceNumber = options.instanceNumber ?? 1;
  ds.PatientOrientation = source.PatientOrientation ?? '';
  ds.ContentDate = date;
  ds.ContentTime = time;
  ds.ImageType = ['DERIVED', 'SECONDARY'];
  ds.DerivationDescription = derivationDescription(image, analysis, options).slice(0, 1024);
  ds.SourceImageSequence = [{
    ReferencedSOPClassUID: src.sopClassUid,
    ReferencedSOPInstanceUID: src.sopInstanceUid,
    PurposeOfReferenceCodeSequence: [{ ...SOURCE_FOR_PROCESSING_ITEM }],
    SpatialLocationsPreserved: 'NO',
  }];
  ds.BurnedInAnnotation = 'YES';
  ds.RecognizableVisualFeatures = 'NO';
  if (source.LossyImageCompression === '01') {
    // Once lossy, always lossy (PS3.3 C.7.6.1.1.5): the derived picture says so too.
    ds.LossyImageCompression = '01';
    for (const k of ['LossyImageCompressionRatio', 'LossyImageCompressionMethod']) if (source[k] !== undefined) ds[k] = source[k];
  } else {
    ds.LossyImageCompression = '00';
  }
  // SC Image
  ds.DateOfSecondaryCapture = date;
  ds.TimeOfSecondaryCapture = time;
  // Image Pixel
  ds.SamplesPerPixel = 3;
  ds.PhotometricInterpretation = 'RGB';
  ds.PlanarConfiguration = 0;
  ds.Rows = rows;
  ds.Columns = columns;
  ds.BitsAllocated = 8;
  ds.BitsStored = 8;
  ds.HighBit = 7;
  ds.PixelRepresentation = 0;
  // SOP Common
  ds.ContributingEquipmentSequence = contributingEquipment(options, `${date}${time}`);
  const even = rgb.length % 2 === 0 ? rgb : (() => {
    const padded = new Uint8Array(rgb.length + 1);
    padded.set(rgb);
    return padded;
  })();
  // sharp's buffer is its own ArrayBuffer: handed on as it is rather than copied (14.5 MB)
  const whole = even.byteOffset === 0 && even.byteLength === even.buffer.byteLength && even.buffer instanceof ArrayBuffer;
  ds.PixelData = [whole ? even.buffer : even.buffer.slice(even.byteOffset, even.byteOffset + even.byteLength)];
  ds._vrMap = { PixelData: 'OB' };
  return withCharacterSet(source, ds);
}

function derivationDescription(image: OverlayImage | RenderedOverlay, analysis: HandAnalysis, options: ScOptions): string {
  const layout = 'layout' in image ? image.layout : undefined;
  const scale = !layout
    ? ''
    : layout.scaleX === 1 && layout.scaleY === 1
      ? ' at the source\'s size,'
      : ` scaled by ${layout.scaleX.toFixed(4)}${layout.scaleY.toFixed(4) === layout.scaleX.toFixed(4) ? '' : ` across, ${layout.scaleY.toFixed(4)} down (pixels made square)`} (lanczos3) to ${layout.image.width} x ${layout.image.height},`;
  const panel = layout ? ` canvas extended by a ${layout.panel.side} panel (legend, per-hand summary, notice);` : '';
  const nJoints = analysis.hands.reduce((n, h) => n + h.joints.length, 0);
  return (
    `Source image windowed to 8 bits,${scale}${panel} ${nJoints} joint boxes with grades burned in, coloured by severity; ` +
    `by ${options.algorithmName} ${options.algorithmVersion}. Machine-generated result, not for diagnosis alone.`
  );
}

/** renderOverlay then buildSecondaryCaptureDataset. */
export async function buildSecondaryCapture(
  display: OverlayDisplay,
  analysis: HandAnalysis,
  source: NaturalDataset,
  options: ScOptions & OverlayOptions,
  picture?: Promise<OverlayPicture>,
): Promise<NaturalDataset> {
  const rendered = await renderOverlay(display, analysis, options, picture);
  return buildSecondaryCaptureDataset(rendered, analysis, source, options);
}
