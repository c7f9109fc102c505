import type { Laterality } from '../analysis/joints.js';
import type { Candidate } from './detector.js';
import { layoutResidual, MAX_PA_RESIDUAL, paPose } from './view.js';
import { keepWholeHands, movedCandidate, runDetector } from './detector.js';
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
  return movedCandidate(c, (x, y) => unturn(x, y, k, lb.contentRows, lb.contentColumns).map((v) => v / lb.scale) as [number, number]);
}

const certainty = (cands: readonly Candidate[]) => cands.reduce((s, c) => s + c.confidence, 0);

export interface OrientedDetection {
  /** whole hands only (keepWholeHands), in the source image's pixels */
  candidates: Candidate[];
  /** clockwise quarter turns that made the hand upright for the detector */
  quarterTurns: QuarterTurns;
}

/**
 * One letterbox per image and input size: the partial-view detector, asked after the detector
 * on a film without a hand, reads the same input (shrinking a 2048 x 2560 film takes ~20 ms).
 * Keyed weakly by the image, so it goes with it.
 */
const letterboxes = new WeakMap<DisplayImage, Map<number, Letterboxed>>();

export function letterboxOnce(img: DisplayImage, size: number): Letterboxed {
  const bySize = letterboxes.get(img) ?? new Map<number, Letterboxed>();
  letterboxes.set(img, bySize);
  const lb = bySize.get(size) ?? letterbox(img, size);
  bySize.set(size, lb);
  return lb;
}

/** The detector at every quarter turn, unless upright finds a hand surely; the surest whole hands win. */
export async function detectAnyOrientation(
  img: DisplayImage,
  manifest: DetectorManifest,
  runner: ModelRunner,
  minJointsPerHand?: number,
): Promise<OrientedDetection> {
  const lb = letterboxOnce(img, manifest.input.size);
  return straighten(await surestTurn(lb, (c) => c, manifest, runner, minJointsPerHand), lb, manifest, runner, minJointsPerHand);
}

/**
 * The quarter turn of `lb` whose whole hands the detector is surest of (upright unless another
 * beats it by TURN_MARGIN; upright kept at once when sure), the joints in the source image's
 * pixels: `back` maps the unturned input's pixels there (after `lb.scale`).
 */
async function surestTurn(
  lb: Letterboxed,
  back: (c: Candidate) => Candidate,
  manifest: DetectorManifest,
  runner: ModelRunner,
  minJointsPerHand?: number,
): Promise<OrientedDetection> {
  let best: OrientedDetection | undefined;
  let bestScore = 0;
  for (const k of [0, 1, 2, 3] as const) {
    const raw = await runDetector(turnLetterbox(lb, k), 1, manifest, runner);
    const hands = keepWholeHands(raw.map((c) => back(unturnCandidate(c, k, lb))), minJointsPerHand);
    const score = certainty(hands) / (k === 0 ? 1 : TURN_MARGIN);
    if (!best || score > bestScore) {
      best = { candidates: hands, quarterTurns: k };
      bestScore = score;
    }
    if (k === 0 && surelyUpright(hands)) break;
  }
  return best!;
}

/**
 * A wrist or finger film lying at a slant (the forearm across the plate, a finger laid
 * diagonally) read levelled: the input turned about its centre by the film's edge tilt
 * (`edgeTilt`), then at each quarter turn as `detectAnyOrientation` reads it. Undefined where the
 * film lies within `LEVEL.fromRad` of a film axis. `straighten` does this for whole hands from
 * their own joints; a partial view has too few joints, named too unsurely, to measure a tilt by
 * (docs/evaluation.md "Partial views read levelled"). Unlike the fixed diagonal turns dropped
 * above, the turn is the film's own slant, and its reading is kept only as a partial PA view: on
 * the 226 upper-limb films without a hand, none read levelled is taken for one.
 */
export async function detectLevelled(
  img: DisplayImage,
  manifest: DetectorManifest,
  runner: ModelRunner,
  minJointsPerHand?: number,
): Promise<OrientedDetection | undefined> {
  const lb = letterboxOnce(img, manifest.input.size);
  const tilt = edgeTilt(lb);
  if (Math.abs(tilt) < LEVEL.fromRad) return undefined;
  const turned = rotateInput(lb, lb.contentColumns / 2, lb.contentRows / 2, -tilt);
  const square: Letterboxed = { size: lb.size, scale: 1, data: turned.data, contentRows: lb.size, contentColumns: lb.size };
  return surestTurn(square, turned.back, manifest, runner, minJointsPerHand);
}

