import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Candidate } from '../src/inference/detector.js';
import { chooseSpacing, estimateSpacing, MIN_SEGMENTS } from '../src/inference/spacing.js';
import { renderPhantom } from '../src/phantom/render.js';

/**
 * Pixel spacing from the hand: a research film with a guessed or missing spacing would show
 * the grader its joints magnified or shrunk. The estimate comes from phalanx and palm
 * lengths; it replaces the header only when the two disagree grossly.
 */
function candidatesOf(seed: number, spacing: number): Candidate[] {
  const r = renderPhantom({ seed, rows: 1280, columns: 1024, pixelSpacingMm: spacing, layout: 'one', profile: 'healthy', laterality: 'L' });
  return r.hands.flatMap((h) => h.joints.map((j) => ({ laterality: h.laterality, site: j.site, x: j.x, y: j.y, confidence: 1 })));
}

describe('spacing from the hand', () => {
  it('finds the spacing of phantom hands within 20 % each and 6 % on average (hand sizes differ by about 8 %)', () => {
    const errors = [901, 902, 903, 904, 905, 906, 907, 908, 909, 910].map((seed) => {
      const spacing = seed % 2 ? 0.2 : 0.17; // the whole hand in the 1024 x 1280 frame
      return estimateSpacing(candidatesOf(seed, spacing))!.mm / spacing - 1;
    });
    for (const e of errors) expect(Math.abs(e)).toBeLessThan(0.2);
    expect(Math.abs(errors.reduce((a, b) => a + b, 0) / errors.length)).toBeLessThan(0.06);
  });

  it('scales with the picture: the same hand shown at half the pixels reads twice the spacing', () => {
    const full = candidatesOf(904, 0.2);
    const half = full.map((c) => ({ ...c, x: c.x / 2, y: c.y / 2 }));
    expect(estimateSpacing(half)!.mm / estimateSpacing(full)!.mm).toBeCloseTo(2, 6);
  });

  it('reads a wrist-only view from its carpus and CMC row, and gives nothing with too few segments', () => {
    // whole hands keep the fingers' and palm's estimate
    expect(estimateSpacing(candidatesOf(905, 0.2))!.measuredOn).toBe('hand');
    const errors = [901, 902, 903, 904, 905, 906, 907, 908].map((seed) => {
      const spacing = seed % 2 ? 0.2 : 0.17;
      const wrist = estimateSpacing(candidatesOf(seed, spacing).filter((c) => /^(RC|CSL|STT|CMC)/.test(c.site)))!;
      expect(wrist.measuredOn).toBe('wrist');
      expect(wrist.segments).toBe(10);
      return wrist.mm / spacing - 1;
    });
    for (const e of errors) expect(Math.abs(e)).toBeLessThan(0.2);
    expect(Math.abs(errors.reduce((a, b) => a + b, 0) / errors.length)).toBeLessThan(0.06);
    // three wrist sites make three segments, under MIN_SEGMENTS
    expect(MIN_SEGMENTS).toBeGreaterThan(3);
    expect(estimateSpacing(candidatesOf(905, 0.2).filter((c) => /^(RC|CSL|STT)/.test(c.site)))).toBeUndefined();
  });

  it('keeps a header within 1.25 x of a whole hand (1.5 x of a wrist), replaces one further off or missing, and keeps either without an estimate', () => {
    const est = { mm: 0.3, segments: 11, measuredOn: 'hand' as const };
    // a whole hand's kept header measures; its joints are read at the hand's own scale
    expect(chooseSpacing([0.25, 0.25], 'header', est)).toEqual({ mm: [0.25, 0.25], from: 'header', readAtMm: [0.3, 0.3] });
    expect(chooseSpacing([0.36, 0.36], 'header', est)).toEqual({ mm: [0.36, 0.36], from: 'header', readAtMm: [0.3, 0.3] });
    // a hand read at 0.22 mm would be 1.36 times smaller than an adult's: the header is set aside, and kept in the answer
    expect(chooseSpacing([0.22, 0.22], 'header', est)).toEqual({ mm: [0.3, 0.3], from: 'estimated', measuredOn: 'hand', headerMm: [0.22, 0.22] });
    expect(chooseSpacing([0.22, 0.22], 'header', { ...est, measuredOn: 'wrist' })).toEqual({ mm: [0.22, 0.22], from: 'header' });
    expect(chooseSpacing([0.15, 0.15], 'header', { ...est, measuredOn: 'wrist' })).toEqual({ mm: [0.3, 0.3], from: 'estimated', measuredOn: 'wrist', headerMm: [0.15, 0.15] });
    expect(chooseSpacing([0.15, 0.15], 'header', est)).toEqual({ mm: [0.3, 0.3], from: 'estimated', measuredOn: 'hand', headerMm: [0.15, 0.15] });
    expect(chooseSpacing([0.15, 0.15], 'default', { ...est, measuredOn: 'wrist' })).toEqual({ mm: [0.3, 0.3], from: 'estimated', measuredOn: 'wrist' });
    expect(chooseSpacing([0.15, 0.15], 'header', undefined)).toEqual({ mm: [0.15, 0.15], from: 'header' });
    expect(chooseSpacing([0.15, 0.15], 'default', undefined)).toEqual({ mm: [0.15, 0.15], from: 'default' });
  });
});

