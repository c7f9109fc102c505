// What the analysis benchmarks share: the film they time and how they sum up their runs.
import { renderPhantom } from '../dist/phantom/render.js';

/** The upper median of a list of times. */
export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The hand every analysis benchmark times: a 2048 x 2560 phantom at 0.15 mm, one left hand, mixed disease. */
export const benchHand = () => renderPhantom({ seed: 11, profile: 'mixed', layout: 'one', laterality: 'L', rows: 2560, columns: 2048, pixelSpacingMm: 0.15 });