/** Levelling: from which tilt a film is read levelled, and the band along the input's edges left out of the tilt. */
export const LEVEL = { fromRad: (6 * Math.PI) / 180, border: 0.03 } as const;

/**
 * The film's tilt from the nearest film axis, clockwise on the screen, between -pi/4 and pi/4: the
 * dominant direction of its edges (the structure tensor of the letterboxed input, each edge
 * pixel weighted by its strength). On a wrist or finger film the long bones' and the skin's
 * edges run along the limb, so their gradients lie across it: the real PA wrist and finger films
 * turned by 10-45 and -15 / -20 degrees, 103 of 112 tilts found within 5 degrees of the turn, 86 within 3
 * (`scripts/any-angle.mjs --partial --inscribed --tilts`).
 * The frame of the content (the padding's edge) is left out.
 */
export function edgeTilt(lb: Letterboxed): number {
  const { size, data, contentRows: h, contentColumns: w } = lb;
  const b = Math.max(2, Math.round(LEVEL.border * Math.min(h, w)));
  let [xx, yy, xy] = [0, 0, 0];
  for (let r = b; r < h - b; r++) {
    for (let c = b; c < w - b; c++) {
      const at = (y: number, x: number) => data[y * size + x];
      const gx = at(r - 1, c + 1) + 2 * at(r, c + 1) + at(r + 1, c + 1) - at(r - 1, c - 1) - 2 * at(r, c - 1) - at(r + 1, c - 1);
      const gy = at(r + 1, c - 1) + 2 * at(r + 1, c) + at(r + 1, c + 1) - at(r - 1, c - 1) - 2 * at(r - 1, c) - at(r - 1, c + 1);
      const m = Math.hypot(gx, gy);
      if (m === 0) continue;
      [xx, yy, xy] = [xx + (gx * gx) / m, yy + (gy * gy) / m, xy + (gx * gy) / m];
    }
  }
  // the gradients' mean direction, doubled to fold opposite edges together; a film axis every quarter turn
  const phi = 0.5 * Math.atan2(2 * xy, xx - yy);
  const q = Math.PI / 2;
  return phi - q * Math.round(phi / q);
}

/**
 * Hands found lying more than this far from upright as read (after the best quarter turn) are read
 * again, turned upright by their own tilt: on the held-out synthetic test, joints of hands
 * 30-45 degrees off a quarter turn were found 98.1-98.7 % of the time, under 20 degrees
 * 99.5-99.9 % (the detector learnt hands within 30 degrees of upright, 48 with --wide).
 */
export const STRAIGHTEN_FROM_RAD = (20 * Math.PI) / 180;

/** A hand this sure (and in a PA layout) has a tilt worth trusting. */
const TILT_FROM = { joints: 14, meanConfidence: 0.55 };

/**
 * Each hand found in a PA layout but lying far from upright is read again on the input turned
 * upright by its own tilt about its centre (moved to the input's centre); its joints are
 * replaced when the second reading is surer (summed confidence) and still lies as a PA hand's.
 * The upright reading is where the detector is surest of its names: requiring it also to name
 * as many joints and fit the layout at least as closely kept misnamed first readings of real
 * hands turned 30-60 degrees (docs/evaluation.md, "Between the quarter turns"). (That rule came
 * in when the tilt was taken in the layout's frame and upright hands were read again 25 degrees
 * off: then a child's radial growth plate was taken for the radiocarpal joint on two RSNA films;
 * upright hands are no longer read again.) Only hands already found are read again, so nothing
 * that was not a hand becomes one (diagonal quarter turns, tried on whole films, found "hands"
 * on wrist crops and elbows).
 */
