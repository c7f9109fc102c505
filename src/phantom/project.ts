import { SHAPE_N, type BoneProfile, type Ellipsoid, type LongBone, type SoftCapsule, type SoftTissue, type V2 } from './anatomy.js';
import { TEX_MASK, TEX_SHIFT, type Texture } from './texture.js';

/**
 * Projection: analytic line integrals (sum of mu x chord length) of every primitive, rasterised
 * only where it can be non-zero. All buffers are row-major Float32Array; a pixel (i, j) is
 * sampled at its centre (i + 0.5, j + 0.5) in image coordinates.
 */

/** Hand frame (model mm) to image pixels: x = ox + u*ux[0] + v*vx[0], y likewise. */
export interface Frame {
  ox: number;
  oy: number;
  ux: V2;
  vx: V2;
  /** pixels per model mm (= scale / pixel spacing) */
  k: number;
  /** true mm per model mm (the hand's size factor) */
  scale: number;
}

export function toPx(f: Frame, p: V2): V2 {
  return [f.ox + p[0] * f.ux[0] + p[1] * f.vx[0], f.oy + p[0] * f.ux[1] + p[1] * f.vx[1]];
}

/** unit image direction of a model direction */
export function dirPx(f: Frame, d: V2): V2 {
  const x = d[0] * f.ux[0] + d[1] * f.vx[0];
  const y = d[0] * f.ux[1] + d[1] * f.vx[1];
  const n = Math.hypot(x, y);
  return [x / n, y / n];
}

const smooth = (x: number) => (x <= 0 ? 0 : x >= 1 ? 1 : x * x * (3 - 2 * x));

/** metaphyseal flare, 0 at the shaft .. 1 at the bone end: a trumpet (concave waist, widening to the rim) */
const flare = (u: number) => 0.45 * smooth(u) + 0.55 * u * u * Math.sqrt(u);

/** outer radius of a long bone at s mm from its proximal rim (head cap, shaft, flared base) */
export function outerRadius(p: BoneProfile, s: number): number {
  const L = p.length;
  if (s < 0 || s > L) return 0;
  const hs = L - p.capHead;
  const t1 = Math.min(p.flareMm ?? 0.34 * L, hs);
  const t2 = Math.max(t1, Math.min(p.tuft ? 0.55 * L : 0.58 * L, hs));
  let r: number;
  if (s < t1) r = p.rShaft + (p.rBase - p.rShaft) * flare(1 - s / t1);
  else if (s < t2) r = p.rShaft * (1 - 0.04 * Math.sin((Math.PI * (s - t1)) / Math.max(1e-3, t2 - t1)));
  else if (s < hs) r = p.rShaft + (p.rHead - p.rShaft) * flare((s - t2) / Math.max(1e-3, hs - t2));
  else {
    const q = (s - hs) / p.capHead;
    r = p.rHead * Math.sqrt(Math.max(0, 1 - q * q));
  }
  // rounded proximal corner: small on a cupped base, a full dome on a convex one
  const cb = p.cornerMm ?? (p.cupA > 0 ? 0.6 : p.rBase * 0.5);
  if (s < cb) r *= Math.sqrt(Math.max(0, 1 - ((cb - s) / cb) ** 2));
  return r;
}

/** radius of the cancellous core: thick cortex in the shaft, a thin subchondral plate at the ends */
export function innerRadius(p: BoneProfile, s: number): number {
  const L = p.length;
  const mid = smooth((s - 0.15 * L) / (0.2 * L)) * smooth((0.85 * L - s) / (0.2 * L));
  const cort = p.cortEnd + (p.cortShaft - p.cortEnd) * mid;
  let r = outerRadius(p, s) - cort;
  const hs = L - p.capHead;
  if (s > hs) {
    const q = (s - hs) / Math.max(0.2, p.capHead - p.plate);
    r = Math.min(r, (p.rHead - p.cortEnd) * Math.sqrt(Math.max(0, 1 - q * q)));
  }
  if (p.cupA === 0 && s < p.plate) r = 0;
  return Math.max(0, r);
}

/** squared hole radius of a concave base at s (0 where there is no hole) */
function cupHole2(p: BoneProfile, s: number, extra: number): number {
  return p.cupA > 0 ? Math.max(0, p.cupA * (p.cupDepth + extra - s)) : 0;
}

