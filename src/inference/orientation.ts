import type { Laterality } from '../analysis/joints.js';
import type { Candidate } from './detector.js';
import { layoutResidual, MAX_PA_RESIDUAL } from './view.js';
import { keepWholeHands, runDetector } from './detector.js';
import type { DetectorManifest } from './manifest.js';
import { letterbox, type DisplayImage, type Letterboxed } from '../imaging/preprocess.js';
import type { ModelRunner } from './session.js';

/**
 * Hands at any rotation. Films arrive as acquired: a hand lying sideways on the cassette,
 * a film stored upside down. The detector learnt upright hands (fingers up, +-12 degrees
 * and more with --wide), so it is run on the letterboxed image turned by 0, 90, 180 and 270
 * degrees and the turn whose whole hands it is surest of wins; the joints are mapped back to
 * the source image's pixels; where no turn gives a sure hand, the four diagonals are tried
 * as well (a hand lying at 45 degrees is as far from every quarter turn as it gets). A
 * mirrored film needs no turn of its own: a mirrored left hand is read as a right hand,
 * which is what it shows. Turning the 256 x 256 input, not the image, keeps this to at most
 * eight small model runs (one for most films: an upright hand found surely stops the search).
 */
export type QuarterTurns = 0 | 1 | 2 | 3;

/** Another turn must beat upright by this factor: an upright hand is never turned on a whim. */
export const TURN_MARGIN = 1.05;

/**
 * Hands found this completely and surely, in a PA layout, are not looked for in other turns
 * (most films: the extra detector runs are saved). A hand lying sideways can give 16-17
 * joints at 0.5 upright, named wrongly: hence the layout check and the higher bounds.
 */
export const SURE_UPRIGHT = { joints: 18, meanConfidence: 0.6 };

function surelyUpright(hands: readonly Candidate[]): boolean {
  if (hands.length === 0) return false;
  const byHand = new Map<Laterality, Candidate[]>();
  for (const c of hands) byHand.set(c.laterality, [...(byHand.get(c.laterality) ?? []), c]);
  return [...byHand].every(
    ([side, h]) =>
      h.length >= SURE_UPRIGHT.joints && certainty(h) / h.length >= SURE_UPRIGHT.meanConfidence && (layoutResidual(h, side) ?? 0) <= MAX_PA_RESIDUAL,
  );
}

/** The letterbox's content block turned clockwise by `k` quarter turns, placed again at the top-left. */
export function turnLetterbox(lb: Letterboxed, k: QuarterTurns): Float32Array {
  if (k === 0) return lb.data;
  const { size, data, contentRows: h, contentColumns: w } = lb;
  const out = new Float32Array(size * size);
  const [nh, nw] = k === 2 ? [h, w] : [w, h];
  for (let r = 0; r < nh; r++) {
    for (let c = 0; c < nw; c++) {
      // the source pixel that lands at (r, c) after the turn
      const [sr, sc] = k === 1 ? [h - 1 - c, r] : k === 2 ? [h - 1 - r, w - 1 - c] : [c, w - 1 - r];
      out[r * size + c] = data[sr * size + sc];
    }
  }
  return out;
}

/** A point of the turned input (input pixel units, corners at integers) back in the unturned input. */
export function unturn(x: number, y: number, k: QuarterTurns, h: number, w: number): [number, number] {
  if (k === 1) return [y, h - x];
  if (k === 2) return [w - x, h - y];
  if (k === 3) return [w - y, x];
  return [x, y];
}

function unturnCandidate(c: Candidate, k: QuarterTurns, lb: Letterboxed): Candidate {
  const back = (x: number, y: number) => unturn(x, y, k, lb.contentRows, lb.contentColumns).map((v) => v / lb.scale) as [number, number];
  const [x, y] = back(c.x, c.y);
  const out: Candidate = { ...c, x, y };
  if (c.box) {
    const [x0, y0] = back(c.box[0], c.box[1]);
    const [x1, y1] = back(c.box[2], c.box[3]);
    out.box = [Math.min(x0, x1), Math.min(y0, y1), Math.max(x0, x1), Math.max(y0, y1)];
  }
  return out;
}

/**
 * The letterbox's content turned clockwise by 45 + 90 k degrees about its centre, shrunk to fit
 * the square, for hands lying diagonally (a hand turned 45 degrees is as far as it gets from
 * every quarter turn). Bilinear; outside the content is air (0). Returns the input and the
 * map of its points back to the unturned letterbox.
 */