async function straighten(
  found: OrientedDetection,
  lb: Letterboxed,
  manifest: DetectorManifest,
  runner: ModelRunner,
  minJointsPerHand?: number,
): Promise<OrientedDetection> {
  let { candidates, quarterTurns } = found;
  for (const side of ['L', 'R'] as const) {
    const hand = candidates.filter((c) => c.laterality === side);
    if (hand.length < TILT_FROM.joints || certainty(hand) / hand.length < TILT_FROM.meanConfidence) continue;
    const pose = paPose(hand, side);
    if (!pose || Math.abs(tiltAsRead(pose.tilt, found.quarterTurns)) < STRAIGHTEN_FROM_RAD) continue;
    // the hand's centre in input pixels, and the turn that makes it upright there
    const cx = (hand.reduce((a, c) => a + c.x, 0) / hand.length) * lb.scale;
    const cy = (hand.reduce((a, c) => a + c.y, 0) / hand.length) * lb.scale;
    const turned = rotateInput(lb, cx, cy, pose.tilt);
    const raw = await runDetector(turned.data, 1, manifest, runner);
    const again = keepWholeHands(raw.map((c) => turned.back(c)), minJointsPerHand).filter((c) => c.laterality === side);
    if (certainty(again) > certainty(hand) && paPose(again, side)) {
      candidates = [...candidates.filter((c) => c.laterality !== side), ...again];
      quarterTurns = reportedTurn(pose.tilt, found.quarterTurns);
    }
  }
  return { candidates, quarterTurns };
}

/**
 * A hand's tilt on the input as the detector read it (turned clockwise by `k` quarter turns),
 * from its tilt on the film, in [-pi, pi). Not its distance from the nearest quarter turn: a
 * detector that learnt hands turned up to 45 degrees can read a hand lying sideways without a
 * turn, names half its joints wrongly, and the quarter turn it then needs is a tilt like any other.
 */
export function tiltAsRead(tilt: number, k: QuarterTurns): number {
  const a = tilt - (k * Math.PI) / 2;
  return a - 2 * Math.PI * Math.floor((a + Math.PI) / (2 * Math.PI));
}

/**
 * The film's turn as reported (the SR says the image was read turned) once a hand was read
 * again: the reading's own quarter turns and those the re-read added, to the nearest (none
 * for a hand read again within 45 degrees of the reading it replaced).
 */
function reportedTurn(tilt: number, k: QuarterTurns): QuarterTurns {
  return ((k + Math.round(tiltAsRead(tilt, k) / (Math.PI / 2)) + 4) % 4) as QuarterTurns;
}

/**
 * The letterboxed input turned by `angle` about (cx, cy) (input pixels), that point moved to
 * the input's centre; bilinear, 0 outside the content. `back` maps a candidate found on it
 * to the source image's pixels.
 */
function rotateInput(lb: Letterboxed, cx: number, cy: number, angle: number): { data: Float32Array; back(c: Candidate): Candidate } {
  const { size, data, contentRows: h, contentColumns: w } = lb;
  const [cos, sin] = [Math.cos(angle), Math.sin(angle)];
  const mid = size / 2;
  // out(q) = in(c + R(-angle)(q - mid)): each output pixel samples the unturned input
  const from = (qx: number, qy: number): [number, number] => {
    const [dx, dy] = [qx - mid, qy - mid];
    return [cx + cos * dx + sin * dy, cy - sin * dx + cos * dy];
  };
  const out = new Float32Array(size * size);
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      // pixel centres at +0.5 (corners at integers, as the detector's decoding)
      const [x, y] = from(c + 0.5, r + 0.5);
      const [fx, fy] = [x - 0.5, y - 0.5];
      const [x0, y0] = [Math.floor(fx), Math.floor(fy)];
      if (x0 < 0 || y0 < 0 || x0 + 1 >= w || y0 + 1 >= h) continue;
      const [ax, ay] = [fx - x0, fy - y0];
      const i = y0 * size + x0;
      out[r * size + c] = (data[i] * (1 - ax) + data[i + 1] * ax) * (1 - ay) + (data[i + size] * (1 - ax) + data[i + size + 1] * ax) * ay;
    }
  }
  const toSource = (x: number, y: number): [number, number] => from(x, y).map((v) => v / lb.scale) as [number, number];
  return {
    data: out,
    back: (cand) => {
      const [x, y] = toSource(cand.x, cand.y);
      const moved: Candidate = { ...cand, x, y };
      if (cand.box) {
        // the box keeps its size, centred on the joint (the detector's boxes are squares about it)
        const [hw, hh] = [(cand.box[2] - cand.box[0]) / 2 / lb.scale, (cand.box[3] - cand.box[1]) / 2 / lb.scale];
        moved.box = [x - hw, y - hh, x + hw, y + hh];
      }
      return moved;
    },
  };
}
