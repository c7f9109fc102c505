import { Rng } from './rng.js';
import { EXPOSURE_RANGES, type WideningLevel } from './ranges.js';

/**
 * The imaging chain: line integrals -> transmitted fluence -> scatter -> detector blur ->
 * quantum noise -> log -> display values in [0, 1] (1 = most attenuating, bone white).
 * Smooth fields (soft tissue, gain, collimation, scatter, unsharp mask) live on coarse grids
 * and are upsampled row by row, so each full-resolution pass is a handful of flops.
 */
export interface ChainParams {
  /** scatter-to-primary ratio and the scatter kernel's width */
  spr: number;
  scatterMm: number;
  /** detected quanta per pixel of the open beam: sets quantum noise */
  quanta: number;
  /** attenuation (log units) mapped to the full display range, and the display gamma */
  window: number;
  gamma: number;
  /** display value of the open beam (the LUT's black level; real films rarely show pure black) */
  floor: number;
  /** weight of an S-shaped display curve (toe and shoulder) blended with the gamma curve, 0..1 */
  sCurve: number;
  /** display processing: unsharp-mask gain and radius */
  unsharp: number;
  unsharpMm: number;
  /** detector gain non-uniformity amplitude and anode heel gradient */
  gainAmp: number;
  heel: number;
  /** processed with an electronic shutter: outside the collimated field shown black, not white */
  shutterBlack: boolean;
  /** with a shutter, the display value it paints outside the field (0 black, else a grey up to `floor`) */
  shutterLevel: number;
  /** fraction of the open beam reaching the detector outside the collimated field (leakage, off-focus, scatter) */
  leak: number;
}

export function sampleChain(rng: Rng, level: WideningLevel): ChainParams {
  const r = EXPOSURE_RANGES[level];
  const w = r.spread;
  const p: ChainParams = {
    spr: rng.uniform(0.05, 0.25 * w),
    scatterMm: rng.uniform(20, 60),
    quanta: Math.exp(rng.uniform(Math.log(r.quanta[0]), Math.log(r.quanta[1]))),
    window: rng.uniform(1.2, 1.9) * (r.windowFactor ? rng.uniform(...r.windowFactor) : 1),
    gamma: rng.uniform(0.75, 1.2),
    unsharp: rng.chance(0.75) ? rng.uniform(0.15, 0.9 * w) : 0,
    unsharpMm: rng.uniform(3, 12),
    gainAmp: rng.uniform(0, 0.04 * w),
    heel: rng.uniform(-0.08, 0.08) * w,
    shutterBlack: rng.chance(0.7),
    shutterLevel: rng.uniform(0, 1),
    floor: rng.chance(0.8) ? rng.uniform(0.03, 0.24) : 0,
    sCurve: rng.chance(0.6) ? rng.uniform(0.1, 0.5) : 0,
    leak: Math.exp(rng.uniform(Math.log(0.003), Math.log(0.45))),
  };
  // a shutter paints black, or a grey no brighter than the open field's black level
  p.shutterLevel = p.shutterLevel < 0.5 ? 0 : p.floor * (p.shutterLevel - 0.5) * 2;
  return p;
}

let NORMALS: Float32Array | null = null;
/** a fixed table of standard normal deviates: per-pixel Box-Muller would cost more than the rest */
function normals(): Float32Array {
  if (NORMALS) return NORMALS;
  const r = new Rng(0x5eed);
  NORMALS = new Float32Array(1 << 16);
  for (let i = 0; i < NORMALS.length; i++) NORMALS[i] = r.normal();
  return NORMALS;
}

/** A coarse grid, `F` image pixels per cell, with bilinear row upsampling. */
export class Coarse {
  readonly w: number;
  readonly h: number;
  readonly data: Float32Array;
  constructor(readonly W: number, readonly H: number, readonly F: number) {
    this.w = Math.ceil(W / F);
    this.h = Math.ceil(H / F);
    this.data = new Float32Array(this.w * this.h);
  }

  private tmp: Float32Array | null = null;

