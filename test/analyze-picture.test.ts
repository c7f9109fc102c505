import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MODELS_DIR, runAnalyze } from '../src/cli/analyze.js';
import { readDicomImage } from '../src/imaging/decode.js';
import { decodePicture } from '../src/imaging/picture.js';
import { loadModels, type Models } from '../src/inference/models.js';
import { toDisplay } from '../src/imaging/preprocess.js';
import { captureLogger } from './helpers/inference.js';
import { writeFixtures } from './helpers/node.js';

/**
 * Research sets come as PNG and JPEG: `analyze` reads them, at `--spacing` or at the scale of
 * the hand itself, and writes the HandAnalysis only (a picture belongs to no study).
 */
let work: string;
let models: Models;
const SPACING = 0.2; // the fixture's

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'jointscore-picture-'));
  const files = await writeFixtures(join(work, 'dcm'), ['hand-left-m2-explicit']);
  const display = toDisplay(await readDicomImage(files['hand-left-m2-explicit']));
  const grey = Buffer.from(display.data.map((v) => Math.round(v * 255)));
  const raw = sharp(grey, { raw: { width: display.columns, height: display.rows, channels: 1 } });
  mkdirSync(join(work, 'pictures'));
  writeFileSync(join(work, 'pictures', 'hand.png'), await raw.clone().png().toBuffer());
  writeFileSync(join(work, 'pictures', 'hand-jpeg.jpg'), await raw.clone().jpeg({ quality: 92 }).toBuffer());
  // the same hand at half the pixels, as a downsized export would hold it
  writeFileSync(join(work, 'pictures', 'half.png'), await raw.clone().resize(display.columns / 2).png().toBuffer());
  writeFileSync(join(work, 'pictures', 'notes.txt'), 'not a picture');
  // the same hand as a 16-bit PNG, and as a JPEG stored on its side with an EXIF orientation
  // (6: turn 90 degrees clockwise to show) that puts it upright for every viewer
  mkdirSync(join(work, 'other'));
  writeFileSync(join(work, 'other', 'hand16.png'), await raw.clone().toColourspace('grey16').png().toBuffer());
  const sideways = await raw.clone().rotate(-90).raw().toBuffer({ resolveWithObject: true });
  writeFileSync(
    join(work, 'other', 'exif6.jpg'),
    await sharp(sideways.data, { raw: { width: sideways.info.width, height: sideways.info.height, channels: sideways.info.channels } }).jpeg({ quality: 92 }).withMetadata({ orientation: 6 }).toBuffer(),
  );
  models = await loadModels(DEFAULT_MODELS_DIR, { provider: 'cpu' });
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

async function analyze(target: string, spacing?: number) {
  const { log } = captureLogger();
  const out = mkdtempSync(join(work, 'out-'));
  const run = await runAnalyze(target, { out, provider: 'cpu', spacing }, { log, models, stdout: () => undefined, stderr: { write: () => true } });
  return { run, written: readdirSync(out).sort() };
}

describe('pictures as they are shown', () => {
  it('a 16-bit PNG keeps its 16 bits; a JPEG with an EXIF orientation is read turned as viewers show it', async () => {
    const png16 = await decodePicture(readFileSync(join(work, 'other', 'hand16.png')), 'hand16.png');
    expect(png16.values).toBeInstanceOf(Uint16Array);
    expect(Array.from(png16.values).some((v) => v > 255)).toBe(true);
    const png8 = await decodePicture(readFileSync(join(work, 'pictures', 'hand.png')), 'hand.png');
    expect([png16.rows, png16.columns]).toEqual([png8.rows, png8.columns]);
    // the 8-bit grey widened to 16 bits (x 257), not its bytes read one by one
    for (const i of [1000, 50_000, 123_457]) expect(png16.values[i]).toBe(png8.values[i] * 257);
    const exif = await decodePicture(readFileSync(join(work, 'other', 'exif6.jpg')), 'exif6.jpg');
    expect([exif.rows, exif.columns]).toEqual([png8.rows, png8.columns]);
  });

  it('finds the joints of both where the upright 8-bit PNG has them', async () => {
    const [{ run: upright }, { run: other }] = [await analyze(join(work, 'pictures'), SPACING), await analyze(join(work, 'other'), SPACING)];
    const joints = (r: typeof upright, name: string) => r.results.find((x) => x.file.endsWith(name))?.analysis.hands[0]?.joints ?? [];
    const reference = new Map(joints(upright, 'hand.png').map((j) => [j.site, j]));
    for (const name of ['hand16.png', 'exif6.jpg']) {
      const found = joints(other, name);
      expect(found.length, name).toBeGreaterThanOrEqual(18);
      for (const j of found) {
        const r = reference.get(j.site);
        if (r) expect(Math.hypot(j.x - r.x, j.y - r.y), `${name} ${j.site}`).toBeLessThan(8);
      }
    }
  }, 120_000);
});

describe('analyze on PNG and JPEG', () => {
  it('finds the hand in both, at the spacing given, and writes the JSON only', async () => {
    const { run, written } = await analyze(join(work, 'pictures'), SPACING);
    expect(run.failures).toEqual([]);
    expect(run.skipped.map((f) => f.slice(-9))).toEqual(['notes.txt']);
    expect(written).toEqual(['half.json', 'hand-jpeg.json', 'hand.json']);
    for (const { analysis, file } of run.results) {
      expect(analysis.hands.length, file).toBe(1);
      expect(analysis.hands[0].joints.length, file).toBeGreaterThanOrEqual(18);
    }
    const png = run.results.find((r) => r.file.endsWith('hand.png'))!.analysis;
    expect(png.source).toMatchObject({ pixelSpacingMm: [SPACING, SPACING], pixelSpacingFrom: 'header' });
    // the JPEG's UID is its own: derived from its bytes
    const jpg = run.results.find((r) => r.file.endsWith('hand-jpeg.jpg'))!.analysis;
    expect(jpg.source.sopInstanceUID).not.toBe(png.source.sopInstanceUID);
    expect(jpg.source.sopInstanceUID).toMatch(/^2\.25\.\d+$/);
  }, 120_000);

  it('without --spacing, measures the hand: the half-size export reads about twice the spacing', async () => {
    const { run } = await analyze(join(work, 'pictures'));
    const at = (name: string) => run.results.find((r) => r.file.endsWith(name))!.analysis.source;
    expect(at('hand.png').pixelSpacingFrom).toBe('estimated');
    expect(at('half.png').pixelSpacingFrom).toBe('estimated');
    expect(Math.abs(at('hand.png').pixelSpacingMm![0] / SPACING - 1)).toBeLessThan(0.2);
    expect(at('half.png').pixelSpacingMm![0] / at('hand.png').pixelSpacingMm![0]).toBeGreaterThan(1.7);
    expect(at('half.png').pixelSpacingMm![0] / at('hand.png').pixelSpacingMm![0]).toBeLessThan(2.3);
  }, 120_000);
});
