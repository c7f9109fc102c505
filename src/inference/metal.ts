import { DisplayHistogram } from '../imaging/display-histogram.js';

/**
 * Metal over a joint (a plate, a screw, a wire, an arthroplasty): its pixels sit at the top of
 * the display range as one flat plateau, most of a millimetre thick or more, and step down
 * sharply to the bone and soft tissue around it. Bone the window clips to white (a dense carpus,
 * cortices seen end-on) is as bright but fades into the bone beside it; burnt-in lines and
 * letters are as sharp but thin. Pure: the grader's crop in, the plateau's measures out.
 */

export interface MetalEvidence {
  /** area of the thick top plateau within `METAL.radiusMm` of the crop's centre, mm^2 */
  areaMm2: number;
  /** 1 - the median display value just outside that plateau: how far it steps down */
  step: number;
  /**
   * the plateau's long axis from the joint line, degrees (0-90; the crop is turned distal up, so
   * the joint line is its horizontal), and its length over its width (from its second moments):
   * a bone end's subchondral plate is a band along the joint line, a wire or screw into a bone
   * end runs across it
   */
  fromJointLineDeg: number;
  elongation: number;
}

export const METAL = {
  /**
   * display values at or above this (after a 3 x 3 mean: JPEG leaves metal speckled) are the top
   * plateau; the window's top is the film's 99.5th percentile
   */
  top: 0.92,
  /** half the thickness a plateau must have to count: wires are 1-2 mm, burnt-in lines a few tenths */
  halfThicknessMm: 0.35,
  /** only metal this close to the joint's centre hides it */
  radiusMm: 5,
  /** where the step is read: this far outside the plateau */
  ringMm: [0.3, 0.8] as const,
} as const;

/** The thick top plateau near the centre of a square crop (cropPx x cropPx, display values in [0, 1]). */
export function metalEvidence(crop: Float32Array, cropPx: number, mmPerPx: number): MetalEvidence {
  const px = (mm: number, least: number) => Math.max(least, Math.round(mm / mmPerPx));
  const r = px(METAL.halfThicknessMm, 1);
  const ring = [px(METAL.ringMm[0], 1), px(METAL.ringMm[1], 2)] as const;
  const rad = METAL.radiusMm / mmPerPx;
  // only the middle of the crop is read: the disc, room for the opening and the ring, and the mean's pixel
  const { win, n, lo, bright } = middleOf(crop, cropPx, Math.ceil(rad) + r + ring[1] + 1);
  // most joints have no pixel that bright: nothing to measure (a 3 x 3 mean is never above its brightest pixel)
  if (!bright) return NONE;
  const smooth = mean3(win, n);
  const top = new Uint8Array(n * n);
  for (let i = 0; i < n * n; i++) top[i] = smooth[i] >= METAL.top ? 1 : 0;
  // an opening: the plateau's pixels that a (2r+1) square fits inside, grown back by r
  const thick = dilate(erode(top, n, r), n, r);
  for (let i = 0; i < n * n; i++) thick[i] &= top[i];
  const c = (cropPx - 1) / 2 - lo;
  const near: [number, number][] = [];
  for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) if (thick[y * n + x] && (x - c) ** 2 + (y - c) ** 2 <= rad * rad) near.push([x, y]);
  if (near.length === 0) return NONE;
  const median = ringMedian(smooth, dilate(thick, n, ring[0]), dilate(thick, n, ring[1]));
  return { areaMm2: near.length * mmPerPx * mmPerPx, step: 1 - median, ...axisOf(near) };
}

/** The square of about `half` pixels each side of the crop's centre, and whether any of it is at the top. */
function middleOf(crop: Float32Array, cropPx: number, half: number): { win: Float32Array; n: number; lo: number; bright: boolean } {
  const mid = (cropPx - 1) / 2;
  const h = Math.min(mid, half);
  const lo = Math.max(0, Math.floor(mid - h));
  const n = Math.min(cropPx, Math.ceil(mid + h) + 1) - lo;
  const win = new Float32Array(n * n);
  let bright = false;
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const v = crop[(y + lo) * cropPx + x + lo];
      win[y * n + x] = v;
      if (v >= METAL.top) bright = true;
    }
  }
  return { win, n, lo, bright };
}

