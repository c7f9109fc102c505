import type { JointSite, Laterality } from '../analysis/joints.js';
import { refinedPeak, type Candidate } from './detector.js';
import type { DetectorManifest } from './manifest.js';
import { letterboxOnce, turnLetterbox, TURN_MARGIN, unturn, type QuarterTurns } from './orientation.js';
import type { ModelRunner, TensorData } from './session.js';
import type { DisplayImage } from '../imaging/preprocess.js';

/**
 * A finger film read by the digit its header names. With no thumb, wrist or neighbouring finger in
 * view, a detector cannot tell which finger of which hand it sees, and spreads each joint's
 * confidence over the eight channels of its kind (left and right, digits 2-5): on a real
 * one-finger film the best single channels peak at 0.3-0.6 and no hand is found. Summed over those
 * channels, the joints stand out (0.75-1.13 on that film; models/training/README.md "Finger
 * joints read without their digit"), and chained into a finger (DIP, PIP, MCP along one line,
 * the phalanges in a finger's proportions and, at the header's spacing, of a finger's length in
 * millimetres) they are the finger. Which finger, and whose, the pixels cannot say; the header
 * can (src/pipeline/declared.ts `declaredFinger`), so the chain is named only where it does;
 * where it does not, a chain filling the film says no more than "a finger film" (`seeFinger`).
 * Pure but for the detector runs.
 */

/** A finger the image's header names: its digit (2 index, 3 middle, 4 ring, 5 little), its side, and what said so. */
export interface NamedFinger {
  digit: 2 | 3 | 4 | 5;
  laterality: Laterality;
  says: string;
}

/** A finger film as its header describes it: the finger named, or why it cannot be (src/pipeline/declared.ts `declaredFinger`). */
export type DeclaredFinger = { finger: NamedFinger } | { unnamed: string; laterality?: Laterality };

export const FINGER_READING = {
  /** a summed peak this high at least is taken as a joint of its kind */
  minPeak: 0.5,
  /**
   * the chain's weakest joint at least this: the real finger films' chains 0.86-0.93, chains
   * read on forearm, humerus and shoulder films 0.51-0.68 (read only where a header names a
   * finger, which theirs do not)
   */
  minJoint: 0.7,
  /** middle phalanx (DIP-PIP) over proximal phalanx (PIP-MCP) */
  ratio: [0.4, 0.95],
  /** the finger bent at the PIP at most this much (a PA finger film shows it straight) */
  maxBendDeg: 15,
  /** DIP-PIP, joint centre to joint centre (adult middle phalanges 18-30 mm, widened for size and magnification) */
  middleMm: [12, 38],
  /** PIP-MCP (adult proximal phalanges 30-50 mm) */
  proximalMm: [22, 62],
  /** the finger's line passes the film's middle within this share of the film's width across it (`centralFinger`) */
  maxOffCentre: 0.35,
  /**
   * a finger film seen without its name (`seeFinger`): DIP to MCP at least this share of the film's
   * longer side. A finger film is collimated to the finger and the metacarpal heads (a field of 8-12
   * cm for a finger of 5-7 cm DIP to MCP); on a hand, wrist or forearm film a finger spans a third
   * of the film or less
   */
  minExtent: 0.4,
} as const;

/** A peak of a summed map, in heatmap cells (refined), and its height. */
interface Peak {
  x: number;
  y: number;
  v: number;
}

const KINDS = ['DIP', 'PIP', 'MCP'] as const;
type Kind = (typeof KINDS)[number];

/**
 * Each joint kind's channels of digits 2-5, both sides, summed (negative values as 0), and the
 * summed map's local maxima (5 x 5) at least `minPeak`, refined as the detector's own peaks are
 * (detector.ts `refinedPeak`).
 */
export function summedPeaks(out: TensorData, channels: readonly string[], minPeak: number = FINGER_READING.minPeak): Record<Kind, Peak[]> {
  const [, , h, w] = out.dims;
  const peaksOf = (kind: Kind): Peak[] => {
    const re = new RegExp(`^[LR]-${kind}[2-5]$`);
    const sum = new Float32Array(h * w);
    channels.forEach((name, k) => {
      if (!re.test(name)) return;
      for (let i = 0; i < h * w; i++) sum[i] += Math.max(0, out.data[k * h * w + i]);
    });
    const at = (r: number, c: number) => (r >= 0 && c >= 0 && r < h && c < w ? sum[r * w + c] : 0);
    const peaks: Peak[] = [];
    for (let r = 0; r < h; r++) {
      for (let c = 0; c < w; c++) {
        const v = sum[r * w + c];
        if (v < minPeak) continue;
        let highest = true;
        for (let dr = -2; dr <= 2 && highest; dr++) for (let dc = -2; dc <= 2; dc++) if ((dr || dc) && at(r + dr, c + dc) > v) highest = false;
        if (!highest) continue;
        const { row, col } = refinedPeak(at, r, c, h, w);
        peaks.push({ x: col, y: row, v });
      }
    }
    return peaks;
  };
  return { DIP: peaksOf('DIP'), PIP: peaksOf('PIP'), MCP: peaksOf('MCP') };
}

