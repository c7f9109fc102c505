import type { MarkerReading } from '../analysis/hand-analysis.js';
import type { Laterality } from '../analysis/joints.js';
import type { DisplayImage } from '../imaging/preprocess.js';
import { FONT_5X7 } from '../imaging/glyphs.js';

/**
 * The film's lead marker read from its pixels: the L or R a radiographer lays on the plate beside
 * the hand. Lead stops the beam, so the letter is the brightest thing on the film, with sharp
 * edges, on air or soft tissue. A letter that reads mirrored says the image is shown mirrored (an
 * archive that stores films flipped, a film scanned from the back): the hand the models then find
 * is the patient's other hand, which the anatomy alone cannot tell (a right hand mirrored is a
 * left hand's shape). The reading is a cross-check of the side (src/analysis/laterality.ts), never
 * a correction.
 *
 * A shape is read as a letter only where it is plainly one: bright and standing out from what
 * surrounds it, of a letter's size, alone (not one letter of a word: "RIGHT", "CR" or "ROUTINE" in
 * a burned-in label would otherwise give sides), brought to one stroke weight and held against a
 * drawn L and R and every letter and digit of a bitmap font, in each quarter turn and mirrored: it
 * is read only where L or R fits it best, closely, and better than any other glyph by a margin.
 * Where unsure it reads nothing: a marker missed costs nothing, a marker misread raises a
 * conflict that is not there.
 */
export const MARKER = {
  /** the working grid: the film shrunk by area averaging until its longer side is at most this */
  gridMaxSide: 800,
  /** display value from which a pixel may be lead (the window puts the top 0.5 % at 1) */
  bright: 0.88,
  /** a letter's longer side on the film (mm): lead markers are 8-20 mm, some smaller */
  letterMm: [4, 32] as const,
  /** and on the working grid (px): fewer, and an L is not told from an R */
  minLetterPx: 9,
  /** the letter's mean display value less that of the pixels two steps outside it */
  minContrast: 0.45,
  /** a letter's width over its height, upright (an L squarer than this would read the same mirrored and turned) */
  aspect: [0.3, 0.9] as const,
  /** the share of the letter's bounding box it fills */
  fill: [0.15, 0.72] as const,
  /** agreement (intersection over union) with the best-fitting L or R */
  minFit: 0.62,
  /** by how much that fit beats every other glyph's */
  minMargin: 0.08,
  /** another lead shape at least 0.7 x the letter's size this near (x the letter's size) makes it a word's */
  wordGap: 0.8,
  /** a shape with a joint found this near (mm) is bone, not lead */
  jointClearMm: 8,
} as const;

/** A glyph's mask on the template grid. */
type Template = { name: string; mask: Uint8Array };

const TW = 20;
const TH = 28;
/** the templates' stroke, as a share of a glyph's longer side (the bitmap font's is 1 / 7) */
const STROKE = 0.16;
/** a drawn letter's width over its height */
const ASPECT = 0.7;

/**
 * The letters a film's lead markers read, at most one per side (the best read of each).
 * `joints`: points where the models found joints (bone there, not lead).
 */
export function readMarkers(img: DisplayImage, joints: readonly { x: number; y: number }[] = []): MarkerReading[] {
  const grid = workingGrid(img);
  const shapes = brightShapes(grid);
  const mm = Math.sqrt(img.pixelSpacingMm[0] * img.pixelSpacingMm[1]) * grid.factor;
  const sized = shapes.filter((s) => {
    const major = Math.max(s.w, s.h);
    return major >= MARKER.minLetterPx && major * mm >= MARKER.letterMm[0] && major * mm <= MARKER.letterMm[1];
  });
  const best = new Map<Laterality, MarkerReading>();
  for (const s of sized) {
    if (nearJoint(s, joints, grid.factor, mm) || !standsOut(s, grid) || inAWord(s, shapes, grid)) continue;
    const read = letterOf(s);
    if (!read) continue;
    const reading: MarkerReading = {
      ...read,
      x: Math.round((s.x0 + s.w / 2) * grid.factor * 10) / 10,
      y: Math.round((s.y0 + s.h / 2) * grid.factor * 10) / 10,
      sizeMm: Math.round(Math.max(s.w, s.h) * mm * 10) / 10,
    };
    const before = best.get(read.letter);
    if (!before || before.fit < reading.fit) best.set(read.letter, reading);
  }
  return [...best.values()];
}

