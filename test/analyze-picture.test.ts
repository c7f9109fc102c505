import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MODELS_DIR, runAnalyze } from '../src/cli/analyze.js';
import { readDicomImage } from '../src/imaging/decode.js';
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
  models = await loadModels(DEFAULT_MODELS_DIR, { provider: 'cpu' });
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

async function analyze(target: string, spacing?: number) {
  const { log } = captureLogger();
  const out = mkdtempSync(join(work, 'out-'));
  const run = await runAnalyze(target, { out, provider: 'cpu', spacing }, { log, models, stdout: () => undefined, stderr: { write: () => true } });
  return { run, written: readdirSync(out).sort() };
}

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
