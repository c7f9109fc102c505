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
 * the source image's pixels. A mirrored film needs no turn of its own: a mirrored left hand
 * is read as a right hand, which is what it shows. Turning the 256 x 256 input, not the
 * image, keeps this to four small model runs (one for most films: an upright hand found
 * surely stops the search). Diagonal turns (45 degrees) were tried and dropped: on real
 * wrist crops and elbows they found "hands" the quarter turns did not.
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

const certainty = (cands: readonly Candidate[]) => cands.reduce((s, c) => s + c.confidence, 0);

export interface OrientedDetection {
  /** whole hands only (keepWholeHands), in the source image's pixels */
  candidates: Candidate[];
  /** clockwise quarter turns that made the hand upright for the detector */
  quarterTurns: QuarterTurns;
}

/** The detector at every quarter turn, unless upright finds a hand surely; the surest whole hands win. */
export async function detectAnyOrientation(
  img: DisplayImage,
  manifest: DetectorManifest,
  runner: ModelRunner,
  minJointsPerHand?: number,
): Promise<OrientedDetection> {
  const lb = letterbox(img, manifest.input.size);
  let best: OrientedDetection | undefined;
  let bestScore = 0;
  for (const k of [0, 1, 2, 3] as const) {
    const raw = await runDetector(turnLetterbox(lb, k), 1, manifest, runner);
    const hands = keepWholeHands(raw.map((c) => unturnCandidate(c, k, lb)), minJointsPerHand);
    const score = certainty(hands) / (k === 0 ? 1 : TURN_MARGIN);
    if (!best || score > bestScore) {
      best = { candidates: hands, quarterTurns: k };
      bestScore = score;
    }
    if (k === 0 && surelyUpright(hands)) break;
  }
  return best!;
}