type Grid = { w: number; h: number; data: Float32Array; factor: number };

/** The film shrunk by an integer factor (block means) to at most `gridMaxSide` on its longer side. */
function workingGrid(img: DisplayImage): Grid {
  const factor = Math.max(1, Math.ceil(Math.max(img.rows, img.columns) / MARKER.gridMaxSide));
  const w = Math.floor(img.columns / factor);
  const h = Math.floor(img.rows / factor);
  const data = new Float32Array(w * h);
  const scale = 1 / (factor * factor);
  // each film row read once, left to right, into its grid row's sums
  for (let y = 0; y < h; y++) {
    const out = y * w;
    for (let dy = 0; dy < factor; dy++) {
      let i = (y * factor + dy) * img.columns;
      for (let x = 0; x < w; x++) {
        let sum = 0;
        for (let dx = 0; dx < factor; dx++) sum += img.data[i++];
        data[out + x] += sum;
      }
    }
    for (let x = 0; x < w; x++) data[out + x] *= scale;
  }
  return { w, h, data, factor };
}

/** A connected bright shape: its bounding box on the grid and its pixels there (1 = the shape's). */
type Shape = { x0: number; y0: number; w: number; h: number; area: number; mask: Uint8Array };

/** The bright shapes of the grid (8-connected), the very small ones left out. */
function brightShapes(g: Grid): Shape[] {
  const label = new Int32Array(g.w * g.h);
  const shapes: Shape[] = [];
  const stack: number[] = [];
  let next = 0;
  for (let start = 0; start < label.length; start++) {
    if (label[start] || g.data[start] < MARKER.bright) continue;
    next++;
    const pixels: number[] = [];
    label[start] = next;
    stack.push(start);
    while (stack.length) {
      const i = stack.pop()!;
      pixels.push(i);
      const x = i % g.w;
      const y = (i - x) / g.w;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const [nx, ny] = [x + dx, y + dy];
          if (nx < 0 || ny < 0 || nx >= g.w || ny >= g.h) continue;
          const j = ny * g.w + nx;
          if (!label[j] && g.data[j] >= MARKER.bright) {
            label[j] = next;
            stack.push(j);
          }
        }
      }
    }
    if (pixels.length >= MARKER.minLetterPx) shapes.push(shapeOf(pixels, g.w));
  }
  return shapes;
}

function shapeOf(pixels: number[], gridW: number): Shape {
  let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const i of pixels) {
    const x = i % gridW;
    const y = (i - x) / gridW;
    [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
  }
  const [w, h] = [x1 - x0 + 1, y1 - y0 + 1];
  const mask = new Uint8Array(w * h);
  for (const i of pixels) {
    const x = i % gridW;
    mask[((i - x) / gridW - y0) * w + x - x0] = 1;
  }
  return { x0, y0, w, h, area: pixels.length, mask };
}

/**
 * Lead on air or soft tissue: a letter's share of its box filled, and the shape's mean well above
 * that of the pixels two steps outside it (in its holes too). The brightest bone, which the window
 * also takes to white, fades into bone nearly as bright: on upper-limb films, elbows' bright
 * shapes stand 0.19-0.35 above that ring and lead letters 0.52-0.8.
 */
function standsOut(s: Shape, g: Grid): boolean {
  const fill = s.area / (s.w * s.h);
  if (fill < MARKER.fill[0] || fill > MARKER.fill[1]) return false;
  const near = grown(s);
  const ring = grown(near);
  let [inside, around, nAround] = [0, 0, 0];
  for (let y = 0; y < ring.h; y++) {
    for (let x = 0; x < ring.w; x++) {
      const [gx, gy] = [ring.x0 + x, ring.y0 + y];
      if (gx < 0 || gy < 0 || gx >= g.w || gy >= g.h) continue;
      const value = g.data[gy * g.w + gx];
      const [nx, ny, sx, sy] = [gx - near.x0, gy - near.y0, gx - s.x0, gy - s.y0];
      const own = sx >= 0 && sy >= 0 && sx < s.w && sy < s.h && s.mask[sy * s.w + sx] === 1;
      const inNear = nx >= 0 && ny >= 0 && nx < near.w && ny < near.h && near.mask[ny * near.w + nx] === 1;
      if (own) inside += value;
      else if (ring.mask[y * ring.w + x] && !inNear) [around, nAround] = [around + value, nAround + 1];
    }
  }
  return nAround > 0 && inside / s.area - around / nAround >= MARKER.minContrast;
}