/** A finger: its three joints (points in any frame where `mmPer` gives millimetres per unit) and its weakest joint. */
export interface FingerChain {
  joints: Record<Kind, Peak>;
  score: number;
}

/**
 * The chains DIP-PIP-MCP that look like a finger: the middle phalanx over the proximal in a
 * finger's proportions, bent little, each phalanx of a finger's length at `mmPer` millimetres
 * per unit (where the spacing is known), the weakest joint at least `FINGER_READING.minJoint`;
 * strongest first, no joint in two.
 */
export function fingerChains(peaks: Record<Kind, Peak[]>, mmPer?: number): FingerChain[] {
  const f = FINGER_READING;
  const within = (v: number, [lo, hi]: readonly [number, number]) => v >= lo && v <= hi;
  const all: FingerChain[] = [];
  for (const dip of peaks.DIP) {
    for (const pip of peaks.PIP) {
      for (const mcp of peaks.MCP) {
        const score = Math.min(dip.v, pip.v, mcp.v);
        if (score < f.minJoint) continue;
        const middle = Math.hypot(pip.x - dip.x, pip.y - dip.y);
        const proximal = Math.hypot(mcp.x - pip.x, mcp.y - pip.y);
        if (!(proximal > 0) || !within(middle / proximal, f.ratio)) continue;
        if (mmPer !== undefined && (!within(middle * mmPer, f.middleMm) || !within(proximal * mmPer, f.proximalMm))) continue;
        const bend = Math.abs(angleBetween([pip.x - dip.x, pip.y - dip.y], [mcp.x - pip.x, mcp.y - pip.y]));
        if (bend > f.maxBendDeg) continue;
        all.push({ joints: { DIP: dip, PIP: pip, MCP: mcp }, score });
      }
    }
  }
  all.sort((a, b) => b.score - a.score);
  const used = new Set<Peak>();
  return all.filter((c) => {
    const js = KINDS.map((k) => c.joints[k]);
    if (js.some((j) => used.has(j))) return false;
    js.forEach((j) => used.add(j));
    return true;
  });
}

const angleBetween = (a: readonly [number, number], b: readonly [number, number]) =>
  (Math.atan2(a[0] * b[1] - a[1] * b[0], a[0] * b[0] + a[1] * b[1]) * 180) / Math.PI;

/**
 * The finger the film was taken of: the chain nearest the middle of the film across the finger
 * (radiographers centre the finger asked for), and only where it passes the middle within
 * `FINGER_READING.maxOffCentre` of the film's width across it; a chain further out is a neighbour
 * whose own finger lies cut at the film's edge (on the held-out phantom finger films the chains
 * read right lay within 0.31 of the width, the one neighbour taken at 0.42:
 * models/training/experiments/finger_offsets.mjs). `film`: the film's
 * size in the chains' units.
 */
export function centralFinger(chains: readonly FingerChain[], film: { width: number; height: number }): FingerChain | undefined {
  const off = (c: FingerChain) => {
    const { DIP: d, MCP: m } = c.joints;
    const [ax, ay] = [m.x - d.x, m.y - d.y];
    const len = Math.hypot(ax, ay);
    const across = Math.abs(ax) > Math.abs(ay) ? film.height : film.width;
    return Math.abs(((film.width / 2 - d.x) * ay - (film.height / 2 - d.y) * ax) / len) / across;
  };
  const best = [...chains].sort((a, b) => off(a) - off(b))[0];
  return best && off(best) <= FINGER_READING.maxOffCentre ? best : undefined;
}

/** A finger chain read on a film: its joints in the film's pixels, its weakest joint, its length over the film's longer side, the turn it was read at. */
export interface FingerOnFilm {
  joints: Record<Kind, { x: number; y: number; v: number }>;
  score: number;
  extent: number;
  quarterTurns: QuarterTurns;
}

