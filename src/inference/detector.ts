import type { JointSite, Laterality } from '../analysis/joints.js';
import type { DetectorManifest } from './manifest.js';
import { parseChannel } from './manifest.js';
import type { DisplayImage } from '../imaging/preprocess.js';
import { letterbox } from '../imaging/preprocess.js';
import type { ModelRunner, TensorData } from './session.js';

/**
 * The detector's output turned into candidate joints in image pixels (docs/model-contract.md).
 * The decoding functions are pure: arrays in, candidates out.
 */
export interface Candidate {
  laterality: Laterality;
  site: JointSite;
  /** image pixels, (0,0) = top-left corner of the top-left pixel */
  x: number;
  y: number;
  confidence: number;
  /** the detector's own box where it gives one (YOLO layout), image pixels [x0, y0, x1, y1] */
  box?: [number, number, number, number];
}

/** The candidate with its point and box corners taken into another pixel frame by `to`. */
export function movedCandidate(c: Candidate, to: (x: number, y: number) => [number, number]): Candidate {
  const [x, y] = to(c.x, c.y);
  if (!c.box) return { ...c, x, y };
  const [x0, y0] = to(c.box[0], c.box[1]);
  const [x1, y1] = to(c.box[2], c.box[3]);
  return { ...c, x, y, box: [Math.min(x0, x1), Math.min(y0, y1), Math.max(x0, x1), Math.max(y0, y1)] };
}

export interface HeatmapDecodeOptions {
  stride: number;
  threshold: number;
  /** input pixels per image pixel (letterbox scale) */
  scale: number;
  /** `L-MCP2` names, one per channel */
  channels: readonly string[];
}

/**
 * Heatmap layout: each channel's maximum is that joint; refined by the 3 x 3 weighted
 * centroid (values as weights, cells outside the map left out); image x = (column + 0.5) x
 * stride / scale, likewise y. A peak under the threshold means not found. Ties go to the
 * first cell in row-major order.
 */
export function decodeHeatmap(heatmaps: TensorData, o: HeatmapDecodeOptions): Candidate[] {
  const [n, channels, h, w] = heatmaps.dims;
  if (heatmaps.dims.length !== 4 || n !== 1 || channels !== o.channels.length) {
    throw new Error(`heatmap output of shape [${heatmaps.dims.join(', ')}], expected [1, ${o.channels.length}, H, W]`);
  }
  const d = heatmaps.data;
  const out: Candidate[] = [];
  for (let k = 0; k < channels; k++) {
    const base = k * h * w;
    let best = 0;
    let bestV = -Infinity;
    for (let i = 0; i < h * w; i++) {
      const v = d[base + i];
      if (v > bestV) {
        bestV = v;
        best = i;
      }
    }
    if (!(bestV >= o.threshold)) continue;
    const { row, col } = refinedPeak((rr, cc) => d[base + rr * w + cc], Math.floor(best / w), best % w, h, w);
    const j = parseChannel(o.channels[k]);
    if (!j) throw new Error(`detector channel ${k} is "${o.channels[k]}", not a joint name like "L-MCP2"`);
    out.push({ ...j, x: ((col + 0.5) * o.stride) / o.scale, y: ((row + 0.5) * o.stride) / o.scale, confidence: bestV });
  }
  return out;
}

/**
 * A map's peak at cell (r, c) refined by the 3 x 3 weighted centroid around it: values as weights
 * (negative ones as 0), cells outside the h x w map left out; the cell itself where all weigh 0.
 */
export function refinedPeak(at: (r: number, c: number) => number, r: number, c: number, h: number, w: number): { row: number; col: number } {
  let [sw, sr, sc] = [0, 0, 0];
  for (let rr = r - 1; rr <= r + 1; rr++) {
    for (let cc = c - 1; cc <= c + 1; cc++) {
      if (rr < 0 || cc < 0 || rr >= h || cc >= w) continue;
      const v = Math.max(0, at(rr, cc));
      [sw, sr, sc] = [sw + v, sr + v * rr, sc + v * cc];
    }
  }
  return sw > 0 ? { row: sr / sw, col: sc / sw } : { row: r, col: c };
}

export interface YoloDecodeOptions {
  threshold: number;
  scale: number;
  channels: readonly string[];
}

/**
 * YOLO layout `[1, 4 + C, N]` (Ultralytics export: cx, cy, w, h in input pixels, then C class
 * scores, no objectness): per class, the box with the best score at or above the threshold.
 */
export function decodeYolo(output: TensorData, o: YoloDecodeOptions): Candidate[] {
  const [b, rowsCount, n] = output.dims;
  const classes = o.channels.length;
  if (output.dims.length !== 3 || b !== 1 || rowsCount !== 4 + classes) {
    throw new Error(`YOLO output of shape [${output.dims.join(', ')}], expected [1, ${4 + classes}, N]`);
  }
  const d = output.data;
  const at = (row: number, i: number) => d[row * n + i];
  const out: Candidate[] = [];
  for (let k = 0; k < classes; k++) {
    let best = -1;
    let bestV = -Infinity;
    for (let i = 0; i < n; i++) {
      const v = at(4 + k, i);
      if (v > bestV) {
        bestV = v;
        best = i;
      }
    }
    if (best < 0 || !(bestV >= o.threshold)) continue;
    const j = parseChannel(o.channels[k]);
    if (!j) throw new Error(`detector class ${k} is "${o.channels[k]}", not a joint name like "L-MCP2"`);
    const cx = at(0, best) / o.scale;
    const cy = at(1, best) / o.scale;
    const hw = at(2, best) / o.scale / 2;
    const hh = at(3, best) / o.scale / 2;
    out.push({ ...j, x: cx, y: cy, confidence: bestV, box: [cx - hw, cy - hh, cx + hw, cy + hh] });
  }
  return out;
}

/** Letterboxes the display image, runs the detector and decodes its output. */
export async function detect(img: DisplayImage, manifest: DetectorManifest, runner: ModelRunner): Promise<Candidate[]> {
  const lb = letterbox(img, manifest.input.size);
  return runDetector(lb.data, lb.scale, manifest, runner);
}

/** The detector on a letterboxed input; candidates in input pixels divided by `scale`. */
export async function runDetector(input: Float32Array, scale: number, manifest: DetectorManifest, runner: ModelRunner): Promise<Candidate[]> {
  const size = manifest.input.size;
  const outputs = await runner.run({ [manifest.input.name]: { data: input, dims: [1, 1, size, size] } });
  const out = outputs[manifest.output.name];
  if (!out) throw new Error(`detector ${manifest.name} returned no output "${manifest.output.name}"`);
  if (manifest.output.layout === 'heatmap') {
    return decodeHeatmap(out, { stride: manifest.output.stride, threshold: manifest.output.threshold, scale, channels: manifest.channels });
  }
  return decodeYolo(out, { threshold: manifest.output.threshold, scale, channels: manifest.channels });
}

/**
 * A hand is reported only when the detector finds at least `minJoints` of its joints: a few
 * stray peaks of the other laterality's channels (seen on real single-hand films) are not a
 * second hand. A film showing only part of a hand (a finger, a wrist) then reports none,
 * which is right for a node that grades whole hands.
 */
export const MIN_JOINTS_PER_HAND = 6;

export function keepWholeHands(candidates: Candidate[], minJoints = MIN_JOINTS_PER_HAND): Candidate[] {
  const count = new Map<Laterality, number>();
  for (const c of candidates) count.set(c.laterality, (count.get(c.laterality) ?? 0) + 1);
  return candidates.filter((c) => (count.get(c.laterality) ?? 0) >= minJoints);
}