/**
 * The shape with its strokes brought to the templates' weight (`STROKE` of its longer side),
 * grown or thinned a pixel at a time: lead letters come light and bold, and a shape's fit to a
 * glyph should say which letter it is, not how heavy.
 */
function atTemplateWeight(s: Shape): Shape {
  let edges = 0;
  for (let y = 0; y < s.h; y++) {
    for (let x = 0; x < s.w; x++) {
      if (!s.mask[y * s.w + x]) continue;
      for (const [nx, ny] of [[x - 1, y], [x + 1, y], [x, y - 1], [x, y + 1]]) {
        if (nx < 0 || ny < 0 || nx >= s.w || ny >= s.h || !s.mask[ny * s.w + nx]) edges++;
      }
    }
  }
  // a band of length l and width t has 2 l t / (2 l + 2 t), about t, for its area over half its outline
  const stroke = (2 * s.area) / Math.max(1, edges);
  const steps = Math.round((STROKE * Math.max(s.w, s.h) - stroke) / 2);
  let out = s;
  for (let k = 0; k < Math.min(3, Math.abs(steps)); k++) out = steps > 0 ? grown(out) : thinned(out);
  return out.area > 0 ? out : s;
}

/** The shape one pixel wider all round (8-neighbours), its box grown to hold it. */
function grown(s: Shape): Shape {
  const [w, h] = [s.w + 2, s.h + 2];
  const mask = new Uint8Array(w * h);
  let area = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let hit = 0;
      for (let dy = -1; dy <= 1 && !hit; dy++) {
        for (let dx = -1; dx <= 1 && !hit; dx++) {
          const [sx, sy] = [x - 1 + dx, y - 1 + dy];
          if (sx >= 0 && sy >= 0 && sx < s.w && sy < s.h) hit = s.mask[sy * s.w + sx];
        }
      }
      mask[y * w + x] = hit;
      area += hit;
    }
  }
  return { x0: s.x0 - 1, y0: s.y0 - 1, w, h, area, mask };
}

/** The shape less its outline pixels (4-neighbours); the box kept. */
function thinned(s: Shape): Shape {
  const mask = new Uint8Array(s.w * s.h);
  let area = 0;
  for (let y = 0; y < s.h; y++) {
    for (let x = 0; x < s.w; x++) {
      const at = (xx: number, yy: number) => xx >= 0 && yy >= 0 && xx < s.w && yy < s.h && s.mask[yy * s.w + xx] === 1;
      const keep = at(x, y) && at(x - 1, y) && at(x + 1, y) && at(x, y - 1) && at(x, y + 1) ? 1 : 0;
      mask[y * s.w + x] = keep;
      area += keep;
    }
  }
  return { ...s, mask, area };
}

/**
 * Another lead shape at least about its size close beside it: a letter of a word or label, or
 * the smaller type of a marker's tag (a technologist's initials, "LC" under an "R", whose L is
 * not the marker's letter).
 */
function inAWord(s: Shape, shapes: Shape[], g: Grid): boolean {
  const size = Math.max(s.w, s.h);
  return shapes.some((o) => {
    if (o === s || Math.max(o.w, o.h) < 0.7 * size) return false;
    // a ring round the letter holds it in its box; it is no other letter
    if (o.x0 <= s.x0 && o.y0 <= s.y0 && o.x0 + o.w >= s.x0 + s.w && o.y0 + o.h >= s.y0 + s.h) return false;
    const gapX = Math.max(o.x0 - (s.x0 + s.w), s.x0 - (o.x0 + o.w));
    const gapY = Math.max(o.y0 - (s.y0 + s.h), s.y0 - (o.y0 + o.h));
    return Math.max(gapX, gapY) <= MARKER.wordGap * size && standsOut(o, g);
  });
}