/**
 * The central finger chain (`centralFinger`) that `detector` (a heatmap detector whose channels
 * name DIP, PIP and MCP of digits 2-5) is surest of over the film's quarter turns (upright
 * preferred by `TURN_MARGIN`), among those `keep` accepts; its joints put back into the film's
 * pixels. `mmPerPixel`: the film's spacing where known (the chains' phalanges then of a finger's
 * length in millimetres).
 */
async function surestFinger(
  img: DisplayImage,
  manifest: DetectorManifest,
  runner: ModelRunner,
  mmPerPixel: number | undefined,
  keep: (chain: FingerChain, film: { width: number; height: number }) => boolean,
): Promise<FingerOnFilm | undefined> {
  if (manifest.output.layout !== 'heatmap') return undefined;
  const size = manifest.input.size;
  const lb = letterboxOnce(img, size);
  const { stride } = manifest.output;
  const mmPerCell = mmPerPixel === undefined ? undefined : (stride / lb.scale) * mmPerPixel;
  let best: { chain: FingerChain; k: QuarterTurns; score: number; film: { width: number; height: number } } | undefined;
  for (const k of [0, 1, 2, 3] as const) {
    const outputs = await runner.run({ [manifest.input.name]: { data: turnLetterbox(lb, k), dims: [1, 1, size, size] } });
    const out = outputs[manifest.output.name];
    if (!out) throw new Error(`detector ${manifest.name} returned no output "${manifest.output.name}"`);
    const [nh, nw] = k % 2 === 0 ? [lb.contentRows, lb.contentColumns] : [lb.contentColumns, lb.contentRows];
    const film = { width: nw / stride, height: nh / stride };
    const chain = centralFinger(fingerChains(summedPeaks(out, manifest.channels), mmPerCell).filter((c) => keep(c, film)), film);
    const score = chain ? chain.score / (k === 0 ? 1 : TURN_MARGIN) : 0;
    if (chain && (!best || score > best.score)) best = { chain, k, score, film };
  }
  if (!best) return undefined;
  const { chain, k, film } = best;
  const onFilm = (p: Peak) => {
    const [x, y] = unturn((p.x + 0.5) * stride, (p.y + 0.5) * stride, k, lb.contentRows, lb.contentColumns);
    return { x: x / lb.scale, y: y / lb.scale, v: p.v };
  };
  return {
    joints: { DIP: onFilm(chain.joints.DIP), PIP: onFilm(chain.joints.PIP), MCP: onFilm(chain.joints.MCP) },
    score: chain.score,
    extent: chainLength(chain) / Math.max(film.width, film.height),
    quarterTurns: k,
  };
}

/** DIP to PIP to MCP, in the chain's units. */
const chainLength = ({ joints: { DIP: d, PIP: p, MCP: m } }: FingerChain) => Math.hypot(p.x - d.x, p.y - d.y) + Math.hypot(m.x - p.x, m.y - p.y);

/**
 * The named finger's joints on the film, in its pixels, read by `detector` at the quarter turn
 * whose finger it is surest of; undefined where no turn shows a finger of a finger's length at the
 * header's spacing.
 */
export async function readNamedFinger(
  img: DisplayImage,
  finger: NamedFinger,
  manifest: DetectorManifest,
  runner: ModelRunner,
): Promise<{ candidates: Candidate[]; quarterTurns: QuarterTurns } | undefined> {
  // at the mean of the two spacings (pixels are square on DX films)
  const found = await surestFinger(img, manifest, runner, Math.sqrt(img.pixelSpacingMm[0] * img.pixelSpacingMm[1]), () => true);
  if (!found) return undefined;
  const candidates = KINDS.map((kind): Candidate => {
    const p = found.joints[kind];
    return { laterality: finger.laterality, site: `${kind}${finger.digit}` as JointSite, x: p.x, y: p.y, confidence: Math.min(1, p.v) };
  });
  return { candidates, quarterTurns: found.quarterTurns };
}

/**
 * A film of one finger, seen though no header names it: a central finger chain filling the film
 * (`FINGER_READING.minExtent`), of a finger's length in millimetres where `mmPerPixel` is known.
 * Which finger it is, and whose, it cannot say: the film is reported as a finger film, not graded.
 */
export async function seeFinger(img: DisplayImage, manifest: DetectorManifest, runner: ModelRunner, mmPerPixel?: number): Promise<FingerOnFilm | undefined> {
  return surestFinger(img, manifest, runner, mmPerPixel, (c, film) => chainLength(c) >= FINGER_READING.minExtent * Math.max(film.width, film.height));
}
