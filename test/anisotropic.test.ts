import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MODELS_DIR } from '../src/cli/analyze.js';
import { analyzeDisplay, analyzeImage } from '../src/inference/analyze.js';
import { loadModels, type Models } from '../src/inference/models.js';
import { pixelAspectOf, squarePixels, toDisplay } from '../src/imaging/preprocess.js';
import { renderOverlay } from '../src/reports/secondary-capture.js';
import { renderPhantom } from '../src/phantom/render.js';
import { captureLogger } from './helpers/inference.js';
import type { HandAnalysis } from '../src/analysis/hand-analysis.js';
import { readPart10, writePart10 } from '../src/dicom/part10.js';
import { decodeDicomImage } from '../src/imaging/decode.js';
import { FIXTURES, makeFixture } from '../src/phantom/fixtures.js';

/**
 * Pixels that are not square (Pixel Spacing's two values differ: some computed-radiography
 * readers and digitisers): the film is analysed stretched to square pixels, as the detectors
 * learnt hands, and every point comes back in the stored pixel grid the viewer shows.
 */
let models: Models;
const SPACING = 0.2;
const phantom = renderPhantom({ seed: 321, rows: 1280, columns: 1024, pixelSpacingMm: SPACING, layout: 'one', profile: 'healthy', laterality: 'L' });
const truth = phantom.hands[0].joints;

/** The phantom stored with every `by` columns (or rows) averaged into one pixel, and its spacing said so. */
function coarser(axis: 'columns' | 'rows', by: number) {
  const [rows, columns] = axis === 'rows' ? [Math.floor(phantom.rows / by), phantom.columns] : [phantom.rows, Math.floor(phantom.columns / by)];
  const values = new Uint16Array(rows * columns);
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < columns; x++) {
      let sum = 0;
      for (let k = 0; k < by; k++) sum += axis === 'rows' ? phantom.image[(y * by + k) * phantom.columns + x] : phantom.image[y * phantom.columns + x * by + k];
      values[y * columns + x] = Math.round((sum / by) * 4095);
    }
  }
  const pixelSpacingMm: [number, number] = axis === 'rows' ? [SPACING * by, SPACING] : [SPACING, SPACING * by];
  return { rows, columns, values, photometric: 'MONOCHROME2' as const, pixelSpacingMm, sopInstanceUID: `1.2.9.${axis}` };
}

/** Each truth joint found within 2.5 mm (on the stored grid, each axis at its own spacing). */
function jointsOnTruth(a: HandAnalysis, [sr, sc]: [number, number]) {
  const found = new Map(a.hands[0]?.joints.map((j) => [j.site, j]));
  return truth.filter((t) => {
    const j = found.get(t.site);
    return j !== undefined && Math.hypot(j.x * sc - t.x * SPACING, j.y * sr - t.y * SPACING) <= 2.5;
  }).length;
}

beforeAll(async () => {
  models = await loadModels(DEFAULT_MODELS_DIR, { provider: 'cpu' });
}, 60_000);