function nearJoint(s: Shape, joints: readonly { x: number; y: number }[], factor: number, mm: number): boolean {
  const clear = MARKER.jointClearMm / mm;
  return joints.some((j) => {
    const [x, y] = [j.x / factor, j.y / factor];
    return x >= s.x0 - clear && x <= s.x0 + s.w + clear && y >= s.y0 - clear && y <= s.y0 + s.h + clear;
  });
}

/** Holes: background regions inside the box that do not reach its edge (4-connected), a few pixels at least. */
function holes(s: Shape): number {
  const seen = new Uint8Array(s.w * s.h);
  let count = 0;
  const minArea = Math.max(2, Math.round(0.02 * s.w * s.h));
  for (let start = 0; start < seen.length; start++) {
    if (seen[start] || s.mask[start]) continue;
    let [area, open] = [0, false];
    const stack = [start];
    seen[start] = 1;
    while (stack.length) {
      const i = stack.pop()!;
      area++;
      const x = i % s.w;
      const y = (i - x) / s.w;
      if (x === 0 || y === 0 || x === s.w - 1 || y === s.h - 1) open = true;
      for (const [nx, ny] of [[x - 1, y], [x + 1, y], [x, y - 1], [x, y + 1]]) {
        if (nx < 0 || ny < 0 || nx >= s.w || ny >= s.h) continue;
        const j = ny * s.w + nx;
        if (!seen[j] && !s.mask[j]) {
          seen[j] = 1;
          stack.push(j);
        }
      }
    }
    if (!open && area >= minArea) count++;
  }
  return count;
}

/**
 * The shape's mask turned back by `turns` quarter turns (and unmirrored), sampled onto the
 * template grid: what it would look like upright.
 */
function upright(s: Shape, turns: number, mirrored: boolean): Uint8Array {
  const out = new Uint8Array(TW * TH);
  const [uw, uh] = turns % 2 ? [s.h, s.w] : [s.w, s.h];
  for (let ty = 0; ty < TH; ty++) {
    for (let tx = 0; tx < TW; tx++) {
      // the upright shape's point, then where it lies on the shape as found
      let u = ((tx + 0.5) / TW) * uw;
      const v = ((ty + 0.5) / TH) * uh;
      if (mirrored) u = uw - u;
      const [x, y] = turns === 0 ? [u, v] : turns === 1 ? [s.w - v, u] : turns === 2 ? [s.w - u, s.h - v] : [v, s.h - u];
      const [ix, iy] = [Math.min(s.w - 1, Math.floor(x)), Math.min(s.h - 1, Math.floor(y))];
      out[ty * TW + tx] = s.mask[iy * s.w + ix];
    }
  }
  return out;
}

function fitOf(a: Uint8Array, b: Uint8Array): number {
  let [both, either] = [0, 0];
  for (let i = 0; i < a.length; i++) {
    both += a[i] & b[i];
    either += a[i] | b[i];
  }
  return either ? both / either : 0;
}

/** The letter the shape plainly is, L or R, in which pose; undefined where it is not plainly one of them. */
function letterOf(s: Shape): Pick<MarkerReading, 'letter' | 'mirrored' | 'quarterTurns' | 'fit' | 'margin'> | undefined {
  const holeCount = holes(s);
  const weighed = atTemplateWeight(s);
  let best: { name: string; fit: number; turns: 0 | 1 | 2 | 3; mirrored: boolean } | undefined;
  const others = new Map<string, number>();
  for (const turns of [0, 1, 2, 3] as const) {
    const aspect = turns % 2 ? s.h / s.w : s.w / s.h;
    if (aspect < MARKER.aspect[0] || aspect > MARKER.aspect[1]) continue;
    for (const mirrored of [false, true]) {
      const seen = upright(weighed, turns, mirrored);
      for (const t of templates()) {
        const fit = fitOf(seen, t.mask);
        if (!best || fit > best.fit) best = { name: t.name, fit, turns, mirrored };
        // the best fit of each glyph, in any pose: what the letter must beat
        others.set(t.name, Math.max(others.get(t.name) ?? 0, fit));
      }
    }
  }
  if (!best || (best.name !== 'L' && best.name !== 'R') || best.fit < MARKER.minFit) return undefined;
  if (holeCount !== (best.name === 'R' ? 1 : 0)) return undefined;
  const rival = Math.max(0, ...[...others].filter(([name]) => name !== best.name).map(([, fit]) => fit));
  const margin = best.fit - rival;
  if (margin < MARKER.minMargin) return undefined;
  const round = (v: number) => Math.round(v * 1000) / 1000;
  return { letter: best.name as Laterality, mirrored: best.mirrored, quarterTurns: best.turns, fit: round(best.fit), margin: round(margin) };
}