/** The median of `values` where `outer` is set and `inner` is not; 1 when there are none. */
function ringMedian(values: Float32Array, inner: Uint8Array, outer: Uint8Array): number {
  const ring = DisplayHistogram.of(values, (i) => outer[i] === 1 && inner[i] === 0);
  return ring.count ? ring.quantile(0.5) : 1;
}

const NONE: MetalEvidence = { areaMm2: 0, step: 0, fromJointLineDeg: 0, elongation: 1 };

/** The long axis of a set of pixels from the horizontal (0-90 degrees), and its length over its width. */
function axisOf(points: readonly [number, number][]): Pick<MetalEvidence, 'fromJointLineDeg' | 'elongation'> {
  const k = points.length;
  const mx = points.reduce((a, p) => a + p[0], 0) / k;
  const my = points.reduce((a, p) => a + p[1], 0) / k;
  let cxx = 0, cyy = 0, cxy = 0;
  for (const [x, y] of points) {
    cxx += (x - mx) ** 2 / k;
    cyy += (y - my) ** 2 / k;
    cxy += ((x - mx) * (y - my)) / k;
  }
  const mid = (cxx + cyy) / 2;
  const spread = Math.sqrt(Math.max(0, mid * mid - (cxx * cyy - cxy * cxy)));
  const angle = (Math.atan2(2 * cxy, cxx - cyy) * 90) / Math.PI;
  return { fromJointLineDeg: Math.abs(angle), elongation: Math.sqrt((mid + spread) / Math.max(1e-9, mid - spread)) };
}

/** The 3 x 3 mean of each pixel (at the edge, of the pixels that lie inside). */
function mean3(v: Float32Array, n: number): Float32Array {
  const rows = new Float32Array(n * n);
  const counts = new Uint8Array(n * n);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const i = y * n + x;
      rows[i] = v[i] + (x > 0 ? v[i - 1] : 0) + (x < n - 1 ? v[i + 1] : 0);
      counts[i] = 1 + (x > 0 ? 1 : 0) + (x < n - 1 ? 1 : 0);
    }
  }
  const out = new Float32Array(n * n);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const i = y * n + x;
      const up = y > 0, down = y < n - 1;
      const sum = rows[i] + (up ? rows[i - n] : 0) + (down ? rows[i + n] : 0);
      const k = counts[i] * (1 + (up ? 1 : 0) + (down ? 1 : 0));
      out[i] = sum / k;
    }
  }
  return out;
}

/** Per pixel, the count of a 0/1 mask over the (2r+1) square about it (clipped at the edges), and that square's size. */
function boxCounts(mask: Uint8Array, n: number, r: number): { count: Int32Array; size: Int32Array } {
  const w = n + 1;
  const sat = new Int32Array(w * w);
  for (let y = 0; y < n; y++) {
    let row = 0;
    for (let x = 0; x < n; x++) {
      row += mask[y * n + x];
      sat[(y + 1) * w + x + 1] = sat[y * w + x + 1] + row;
    }
  }
  const count = new Int32Array(n * n);
  const size = new Int32Array(n * n);
  for (let y = 0; y < n; y++) {
    const y0 = Math.max(0, y - r), y1 = Math.min(n, y + r + 1);
    for (let x = 0; x < n; x++) {
      const x0 = Math.max(0, x - r), x1 = Math.min(n, x + r + 1);
      count[y * n + x] = sat[y1 * w + x1] - sat[y0 * w + x1] - sat[y1 * w + x0] + sat[y0 * w + x0];
      size[y * n + x] = (x1 - x0) * (y1 - y0);
    }
  }
  return { count, size };
}

function erode(mask: Uint8Array, n: number, r: number): Uint8Array {
  const { count, size } = boxCounts(mask, n, r);
  const out = new Uint8Array(n * n);
  for (let i = 0; i < n * n; i++) out[i] = count[i] === size[i] ? 1 : 0;
  return out;
}

function dilate(mask: Uint8Array, n: number, r: number): Uint8Array {
  const { count } = boxCounts(mask, n, r);
  const out = new Uint8Array(n * n);
  for (let i = 0; i < n * n; i++) out[i] = count[i] > 0 ? 1 : 0;
  return out;
}