  /** fill out[0..W) with the grid bilinearly interpolated at row y's pixel centres */
  row(y: number, out: Float32Array): void {
    const w = this.w, F = this.F, W = this.W;
    const tmp = this.tmp ?? (this.tmp = new Float32Array(w));
    const g = Math.min(this.h - 1, Math.max(0, (y + 0.5) / F - 0.5));
    const i0 = Math.min(Math.max(0, this.h - 2), Math.floor(g));
    const fy = this.h < 2 ? 0 : g - i0;
    const r0 = i0 * w, r1 = Math.min(this.h - 1, i0 + 1) * w;
    const d = this.data;
    for (let j = 0; j < w; j++) tmp[j] = d[r0 + j] + (d[r1 + j] - d[r0 + j]) * fy;
    // horizontally: constant before the first cell centre and after the last, linear ramps between
    let x = 0;
    const first = Math.min(W, Math.ceil(F / 2 - 0.5));
    for (; x < first; x++) out[x] = tmp[0];
    for (let j = 0; j < w - 1 && x < W; j++) {
      const end = Math.min(W, Math.ceil((j + 1.5) * F - 0.5));
      const dv = (tmp[j + 1] - tmp[j]) / F;
      let v = tmp[j] + dv * (x + 0.5 - (j + 0.5) * F);
      for (; x < end; x++, v += dv) out[x] = v;
    }
    for (; x < W; x++) out[x] = tmp[w - 1];
  }

  /** box-average a full-resolution image into this grid */
  downsample(img: Float32Array): void {
    const d = this.data, w = this.w, F = this.F, W = this.W;
    d.fill(0);
    const full = Math.floor(W / F);
    for (let y = 0; y < this.H; y++) {
      const gr = ((y / F) | 0) * w;
      const row = y * W;
      for (let gx = 0; gx < full; gx++) {
        let s = 0;
        const b = row + gx * F;
        for (let k = 0; k < F; k++) s += img[b + k];
        d[gr + gx] += s;
      }
      for (let x = full * F; x < W; x++) d[gr + full] += img[row + x];
    }
    for (let gy = 0; gy < this.h; gy++) {
      const ny = Math.min(F, this.H - gy * F);
      for (let gx = 0; gx < w; gx++) d[gy * w + gx] /= ny * Math.min(F, W - gx * F);
    }
  }

  /** three box passes each way: close to a Gaussian of sd ~ radius */
  blur(radiusCells: number, passes = 3): void {
    const r = Math.max(1, Math.round(radiusCells));
    for (let p = 0; p < passes; p++) {
      boxPass(this.data, this.w, this.h, r, 1, this.w);
      boxPass(this.data, this.h, this.w, r, this.w, 1);
    }
  }
}

/** running-sum box filter along lines of length n (stride step), `lines` of them (stride lstep), clamped edges */
function boxPass(d: Float32Array, n: number, lines: number, r: number, step: number, lstep: number): void {
  const tmp = new Float32Array(n);
  const norm = 1 / (2 * r + 1);
  for (let l = 0; l < lines; l++) {
    const base = l * lstep;
    let s = 0;
    for (let k = -r; k <= r; k++) s += d[base + Math.min(n - 1, Math.max(0, k)) * step];
    for (let i = 0; i < n; i++) {
      tmp[i] = s * norm;
      s += d[base + Math.min(n - 1, i + r + 1) * step] - d[base + Math.max(0, i - r) * step];
    }
    for (let i = 0; i < n; i++) d[base + i * step] = tmp[i];
  }
}

/** 3-tap binomial blur (detector MTF), separable, in place */
function detectorBlur(img: Float32Array, W: number, H: number): void {
  for (let y = 0; y < H; y++) {
    const row = y * W;
    let prev = img[row];
    for (let x = 0; x < W; x++) {
      const cur = img[row + x];
      const next = x + 1 < W ? img[row + x + 1] : cur;
      img[row + x] = 0.25 * prev + 0.5 * cur + 0.25 * next;
      prev = cur;
    }
  }
  const prevRow = img.slice(0, W);
  const cur = new Float32Array(W);
  for (let y = 0; y < H; y++) {
    const row = y * W;
    const nrow = y + 1 < H ? row + W : row;
    cur.set(img.subarray(row, row + W));
    for (let x = 0; x < W; x++) img[row + x] = 0.25 * prevRow[x] + 0.5 * cur[x] + 0.25 * img[nrow + x];
    prevRow.set(cur);
  }
}

/**
 * Runs the chain in place on `att` (bone + marker line integrals), given the coarse field
 * soft-tissue transmission x gain x collimator shadow.
 */