export function diagonalLetterbox(lb: Letterboxed, k: QuarterTurns): { data: Float32Array; back: (x: number, y: number) => [number, number] } {
  const { size, data, contentRows: h, contentColumns: w } = lb;
  const angle = ((45 + 90 * k) * Math.PI) / 180;
  const [cos, sin] = [Math.cos(angle), Math.sin(angle)];
  const fit = Math.min(1, size / ((h + w) * Math.SQRT1_2));
  const [cx, cy] = [w / 2, h / 2];
  const mid = size / 2;
  // output point (u, v) -> source point: undo the shift, the shrink and the turn
  const back = (u: number, v: number): [number, number] => {
    const [dx, dy] = [(u - mid) / fit, (v - mid) / fit];
    return [cx + cos * dx + sin * dy, cy - sin * dx + cos * dy];
  };
  const out = new Float32Array(size * size);
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      const [x, y] = back(c + 0.5, r + 0.5);
      const [x0, y0] = [Math.floor(x - 0.5), Math.floor(y - 0.5)];
      if (x0 < 0 || y0 < 0 || x0 + 1 >= w || y0 + 1 >= h) continue;
      const [fx, fy] = [x - 0.5 - x0, y - 0.5 - y0];
      const i = y0 * size + x0;
      const top = data[i] + (data[i + 1] - data[i]) * fx;
      const bottom = data[i + size] + (data[i + size + 1] - data[i + size]) * fx;
      out[r * size + c] = top + (bottom - top) * fy;
    }
  }
  return { data: out, back };
}

const certainty = (cands: readonly Candidate[]) => cands.reduce((s, c) => s + c.confidence, 0);

export interface OrientedDetection {
  /** whole hands only (keepWholeHands), in the source image's pixels */
  candidates: Candidate[];
  /** degrees clockwise the image was turned to make the hand upright for the detector (0, 45, 90, ... 315) */
  turnedDeg: number;
}

/**
 * The detector at every quarter turn, then, unless a hand was found surely, at the four
 * diagonals; the surest whole hands win (another turn must beat upright, and a diagonal
 * the best quarter turn, by TURN_MARGIN).
 */
export async function detectAnyOrientation(
  img: DisplayImage,
  manifest: DetectorManifest,
  runner: ModelRunner,
  minJointsPerHand?: number,
): Promise<OrientedDetection> {
  const lb = letterbox(img, manifest.input.size);
  let best: OrientedDetection | undefined;
  let bestScore = 0;
  const consider = (hands: Candidate[], turnedDeg: number, margin: number) => {
    const score = certainty(hands) / margin;
    if (!best || score > bestScore) {
      best = { candidates: hands, turnedDeg };
      bestScore = score;
    }
  };
  for (const k of [0, 1, 2, 3] as const) {
    const raw = await runDetector(turnLetterbox(lb, k), 1, manifest, runner);
    const hands = keepWholeHands(raw.map((c) => unturnCandidate(c, k, lb)), minJointsPerHand);
    consider(hands, k * 90, k === 0 ? 1 : TURN_MARGIN);
    if (k === 0 && surelyUpright(hands)) return best!;
  }
  if (surelyUpright(best!.candidates)) return best!;
  bestScore *= TURN_MARGIN;
  for (const k of [0, 1, 2, 3] as const) {
    const { data, back } = diagonalLetterbox(lb, k);
    const raw = await runDetector(data, 1, manifest, runner);
    const mapped = raw.map((c) => {
      const to = (x: number, y: number) => back(x, y).map((v) => v / lb.scale) as [number, number];
      const [x, y] = to(c.x, c.y);
      const out: Candidate = { ...c, x, y };
      if (c.box) {
        const corners = [to(c.box[0], c.box[1]), to(c.box[2], c.box[1]), to(c.box[0], c.box[3]), to(c.box[2], c.box[3])];
        out.box = [Math.min(...corners.map((p) => p[0])), Math.min(...corners.map((p) => p[1])), Math.max(...corners.map((p) => p[0])), Math.max(...corners.map((p) => p[1]))];
      }
      return out;
    });
    consider(keepWholeHands(mapped, minJointsPerHand), 45 + 90 * k, 1); // bestScore already carries the margin
  }
  return best!;
}