/**
 * One long bone: per projected pixel along the axis a table of squared radii (outer surface,
 * cup hole, cancellous core, its cup hole); per pixel chord = 2 (sqrt(ro^2-d^2) - sqrt(ri^2-d^2)).
 * The core is dense cancellous bone at the ends and a darker medullary canal in the shaft;
 * with a texture, the cancellous density is modulated by the trabecular pattern sampled in
 * bone-local coordinates (so it moves with the bone). `texSeed` shifts the pattern per bone.
 */
export function drawLongBone(buf: Float32Array, W: number, H: number, f: Frame, b: LongBone, muC: number, muT: number, tex?: Texture, texSeed = 0): void {
  const p = b.prof;
  const [x0, y0] = toPx(f, b.p0);
  const [ex, ey] = dirPx(f, b.dir);
  const lenPx = p.length * b.fore * f.k;
  const n = Math.ceil(lenPx) + 1;
  const ro2 = new Float32Array(n), ri2 = new Float32Array(n), co2 = new Float32Array(n), ci2 = new Float32Array(n);
  const kAi = new Float32Array(n), kBi = new Float32Array(n), kTi = new Float32Array(n);
  // 2 x chord (model mm) x scale (true mm) / fore (a tilted solid is traversed obliquely)
  const k0 = (2 * b.density * f.scale) / b.fore;
  const L = p.length;
  // the medullary canal: the shaft's core holds marrow, the ends dense trabecular bone
  const canal = p.canal ?? 0.3;
  const ends = Math.min(0.22 * L, 14);
  let rmax = 0;
  for (let i = 0; i < n; i++) {
    const s = i / (f.k * b.fore);
    const ro = outerRadius(p, s);
    const co = innerRadius(p, s);
    ro2[i] = ro * ro;
    ri2[i] = Math.min(cupHole2(p, s, 0), ro * ro);
    const c2 = co * co;
    const h2 = cupHole2(p, s, p.plate);
    co2[i] = h2 >= c2 ? 0 : c2;
    ci2[i] = h2 >= c2 ? 0 : h2;
    if (ro > rmax) rmax = ro;
    const e = 1 - smooth(Math.min(s, L - s) / ends - 0.35);
    const fac = canal + (1 - canal) * e;
    const ph = p.physisMm === undefined ? 0 : (s - p.physisMm) / 0.35;
    // an open plate is cartilage, near soft tissue on film, a thin line across the whole bone
    // with the dense zone of provisional calcification on its shaft side; a fused plate leaves
    // a faint dense scar
    const scar = !p.physisOpen && ph * ph < 9 ? 0.45 * Math.exp(-ph * ph) : 0;
    const fromPlate = (s - (p.physisMm ?? 0)) * (p.physisMm !== undefined && p.physisMm > L / 2 ? -1 : 1);
    const keep = p.physisOpen ? 1 - 0.95 * Math.exp(-((fromPlate / 0.4) ** 2)) : 1;
    const zpc = p.physisOpen ? 0.4 * Math.exp(-(((fromPlate - 0.8) / 0.4) ** 2)) : 0;
    kAi[i] = k0 * muC * keep;
    kBi[i] = k0 * (muT * (fac + scar + zpc) - muC) * keep;
    kTi[i] = tex ? k0 * muT * tex.amp * (0.5 + 0.5 * e) * keep : 0;
  }
  const invk2 = 1 / (f.k * f.k);
  const rPx = rmax * f.k + 1;
  const td = tex ? tex.data : null;
  const tsU = tex ? 1 / (f.k * b.fore * tex.texelMm) : 0, tsV = tex ? 1 / (f.k * tex.texelMm) : 0;
  const ou = 4096 + ((texSeed * 97) & TEX_MASK), ov = 4096 + ((texSeed * 61) & TEX_MASK);
  // a sheared bone end (the distal radius' inclination): the row index is s + shear x (model-perpendicular offset)
  const shear = b.shear ?? 0;
  const [nx, ny] = dirPx(f, [b.dir[1], -b.dir[0]]);
  const pad = Math.abs(shear) * rPx;
  const sx0 = x0 - ex * pad, sy0 = y0 - ey * pad;
  const ya = Math.max(0, Math.floor(Math.min(sy0, sy0 + ey * (lenPx + 2 * pad)) - rPx));
  const yb = Math.min(H - 1, Math.ceil(Math.max(sy0, sy0 + ey * (lenPx + 2 * pad)) + rPx));
  for (let y = ya; y <= yb; y++) {
    const span = stripSpan(y + 0.5 - sy0, ex, ey, lenPx + 2 * pad, rPx);
    if (!span) continue;
    const yc = y + 0.5 - y0;
    const xa = Math.max(0, Math.ceil(sx0 + span[0] - 0.5));
    const xb = Math.min(W - 1, Math.floor(sx0 + span[1] - 0.5));
    const row = y * W;
    for (let x = xa; x <= xb; x++) {
      const xc = x + 0.5 - x0;
      const s = xc * ex + yc * ey + (shear === 0 ? 0 : shear * (xc * nx + yc * ny));
      const i = (s + 0.5) | 0;
      if (s < 0 || i >= n) continue;
      const d = yc * ex - xc * ey;
      const d2 = d * d * invk2;
      const t = ro2[i] - d2;
      if (t <= 0) continue;
      const h = ri2[i] - d2;
      const outer = Math.sqrt(t) - (h > 0 ? Math.sqrt(h) : 0);
      const tc = co2[i] - d2;
      let canc = 0;
      if (tc > 0) {
        const hc = ci2[i] - d2;
        canc = Math.sqrt(tc) - (hc > 0 ? Math.sqrt(hc) : 0);
        if (td) {
          const tu = (s * tsU + ou) | 0, tv = (d * tsV + ov) | 0;
          buf[row + x] += kTi[i] * canc * td[((tv & TEX_MASK) << TEX_SHIFT) | (tu & TEX_MASK)];
        }
      }
      buf[row + x] += kAi[i] * outer + kBi[i] * canc;
    }
  }
}