describe('spacing from the header', () => {
  it('Imager Pixel Spacing is brought to the patient by the estimated magnification factor, where plausible', async () => {
    const { atPatient, decodeDicomImage } = await import('../src/imaging/decode.js');
    const { FIXTURES, makeFixture } = await import('../src/phantom/fixtures.js');
    const { readPart10, writePart10 } = await import('../src/dicom/part10.js');
    expect(atPatient([0.15, 0.15], '1.25')).toEqual([0.12, 0.12]);
    expect(atPatient([0.15, 0.15], undefined)).toEqual([0.15, 0.15]);
    expect(atPatient([0.15, 0.15], 0)).toEqual([0.15, 0.15]);
    expect(atPatient([0.15, 0.15], 7)).toEqual([0.15, 0.15]);
    // through the decoder, from a file that has Imager Pixel Spacing only
    const { dataset } = readPart10((await makeFixture(FIXTURES.find((f) => f.name === 'hand-left-m2-explicit')!, false)).dicom);
    delete dataset.PixelSpacing;
    const ips = dataset.ImagerPixelSpacing as number[];
    const image = await decodeDicomImage(writePart10({ ...dataset, ImagerPixelSpacing: ips, EstimatedRadiographicMagnificationFactor: 1.1 }), 'x.dcm');
    expect(image.pixelSpacingSource).toBe('ImagerPixelSpacing');
    expect(image.pixelSpacingMm[0]).toBeCloseTo(ips[0] / 1.1, 12);
  });
});

/** A phantom fixture's dataset and its true Pixel Spacing, the shipped models and a policy that writes nothing, for analyseObject. */
async function fixtureToAnalyse() {
  const { FIXTURES, makeFixture } = await import('../src/phantom/fixtures.js');
  const { readPart10 } = await import('../src/dicom/part10.js');
  const { analysisPolicy } = await import('../src/pipeline/analyse-object.js');
  const { loadModels } = await import('../src/inference/models.js');
  const { DEFAULT_CONFIG } = await import('../src/config/defaults.js');
  const models = await loadModels(join(dirname(fileURLToPath(import.meta.url)), '..', 'models'), { provider: 'cpu' });
  const { dataset } = readPart10((await makeFixture(FIXTURES.find((f) => f.name === 'hand-left-m2-explicit')!, false)).dicom);
  const policy = analysisPolicy({ ...DEFAULT_CONFIG.analysis, outputs: { sr: false, sc: false, pr: false } });
  return { dataset, truth: (dataset.PixelSpacing as number[]).map(Number), models, policy };
}

