import type { Candidate } from './detector.js';
import { bilinear, type DisplayImage } from '../imaging/preprocess.js';
import { valleyDepth } from '../imaging/profile.js';

/**
 * The thumb's MCP joint found again on its joint gap. The detector reads the whole film at 256
 * pixels, so a heatmap cell is 4-5 mm of an adult hand; on real adult thumbs, which lie half
 * turned with their sesamoids over the joint (the phantom draws them flat), its MCP1 lands
 * 3-12 mm along the thumb, on the proximal phalanx or the metacarpal shaft, and the grader's
 * 18 mm crop then shows a shaft with the joint at its edge (docs/evaluation.md, "The thumb's
 * MCP on its joint gap"). Along the thumb the joint gap is the one dark band across the whole
 * bone between two bright end plates; CMC1 and IP1, which the detector finds well, give the
 * thumb's axis and bound the search to the metacarpal-phalanx junction.
 */
export const THUMB_GAP = {
  /**
   * only a point the detector is unsure of is looked at again: on a phantom hand, a joint
   * ankylosed (JSN 4) has no gap, and a sure point would move to the next dark band (the
   * sesamoids' outlines); on 95 % of the phantom thumbs the detector's MCP1 confidence is 0.79
   * or more, on the real adult thumbs it missed 0.33-0.67
   */
  maxConfidence: 0.8,
  /** along the axis, either side of the detector's point (mm) */
  searchMm: 12,
  /** the search stays within this part of CMC1 -> IP1 (the MCP lies at about 0.6 in adults) */
  segment: [0.4, 0.8],
  /** lines along the axis, offset across it (mm), each averaged over `lineWidthMm` */
  acrossMm: [-3, -1.5, 0, 1.5, 3],
  lineWidthMm: 1,
  stepMm: 0.25,
  /** how far either side of a valley its flanking end plates are looked for (mm) */
  sideMm: 3,
  /** a valley's depth over its line's range (5th-95th percentile), median across the lines */
  minDepth: 0.25,
  /**
   * the deepest valley must be this much deeper than any other more than `distinctMm` away
   * (without the confidence bound, 1.3 moved 5 of 85 phantom thumbs narrowed to JSN 3-4 off
   * their joint, 1.5 two, with the same moves on the real adult thumbs)
   */
  minRatio: 1.5,
  distinctMm: 4,
} as const;

type Point = { x: number; y: number };

/** The candidates with each hand's MCP1, where the detector is unsure of it, moved onto its joint gap where one is plain; others as they are. */
export function onThumbGap(img: DisplayImage, candidates: readonly Candidate[]): Candidate[] {
  const at = (c: Candidate, site: string) => candidates.find((d) => d.laterality === c.laterality && d.site === site);
  return candidates.map((c) => {
    if (c.site !== 'MCP1' || c.confidence >= THUMB_GAP.maxConfidence) return c;
    const [cmc, ip] = [at(c, 'CMC1'), at(c, 'IP1')];
    const gap = cmc && ip ? thumbGap(img, c, cmc, ip) : undefined;
    return gap ? { ...c, ...gap } : c;
  });
}