describe('pixels that are not square', () => {
  it('stretches the coarser axis to the finer spacing, and leaves square pixels alone', () => {
    const ramp = { rows: 4, columns: 3, data: Float32Array.from({ length: 12 }, (_, i) => i % 3), pixelSpacingMm: [0.2, 0.4] as [number, number] };
    const s = squarePixels(ramp)!;
    expect([s.img.rows, s.img.columns, s.fx, s.fy]).toEqual([4, 6, 2, 1]);
    expect(s.img.pixelSpacingMm).toEqual([0.2, 0.2]);
    // a ramp along the stretched axis stays a ramp, at half the slope, clamped at the ends
    expect(Array.from(s.img.data.slice(0, 6))).toEqual([0, 0.25, 0.75, 1.25, 1.75, 2]);
    expect(squarePixels({ ...ramp, pixelSpacingMm: [0.2, 0.201] })).toBeUndefined();
  });

  it('takes the shape of a pixel from Pixel Aspect Ratio where no spacing is given', async () => {
    const { dataset } = readPart10((await makeFixture(FIXTURES.find((f) => f.name === 'hand-left-m2-explicit')!, false)).dicom);
    const { PixelSpacing: _p, ImagerPixelSpacing: _i, ...bare } = dataset;
    expect((await decodeDicomImage(writePart10({ ...bare, PixelAspectRatio: [2, 1] }), 'x.dcm')).pixelSpacingMm).toEqual([0.3, 0.15]);
    expect((await decodeDicomImage(writePart10({ ...bare, PixelAspectRatio: [1, 1] }), 'x.dcm')).pixelSpacingMm).toEqual([0.15, 0.15]);
    expect((await decodeDicomImage(writePart10(bare), 'x.dcm')).pixelSpacingMm).toEqual([0.15, 0.15]);
    // a spacing given wins
    expect((await decodeDicomImage(writePart10({ ...dataset, PixelAspectRatio: [2, 1] }), 'x.dcm')).pixelSpacingMm).toEqual(dataset.PixelSpacing ?? dataset.ImagerPixelSpacing);
  });

  it('takes a spacing that makes pixels more than twice as tall as wide for a mislabelled one: left out, with a warning naming it', async () => {
    const { dataset } = readPart10((await makeFixture(FIXTURES.find((f) => f.name === 'hand-left-m2-explicit')!, false)).dicom);
    const { log, lines } = captureLogger();
    const img = await decodeDicomImage(writePart10({ ...dataset, PixelSpacing: [0.1, 10] }), 'tall.dcm', log);
    expect([img.pixelSpacingMm, img.pixelSpacingSource]).toEqual([[0.15, 0.15], 'default']);
    expect(lines.some((l) => l.level === 'warn' && /tall\.dcm: Pixel Spacing \(0028,0030\) 0\.1\\10 mm .* mislabelled/.test(l.message))).toBe(true);
    // within the bound the shape is kept
    expect((await decodeDicomImage(writePart10({ ...dataset, PixelSpacing: [0.1, 0.2] }), 'x.dcm')).pixelSpacingMm).toEqual([0.1, 0.2]);
    // and a picture told such a shape by another caller is read as square, not stretched a hundredfold
    expect(squarePixels({ rows: 4, columns: 3, data: new Float32Array(12), pixelSpacingMm: [0.1, 10] })).toBeUndefined();
  });

  it.each([['columns'], ['rows']] as const)('finds the joints of a hand stored with its %s twice as coarse where the viewer shows them', async (axis) => {
    const square = await analyzeImage({ rows: phantom.rows, columns: phantom.columns, values: Uint16Array.from(phantom.image, (v) => Math.round(v * 4095)), photometric: 'MONOCHROME2', pixelSpacingMm: [SPACING, SPACING], sopInstanceUID: '1.2.9' }, models);
    const input = coarser(axis, 2);
    const a = await analyzeImage(input, models);
    expect(a.source).toMatchObject({ rows: input.rows, columns: input.columns, pixelSpacingMm: input.pixelSpacingMm, pixelSpacingFrom: 'header' });
    expect(a.hands).toHaveLength(1);
    expect(a.hands[0].laterality).toBe('L');
    const onSquare = jointsOnTruth(square, [SPACING, SPACING]);
    expect(onSquare).toBeGreaterThanOrEqual(truth.length - 1);
    expect(jointsOnTruth(a, input.pixelSpacingMm)).toBeGreaterThanOrEqual(onSquare - 1);
    // what it guards against: the same pixels read as they lie (the spacing said square, so not stretched)
    const asTheyLie = await analyzeDisplay({ ...toDisplay(input), pixelSpacingMm: [SPACING, SPACING] }, input.sopInstanceUID, models);
    const placed = jointsOnTruth(asTheyLie, input.pixelSpacingMm);
    console.info(`pixels not square (${axis} twice as coarse): ${jointsOnTruth(a, input.pixelSpacingMm)} of ${truth.length} joints within 2.5 mm stretched, ${placed} read as they lie`);
    expect(placed).toBeLessThan(truth.length - 5);
    // boxes in the stored grid: around their points
    for (const j of a.hands[0].joints) expect(j.box[0] < j.x && j.x < j.box[2] && j.box[1] < j.y && j.y < j.box[3], j.site).toBe(true);
    // a healthy hand graded as healthy on either grid
    const called = (x: HandAnalysis) => x.hands[0].joints.filter((j) => j.severity.ra && j.severity.ra !== 'healthy').length;
    expect(called(a)).toBeLessThanOrEqual(called(square) + 1);
    // the overlay drawn in true proportion (the coarse axis stretched back), its marks on the joints
    const display = toDisplay(input);
    const overlay = await renderOverlay({ gray: Uint8Array.from(display.data, (v) => Math.round(v * 255)), rows: input.rows, columns: input.columns, pixelAspect: pixelAspectOf(display) }, a);
    expect([overlay.layout.image.width, overlay.layout.image.height]).toEqual([phantom.columns, phantom.rows]);
    expect([overlay.layout.scaleX, overlay.layout.scaleY]).toEqual(axis === 'columns' ? [2, 1] : [1, 2]);
  }, 120_000);
});