describe('a header spacing the hand contradicts', () => {
  it('is set aside, and the log names the file, the attribute, both values and what to check', async () => {
    const { writePart10 } = await import('../src/dicom/part10.js');
    const { analyseObject } = await import('../src/pipeline/analyse-object.js');
    const { captureLogger } = await import('./helpers/inference.js');
    const { dataset, truth, models, policy } = await fixtureToAnalyse();
    // a film resized to 0.7 of its pixels with its spacing carried over: the header says 1.43 times too little
    const { log, lines } = captureLogger();
    const wrong = writePart10({ ...dataset, PixelSpacing: truth.map((v) => v * 0.7) });
    const { analysis } = await analyseObject(wrong, 'resized.dcm', models, policy, log);
    expect(analysis.source.pixelSpacingFrom).toBe('estimated');
    for (const [k, v] of analysis.source.pixelSpacingInHeaderMm!.entries()) expect(v).toBeCloseTo(truth[k] * 0.7, 9);
    expect(analysis.source.pixelSpacingMm![0] / truth[0]).toBeGreaterThan(0.85);
    expect(analysis.source.pixelSpacingMm![0] / truth[0]).toBeLessThan(1.15);
    const warned = lines.filter((l) => l.level === 'warn' && /would make the hand/.test(l.message));
    expect(warned).toHaveLength(1);
    expect(warned[0].message).toMatch(/^resized\.dcm: Pixel Spacing \(0028,0030\) 0\.\d{3} mm would make the hand 1\.\d\d times smaller than an adult hand: graded at 0\.\d{3} mm, the spacing its bone lengths give .*Check the attribute at the modality/);
    // the true header: kept, nothing said
    const kept = captureLogger();
    const right = await analyseObject(writePart10(dataset), 'right.dcm', models, policy, kept.log);
    expect([right.analysis.source.pixelSpacingFrom, right.analysis.source.pixelSpacingInHeaderMm]).toEqual(['header', undefined]);
    expect(kept.lines.filter((l) => /would make the hand/.test(l.message))).toEqual([]);
  }, 60_000);
});

describe('a header spacing within the tolerance', () => {
  it('measures, while the joints are read at the hand\'s own scale: the same grades, widths in the header\'s mm', async () => {
    const { writePart10 } = await import('../src/dicom/part10.js');
    const { analyseObject } = await import('../src/pipeline/analyse-object.js');
    const { captureLogger } = await import('./helpers/inference.js');
    const { dataset, truth, models, policy } = await fixtureToAnalyse();
    const read = async (factor: number) =>
      (await analyseObject(writePart10({ ...dataset, PixelSpacing: truth.map((v) => v * factor) }), 'film.dcm', models, policy, captureLogger().log)).analysis;
    const [right, off] = [await read(1), await read(0.9)];
    for (const a of [right, off]) expect(a.source.pixelSpacingFrom).toBe('header');
    expect(off.source.pixelSpacingMm![0]).toBeCloseTo(truth[0] * 0.9, 9);
    // the hand's scale comes from its bone lengths, whatever the header says
    expect(right.source.jointsReadAtMm![0] / truth[0]).toBeGreaterThan(0.8);
    expect(off.source.jointsReadAtMm).toEqual(right.source.jointsReadAtMm);
    const joints = (a: typeof right) => a.hands.flatMap((h) => h.joints);
    const grades = (a: typeof right) => joints(a).map((j) => [j.site, j.jsn?.grade, j.erosion?.grade, j.kl?.grade, j.notGraded?.cause]);
    expect(joints(right).length).toBeGreaterThan(15);
    expect(grades(off)).toEqual(grades(right));
    const widths = joints(right).filter((j) => j.jswMm !== undefined);
    expect(widths.length).toBeGreaterThan(5);
    for (const j of widths) expect(joints(off).find((o) => o.site === j.site)!.jswMm).toBeCloseTo(j.jswMm! * 0.9, 1);
  }, 60_000);
});
