import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readPart10 } from '../src/dicom/part10.js';
import { analyzeImage } from '../src/inference/analyze.js';
import { loadModels } from '../src/inference/models.js';
import { quantisePhantomImage } from '../src/phantom/dicom-dx.js';
import { makePhantom } from '../src/phantom/generate.js';
import { renderPhantom } from '../src/phantom/render.js';
import { parsePhantomOptions, specFor } from '../src/phantom/options.js';
import { decodeDicomImage } from '../src/imaging/decode.js';
import type { PhantomSpec } from '../src/phantom/types.js';

/**
 * An RA study routes the feet with the hands, often with an empty or wrong Body Part
 * Examined. A foot has five rays and joints as a hand has; the phantom's feet
 * (src/phantom/foot.ts) were graded as hands by the shipped detector until the film check
 * asked for a thumb (src/inference/view.ts thumbNotFound): without it 11 of the 12 feet of
 * seeds 1-12 below were graded, with it 5; since it also asks where the thumb lies
 * (thumbAsBigToe: a big toe's first MTP lies in the MTP row, a thumb's MCP well short of it) 2.
 * Since session 44 the thumb is asked for wherever its MCP would be on the film (before, its IP
 * too): the one-foot set of docs/evaluation.md (Feet) 0 of 40 graded, 3 before.
 */
const MODELS = fileURLToPath(new URL('../models/', import.meta.url));
const present = existsSync(`${MODELS}/jointscore-detector/manifest.json`);
const foot = (seed: number): PhantomSpec => ({ seed, rows: 1280, columns: 1024, pixelSpacingMm: 0.2, layout: 'one', profile: 'healthy', laterality: seed % 2 ? 'L' : 'R', bodyPart: 'foot' });

/** A phantom foot's film through the node's analysis, as a 12-bit DX image. */
async function analyseFoot(seed: number, models: Awaited<ReturnType<typeof loadModels>>) {
  const r = renderPhantom(foot(seed));
  return analyzeImage(
    { rows: r.rows, columns: r.columns, values: quantisePhantomImage(r.image, 12, 'MONOCHROME2'), photometric: 'MONOCHROME2', pixelSpacingMm: [0.2, 0.2], sopInstanceUID: `1.2.3.${seed}` },
    models,
  );
}

describe('phantom feet', () => {
  it('render as a foot film without hands, its header saying FOOT', async () => {
    const rendered = renderPhantom(foot(4));
    expect(rendered.hands).toEqual([]);
    // bone on the film: the brightest tenth of the pixels well above the soft tissue's median
    const sorted = Float32Array.from(rendered.image).sort();
    expect(sorted[Math.floor(sorted.length * 0.9)] - sorted[Math.floor(sorted.length * 0.5)]).toBeGreaterThan(0.1);
    const { dicom, truth } = await makePhantom(foot(4), {}, { preview: false });
    expect(truth.hands).toEqual([]);
    expect(readPart10(dicom).dataset.BodyPartExamined).toBe('FOOT');
  });

  it.skipIf(!present)('are not graded as hands by the shipped models: no thumb where a hand has one', async () => {
    const models = await loadModels(MODELS, { provider: 'cpu' });
    for (const seed of [4, 10]) {
      const a = await analyseFoot(seed, models);
      expect(a.hands, `seed ${seed}`).toEqual([]);
      expect(a.notGraded).toEqual(expect.arrayContaining([expect.objectContaining({ cause: 'unrecognised', reason: expect.stringMatching(/no thumb joint \(MCP1, IP1\)/) })]));
    }
  }, 60_000);

  it.skipIf(!present)('are not graded as hands where the detector names a big toe as the thumb: it lies in the MTP row, not short of it', async () => {
    const models = await loadModels(MODELS, { provider: 'cpu' });
    // (seed 2 was one until tilted hands were read again by their tilt from upright: read so, no thumb is named on it)
    for (const seed of [1, 7]) {
      const a = await analyseFoot(seed, models);
      expect(a.hands, `seed ${seed}`).toEqual([]);
      expect(a.notGraded).toEqual(expect.arrayContaining([expect.objectContaining({ cause: 'unrecognised', reason: expect.stringMatching(/lies where a big toe's does/) })]));
    }
  }, 60_000);

  it.skipIf(!present)('are not graded as hands where the "thumb" the layout puts on the film has its MCP there and its IP just off it', async () => {
    const models = await loadModels(MODELS, { provider: 'cpu' });
    // `phantom --foot --profile healthy --any-orientation`: three of its first 40 were graded while the thumb's IP had to be on the film too
    for (const seed of ['7000003', '7000029', '7000033']) {
      const { dicom } = await makePhantom(specFor(parsePhantomOptions({ seed, foot: true, profile: 'healthy', anyOrientation: true }), 0), {}, { preview: false });
      const a = await analyzeImage({ ...(await decodeDicomImage(dicom, seed)), sopInstanceUID: `1.2.3.${seed}` }, models);
      expect(a.hands, `seed ${seed}`).toEqual([]);
      expect(a.notGraded).toEqual(expect.arrayContaining([expect.objectContaining({ cause: 'unrecognised', reason: expect.stringMatching(/no thumb joint \(MCP1, IP1\)/) })]));
    }
  }, 120_000);
});
