import type { JointSite } from '../analysis/joints.js';
import type { Candidate } from './detector.js';

/**
 * Pixel spacing from the hand itself. The grader reads each joint from a crop of fixed size
 * in millimetres, so a wrong spacing shows it the joint magnified or shrunk, and it grades
 * what it was never trained on. Research films (PNG, JPEG, or those wrapped as DICOM with a
 * guessed spacing) and secondary captures often carry no spacing or a wrong one; the bones
 * between joints have lengths that vary far less between adults than film resolutions do.
 */

/**
 * Centre-to-centre distances (mm) of joint pairs on the phantom's adult hand, the scale the
 * grader learnt (30 healthy phantoms, seed 5000; sd 6-9 %). Phalanges first: they shorten
 * only with flexion, which PA films avoid; MCP2-MCP5 and MCP3-RC add the palm.
 */
export const REFERENCE_SEGMENTS_MM: readonly [JointSite, JointSite, number][] = [
  ['MCP2', 'PIP2', 39.4],
  ['MCP3', 'PIP3', 44.3],
  ['MCP4', 'PIP4', 41.7],
  ['MCP5', 'PIP5', 32.8],
  ['PIP2', 'DIP2', 22.8],
  ['PIP3', 'DIP3', 26.7],
  ['PIP4', 'DIP4', 25.7],
  ['PIP5', 'DIP5', 19.1],
  ['MCP1', 'IP1', 30.9],
  ['MCP2', 'MCP5', 59.5],
  ['MCP3', 'RC', 98.8],
];

/**
 * The carpus and the CMC row, for wrist-only views (no phalanx, no palm to measure): the same
 * phantoms' centre-to-centre distances (seeds 5000-5029 rendered again on 2026-12-04, scaled by
 * 0.977, the ratio of the segments above to today's renders of them; sd 7-8 %). On 48 real
 * whole hands (Radiopaedia, RSNA, DHA, MURA) the estimate from these alone is 0.98 of the
 * estimate from the segments above (median), within 15 % on 43: docs/evaluation.md. Used only
 * where the segments above are too few, so a whole hand's estimate is as before.
 */
export const WRIST_SEGMENTS_MM: readonly [JointSite, JointSite, number][] = [
  ['CMC3', 'CSL', 21.8],
  ['CSL', 'RC', 14.3],
  ['CMC3', 'RC', 35.8],
  ['STT', 'CSL', 18.6],
  ['STT', 'RC', 23.8],
  ['CMC1', 'STT', 14.9],
  ['CMC3', 'CMC5', 18.6],
  ['CMC1', 'CMC3', 23.3],
  ['CMC1', 'RC', 38.4],
  ['CMC5', 'RC', 38.2],
];

/** Fewer measured segments than this and the estimate is not used (a finger-only view). */
export const MIN_SEGMENTS = 4;

/**
 * A header spacing within this factor of the estimate is kept; further off, the hand's own scale
 * is the one the grader reads it at. Measured on a whole hand (bone lengths), 1.25: the phantom's
 * hands, whose sizes span the adult range the grader learnt (0.86-1.1), estimate at 0.84-1.17 of
 * their true spacing (300 hands drawn at their size: scripts/spacing-spread.mjs --render), and adult hand lengths vary by about 5 % (sd), so a
 * header that makes a hand a quarter larger or smaller than an adult's is more likely wrong (a
 * research picture wrapped with a guessed spacing, a digitised film) than the hand; and the
 * grader learnt real joints at their hand's own scale (its real crops are pictures read at the
 * estimate). Measured on the wrist alone, 1.5: that estimate is looser (docs/evaluation.md "A
 * header spacing against the hand").
 */
export const SPACING_TOLERANCE: Readonly<Record<SpacingEstimate['measuredOn'], number>> = { hand: 1.25, wrist: 1.5 };

export type SpacingSource = 'header' | 'estimated' | 'default';

export interface SpacingEstimate {
  /** mm per pixel (square pixels assumed) */
  mm: number;
  segments: number;
  /** what was measured: the fingers and palm, or (a wrist-only view) the carpus and the CMC row */
  measuredOn: 'hand' | 'wrist';
}

