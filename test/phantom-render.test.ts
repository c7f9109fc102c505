import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { JOINT_SITES, MAX_GRADE, scoresFor, WRIST_BONE_SITES, type JointSite } from '../src/analysis/joints.js';
import { KL_MIN_JSN, lesionsFor, phantomScores, sampleHandGrades, samplePatientDisease } from '../src/phantom/disease.js';
import { renderPhantom } from '../src/phantom/render.js';
import { Rng } from '../src/phantom/rng.js';
import type { PhantomSpec, RenderedPhantom } from '../src/phantom/types.js';

const small = (seed: number, over: Partial<PhantomSpec> = {}): PhantomSpec => ({
  seed, profile: 'mixed', layout: 'one', laterality: 'L', rows: 640, columns: 512, pixelSpacingMm: 0.2, ...over,
});
const hash = (r: RenderedPhantom) => createHash('sha256').update(Buffer.from(r.image.buffer, r.image.byteOffset, r.image.byteLength)).digest('hex');

describe('renderPhantom determinism', () => {
  it('gives identical bytes for the same spec and different images for different seeds', () => {
    const a = renderPhantom(small(7));
    const b = renderPhantom(small(7));
    const c = renderPhantom(small(8));
    expect(hash(a)).toBe(hash(b));
    expect(a.hands).toEqual(b.hands);
    expect(hash(c)).not.toBe(hash(a));
    expect(c.hands[0].joints[0].x).not.toBe(a.hands[0].joints[0].x);
  });

  it('keeps display values in [0, 1] with a dark open field and white bone', () => {
    const r = renderPhantom(small(3, { profile: 'healthy' }), { noClutter: true });
    let min = 1, max = 0;
    for (const v of r.image) { if (v < min) min = v; if (v > max) max = v; }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThanOrEqual(1);
    // the image corner (air) is darker than the MCP3 region (bone)
    const mcp3 = r.hands[0].joints.find((j) => j.site === 'MCP3')!;
    expect(r.image[5 * r.columns + 5]).toBeLessThan(r.image[Math.floor(mcp3.y + 12) * r.columns + Math.floor(mcp3.x)]);
  });
});

describe('renderPhantom ground truth', () => {
  const check = (r: RenderedPhantom) => {
    for (const h of r.hands) {
      expect(h.joints.map((j) => j.site).sort()).toEqual([...JOINT_SITES].sort());
      for (const j of h.joints) {
        expect(j.x).toBeGreaterThan(0);
        expect(j.y).toBeGreaterThan(0);
        expect(j.x).toBeLessThan(r.columns);
        expect(j.y).toBeLessThan(r.rows);
        const [x0, y0, x1, y1] = j.box;
        expect(x0 < j.x && j.x < x1 && y0 < j.y && j.y < y1).toBe(true);
        expect(x0).toBeGreaterThanOrEqual(0);
        expect(x1).toBeLessThanOrEqual(r.columns);
        expect(j.confidence).toBe(1);
        const scores = scoresFor(j.site);
        for (const sc of ['jsn', 'erosion', 'kl'] as const) {
          const g = j[sc];
          if (!scores.includes(sc)) { expect(g).toBeUndefined(); continue; }
          expect(g!.probabilities).toHaveLength(MAX_GRADE[sc] + 1);
          expect(g!.probabilities[g!.grade]).toBe(1);
          expect(g!.probabilities.reduce((a, b) => a + b, 0)).toBe(1);
        }
        expect(Boolean(j.severity.ra)).toBe(scores.includes('jsn'));
        expect(Boolean(j.severity.oa)).toBe(scores.includes('kl'));
      }
    }
  };

  it('names all 21 sites of one hand, inside the image, boxes around centres', () => {
    for (const seed of [1, 2, 3, 4]) {
      const r = renderPhantom(small(seed, { laterality: seed % 2 ? 'L' : 'R', wideRanges: seed === 4 }));
      expect(r.hands).toHaveLength(1);
      expect(r.hands[0].laterality).toBe(seed % 2 ? 'L' : 'R');
      expect(r.marker).toBe(r.hands[0].laterality);
      check(r);
    }
  });

  it('puts the right hand on the image left and the left hand on the right in `both`, thumbs outwards', () => {
    const r = renderPhantom(small(5, { layout: 'both', rows: 800, columns: 1024 }));
    expect(r.hands.map((h) => h.laterality).sort()).toEqual(['L', 'R']);
    check(r);
    const at = (lat: string, site: JointSite) => r.hands.find((h) => h.laterality === lat)!.joints.find((j) => j.site === site)!;
    expect(at('R', 'MCP3').x).toBeLessThan(r.columns / 2);
    expect(at('L', 'MCP3').x).toBeGreaterThan(r.columns / 2);
    // thumb lateral: left hand's MCP1 right of its MCP5, right hand's the other way
    expect(at('L', 'MCP1').x).toBeGreaterThan(at('L', 'MCP5').x);
    expect(at('R', 'MCP1').x).toBeLessThan(at('R', 'MCP5').x);
  });
});