/** The MCP1 joint's centre on the CMC1 -> IP1 axis through the detector's point, or undefined where no gap is plain. */
export function thumbGap(img: DisplayImage, mcp: Point, cmc: Point, ip: Point): Point | undefined {
  const g = THUMB_GAP;
  const mm = Math.sqrt(img.pixelSpacingMm[0] * img.pixelSpacingMm[1]);
  const axisPx = Math.hypot(ip.x - cmc.x, ip.y - cmc.y);
  if (!(axisPx > 0)) return undefined;
  const u = { x: (ip.x - cmc.x) / axisPx, y: (ip.y - cmc.y) / axisPx };
  const v = { x: -u.y, y: u.x };
  const lengthMm = axisPx * mm;
  const alongMm = ((mcp.x - cmc.x) * u.x + (mcp.y - cmc.y) * u.y) * mm;
  // offsets from the detector's point along the axis (mm), the side windows included
  const from = Math.max(-g.searchMm, g.segment[0] * lengthMm - alongMm) - g.sideMm;
  const to = Math.min(g.searchMm, g.segment[1] * lengthMm - alongMm) + g.sideMm;
  const side = Math.round(g.sideMm / g.stepMm);
  const n = Math.floor((to - from) / g.stepMm) + 1;
  if (n < 3 * side) return undefined;
  const ts = Array.from({ length: n }, (_, i) => from + i * g.stepMm);
  // one line along the axis per offset across it, each sampled once
  const lines = new Map<number, number[]>(
    g.acrossMm.map((acrossMm) => [
      acrossMm,
      ts.map((t) => {
        let s = 0;
        for (const e of [-g.lineWidthMm / 2, 0, g.lineWidthMm / 2]) {
          const w = acrossMm + e;
          // (x, y) are corner-origin image coordinates, bilinear wants pixel centres
          s += bilinear(img, mcp.x + (t * u.x + w * v.x) / mm - 0.5, mcp.y + (t * u.y + w * v.y) / mm - 0.5);
        }
        return s / 3;
      }),
    ]),
  );
  const depth = medianAcross([...lines.values()].map((line) => widened(valleyDepths(line, side))));
  for (let i = 0; i < side; i++) depth[i] = depth[n - 1 - i] = 0;
  const best = argmax(depth);
  const rival = Math.max(0, ...depth.filter((_, i) => Math.abs(ts[i] - ts[best]) > g.distinctMm));
  if (!(depth[best] >= g.minDepth && depth[best] >= g.minRatio * rival)) return undefined;
  const [left, right] = plateMidpoint(meanOf([-1.5, 0, 1.5].map((w) => lines.get(w)!)), best, side, Math.round(1.5 / g.stepMm));
  const c = (ts[left] + ts[right]) / 2;
  return { x: mcp.x + (c / mm) * u.x, y: mcp.y + (c / mm) * u.y };
}

/** Per sample: its valley depth (profile.ts) over the line's range, 0 where a side window would leave the line. */
function valleyDepths(p: number[], side: number): number[] {
  const sorted = [...p].sort((a, b) => a - b);
  const range = sorted[Math.floor(0.95 * (p.length - 1))] - sorted[Math.floor(0.05 * (p.length - 1))] + 1e-6;
  return p.map((_, i) => (i < side || i >= p.length - side ? 0 : Math.max(0, valleyDepth(p, i, side)) / range));
}

/** The highest value within two samples (half a millimetre): a gap slightly tilted to the axis meets the lines at slightly different places. */
function widened(d: number[]): number[] {
  return d.map((_, i) => Math.max(...d.slice(Math.max(0, i - 2), i + 3)));
}

function medianAcross(rows: number[][]): number[] {
  return rows[0].map((_, i) => {
    const col = rows.map((r) => r[i]).sort((a, b) => a - b);
    return col[Math.floor(col.length / 2)];
  });
}

function meanOf(rows: number[][]): number[] {
  return rows[0].map((_, i) => rows.reduce((s, r) => s + r[i], 0) / rows.length);
}

function argmax(xs: number[]): number {
  return xs.reduce((b, x, i) => (x > xs[b] ? i : b), 0);
}

/**
 * The gap's darkest sample near the chosen one, then the brightest sample within `side` on
 * either side of it (the two end plates): the joint's centre lies midway between them.
 */
function plateMidpoint(p: number[], chosen: number, side: number, near: number): [number, number] {
  const lo = Math.max(0, chosen - near);
  const hi = Math.min(p.length - 1, chosen + near);
  let dark = lo;
  for (let i = lo; i <= hi; i++) if (p[i] < p[dark]) dark = i;
  let left = dark;
  for (let i = Math.max(0, dark - side); i < dark; i++) if (left === dark || p[i] > p[left]) left = i;
  let right = dark;
  for (let i = dark + 1; i <= Math.min(p.length - 1, dark + side); i++) if (right === dark || p[i] > p[right]) right = i;
  return [left, right];
}
