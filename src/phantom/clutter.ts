import type { Rng } from './rng.js';

/**
 * What real film carries besides the hand: a lead L/R marker (very attenuating, so bone-white),
 * burned-in text, and collimation edges. Training without these made detectors fire on them
 * (STACK-NOTES), so the phantom draws them.
 */

// 5x7 bitmap font, one string of 7 rows of 5 bits per glyph.
const FONT: Record<string, string> = {
  A: '01110100011000111111100011000110001', B: '11110100011000111110100011000111110',
  C: '01110100011000010000100001000101110', D: '11110100011000110001100011000111110',
  E: '11111100001000011110100001000011111', F: '11111100001000011110100001000010000',
  G: '01110100011000010111100011000101111', H: '10001100011000111111100011000110001',
  I: '01110001000010000100001000010001110', J: '00111000100001000010000101001001100',
  K: '10001100101010011000101001001010001', L: '10000100001000010000100001000011111',
  M: '10001110111010110101100011000110001', N: '10001110011010110011100011000110001',
  O: '01110100011000110001100011000101110', P: '11110100011000111110100001000010000',
  Q: '01110100011000110001101011001001101', R: '11110100011000111110101001001010001',
  S: '01111100001000001110000010000111110', T: '11111001000010000100001000010000100',
  U: '10001100011000110001100011000101110', V: '10001100011000110001100010101000100',
  W: '10001100011000110101101011010101010', X: '10001100010101000100010101000110001',
  Y: '10001100010101000100001000010000100', Z: '11111000010001000100010001000011111',
  '0': '01110100011001110101110011000101110', '1': '00100011000010000100001000010001110',
  '2': '01110100010000100010001000100011111', '3': '11111000100010000010000011000101110',
  '4': '00010001100101010010111110001000010', '5': '11111100001111000001000011000101110',
  '6': '00110010001000011110100011000101110', '7': '11111000010001000100010000100001000',
  '8': '01110100011000101110100011000101110', '9': '01110100011000101111000010001001100',
  '-': '00000000000000011111000000000000000', ':': '00000011000110000000011000110000000',
  '.': '00000000000000000000000000110001100', '/': '00000000010001000100010001000000000',
  ' ': '00000000000000000000000000000000000',
};

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

/** Lead letter on a plastic tag, added to the attenuation buffer (line integral units). */
export function drawMarker(att: Float32Array, W: number, H: number, letter: string, at: Rect, rng: Rng): void {
  const c = (at.x1 - at.x0) / 9;
  fillRect(att, W, H, at.x0, at.y0, at.x1 - at.x0, at.y1 - at.y0, rng.uniform(0.08, 0.25), 'add');
  const lead = rng.uniform(3, 6);
  glyphCells(letter, at.x0 + 2 * c, at.y0 + 1.5 * c, c, (x, y) => fillRect(att, W, H, x, y, c, c, lead, 'add'));
  // some tags carry a technologist's initials in smaller lead type
  if (rng.chance(0.5)) {
    const ini = String.fromCharCode(65 + rng.int(0, 25)) + String.fromCharCode(65 + rng.int(0, 25));
    glyphCells(ini, at.x0 + 1.2 * c, at.y0 + 9.5 * c, c * 0.55, (x, y) => fillRect(att, W, H, x, y, c * 0.55, c * 0.55, lead * 0.8, 'add'));
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

export { FONT };
