import type { HandResult } from '../analysis/hand-analysis.js';
import type { FilmTurn, RenderedPhantom } from './types.js';

export type { FilmTurn };

/**
 * A rendered phantom as a film stored turned or mirrored: films arrive as acquired or
 * exported, on their side, upside down, flipped. The picture is mirrored left-right first
 * (if asked), then turned clockwise by quarter turns; the truth moves with the pixels.
 * A mirrored hand is reported with the laterality the picture shows (a mirrored left hand
 * looks like, and is graded as, a right hand), as the node reports it. Pure.
 */
/** The turn of image `seed` in an any-orientation run: every quarter turn, mirrored half the time. */
export function turnForSeed(seed: number): FilmTurn {
  const h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) >>> 0;
  return { quarterTurns: (h & 3) as FilmTurn['quarterTurns'], mirrored: ((h >>> 2) & 1) === 1 };
}

export function turnPhantom(r: RenderedPhantom, turn: FilmTurn): RenderedPhantom {
  let { rows: h, columns: w } = r;
  let px = r.image;
  let point = (x: number, y: number): [number, number] => [x, y];
  if (turn.mirrored) {
    const m = new Float32Array(px.length);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) m[y * w + x] = px[y * w + (w - 1 - x)];
    px = m;
    const width = w;
    point = (x, y) => [width - x, y];
  }
  for (let k = 0; k < turn.quarterTurns; k++) {
    const out = new Float32Array(px.length);
    // clockwise: the new row r is the old column r, read from the bottom up
    for (let y = 0; y < w; y++) for (let x = 0; x < h; x++) out[y * h + x] = px[(h - 1 - x) * w + y];
    px = out;
    const prev = point;
    const height = h;
    point = (x, y) => {
      const [a, b] = prev(x, y);
      return [height - b, a];
    };
    [h, w] = [w, h];
  }
  const hands: HandResult[] = r.hands.map((hand) => ({
    ...hand,
    laterality: turn.mirrored ? (hand.laterality === 'L' ? 'R' : 'L') : hand.laterality,
    joints: hand.joints.map((j) => {
      const [x, y] = point(j.x, j.y);
      const corners = [point(j.box[0], j.box[1]), point(j.box[2], j.box[3])];
      const xs = corners.map((c) => c[0]);
      const ys = corners.map((c) => c[1]);
      return { ...j, x, y, box: [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)] as [number, number, number, number] };
    }),
  }));
  const markerAt = r.markerAt && point(r.markerAt.x, r.markerAt.y);
  return { ...r, rows: h, columns: w, image: px, hands, ...(markerAt ? { markerAt: { x: markerAt[0], y: markerAt[1] } } : {}) };
}

/**
 * A rendered phantom as a film lying at a slant: the picture turned clockwise by `deg` degrees
 * about its centre on the same canvas (nearest neighbour; what leaves the canvas is lost, the
 * corners it uncovers are air), the truth moved with it, each box kept its size about its joint.
 * Pure.
 */
export function slantPhantom(r: RenderedPhantom, deg: number): RenderedPhantom {
  const t = (deg * Math.PI) / 180;
  const [cos, sin, cx, cy] = [Math.cos(t), Math.sin(t), r.columns / 2, r.rows / 2];
  const turned = (x: number, y: number) => ({ x: cx + cos * (x - cx) - sin * (y - cy), y: cy + sin * (x - cx) + cos * (y - cy) });
  const image = new Float32Array(r.rows * r.columns);
  for (let y = 0; y < r.rows; y++) {
    for (let x = 0; x < r.columns; x++) {
      const [sx, sy] = [Math.round(cx + cos * (x - cx) + sin * (y - cy)), Math.round(cy - sin * (x - cx) + cos * (y - cy))];
      if (sx >= 0 && sy >= 0 && sx < r.columns && sy < r.rows) image[y * r.columns + x] = r.image[sy * r.columns + sx];
    }
  }
  const hands: HandResult[] = r.hands.map((hand) => ({
    ...hand,
    joints: hand.joints.map((j) => {
      const { x, y } = turned(j.x, j.y);
      const [hw, hh] = [(j.box[2] - j.box[0]) / 2, (j.box[3] - j.box[1]) / 2];
      return { ...j, x, y, box: [x - hw, y - hh, x + hw, y + hh] as [number, number, number, number] };
    }),
  }));
  return { ...r, image, hands, ...(r.markerAt ? { markerAt: turned(r.markerAt.x, r.markerAt.y) } : {}) };
}