let cached: Template[] | undefined;

/**
 * L and R drawn as lead markers' letters are (a plain sans-serif at the templates' weight),
 * and every letter and digit of the bitmap font, each filling the template grid as a shape fills its box.
 */
function templates(): Template[] {
  if (cached) return cached;
  const drawn = [
    { name: 'L', mask: raster((u, v) => u * ASPECT < STROKE || v > 1 - STROKE) },
    { name: 'R', mask: raster((u, v) => inR(u, v, STROKE)) },
  ];
  const bitmap = Object.entries(FONT_5X7)
    .filter(([name]) => /^[A-Z0-9]$/.test(name))
    .map(([name, bits]) => ({ name, mask: bitmapMask(bits) }));
  cached = [...drawn, ...bitmap];
  return cached;
}

/** A glyph drawn on the unit square (u across, v down), sampled at the template grid's cells. */
function raster(inside: (u: number, v: number) => boolean): Uint8Array {
  const mask = new Uint8Array(TW * TH);
  for (let y = 0; y < TH; y++) for (let x = 0; x < TW; x++) mask[y * TW + x] = inside((x + 0.5) / TW, (y + 0.5) / TH) ? 1 : 0;
  return mask;
}

/**
 * An R on its box (u across, v down, both 0-1) of a plain sans-serif letter `ASPECT` as wide
 * as high, drawn in units of its height so that every stroke is `stroke` thick: the stem, a bowl
 * over the upper 56 % and a leg from the bowl's foot to the bottom right.
 */
function inR(u: number, v: number, stroke: number): boolean {
  const [x, y, s] = [u * ASPECT, v, stroke];
  if (x < s) return true;
  const ry = 0.28;
  const [cx, rx] = [ASPECT * 0.5, ASPECT * 0.45];
  const inD = (grow: number) => {
    const [rxs, rys] = [rx - grow, ry - grow];
    if (y < ry - rys || y > ry + rys) return false;
    return x <= cx || ((x - cx) / rxs) ** 2 + ((y - ry) / rys) ** 2 <= 1;
  };
  if (inD(0) && !(x > s && inD(s))) return true;
  const [ax, ay, bx, by] = [ASPECT * 0.45, 2 * ry - s / 2, ASPECT - s / 2, 1 - s / 2];
  const t = Math.max(0, Math.min(1, ((x - ax) * (bx - ax) + (y - ay) * (by - ay)) / ((bx - ax) ** 2 + (by - ay) ** 2)));
  return Math.hypot(x - (ax + t * (bx - ax)), y - (ay + t * (by - ay))) <= s * 0.6;
}

/** A 5 x 7 glyph cropped to its lit cells, then stretched over the template grid. */
function bitmapMask(bits: string): Uint8Array {
  const lit = (r: number, c: number) => bits[r * 5 + c] === '1';
  const rows = [...Array(7).keys()].filter((r) => [...Array(5).keys()].some((c) => lit(r, c)));
  const cols = [...Array(5).keys()].filter((c) => [...Array(7).keys()].some((r) => lit(r, c)));
  if (!rows.length) return new Uint8Array(TW * TH);
  const [r0, r1, c0, c1] = [rows[0], rows[rows.length - 1], cols[0], cols[cols.length - 1]];
  return raster((u, v) => lit(r0 + Math.floor(v * (r1 - r0 + 1)), c0 + Math.floor(u * (c1 - c0 + 1))));
}

