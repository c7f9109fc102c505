import type { Rng } from './rng.js';
import { FONT_5X7 as FONT } from '../imaging/glyphs.js';

/**
 * What real film carries besides the hand: a lead L/R marker (very attenuating, so bone-white),
 * burned-in text, and collimation edges. Training without these made detectors fire on them
 * (STACK-NOTES), so the phantom draws them.
 */

/** calls fn(x0, y0, cell) for each lit cell of `text` at cell size `cell` px */
function glyphCells(text: string, x: number, y: number, cell: number, fn: (x0: number, y0: number) => void): void {
  for (let c = 0; c < text.length; c++) {
    const g = FONT[text[c]] ?? FONT[' '];
    for (let r = 0; r < 7; r++) for (let q = 0; q < 5; q++) if (g[r * 5 + q] === '1') fn(x + (c * 6 + q) * cell, y + r * cell);
  }
}

function fillRect(buf: Float32Array, W: number, H: number, x0: number, y0: number, w: number, h: number, v: number, mode: 'add' | 'set'): void {
  const xa = Math.max(0, Math.round(x0)), xb = Math.min(W, Math.round(x0 + w));
  const ya = Math.max(0, Math.round(y0)), yb = Math.min(H, Math.round(y0 + h));
  for (let y = ya; y < yb; y++) {
    const row = y * W;
    if (mode === 'add') for (let x = xa; x < xb; x++) buf[row + x] += v;
    else buf.fill(v, row + xa, row + xb);
  }
}

export interface Rect { x0: number; y0: number; x1: number; y1: number }

/** size in px of a marker tag for `cellMm` letter cells */
export function markerSize(pixelMm: number, cellMm: number): { w: number; h: number } {
  const c = cellMm / pixelMm;
  return { w: 9 * c, h: 13 * c };
}

/** Lead letter on a plastic tag, added to the attenuation buffer (line integral units); the letter's centre. */
export function drawMarker(att: Float32Array, W: number, H: number, letter: string, at: Rect, rng: Rng): { x: number; y: number } {
  const c = (at.x1 - at.x0) / 9;
  fillRect(att, W, H, at.x0, at.y0, at.x1 - at.x0, at.y1 - at.y0, rng.uniform(0.08, 0.25), 'add');
  const lead = rng.uniform(3, 6);
  drawLeadLetter(att, W, H, letter, { x0: at.x0 + 2 * c, y0: at.y0 + 1.5 * c, x1: at.x0 + 7 * c, y1: at.y0 + 8.5 * c }, rng.uniform(0.11, 0.2), lead);
  // some tags carry a technologist's initials in smaller lead type
  if (rng.chance(0.5)) {
    const ini = String.fromCharCode(65 + rng.int(0, 25)) + String.fromCharCode(65 + rng.int(0, 25));
    glyphCells(ini, at.x0 + 1.2 * c, at.y0 + 9.5 * c, c * 0.55, (x, y) => fillRect(att, W, H, x, y, c * 0.55, c * 0.55, lead * 0.8, 'add'));
  }
  // the 5 x 7 cells of the letter start 2 cells across and 1.5 down
  return { x: at.x0 + 4.5 * c, y: at.y0 + 5 * c };
}

/**
 * A lead letter as markers are cut: a plain sans-serif L or R with solid strokes `weight` of its
 * height thick (the R's bowl a rounded loop, its leg a straight bar from the bowl's foot), added
 * to the attenuation buffer by each pixel's covered share (4 x 4 samples).
 */