/** x-interval (relative to the strip origin) of row offset yc inside 0<=s<=len, |d|<=r */
function stripSpan(yc: number, ex: number, ey: number, len: number, r: number): [number, number] | null {
  let lo = -Infinity, hi = Infinity;
  // s = xc*ex + yc*ey in [0, len]
  if (Math.abs(ex) > 1e-9) {
    const a = (0 - yc * ey) / ex, b = (len - yc * ey) / ex;
    lo = Math.max(lo, Math.min(a, b));
    hi = Math.min(hi, Math.max(a, b));
  } else if (yc * ey < 0 || yc * ey > len) return null;
  // d = yc*ex - xc*ey in [-r, r]
  if (Math.abs(ey) > 1e-9) {
    const a = (yc * ex - r) / ey, b = (yc * ex + r) / ey;
    lo = Math.max(lo, Math.min(a, b));
    hi = Math.min(hi, Math.max(a, b));
  } else if (Math.abs(yc * ex) > r) return null;
  return lo <= hi ? [lo, hi] : null;
}


/**
 * A shelled ellipsoid (carpal, sesamoid) or a signed lesion blob (shell 0). With `shape`, the
 * outline is the ellipse's scaled by a radial factor R(theta) (theta from the b axis towards
 * the a axis, in normalised coordinates): irregular, lobed or notched bones.
 */
