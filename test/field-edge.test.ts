import { beforeAll, describe, expect, it } from 'vitest';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HandAnalysis } from '../src/analysis/hand-analysis.js';
import { ABSTENTION, outOfView } from '../src/inference/abstention.js';
import { analyzeImage } from '../src/inference/analyze.js';
import { loadModels, type Models } from '../src/inference/models.js';
import { renderPhantom } from '../src/phantom/render.js';
import { toDisplay } from '../src/imaging/preprocess.js';

/**
 * A collimated film cuts its joints at the field's edge as a film's own edge does: where a
 * Display Shutter hides part of the detector, or padding fills the matrix around the film, a joint
 * lying within ABSTENTION.edgeMm of those pixels is not graded (`out-of-view`), with the field
 * named in the reason; the same joint on the whole film is graded.
 */
const MODELS = join(dirname(fileURLToPath(import.meta.url)), '..', 'models');
let models: Models;
beforeAll(async () => {
  models = await loadModels(MODELS, { provider: 'cpu' });
}, 60_000);

const phantom = renderPhantom({ seed: 4242, rows: 1280, columns: 1024, pixelSpacingMm: 0.2, layout: 'one', profile: 'healthy', laterality: 'L' });
const truth = new Map(phantom.hands[0].joints.map((j) => [j.site, j]));
const mm = 5; // px per mm at 0.2 mm
const values = Uint16Array.from(phantom.image, (v) => Math.round(v * 4095));
const film = { rows: 1280, columns: 1024, values, photometric: 'MONOCHROME2' as const, pixelSpacingMm: [0.2, 0.2] as [number, number], sopInstanceUID: '1.2.3' };

/** The rows above `top` hidden (a shutter's upper edge there), as decode.ts gives a Display Shutter. */
function shutteredAbove(top: number): Uint8Array {
  const hidden = new Uint8Array(1280 * 1024);
  hidden.fill(1, 0, top * 1024);
  return hidden;
}

const joint = (a: HandAnalysis, site: string) => a.hands.flatMap((h) => h.joints).find((j) => j.site === site);

describe('the exposed field as the film edge', () => {
  it('outOfView: a joint beside pixels that are no film is out of view, with the field named; farther in it is not', () => {
    const offFilm = new Uint8Array(400 * 400);
    offFilm.fill(1, 0, 100 * 400); // rows 0-99
    const image = { rows: 400, columns: 400, pixelSpacingMm: [0.2, 0.2] as [number, number], offFilm };
    // 2 mm below the field's edge at row 100
    expect(outOfView('DIP3', 200, 110, image)).toEqual({
      cause: 'out-of-view',
      reason: 'DIP3 lies 2.0 mm from the edge of the exposed field (padding or a Display Shutter beyond it): part of the joint is out of view',
    });
    expect(outOfView('DIP3', 200, 100 + (ABSTENTION.edgeMm + 0.5) * 5, image)).toBeUndefined();
    expect(outOfView('DIP3', 200, 110, { ...image, offFilm: undefined })).toBeUndefined();
  });

  it("the pixels that are no film: what a shutter hides, and the padding's frame around the film, not padded pixels inside it", () => {
    // 6 x 6: the top row and the left column padded (0), and one pixel inside at the padding value too
    const values = Uint16Array.from({ length: 36 }, (_, i) => (i < 6 || i % 6 === 0 || i === 21 ? 0 : 100 + i));
    const stored = { rows: 6, columns: 6, values, photometric: 'MONOCHROME2' as const, pixelSpacingMm: [0.2, 0.2] as [number, number] };
    const padded = toDisplay({ ...stored, padding: { lo: 0, hi: 0 } }).offFilm!;
    expect([padded[0], padded[5], padded[6], padded[7], padded[21], padded[35]]).toEqual([1, 1, 1, 0, 0, 0]);
    const hidden = new Uint8Array(36).fill(1, 30);
    expect(Array.from(toDisplay({ ...stored, hidden }).offFilm!.subarray(24))).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]);
    expect(toDisplay(stored).offFilm).toBeUndefined();
  });

  it('a shutter 2 mm distal to the DIP joints: those found are not graded, the MCPs are; the whole film grades them; joints found where they are', async () => {
    const dips = ['DIP2', 'DIP3', 'DIP4', 'DIP5'] as const;
    const top = Math.round(Math.min(...dips.map((s) => truth.get(s)!.y)) - 2 * mm);
    const whole = await analyzeImage(film, models);
    const cut = await analyzeImage({ ...film, hidden: shutteredAbove(top) }, models);
    const near = cut.hands.flatMap((h) => h.joints).filter((j) => j.y - top < ABSTENTION.edgeMm * mm - 1);
    expect(near.length).toBeGreaterThan(0);
    for (const j of near) {
      expect(j.notGraded?.cause, j.site).toBe('out-of-view');
      expect(j.notGraded?.reason, j.site).toContain('edge of the exposed field');
      expect(joint(whole, j.site)?.notGraded, `${j.site} on the whole film`).toBeUndefined();
    }
    for (const s of ['MCP2', 'MCP3', 'MCP4', 'MCP5'] as const) expect(joint(cut, s)?.notGraded, s).toBeUndefined();
    // read inside the field, the cut fingers keep their DIPs (read whole, the shutter's air made the
    // cut their tips, and DIP3 and DIP4 came out 10 mm proximal, on the middle phalanx, and graded)
    for (const j of cut.hands.flatMap((h) => h.joints)) expect(Math.hypot(j.x - truth.get(j.site)!.x, j.y - truth.get(j.site)!.y), j.site).toBeLessThan(4 * mm);
  }, 60_000);

  it('padding around a film cut through the fingers does the same', async () => {
    const top = Math.round(truth.get('DIP3')!.y - 2 * mm);
    const padded = Uint16Array.from(values, (v, i) => (i < top * 1024 ? 0 : Math.max(1, v)));
    const a = await analyzeImage({ ...film, values: padded, padding: { lo: 0, hi: 0 } }, models);
    const dip3 = joint(a, 'DIP3');
    expect(dip3, 'DIP3 found').toBeDefined();
    expect(dip3!.notGraded?.reason).toContain('edge of the exposed field');
    // a modality whose air inside the film reaches the padding value: the film is still graded
    // (only the padding's frame around the film is no film: the test above)
    const airPadded = Uint16Array.from(padded, (v) => (v < 1100 ? 0 : v));
    expect(airPadded.filter((v, i) => v === 0 && i >= top * 1024).length).toBeGreaterThan(100_000);
    const b = await analyzeImage({ ...film, values: airPadded, padding: { lo: 0, hi: 0 } }, models);
    const graded = b.hands.flatMap((h) => h.joints).filter((j) => !j.notGraded);
    expect(graded.length).toBeGreaterThan(12);
    for (const j of graded) expect(j.y - top, j.site).toBeGreaterThan(ABSTENTION.edgeMm * mm);
  }, 60_000);
});
