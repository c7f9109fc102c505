import { bilinear, type DisplayImage } from '../imaging/preprocess.js';

/**
 * The view classifier's input: the palm, carpus, thumb base and distal forearm of one hand,
 * sampled in the hand's own frame (src/inference/view.ts `handFrame`: the PA layout fitted to
 * the joints found, so the crop is upright, a left hand, at one scale whatever the film).
 * What tells an oblique from a PA view lies there: metacarpals 3-5 overlapping, the carpus
 * crowded, the radius and ulna superimposed, the thumb's metacarpal seen en face.
 * Layout units: MCP2-MCP5 = 1; x to the thumb's side, y towards the wrist (PA_LAYOUT).
 * The node runs no view classifier yet (the one trained on phantoms did not hold on real
 * obliques: models/training/README.md, "A view classifier for obliques"); the training
 * scripts crop with this so that a classifier that ships sees what it learnt on.
 */
export const HAND_CROP = {
  /** layout x from the little finger's side to beyond the thumb's metacarpal */
  x: [-1.0, 1.4],
  /** layout y from the proximal phalanges to beyond the radiocarpal joint */
  y: [-0.6, 1.5],
  /** pixels across and down: about 53 pixels per MCP2-MCP5 span */
  columns: 128,
  rows: 112,
  /** samples per output pixel along each axis (a box filter: the film is usually much finer) */
  supersample: 4,
} as const;

/**
 * The crop, standardised to zero mean and unit variance (the display window differs from
 * film to film; the view is in the shapes, not the grey levels). `frame` maps layout points
 * to image pixels. Outside the film reads as 0 before standardising.
 */
export function sampleHandCrop(img: DisplayImage, frame: (p: readonly [number, number]) => { x: number; y: number }): Float32Array {
  const { columns, rows, supersample: k } = HAND_CROP;
  const [x0, x1] = HAND_CROP.x;
  const [y0, y1] = HAND_CROP.y;
  // the frame is a similarity: three points give its affine form, so each sample is two multiply-adds
  const o = frame([x0, y0]);
  const ex = frame([x1, y0]);
  const ey = frame([x0, y1]);
  const ux = { x: (ex.x - o.x) / (columns * k), y: (ex.y - o.y) / (columns * k) };
  const uy = { x: (ey.x - o.x) / (rows * k), y: (ey.y - o.y) / (rows * k) };
  const out = new Float32Array(columns * rows);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < columns; j++) {
      let acc = 0;
      for (let a = 0; a < k; a++) {
        for (let b = 0; b < k; b++) {
          const u = j * k + b + 0.5;
          const v = i * k + a + 0.5;
          acc += bilinear(img, o.x + u * ux.x + v * uy.x - 0.5, o.y + u * ux.y + v * uy.y - 0.5);
        }
      }
      out[i * columns + j] = acc / (k * k);
    }
  }
  return standardise(out);
}

function standardise(v: Float32Array): Float32Array {
  let mean = 0;
  for (const x of v) mean += x;
  mean /= v.length;
  let sq = 0;
  for (const x of v) sq += (x - mean) ** 2;
  const sd = Math.sqrt(sq / v.length) || 1;
  for (let i = 0; i < v.length; i++) v[i] = (v[i] - mean) / sd;
  return v;
}