export function drawEllipsoid(buf: Float32Array, W: number, H: number, f: Frame, e: Ellipsoid, densityScale = 1, tex?: Texture, texSeed = 0): void {
  const [cx, cy] = toPx(f, e.c);
  const ar = (e.ang * Math.PI) / 180;
  const [bx, by] = dirPx(f, [Math.sin(ar), Math.cos(ar)]);
  // the a axis is the model's b axis turned +90 degrees, whatever the frame's handedness
  const [ax, ay] = dirPx(f, [Math.cos(ar), -Math.sin(ar)]);
  const shp = e.shape;
  let rmax = 1;
  if (shp) for (const v of shp) if (v > rmax) rmax = v;
  const aPx = e.a * f.k, bPx = e.b * f.k;
  const hx = rmax * Math.sqrt(aPx * aPx * ax * ax + bPx * bPx * bx * bx) + 1;
  const hy = rmax * Math.sqrt(aPx * aPx * ay * ay + bPx * bPx * by * by) + 1;
  const ia2 = 1 / (aPx * aPx), ib2 = 1 / (bPx * bPx);
  const t = e.shell;
  const diffuse = e.diffuse === true;
  const shelled = t > 0 && e.a > t && e.b > t && e.depth > t;
  const iia2 = shelled ? 1 / ((e.a - t) * f.k) ** 2 : 0, iib2 = shelled ? 1 / ((e.b - t) * f.k) ** 2 : 0;
  const kO = 2 * e.depth * f.scale * e.muOuter * densityScale;
  const kI = shelled ? 2 * (e.depth - t) * f.scale * (e.muInner - e.muOuter) * densityScale : 0;
  // trabecular texture of the cancellous interior, in the bone's own frame
  const td = shelled && tex ? tex.data : null;
  const kT = td ? 2 * (e.depth - t) * f.scale * e.muInner * densityScale * tex!.amp : 0;
  const ts = tex ? 1 / (f.k * tex.texelMm) : 0;
  const ou = 4096 + ((texSeed * 97) & TEX_MASK), ov = 4096 + ((texSeed * 61) & TEX_MASK);
  const ka = SHAPE_N / (2 * Math.PI);
  const xa = Math.max(0, Math.floor(cx - hx)), xb = Math.min(W - 1, Math.ceil(cx + hx));
  const ya = Math.max(0, Math.floor(cy - hy)), yb = Math.min(H - 1, Math.ceil(cy + hy));
  for (let y = ya; y <= yb; y++) {
    const yc = y + 0.5 - cy;
    const row = y * W;
    for (let x = xa; x <= xb; x++) {
      const xc = x + 0.5 - cx;
      const pa = xc * ax + yc * ay, pb = xc * bx + yc * by;
      const pa2 = pa * pa, pb2 = pb * pb;
      let q = pa2 * ia2 + pb2 * ib2;
      if (q >= rmax * rmax) continue;
      let g = 1;
      if (shp) {
        let th = Math.atan2(pa / aPx, pb / bPx) * ka;
        if (th < 0) th += SHAPE_N;
        const j = th | 0;
        const fr = th - j;
        const r = shp[j % SHAPE_N] * (1 - fr) + shp[(j + 1) % SHAPE_N] * fr;
        g = 1 / (r * r);
        q *= g;
      }
      if (q >= 1) continue;
      let v = diffuse ? kO * (1 - q) : kO * Math.sqrt(1 - q);
      if (shelled) {
        const qi = (pa2 * iia2 + pb2 * iib2) * g;
        if (qi < 1) {
          const c = Math.sqrt(1 - qi);
          v += kI * c;
          if (td) v += kT * c * td[((((pa * ts + ov) | 0) & TEX_MASK) << TEX_SHIFT) | (((pb * ts + ou) | 0) & TEX_MASK)];
        }
      }
      buf[row + x] += v;
    }
  }
}

/**
 * Soft tissue thickness (true mm) on a grid `F` times coarser than the image; overlapping
 * parts merge by max (a union), so the web between two finger capsules is not doubled.
 */
export function drawSoftTissue(grid: Float32Array, Wl: number, Hl: number, F: number, f: Frame, s: SoftTissue): void {
  for (const c of s.capsules) softCapsule(grid, Wl, Hl, F, f, c);
  softPolygon(grid, Wl, Hl, F, f, s.palm, s.palmThick);
  for (const e of s.ellipses) softEllipse(grid, Wl, Hl, F, f, e);
  for (const e of s.fat ?? []) softEllipse(grid, Wl, Hl, F, f, e, true);
}

function softCapsule(grid: Float32Array, Wl: number, Hl: number, F: number, f: Frame, c: SoftCapsule): void {
  const [x0, y0] = toPx(f, c.p0).map((v) => v / F);
  const [x1, y1] = toPx(f, c.p1).map((v) => v / F);
  const k = f.k / F;
  const r0 = c.r0 * k, r1 = c.r1 * k;
  const rm = Math.max(r0, r1);
  const dx = x1 - x0, dy = y1 - y0;
  const L2 = dx * dx + dy * dy;
  const kk = 2 * c.depthRatio * f.scale / k;
  const xa = Math.max(0, Math.floor(Math.min(x0, x1) - rm)), xb = Math.min(Wl - 1, Math.ceil(Math.max(x0, x1) + rm));
  const ya = Math.max(0, Math.floor(Math.min(y0, y1) - rm)), yb = Math.min(Hl - 1, Math.ceil(Math.max(y0, y1) + rm));
  for (let y = ya; y <= yb; y++) {
    for (let x = xa; x <= xb; x++) {
      const px = x + 0.5 - x0, py = y + 0.5 - y0;
      const t = Math.max(0, Math.min(1, (px * dx + py * dy) / L2));
      const qx = px - t * dx, qy = py - t * dy;
      const r = r0 + (r1 - r0) * t;
      const h = r * r - qx * qx - qy * qy;
      if (h <= 0) continue;
      // fingers are rounded boxes more than cylinders: thickness rises steeply at the skin edge
      const v = kk * r * Math.pow(h / (r * r), 0.3);
      const i = y * Wl + x;
      if (v > grid[i]) grid[i] = v;
    }
  }
}

