import { Rng } from './rng.js';
import type { HandLayout } from './types.js';

/**
 * Realistic image sizes for hand films. In real hand radiographs the hand and wrist fill
 * 60-90 % of the image height: the radiographer collimates tightly and most modalities crop
 * the stored image to the collimated field (or the film is an 18 x 24 / 24 x 30 cm cassette).
 * The renderer never rescales anatomy to fit (the pixel spacing stays honest), so the caller
 * chooses rows and columns for the field of view it wants: rows = heightMm / spacing.
 *
 * Typical choices at 0.15 mm: 24 x 30 cm -> 1600 x 2000 (columns x rows); a crop to the
 * collimated field of one hand (~17 x 23 cm) -> about 1130 x 1530. For both hands on one
 * film use a landscape field, e.g. 43 x 35 cm or a crop of about 38 x 27 cm.
 */
export interface RealisticFrame {
  rows: number;
  columns: number;
  /** the field of view in mm (columns x spacing, rows x spacing) */
  widthMm: number;
  heightMm: number;
  /** what was drawn: 'crop' (cropped to the collimated field), 'cassette-18x24', 'cassette-24x30', ... */
  kind: string;
}

/** Draws a realistic field of view for a hand film at the given pixel spacing (mm). */
export function realisticFrame(spacingMm: number, seed: number | Rng, layout: HandLayout = 'one'): RealisticFrame {
  if (!(spacingMm >= 0.05 && spacingMm <= 0.5)) throw new Error(`realisticFrame: spacing ${spacingMm} mm is outside 0.05-0.5 mm`);
  const r = typeof seed === 'number' ? new Rng(seed).fork('frame') : seed;
  let w: number, h: number, kind: string;
  const u = r.next();
  if (layout === 'both') {
    if (u < 0.5) [w, h, kind] = [r.uniform(340, 420), r.uniform(240, 300), 'crop'];
    else if (u < 0.85) [w, h, kind] = [430, 350, 'cassette-43x35'];
    else [w, h, kind] = [350, 350, 'cassette-35x35'];
  } else if (u < 0.55) {
    // cropped to the collimated field around one hand and wrist
    w = r.uniform(140, 210);
    h = Math.min(300, Math.max(200, w * r.uniform(1.2, 1.45)));
    kind = 'crop';
  } else if (u < 0.85) [w, h, kind] = [240, 300, 'cassette-24x30'];
  else [w, h, kind] = [180, 240, 'cassette-18x24'];
  const columns = Math.round(w / spacingMm), rows = Math.round(h / spacingMm);
  return { rows, columns, widthMm: columns * spacingMm, heightMm: rows * spacingMm, kind };
}