/** bilinear sample of the image at continuous coordinates (pixel centres at i + 0.5) */
function sample(r: RenderedPhantom, x: number, y: number): number {
  const W = r.columns;
  const xi = Math.floor(x - 0.5), yi = Math.floor(y - 0.5), fx = x - 0.5 - xi, fy = y - 0.5 - yi;
  const I = r.image;
  const a = I[yi * W + xi], b = I[yi * W + xi + 1], c = I[(yi + 1) * W + xi], d = I[(yi + 1) * W + xi + 1];
  return (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy;
}

interface Dip { offsetMm: number; depth: number; widthMm: number }

/**
 * Intensity profile across a joint along its finger's axis: the minimum within +-1 mm of the
 * named centre, how far it lies below the bone-end peaks on either side, and the width of
 * the dip at half its depth.
 */
function dipAt(r: RenderedPhantom, site: JointSite, prev: JointSite, next: JointSite): Dip {
  const J = (s: JointSite) => r.hands[0].joints.find((j) => j.site === s)!;
  const c = J(site), a = J(prev), b = J(next);
  const px = r.spec.pixelSpacingMm;
  const n = Math.hypot(b.x - a.x, b.y - a.y);
  const ux = (b.x - a.x) / n, uy = (b.y - a.y) / n;
  const step = 0.05, half = 3;
  const ts: number[] = [], vs: number[] = [];
  for (let t = -half; t <= half + 1e-9; t += step) {
    ts.push(t);
    vs.push(sample(r, c.x + (ux * t) / px, c.y + (uy * t) / px));
  }
  let m = -1;
  for (let i = 0; i < ts.length; i++) if (Math.abs(ts[i]) <= 1 && (m < 0 || vs[i] < vs[m])) m = i;
  const peakL = Math.max(...vs.slice(0, m + 1)), peakR = Math.max(...vs.slice(m));
  const depth = Math.min(peakL, peakR) - vs[m];
  const thr = vs[m] + depth / 2;
  let lo = m, hi = m;
  while (lo > 0 && vs[lo - 1] < thr) lo--;
  while (hi < vs.length - 1 && vs[hi + 1] < thr) hi++;
  return { offsetMm: ts[m], depth, widthMm: (hi - lo + 1) * step };
}

describe('ground truth agrees with the pixels', () => {
  const FINGER = [2, 3, 4, 5];
  const render = (seed: number, jsn: number) => {
    const force: Partial<Record<JointSite, { jsn: number; erosion: number; kl: number }>> = {};
    for (const d of FINGER) for (const s of [`MCP${d}`, `PIP${d}`] as JointSite[]) force[s] = { jsn, erosion: 0, kl: 0 };
    const spec: PhantomSpec = { seed, profile: 'healthy', layout: 'one', laterality: seed % 2 ? 'L' : 'R', rows: 1800, columns: 1400, pixelSpacingMm: 0.15 };
    return renderPhantom(spec, { forceGrades: force, noClutter: true, chain: { quanta: 20000, unsharp: 0 } });
  };
  const dips = (r: RenderedPhantom) => FINGER.flatMap((d) => [
    dipAt(r, `MCP${d}` as JointSite, `MCP${d}` as JointSite, `PIP${d}` as JointSite),
    dipAt(r, `PIP${d}` as JointSite, `MCP${d}` as JointSite, `DIP${d}` as JointSite),
  ]);

  it('shows a dark joint space at each named MCP/PIP centre that narrows with JSN', () => {
    const w0: number[] = [], w3: number[] = [];
    for (const seed of [21, 22, 23]) {
      const d0 = dips(render(seed, 0));
      for (const d of d0) {
        // a real dip between two bone ends, within 1 mm of the named centre
        expect(Math.abs(d.offsetMm)).toBeLessThan(1);
        expect(d.depth).toBeGreaterThan(0.03);
      }
      w0.push(...d0.map((d) => d.widthMm));
      w3.push(...dips(render(seed, 3)).map((d) => d.widthMm));
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(w3)).toBeLessThan(0.7 * mean(w0));
  });
});

describe('grades', () => {
  it('covers every grade of every scheme over a few hundred diseased hands', () => {
    const count = { jsn: new Array(5).fill(0), erosion: new Array(6).fill(0), kl: new Array(5).fill(0) };
    let joints = 0;
    for (let i = 0; i < 300; i++) {
      const profile = (['mixed', 'ra', 'oa'] as const)[i % 3];
      const r = new Rng(5000 + i);
      const g = sampleHandGrades(profile, samplePatientDisease(profile, r.fork('d')), r.fork('g'));
      for (const s of JOINT_SITES) {
        joints++;
        for (const sc of phantomScores(s)) count[sc][g[s][sc]!]++;
      }
    }
    for (const sc of ['jsn', 'erosion', 'kl'] as const) {
      const total = count[sc].reduce((a, b) => a + b, 0);
      for (const n of count[sc]) expect(n / total).toBeGreaterThan(0.04);
    }
    expect(joints).toBe(300 * 21);
  });

  it('erodes no wrist bone, and says so in the truth: erosion 0 at STT, CSL and RC whatever the narrowing', () => {
    expect(WRIST_BONE_SITES.every((s) => scoresFor(s).includes('erosion') && !phantomScores(s).includes('erosion'))).toBe(true);
    const r = renderPhantom(small(31, { profile: 'ra' }));
    const wrist = r.hands[0].joints.filter((j) => WRIST_BONE_SITES.includes(j.site));
    expect(wrist.map((j) => j.erosion?.grade)).toEqual([0, 0, 0]);
    expect(wrist.some((j) => (j.jsn?.grade ?? 0) > 0)).toBe(true);
  });

  it('keeps grades consistent with what is drawn', () => {
    for (let i = 0; i < 200; i++) {
      const profile = (['mixed', 'ra', 'oa', 'healthy'] as const)[i % 4];
      const r = new Rng(9000 + i);
      const pd = samplePatientDisease(profile, r.fork('d'));
      const g = sampleHandGrades(profile, pd, r.fork('g'));
      for (const s of JOINT_SITES) {
        const jg = g[s];
        if (jg.jsn !== undefined && jg.kl !== undefined) expect(jg.jsn).toBeGreaterThanOrEqual(KL_MIN_JSN[jg.kl]);
        const l = lesionsFor(s, jg, pd.ra > 0, r.fork(s));
        if ((jg.kl ?? 0) >= 2) expect(l.osteophytes.length).toBeGreaterThan(0);
        if ((jg.kl ?? 0) === 0) expect(l.osteophytes.length).toBe(0);
        expect(l.erosions.length > 0).toBe((jg.erosion ?? 0) > 0);
        if (jg.jsn === 4) expect(l.ankylosis || Math.abs(l.offset) > 0.5).toBe(true);
        if (jg.jsn !== undefined && jg.jsn < 4) expect(l.gapFactor).toBeLessThan(jg.jsn === 0 ? 1.01 : 0.8);
      }
    }
  });
});
