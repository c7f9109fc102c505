import type { Rng } from './rng.js';

/**
 * Trabecular texture: one tileable, band-limited, anisotropic noise texture per image, drawn
 * from the seeded RNG. The zero crossings of band-limited noise form a connected network of
 * thin lines; a ridge transform of the noise turns them into bright struts (trabeculae) on a
 * darker ground (marrow spaces). Blurred more along the texture's u axis than across it, so
 * the struts run mostly along u: long bones sample it with u along their axis, which gives
 * the streaky, longitudinally oriented pattern of their ends; carpals sample it in their own
 * frame. Zero mean, unit standard deviation; the renderer scales it to +-10-25 % of the
 * cancellous density.
 */
export const TEX_SHIFT = 8;
export const TEX_N = 1 << TEX_SHIFT;
export const TEX_MASK = TEX_N - 1;

export interface Texture {
  data: Float32Array;
  /** texel size in model mm */
  texelMm: number;
  /** modulation depth of the cancellous density (sd as a fraction, 0.1-0.25) */
  amp: number;
}

/** circular box blur of radius r along one axis of the square N x N tile */
function wrapBox(d: Float32Array, r: number, horizontal: boolean): void {
  if (r <= 0) return;
  const N = TEX_N, M = TEX_MASK;
  const tmp = new Float32Array(N);
  const norm = 1 / (2 * r + 1);
  const step = horizontal ? 1 : N, lstep = horizontal ? N : 1;
  for (let l = 0; l < N; l++) {
    const base = l * lstep;
    let s = 0;
    for (let k = -r; k <= r; k++) s += d[base + (k & M) * step];
    for (let i = 0; i < N; i++) {
      tmp[i] = s * norm;
      s += d[base + ((i + r + 1) & M) * step] - d[base + ((i - r) & M) * step];
    }
    for (let i = 0; i < N; i++) d[base + i * step] = tmp[i];
  }
}

function normalise(d: Float32Array): void {
  let m = 0;
  for (const v of d) m += v;
  m /= d.length;
  let s = 0;
  for (let i = 0; i < d.length; i++) {
    d[i] -= m;
    s += d[i] * d[i];
  }
  const k = 1 / Math.sqrt(s / d.length || 1);
  for (let i = 0; i < d.length; i++) d[i] *= k;
}

export function makeTexture(rng: Rng): Texture {
  const N = TEX_N;
  const layer = (ru: number, rv: number) => {
    const d = new Float32Array(N * N);
    for (let i = 0; i < d.length; i++) d[i] = rng.normal();
    for (let p = 0; p < 3; p++) {
      wrapBox(d, ru, true);
      wrapBox(d, rv, false);
    }
    normalise(d);
    return d;
  };
  // fine network (struts) plus a coarser one (larger marrow spaces), ridged
  const a = layer(3, 1), b = layer(5, 2);
  const w = rng.uniform(0.25, 0.5);
  const out = new Float32Array(N * N);
  for (let i = 0; i < out.length; i++) {
    const ra = Math.exp(-2.5 * a[i] * a[i]);
    const rb = Math.exp(-2.5 * b[i] * b[i]);
    out[i] = ra + w * rb;
  }
  normalise(out);
  return { data: out, texelMm: rng.uniform(0.09, 0.14), amp: rng.uniform(0.16, 0.3) };
}