function softPolygon(grid: Float32Array, Wl: number, Hl: number, F: number, f: Frame, poly: V2[], thick: number): void {
  const pts = poly.map((p) => toPx(f, p).map((v) => v / F));
  const ramp = (8 * f.k) / F;
  const xs = pts.map((p) => p[0]), ys = pts.map((p) => p[1]);
  const xa = Math.max(0, Math.floor(Math.min(...xs))), xb = Math.min(Wl - 1, Math.ceil(Math.max(...xs)));
  const ya = Math.max(0, Math.floor(Math.min(...ys))), yb = Math.min(Hl - 1, Math.ceil(Math.max(...ys)));
  const n = pts.length;
  const T = thick * f.scale;
  for (let y = ya; y <= yb; y++) {
    const py = y + 0.5;
    for (let x = xa; x <= xb; x++) {
      const px = x + 0.5;
      let inside = false;
      let dmin = Infinity;
      for (let i = 0, j = n - 1; i < n; j = i++) {
        const [xi, yi] = pts[i], [xj, yj] = pts[j];
        if (yi > py !== yj > py && px < ((xj - xi) * (py - yi)) / (yj - yi) + xi) inside = !inside;
        const ex = xj - xi, ey = yj - yi;
        const t = Math.max(0, Math.min(1, ((px - xi) * ex + (py - yi) * ey) / (ex * ex + ey * ey)));
        const d = Math.hypot(px - xi - t * ex, py - yi - t * ey);
        if (d < dmin) dmin = d;
      }
      if (!inside) continue;
      const v = T * Math.pow(Math.min(1, dmin / ramp), 0.4);
      const idx = y * Wl + x;
      if (v > grid[idx]) grid[idx] = v;
    }
  }
}

/** a soft-tissue ellipsoid merged by max, or (fat) a thin plane that lowers the tissue by a fraction muOuter */
function softEllipse(grid: Float32Array, Wl: number, Hl: number, F: number, f: Frame, e: Ellipsoid, fat = false): void {
  const tmp: Frame = { ...f, ox: f.ox / F, oy: f.oy / F, ux: [f.ux[0] / F, f.ux[1] / F], vx: [f.vx[0] / F, f.vx[1] / F], k: f.k / F };
  const [cx, cy] = toPx(tmp, e.c);
  const [bx, by] = dirPx(tmp, [Math.sin((e.ang * Math.PI) / 180), Math.cos((e.ang * Math.PI) / 180)]);
  const aP = e.a * tmp.k, bP = e.b * tmp.k;
  const h = Math.max(aP, bP) + 1;
  const T = e.depth * f.scale;
  for (let y = Math.max(0, Math.floor(cy - h)); y <= Math.min(Hl - 1, Math.ceil(cy + h)); y++) {
    for (let x = Math.max(0, Math.floor(cx - h)); x <= Math.min(Wl - 1, Math.ceil(cx + h)); x++) {
      const xc = x + 0.5 - cx, yc = y + 0.5 - cy;
      const pa = (xc * by - yc * bx) / aP, pb = (xc * bx + yc * by) / bP;
      const q = pa * pa + pb * pb;
      if (q >= 1) continue;
      const i = y * Wl + x;
      if (fat) {
        grid[i] *= 1 - e.muOuter * (1 - q);
        continue;
      }
      // a muscle mass under the skin: a smooth dome whose margin blends into the outline
      const v = T * Math.pow(1 - q, 0.8);
      if (v > grid[i]) grid[i] = v;
    }
  }
}
