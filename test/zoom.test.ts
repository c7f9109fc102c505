import { describe, expect, it } from 'vitest';
import type { Candidate } from '../src/inference/detector.js';
import { SMALLER, smallerImage, ZOOM, zoomRegion } from '../src/inference/zoom.js';

const at = (x: number, y: number, confidence = 0.6): Candidate => ({ site: 'CSL', laterality: 'L', x, y, box: [x - 5, y - 5, x + 5, y + 5], confidence });
const film = { rows: 2000, columns: 1500 };

describe('the part of a film read again, larger (zoomRegion)', () => {
  it('is the box around what the detectors saw, grown by a quarter of its longer side, within the film', () => {
    const seen = [at(600, 300), at(700, 300), at(800, 500), at(650, 700), at(700, 650), at(750, 600)];
    // box x 600-800, y 300-700: longer side 400, grown 100 each way
    expect(zoomRegion(seen, film)).toEqual({ x0: 500, columns: 400, y0: 200, rows: 600 });
    // at the film's corner the box stops at its edges
    expect(zoomRegion(seen.map((c) => ({ ...c, x: c.x - 590, y: c.y - 290 })), film)).toEqual({ x0: 0, columns: 310, y0: 0, rows: 510 });
  });

  it('needs a partial view\'s worth of joints at the confidence that counts', () => {
    const seen = [at(600, 300), at(700, 300), at(800, 500), at(650, 700), at(700, 650), at(750, 600, ZOOM.minConfidence - 0.01)];
    expect(zoomRegion(seen, film)).toBeUndefined();
    expect(zoomRegion(seen.slice(0, 5), film)).toBeUndefined();
  });

  it('leaves structures too close together to be a partial view\'s joints', () => {
    const tight = [at(600, 300), at(610, 300), at(620, 310), at(600, 320), at(615, 330), at(605, 340)];
    expect(zoomRegion(tight, film)).toBeUndefined();
  });

  it('leaves a film whose structures already fill most of it', () => {
    const spread = [at(100, 100), at(1400, 100), at(100, 1900), at(1400, 1900), at(700, 1000), at(800, 900)];
    expect(zoomRegion(spread, film)).toBeUndefined();
  });
});

describe('a film read again, smaller (smallerImage)', () => {
  it('sets the film in the middle of a canvas SMALLER.factor times its size, padded with its air; the panel maps the canvas back', () => {
    const rows = 100;
    const columns = 80;
    // air (0.05) on a tenth of the film, bone and soft tissue brighter
    const data = Float32Array.from({ length: rows * columns }, (_, i) => (i % 10 === 0 ? 0.05 : 0.3 + (i % 7) / 10));
    const { panel, image } = smallerImage({ rows, columns, data, pixelSpacingMm: [0.1, 0.1] });
    expect([image.rows, image.columns]).toEqual([Math.round(rows * SMALLER.factor), Math.round(columns * SMALLER.factor)]);
    expect([panel.rows, panel.columns]).toEqual([image.rows, image.columns]);
    expect(image.pixelSpacingMm).toEqual([0.1, 0.1]);
    // the film's pixel (x, y) is the canvas's (x - x0, y - y0)
    for (const [x, y] of [[0, 0], [79, 0], [40, 63], [79, 99]]) {
      expect(image.data[(y - panel.y0) * image.columns + (x - panel.x0)]).toBe(data[y * columns + x]);
    }
    // the padding is the film's air, to the display histogram's 255th
    expect(Math.abs(image.data[0] - 0.05)).toBeLessThanOrEqual(1 / 255);
    expect(image.data[image.data.length - 1]).toBe(image.data[0]);
  });
});