/**
 * The median over every reference segment found on any hand of the image of (reference mm /
 * pixels): the fingers and palm, else the wrist's segments.
 */
export function estimateSpacing(candidates: readonly Candidate[]): SpacingEstimate | undefined {
  return estimateFrom(candidates, REFERENCE_SEGMENTS_MM, 'hand') ?? estimateFrom(candidates, WRIST_SEGMENTS_MM, 'wrist');
}

function estimateFrom(candidates: readonly Candidate[], segments: readonly [JointSite, JointSite, number][], measuredOn: SpacingEstimate['measuredOn']): SpacingEstimate | undefined {
  const ratios: number[] = [];
  for (const laterality of ['L', 'R'] as const) {
    const at = new Map(candidates.filter((c) => c.laterality === laterality).map((c) => [c.site, c]));
    for (const [a, b, mm] of segments) {
      const p = at.get(a);
      const q = at.get(b);
      const px = p && q ? Math.hypot(p.x - q.x, p.y - q.y) : 0;
      if (px > 1) ratios.push(mm / px);
    }
  }
  if (ratios.length < MIN_SEGMENTS) return undefined;
  ratios.sort((x, y) => x - y);
  const mid = ratios.length >> 1;
  const mm = ratios.length % 2 ? ratios[mid] : (ratios[mid - 1] + ratios[mid]) / 2;
  return { mm, segments: ratios.length, measuredOn };
}

/** The spacing the grader gets, where it came from, and the header's where the hand overruled it. */
export interface ChosenSpacing {
  mm: [number, number];
  from: SpacingSource;
  measuredOn?: SpacingEstimate['measuredOn'];
  /** the header's spacing, set aside because the hand contradicted it */
  headerMm?: [number, number];
  /**
   * The spacing the joints are read at where it is not `mm`: a whole hand's own (its bone lengths)
   * where the header's is kept for what is measured (boxes, widths, distances).
   */
  readAtMm?: [number, number];
}

/** The spacing a film's joints are read at: a whole hand's own where the header's measures, else the one chosen. */
export function readScale(chosen: ChosenSpacing): [number, number] {
  return chosen.readAtMm ?? chosen.mm;
}

/**
 * How many of the film's mm one mm of the scale its joints were read at spans (1 where the two are
 * one): the grader gives a width in the read scale's mm; a true width is taught in them.
 */
export function filmMmPerReadMm(filmMm: [number, number], readMm: [number, number]): number {
  return Math.sqrt((filmMm[0] * filmMm[1]) / (readMm[0] * readMm[1]));
}

/**
 * The spacing the grader gets: the header's unless the hand contradicts it by more than
 * SPACING_TOLERANCE (or there is no header value), and then only where enough of the hand
 * was measured. A whole hand is read at its own scale either way: the grader learnt joints at
 * the adult hand's size (the phantom's hands span 0.86-1.1 of it; its real crops are pictures read
 * at the estimate), and a joint space is narrow against its own hand, not against a ruler. Where
 * the header's is kept it measures: docs/evaluation.md "A hand read at its own scale".
 */
export function chooseSpacing(header: [number, number], headerSource: 'header' | 'default', estimate: SpacingEstimate | undefined): ChosenSpacing {
  if (!estimate) return { mm: header, from: headerSource };
  const mean = (header[0] + header[1]) / 2;
  const off = Math.max(mean / estimate.mm, estimate.mm / mean);
  if (headerSource === 'header' && off <= SPACING_TOLERANCE[estimate.measuredOn]) {
    return estimate.measuredOn === 'hand' ? { mm: header, from: 'header', readAtMm: [estimate.mm, estimate.mm] } : { mm: header, from: 'header' };
  }
  const chosen: ChosenSpacing = { mm: [estimate.mm, estimate.mm], from: 'estimated', measuredOn: estimate.measuredOn };
  return headerSource === 'header' ? { ...chosen, headerMm: header } : chosen;
}