function drawLeadLetter(att: Float32Array, W: number, H: number, letter: string, box: Rect, weight: number, lead: number): void {
  const [bw, bh] = [box.x1 - box.x0, box.y1 - box.y0];
  const aspect = bw / bh;
  // (x, y) in units of the letter's height, x across from its left edge, y down from its top
  const inside = (x: number, y: number): boolean => {
    if (x < 0 || y < 0 || x > aspect || y > 1) return false;
    if (x < weight) return true;
    if (letter === 'L') return y > 1 - weight;
    const bowl = 0.52;
    const r = bowl / 2;
    const cx = aspect - r;
    const loop = (x <= cx && (y < weight || (y > bowl - weight && y < bowl))) || (x > cx && Math.abs(Math.hypot(x - cx, y - r) - (r - weight / 2)) < weight / 2);
    if (loop) return true;
    const [ax, ay, bx, by] = [aspect * 0.4, bowl - weight / 2, aspect - weight / 2, 1 - weight / 2];
    const t = Math.max(0, Math.min(1, ((x - ax) * (bx - ax) + (y - ay) * (by - ay)) / ((bx - ax) ** 2 + (by - ay) ** 2)));
    return Math.hypot(x - (ax + t * (bx - ax)), y - (ay + t * (by - ay))) < weight / 2;
  };
  for (let py = Math.max(0, Math.floor(box.y0)); py < Math.min(H, Math.ceil(box.y1)); py++) {
    for (let px = Math.max(0, Math.floor(box.x0)); px < Math.min(W, Math.ceil(box.x1)); px++) {
      let covered = 0;
      for (let sy = 0; sy < 4; sy++) for (let sx = 0; sx < 4; sx++) if (inside((px + (sx + 0.5) / 4 - box.x0) / bh, (py + (sy + 0.5) / 4 - box.y0) / bh)) covered++;
      if (covered) att[py * W + px] += (lead * covered) / 16;
    }
  }
}

/** Burned-in annotation text, drawn in display values (after the imaging chain). */
export function burnText(img: Float32Array, W: number, H: number, rng: Rng, pixelMm: number, avoid: Rect[]): void {
  const lines = rng.int(1, 3);
  for (let i = 0; i < lines; i++) {
    const text = annotation(rng);
    const cell = Math.max(1, Math.round(rng.uniform(0.35, 0.9) / pixelMm));
    const w = text.length * 6 * cell, h = 8 * cell;
    const spot = freeSpot(rng, W, H, w, h, avoid);
    if (!spot) continue;
    const v = rng.uniform(0.85, 1);
    if (rng.chance(0.3)) fillRect(img, W, H, spot.x0 - cell, spot.y0 - cell, w + cell, h + cell, 0, 'set');
    glyphCells(text, spot.x0, spot.y0, cell, (x, y) => fillRect(img, W, H, x, y, cell, cell, v, 'set'));
    avoid.push(spot);
  }
}

function annotation(rng: Rng): string {
  const d = () => String(rng.int(0, 9));
  const pick = rng.int(0, 5);
  const two = (n: number) => String(n).padStart(2, '0');
  if (pick === 0) return `${rng.int(2008, 2025)}-${two(rng.int(1, 12))}-${two(rng.int(1, 28))}`;
  if (pick === 1) return rng.pick(['PA', 'HAND PA', 'HANDS PA', 'BILAT', 'RIGHT', 'LEFT', 'STANDING']);
  if (pick === 2) return `${rng.int(40, 60)} KV ${rng.int(1, 9)}.${d()} MAS`;
  if (pick === 3) return `ID ${d()}${d()}${d()}${d()}${d()}${d()}`;
  if (pick === 4) return `${two(rng.int(6, 22))}:${two(rng.int(0, 59))}:${two(rng.int(0, 59))}`;
  return rng.pick(['ROUTINE', 'FOLLOW UP', 'RA', 'DR1', 'ACC 1', 'CR']);
}

/** a rectangle of size w x h not overlapping `avoid`, or null after a few tries */
export function freeSpot(rng: Rng, W: number, H: number, w: number, h: number, avoid: Rect[]): Rect | null {
  for (let t = 0; t < 30; t++) {
    const x0 = rng.uniform(0.01 * W, Math.max(0.01 * W, 0.99 * W - w));
    const y0 = rng.uniform(0.01 * H, Math.max(0.01 * H, 0.99 * H - h));
    const r = { x0, y0, x1: x0 + w, y1: y0 + h };
    if (r.x1 > W || r.y1 > H) continue;
    if (!avoid.some((a) => r.x0 < a.x1 && r.x1 > a.x0 && r.y0 < a.y1 && r.y1 > a.y0)) return r;
  }
  return null;
}

