import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MODELS_DIR, summaryLine } from '../src/cli/analyze.js';
import { readPart10, writePart10 } from '../src/dicom/part10.js';
import { decodeDicomImage } from '../src/imaging/decode.js';
import { analyzeImage } from '../src/inference/analyze.js';
import { loadModels, type Models } from '../src/inference/models.js';
import { FIXTURES, makeFixture } from '../src/phantom/fixtures.js';
import { buildGspsDataset } from '../src/reports/gsps.js';
import { overlayLayout } from '../src/reports/secondary-capture.js';
import { buildSrDataset } from '../src/reports/sr/document.js';
import { PRIVATE, countCode } from '../src/reports/sr/codes.js';
import { dciodvfy, runTool } from './helpers/dicom-tools.js';
import { options } from './helpers/sr-fixture.js';
import { readSrHandSummaries, readSrJoints } from './helpers/sr-reader.js';

/**
 * A film too coarse to grade (a thumbnail, a screenshot shrunk for a key image): its hand is
 * still found, but no joint is graded where a joint space spans a pixel or two; each joint says
 * why, in the JSON, the SR and the overlay.
 */
let models: Models;
const dir = mkdtempSync(join(tmpdir(), 'jointscore-coarse-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(async () => {
  models = await loadModels(DEFAULT_MODELS_DIR, { provider: 'cpu' });
}, 60_000);

/** The hand fixture with every f x f block of pixels averaged into one, its spacing said so. */
async function coarser(f: number) {
  const { dataset } = readPart10((await makeFixture(FIXTURES.find((x) => x.name === 'hand-left-m2-explicit')!, false)).dicom);
  const [R, C] = [Number(dataset.Rows), Number(dataset.Columns)];
  const px = new Uint16Array((dataset.PixelData as ArrayBuffer[])[0], 0, R * C);
  const [rows, columns] = [Math.floor(R / f), Math.floor(C / f)];
  const out = new Uint16Array(rows * columns);
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < columns; x++) {
      let sum = 0;
      for (let i = 0; i < f; i++) for (let k = 0; k < f; k++) sum += px[(y * f + i) * C + x * f + k];
      out[y * columns + x] = Math.round(sum / (f * f));
    }
  }
  const spacing = (v: unknown) => (v as number[]).map((s) => Number(s) * f);
  const ds = { ...dataset, Rows: rows, Columns: columns, PixelSpacing: spacing(dataset.PixelSpacing), ImagerPixelSpacing: spacing(dataset.ImagerPixelSpacing), PixelData: [out.buffer] };
  return { ds, image: await decodeDicomImage(writePart10(ds), `coarse-${f}.dcm`) };
}

describe('a film too coarse to grade', () => {
  it('finds the hand and grades none of its joints, saying why in the JSON, the SR (dciodvfy clean) and the overlay', async () => {
    const { ds, image } = await coarser(8);
    expect(image.pixelSpacingMm[0]).toBeGreaterThan(0.8);
    const a = await analyzeImage(image, models);
    expect(a.hands).toHaveLength(1);
    const joints = a.hands[0].joints;
    expect(joints.length).toBeGreaterThan(15);
    for (const j of joints) {
      expect(j.notGraded?.cause, j.site).toBe('resolution');
      expect([j.jsn, j.erosion, j.kl], j.site).toEqual([undefined, undefined, undefined]);
    }
    expect(joints[0].notGraded!.reason).toMatch(/graded at \d\.\d\d mm a pixel, coarser than 0\.8 mm/);
    // the JSON's hand summary says why, with no totals of 0 or "normal" pattern to read as a healthy hand
    expect(JSON.parse(JSON.stringify(a)).hands[0].summary).toEqual({ notGraded: ['resolution'] });
    const sr = buildSrDataset(a, ds, options);
    const file = join(dir, 'coarse-sr.dcm');
    writeFileSync(file, writePart10(sr));
    const v = dciodvfy(file);
    expect(v.errors, v.output).toEqual([]);
    expect(readSrJoints(sr).every((j) => j.notGraded === 'Film resolution too coarse for the joint space')).toBe(true);
    // the hand's group says why none was graded, with no totals or pattern (they would read as a healthy hand)
    expect(readSrHandSummaries(sr)).toEqual([
      { laterality: 'L', counts: { ra: { healthy: 0, mild: 0, severe: 0 }, erosion: { healthy: 0, mild: 0, severe: 0 }, oa: { healthy: 0, mild: 0, severe: 0 } }, noneGraded: ['Film resolution too coarse for the joint space'] },
    ]);
    const dump = runTool('dsrdump', ['+Pl', file]);
    expect(dump.status, dump.stderr).toBe(0);
    expect(dump.stdout).not.toContain(PRIVATE.SvhJsnTotal.meaning);
    expect(dump.stdout).toContain(countCode('RA', 'healthy').meaning); // the counts stay (all 0)
    expect(dump.stdout).toContain('Film resolution too coarse for the joint space');
    expect(summaryLine('coarse.dcm', a)).toBe(`coarse.dcm: L hand: ${joints.length} joints, none graded (resolution)`);
    const layout = overlayLayout(a.source.rows, a.source.columns, a);
    expect(layout.labels.filter((l) => l.text.endsWith('not graded'))).toHaveLength(joints.length);
    // the hand's panel says none was graded and why, not totals of 0 and a "normal" pattern
    const panel = layout.blocks.find((b) => b.block.id === 'hand-L')!.block.lines.map((l) => l.runs.map((r) => r.text).join('')).join(' ');
    expect(panel).toMatch(/No joint graded: the film is too coarse to see a joint space/);
    expect(panel).not.toMatch(/Pattern|SvH total/);
    // the presentation state's notice layer too (dciodvfy clean)
    const pr = buildGspsDataset(a, ds, options);
    const prFile = join(dir, 'coarse-pr.dcm');
    writeFileSync(prFile, writePart10(pr));
    const pv = dciodvfy(prFile);
    expect(pv.errors, pv.output).toEqual([]);
    const notices = (pr.GraphicAnnotationSequence as { TextObjectSequence?: { UnformattedTextValue: string }[] }[]).flatMap((g) => g.TextObjectSequence ?? []).map((t) => t.UnformattedTextValue);
    expect(notices).toContain('Left hand: no joint graded (resolution)');
    expect(notices.join(' ')).not.toMatch(/SvH JSN|normal/);
  }, 60_000);

  it('grades the same hand at half its resolution (real films here are read at 0.71 mm at the coarsest)', async () => {
    const { image } = await coarser(2);
    expect(image.pixelSpacingMm[0]).toBeLessThan(0.8);
    const a = await analyzeImage(image, models);
    expect(a.hands[0].joints.filter((j) => j.notGraded?.cause === 'resolution')).toEqual([]);
    expect(a.hands[0].joints.filter((j) => j.jsn || j.kl).length).toBeGreaterThan(15);
  }, 60_000);
});
