import { describe, expect, it } from 'vitest';
import { FIELD, fieldOf, insideMargins, onFilm, panelImage, panelsOf, PANEL_SPLIT } from '../src/inference/panels.js';
import type { DisplayImage } from '../src/imaging/preprocess.js';

/**
 * Two views on one film are split at the border between them (a band of one value from top to
 * bottom with a view on each side); a film's empty margin is no border, and a film without a
 * band is one panel. Joints found on a panel go back into the film's pixel frame.
 */
function film(columns: number, rows: number, value: (x: number, y: number) => number): DisplayImage {
  const data = new Float32Array(rows * columns);
  for (let y = 0; y < rows; y++) for (let x = 0; x < columns; x++) data[y * columns + x] = value(x, y);
  return { rows, columns, data, pixelSpacingMm: [0.15, 0.15] };
}

/** something that is not one value down a column: bone-like stripes and noise */
const texture = (x: number, y: number) => 0.4 + 0.3 * Math.sin(x / 7 + y / 11) * Math.cos(y / 5) + 0.05 * Math.sin(x * y);

describe('panels of a film', () => {
  it('splits two views at the bright line between them, and at a dark gap', () => {
    const line = film(600, 400, (x, y) => (x >= 350 && x < 354 ? 1 : texture(x, y)));
    expect(panelsOf(line)).toEqual([
      { x0: 0, columns: 352, y0: 0, rows: 400 },
      { x0: 352, columns: 248, y0: 0, rows: 400 },
    ]);
    const gap = film(600, 400, (x, y) => (x >= 280 && x < 330 ? 0 : texture(x, y)));
    const [left, right] = panelsOf(gap);
    expect(left.columns).toBeGreaterThanOrEqual(280);
    expect(left.columns).toBeLessThan(330);
    expect(left.columns + right.columns).toBe(600);
  });

  it('splits three views side by side into three panels', () => {
    const three = film(900, 400, (x, y) => ((x >= 298 && x < 302) || (x >= 598 && x < 602) ? 1 : texture(x, y)));
    expect(panelsOf(three).map((p) => [p.x0, p.columns])).toEqual([[0, 300], [300, 300], [600, 300]]);
    // two lines close together are one border: no sliver of a panel between them
    const double = film(900, 400, (x, y) => ((x >= 440 && x < 444) || (x >= 470 && x < 474) ? 1 : texture(x, y)));
    expect(panelsOf(double).map((p) => [p.x0, p.columns])).toEqual([[0, 442], [442, 458]]);
  });

  it('splits views one above the other at a band of rows, where no band of columns splits the film', () => {
    const stacked = film(400, 600, (x, y) => (y >= 250 && y < 256 ? 0 : texture(x, y)));
    expect(panelsOf(stacked)).toEqual([
      { x0: 0, columns: 400, y0: 0, rows: 253 },
      { x0: 0, columns: 400, y0: 253, rows: 347 },
    ]);
    // an empty margin along the top is no border, as along the side
    expect(panelsOf(film(400, 600, (x, y) => (y < 200 ? 0 : texture(x, y))))).toEqual([]);
    const [, lower] = panelsOf(stacked);
    const cut = panelImage(stacked, lower);
    expect([cut.rows, cut.columns]).toEqual([347, 400]);
    expect(cut.data[5 * 400 + 9]).toBe(stacked.data[(253 + 5) * 400 + 9]);
    const found = onFilm([{ laterality: 'R', site: 'MCP2', x: 9, y: 5, confidence: 0.8, box: [4, 1, 14, 9] }], lower);
    expect(found).toEqual([{ laterality: 'R', site: 'MCP2', x: 9, y: 258, confidence: 0.8, box: [4, 254, 14, 262] }]);
  });

  it('takes no empty margin for a border, nor a film without one', () => {
    // the view lies right of a dark margin a third of the film wide: nothing to its left
    const margin = film(600, 400, (x, y) => (x < 200 ? 0 : texture(x, y)));
    expect(panelsOf(margin)).toEqual([]);
    expect(panelsOf(film(600, 400, texture))).toEqual([]);
    // a band too near the edge (under a fifth of the width) splits nothing either
    const nearEdge = film(600, 400, (x, y) => (x >= 60 && x < 70 ? 1 : texture(x, y)));
    expect(60 / 600).toBeLessThan(PANEL_SPLIT.minShare);
    expect(panelsOf(nearEdge)).toEqual([]);
  });

  it('cuts a panel as an image of its own, and puts its joints back on the film', () => {
    const img = film(600, 400, (x, y) => (x >= 350 && x < 354 ? 1 : texture(x, y)));
    const [, right] = panelsOf(img);
    const cut = panelImage(img, right);
    expect([cut.rows, cut.columns, cut.pixelSpacingMm]).toEqual([400, 248, [0.15, 0.15]]);
    expect(cut.data[7 * 248 + 10]).toBe(img.data[7 * 600 + 352 + 10]);
    const found = onFilm([{ laterality: 'L', site: 'RC', x: 10, y: 7, confidence: 0.9, box: [5, 2, 15, 12] }], right);
    expect(found).toEqual([{ laterality: 'L', site: 'RC', x: 362, y: 7, confidence: 0.9, box: [357, 2, 367, 12] }]);
  });
});

describe('the field inside a film\'s empty margins', () => {
  it('is the exposed part of a film shown on a black screen, a caption in the margin left out', () => {
    // a collimated field (bright edge, texture inside) on a black screen, a caption at the top left
    const inField = (x: number, y: number) => x >= 150 && x < 450 && y >= 120 && y < 520;
    const caption = (x: number, y: number) => y >= 20 && y < 30 && x < 60 && (x + y) % 3 === 0;
    const screen = film(600, 640, (x, y) => (inField(x, y) ? (x < 156 || y < 126 ? 0.95 : texture(x, y)) : caption(x, y) ? 1 : 0));
    expect(fieldOf(screen)).toEqual({ x0: 150, columns: 300, y0: 120, rows: 400 });
    expect(panelsOf(screen)).toEqual([]);
  });

  it('is none where the margins hold little of the film, or the film has none', () => {
    expect(fieldOf(film(600, 400, texture))).toBeUndefined();
    // margins of a tenth of the film's area: read whole as before
    const thin = film(600, 400, (x, y) => (x < 30 || x >= 570 ? 0 : texture(x, y)));
    expect((540 * 400) / (600 * 400)).toBeGreaterThan(FIELD.maxShareOfFilm);
    expect(fieldOf(thin)).toBeUndefined();
    expect(fieldOf(film(600, 400, () => 0))).toBeUndefined();
    // a body part in air clipped to the margins' black: no field, only the part's bounding box
    const inAir = (x: number, y: number) => ((x - 300) / 120) ** 2 + ((y - 320) / 200) ** 2 < 1;
    const clipped = film(600, 640, (x, y) => (inAir(x, y) ? texture(x, y) + 0.2 : 0));
    expect(insideMargins(clipped)).toEqual({ x0: 181, columns: 239, y0: 121, rows: 399 });
    expect(fieldOf(clipped)).toBeUndefined();
  });
});
