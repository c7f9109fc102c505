import type { HandResult, JointResult } from '../analysis/hand-analysis.js';
import { SEVERITY_COLOURS, worstSeverity } from '../imaging/preview.js';

/**
 * Text and label geometry shared by the burned-in overlay (secondary-capture.ts) and the
 * presentation state (gsps.ts): font metrics, the joint label text, and where labels go.
 * Pure functions.
 */

/**
 * Approximate advance widths (in em) of DejaVu Sans Bold, the face every burned-in or
 * presentation-state text uses, for ASCII 32..126 (read from the font's hmtx table);
 * other characters count as 1 em. Used to size label plates and text bounding boxes.
 */
const DEJAVU_SANS_BOLD_EM = [
  0.348, 0.456, 0.521, 0.838, 0.696, 1.002, 0.872, 0.306, 0.457, 0.457, 0.523, 0.838, 0.38, 0.415, 0.38, 0.365,
  0.696, 0.696, 0.696, 0.696, 0.696, 0.696, 0.696, 0.696, 0.696, 0.696, 0.4, 0.4, 0.838, 0.838, 0.838, 0.58, 1.0,
  0.774, 0.762, 0.734, 0.83, 0.683, 0.683, 0.821, 0.837, 0.372, 0.372, 0.775, 0.637, 0.995, 0.837, 0.85, 0.733,
  0.85, 0.77, 0.72, 0.682, 0.812, 0.774, 1.103, 0.771, 0.724, 0.725, 0.457, 0.365, 0.457, 0.838, 0.5, 0.5, 0.675,
  0.716, 0.593, 0.716, 0.678, 0.435, 0.716, 0.712, 0.343, 0.343, 0.665, 0.343, 1.042, 0.712, 0.687, 0.716, 0.716,
  0.493, 0.595, 0.478, 0.712, 0.652, 0.924, 0.645, 0.652, 0.582, 0.712, 0.365, 0.712, 0.838,
];

/** Width of `text` in DejaVu Sans Bold at `fontSize` px (an estimate: no kerning). */
export function textWidth(text: string, fontSize: number): number {
  let em = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    em += c >= 32 && c <= 126 ? DEJAVU_SANS_BOLD_EM[c - 32] : 1;
  }
  return em * fontSize;
}

/** Greedy word wrap of `text` to `width` pixels at `fontSize` (a word longer than the width gets a line alone). */
export function wrapText(text: string, width: number, fontSize: number): string[] {
  const words = text.split(/\s+/).filter((w) => w !== '');
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    const next = line ? `${line} ${w}` : w;
    if (line && textWidth(next, fontSize) > width) {
      lines.push(line);
      line = w;
    } else {
      line = next;
    }
  }
  if (line) lines.push(line);
  return lines;
}

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface PlacedLabel {
  text: string;
  colour: string;
  /** the plate behind the text, in canvas pixels */
  plate: Rect;
  /** the joint's box in canvas pixels */
  box: Rect;
  /** whether the label sits away from its box (a leader line is drawn) */
  displaced: boolean;
}

/** The label drawn beside a joint: its site and the grades present, e.g. `MCP2 JSN2 E1 KL1`, or `MCP5 not graded`. */
export function jointLabel(joint: Pick<JointResult, 'site' | 'jsn' | 'erosion' | 'kl' | 'notGraded'>): string {
  if (joint.notGraded) return `${joint.site} not graded`;
  const parts: string[] = [joint.site];
  if (joint.jsn) parts.push(`JSN${joint.jsn.grade}`);
  if (joint.erosion) parts.push(`E${joint.erosion.grade}`);
  if (joint.kl) parts.push(`KL${joint.kl.grade}`);
  return parts.join(' ');
}

const overlapArea = (a: Rect, b: Rect) =>
  Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x)) *
  Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));

/**
 * Places one label per joint (in canvas pixels), greedily in analysis order: the first of
 * a list of candidate positions (above, below, right, left of the box, then further out)
 * that stays inside the radiograph and covers no joint box and no label already placed;
 * if none is free, the one with the least overlap.
 */
export function placeLabels(
  hands: readonly HandResult[],
  scaleX: number,
  scaleY: number,
  image: Rect,
  fontSize: number,
  stroke: number,
): PlacedLabel[] {
  const boxes: { joint: JointResult; box: Rect }[] = [];
  for (const h of hands) {
    for (const j of h.joints) {
      const [x0, y0, x1, y1] = j.box;
      boxes.push({ joint: j, box: { x: x0 * scaleX, y: y0 * scaleY, width: (x1 - x0) * scaleX, height: (y1 - y0) * scaleY } });
    }
  }
  const placed: PlacedLabel[] = [];
  const pad = Math.round(fontSize * 0.25);
  const h = Math.round(fontSize * 1.25);
  const gap = Math.max(2, stroke);
  for (const { joint, box } of boxes) {
    const label = jointLabel(joint);
    const w = Math.ceil(textWidth(label, fontSize)) + 2 * pad;
    const cx = box.x + box.width / 2;
    const cy = box.y + box.height / 2;
    const near: [number, number][] = [
      [box.x, box.y - gap - h], // above, left-aligned
      [cx - w / 2, box.y - gap - h], // above, centred
      [box.x + box.width - w, box.y - gap - h], // above, right-aligned
      [box.x, box.y + box.height + gap], // below
      [cx - w / 2, box.y + box.height + gap],
      [box.x + box.width + gap, cy - h / 2], // right
      [box.x - gap - w, cy - h / 2], // left
      [box.x + box.width + gap, box.y], // right, top-aligned
      [box.x - gap - w, box.y],
      [box.x + box.width + gap, box.y + box.height - h],
      [box.x - gap - w, box.y + box.height - h],
    ];
    const far: [number, number][] = [];
    for (let k = 1; k <= 4; k++) {
      const d = k * (h + gap);
      far.push(
        [box.x, box.y - gap - h - d], [box.x, box.y + box.height + gap + d],
        [box.x + box.width + gap + d * 0.5, cy - h / 2 - d], [box.x - gap - w - d * 0.5, cy - h / 2 - d],
        [box.x + box.width + gap + d * 0.5, cy - h / 2 + d], [box.x - gap - w - d * 0.5, cy - h / 2 + d],
      );
    }
    let best: { rect: Rect; cost: number; displaced: boolean } | undefined;
    for (const [i, [x, y]] of [...near, ...far].entries()) {
      const rect: Rect = {
        x: Math.round(Math.min(Math.max(x, image.x), image.x + image.width - w)),
        y: Math.round(Math.min(Math.max(y, image.y), image.y + image.height - h)),
        width: w,
        height: h,
      };
      let cost = 0;
      for (const b of boxes) cost += overlapArea(rect, b.box) * (b.box === box ? 4 : 2);
      for (const p of placed) cost += overlapArea(rect, p.plate) * 3;
      cost += i; // prefer earlier candidates on ties
      if (!best || cost < best.cost) best = { rect, cost, displaced: i >= near.length };
      if (cost === i) break;
    }
    placed.push({ text: label, colour: SEVERITY_COLOURS[worstSeverity(joint)], plate: best!.rect, box, displaced: best!.displaced });
  }
  return placed;
}