export function imagingChain(att: Float32Array, W: number, H: number, fieldT: Coarse, coll: Coarse,
  pixelMm: number, p: ChainParams, seed: number): Float32Array {
  const rowA = new Float32Array(W);
  // exp(-a) by table; negative integrals (lesion blobs cut deeper than the bone) mean no bone
  const ex = expTable();
  for (let y = 0; y < H; y++) {
    fieldT.row(y, rowA);
    const row = y * W;
    for (let x = 0; x < W; x++) {
      let t = att[row + x] * EXP_SCALE;
      t = t < 0 ? 0 : t > EXP_N - 1 ? EXP_N - 1 : t;
      const j = t | 0;
      att[row + x] = (ex[j] + (ex[j + 1] - ex[j]) * (t - j)) * rowA[x];
    }
  }
  // scatter: a wide blur of the primary, added
  const D = 8;
  const sc = new Coarse(W, H, D);
  sc.downsample(att);
  sc.blur(p.scatterMm / (pixelMm * D) / 1.7);
  // blur is linear and the scatter already smooth: blur the primary only, add scatter below
  detectorBlur(att, W, H);
  // quantum noise (Poisson-like: variance ~ signal / quanta), then log, window and gamma by table
  const nt = normals();
  const lut = displayTable(p);
  let r = (seed ^ 0x9e3779b9) >>> 0 || 1;
  const iq = 1 / p.quanta;
  const e2 = 0.002 * 0.002;
  const spr = p.spr;
  for (let y = 0; y < H; y++) {
    sc.row(y, rowA);
    const row = y * W;
    for (let x = 0; x < W; x++) {
      r ^= r << 13; r ^= r >>> 17; r ^= r << 5;
      const s = att[row + x] + spr * rowA[x];
      let n = s + Math.sqrt(s * iq + e2) * nt[(r >>> 0) & 0xffff];
      n = n < 0 ? 0 : n > LUT_MAX ? LUT_MAX : n;
      const t = n * LUT_SCALE;
      const j = t | 0;
      att[row + x] = lut[j] + (lut[j + 1] - lut[j]) * (t - j);
    }
  }
  if (p.unsharp > 0) unsharp(att, W, H, pixelMm, p, rowA);
  if (p.shutterBlack) {
    for (let y = 0; y < H; y++) {
      coll.row(y, rowA);
      const row = y * W;
      // a clean electronic edge: the shutter value up to the field's half-shadow, then a short blend
      const lv = p.shutterLevel;
      for (let x = 0; x < W; x++) {
        const m = rowA[x];
        if (m < 0.55) att[row + x] = lv;
        else if (m < 0.8) att[row + x] = lv + (att[row + x] - lv) * (m - 0.55) * 4;
      }
    }
  }
  return att;
}

const EXP_N = 1 << 14;
const EXP_MAX = 12;
const EXP_SCALE = (EXP_N - 1) / EXP_MAX;
let EXP: Float32Array | null = null;
function expTable(): Float32Array {
  if (EXP) return EXP;
  EXP = new Float32Array(EXP_N + 1);
  for (let j = 0; j <= EXP_N; j++) EXP[j] = Math.exp(-j / EXP_SCALE);
  return EXP;
}

const LUT_N = 1 << 17;
const LUT_MAX = 2;
const LUT_SCALE = (LUT_N - 1) / LUT_MAX;

/** detected signal (open beam = 1 + spr) -> display value: -log, window, gamma, clipped to [0, 1] */
function displayTable(p: ChainParams): Float32Array {
  const t = new Float32Array(LUT_N + 1);
  const air = -Math.log(1 + p.spr);
  for (let j = 0; j <= LUT_N; j++) {
    const n = Math.max(1e-4, j / LUT_SCALE);
    const v = (-Math.log(n) - air) / p.window;
    const g = v <= 0 ? 0 : v >= 1 ? 1 : Math.pow(v, p.gamma);
    const sc = p.sCurve ?? 0;
    const fl = p.floor ?? 0;
    t[j] = fl + (1 - fl) * (sc > 0 ? g + sc * (g * g * (3 - 2 * g) - g) : g);
  }
  return t;
}

/** display processing that real film has: edge enhancement against a coarse blur */
function unsharp(img: Float32Array, W: number, H: number, pixelMm: number, p: ChainParams, rowA: Float32Array): void {
  const D = 4;
  const lo = new Coarse(W, H, D);
  lo.downsample(img);
  lo.blur(p.unsharpMm / (pixelMm * D) / 1.7);
  const k = p.unsharp;
  for (let y = 0; y < H; y++) {
    lo.row(y, rowA);
    const row = y * W;
    for (let x = 0; x < W; x++) {
      const v = img[row + x] + k * (img[row + x] - rowA[x]);
      img[row + x] = v <= 0 ? 0 : v >= 1 ? 1 : v;
    }
  }
}
