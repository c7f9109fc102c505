import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MODELS_DIR } from '../src/cli/analyze.js';
import { DEFAULT_CONFIG } from '../src/config/defaults.js';
import { readPart10, writePart10 } from '../src/dicom/part10.js';
import { loadModels, type Models } from '../src/inference/models.js';
import { analyseObject, analysisPolicy } from '../src/pipeline/analyse-object.js';
import { readingNotes } from '../src/reports/sr/document.js';
import { overlayLayout } from '../src/reports/secondary-capture.js';
import { FIXTURES, makeFixture } from '../src/phantom/fixtures.js';
import { captureLogger } from './helpers/inference.js';

/**
 * A MONOCHROME1 film sent labelled MONOCHROME2 shows bones dark on bright air: nothing is found on
 * it as labelled, so its negative is read, graded as the film rightly labelled is, and the SR and
 * the log say so. A film with no hand stays without one.
 */
let models: Models;
const policy = analysisPolicy({ ...DEFAULT_CONFIG.analysis, reportNoHand: true }, new Date(Date.UTC(2026, 0, 2)));

/** The fixture's bytes with its stored values inverted (4095 - v) under the same Photometric Interpretation. */
async function mislabelled(name: string): Promise<{ plain: Uint8Array; inverted: Uint8Array }> {
  const plain = (await makeFixture(FIXTURES.find((f) => f.name === name)!, false)).dicom;
  const { dataset, meta } = readPart10(plain);
  const px = new Uint16Array((dataset.PixelData as ArrayBuffer[])[0].slice(0));
  const max = (1 << Number(dataset.BitsStored)) - 1;
  for (let i = 0; i < px.length; i++) px[i] = max - px[i];
  return { plain, inverted: writePart10({ ...dataset, PixelData: [px.buffer] }, meta.TransferSyntaxUID as string) };
}

beforeAll(async () => {
  models = await loadModels(DEFAULT_MODELS_DIR, { provider: 'cpu' });
}, 60_000);

describe('a film sent inverted', () => {
  it('is read as its negative: the same joints as the film rightly labelled, said in the SR and the log', async () => {
    const { plain, inverted } = await mislabelled('hand-left-m2-explicit');
    const { log, lines } = captureLogger();
    const right = await analyseObject(plain, 'plain.dcm', models, policy, log);
    const wrong = await analyseObject(inverted, 'inverted.dcm', models, policy, log);
    expect(right.analysis.source.readAsNegative).toBeUndefined();
    expect(wrong.analysis.source.readAsNegative).toBe(true);
    expect(wrong.analysis.hands.map((h) => [h.laterality, h.joints.length])).toEqual(right.analysis.hands.map((h) => [h.laterality, h.joints.length]));
    const where = new Map(right.analysis.hands[0].joints.map((j) => [j.site, j]));
    for (const j of wrong.analysis.hands[0].joints) expect(Math.hypot(j.x - where.get(j.site)!.x, j.y - where.get(j.site)!.y), j.site).toBeLessThan(3);
    expect(JSON.stringify(readingNotes(wrong.analysis))).toMatch(/Read as a negative: .*Photometric Interpretation \(0028,0004\)/);
    expect(JSON.stringify(readingNotes(right.analysis))).not.toMatch(/negative/);
    expect(wrong.objects.map((o) => o.kind)).toEqual(['sr', 'pr', 'sc']);
    // the overlay says so under its title, the rightly labelled film's does not
    const title = (a: typeof right.analysis) => JSON.stringify(overlayLayout(a.source.rows, a.source.columns, a).blocks.find((b) => b.block.id === 'title')!.block.lines);
    expect(title(wrong.analysis)).toMatch(/Read as a negative/);
    expect(title(right.analysis)).not.toMatch(/negative/);
    const warned = lines.filter((l) => l.level === 'warn' && /negative/.test(l.message));
    expect(warned).toHaveLength(1);
    expect(warned[0].message).toMatch(/^inverted\.dcm: .*Photometric Interpretation \(0028,0004\) "MONOCHROME2".*MONOCHROME1: bright is air/);
  }, 60_000);

  it('finds no hand on the negative of a film without one', async () => {
    const { inverted } = await mislabelled('chest-not-a-hand');
    const { log, lines } = captureLogger();
    const a = (await analyseObject(inverted, 'chest.dcm', models, policy, log)).analysis;
    expect(a.hands).toEqual([]);
    expect(a.source.readAsNegative).toBeUndefined();
    expect(lines.filter((l) => /negative/.test(l.message))).toEqual([]);
  }, 60_000);
});
