import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MODELS_DIR } from '../src/cli/analyze.js';
import { DEFAULT_CONFIG } from '../src/config/defaults.js';
import { readPart10, writePart10, type NaturalDataset } from '../src/dicom/part10.js';
import { decodeDicomImage, type DecodedImage } from '../src/imaging/decode.js';
import { toDisplay } from '../src/imaging/preprocess.js';
import { lutOutput, readLut, toneOf } from '../src/imaging/tone.js';
import { loadModels, type Models } from '../src/inference/models.js';
import { analyseObject, analysisPolicy } from '../src/pipeline/analyse-object.js';
import { runTool } from './helpers/dicom-tools.js';
import { buildMinimalDx } from './helpers/dx.js';
import { captureLogger } from './helpers/inference.js';
import { writeFixtures } from './helpers/node.js';

/**
 * A film whose tone curve is in its header (VOI LUT Sequence, a SIGMOID VOI LUT Function, a
 * negative Rescale Slope) is analysed as a viewer shows it (src/imaging/tone.ts): judged against
 * DCMTK's dcmj2pnm rendering the same file through the same curve, and end to end on a phantom
 * hand stored through a curve's inverse with the curve in its VOI LUT.
 */
let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'jointscore-tone-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const MAX = 4095;
/** a 12-bit square-root curve as a VOI LUT item */
const SQRT_LUT = (() => {
  const lut = new Uint16Array(MAX + 1);
  for (let i = 0; i <= MAX; i++) lut[i] = Math.round(MAX * Math.sqrt(i / MAX));
  return { LUTDescriptor: [MAX + 1, 0, 12], LUTExplanation: 'SQRT', LUTData: [lut.buffer], _vrMap: { LUTDescriptor: 'US', LUTData: 'OW' } };
})();

/** `ds` written and read back as it comes off the wire. */
function file(name: string, ds: NaturalDataset): string {
  const f = join(work, name);
  writeFileSync(f, writePart10(ds));
  return f;
}

/** dcmj2pnm's rendering as numbers in [0, 1] (16-bit PGM). */
function dcmtkRendering(f: string, args: string[]): Float64Array {
  const out = `${f}.pgm`;
  const r = runTool('dcmj2pnm', [...args, '+opw', f, out]);
  expect(r.status, r.stderr).toBe(0);
  const words = readFileSync(out, 'latin1').replace(/#[^\n]*\n/g, ' ').trim().split(/\s+/);
  const max = Number(words[3]);
  return Float64Array.from(words.slice(4), (w) => Number(w) / max);
}

/**
 * The largest distance of `ours` from the straight line best fitting `theirs` to it, where ours is
 * inside the window; Infinity where that line falls (one picture the other's negative).
 */
function worstAfterLine(ours: Float32Array, theirs: Float64Array): number {
  const idx = [...ours.keys()].filter((i) => ours[i] > 0.01 && ours[i] < 0.99);
  const n = idx.length;
  const [sx, sy] = [idx.reduce((a, i) => a + theirs[i], 0), idx.reduce((a, i) => a + ours[i], 0)];
  const sxx = idx.reduce((a, i) => a + theirs[i] ** 2, 0);
  const sxy = idx.reduce((a, i) => a + theirs[i] * ours[i], 0);
  const slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
  const icpt = (sy - slope * sx) / n;
  return slope > 0 ? Math.max(...idx.map((i) => Math.abs(ours[i] - (slope * theirs[i] + icpt)))) : Infinity;
}

const decoded = async (f: string, log = captureLogger().log): Promise<DecodedImage> => decodeDicomImage(readFileSync(f), f, log);

describe('the tone curve in the header', () => {
  it('reads a LUT: entries, first value mapped (signed where its input may be negative), bits; clamps outside it; names what it cannot read', () => {
    const lut = readLut({ LUTDescriptor: [3, 65534, 8], LUTData: [10, 20, 30] }, true);
    expect(lut).toMatchObject({ firstMapped: -2, bits: 8 });
    if (!('data' in lut)) throw new Error('unread');
    expect([lutOutput(lut, -5), lutOutput(lut, -2), lutOutput(lut, -1), lutOutput(lut, 0), lutOutput(lut, 9)]).toEqual([10, 10, 20, 30, 30]);
    expect(readLut({ LUTDescriptor: [4096, 0, 12], LUTData: [1, 2] })).toEqual({ unreadable: expect.stringContaining('LUT Data (0028,3006) holds 2 entries, the LUT Descriptor says 4096') });
    expect(toneOf({ WindowCenter: 100, WindowWidth: 50, VOILUTSequence: [SQRT_LUT] }, false).tone).toBeUndefined(); // the window first, as the presentation state
    expect(toneOf({ RescaleSlope: 2, RescaleIntercept: -1000 }, false).tone).toBeUndefined(); // a straight line: the percentile window does it
    expect(toneOf({ VOILUTSequence: [{ LUTDescriptor: [4096, 0, 12], LUTData: [1] }] }, false).ignored).toMatch(/^VOI LUT Sequence \(0028,3010\): LUT Data/);
  });

  it.each([
    ['a VOI LUT Sequence (square root)', { VOILUTSequence: [SQRT_LUT] }, ['+Wl', '1'], /VOI LUT Sequence \(0028,3010\) "SQRT"/],
    ['a SIGMOID VOI LUT Function', { WindowCenter: 1500, WindowWidth: 1200, VOILUTFunction: 'SIGMOID' }, ['+Wi', '1', '+Wfs'], /VOI LUT Function \(0028,1056\) SIGMOID/],
    ['a negative Rescale Slope', { RescaleSlope: '-1', RescaleIntercept: '4095' }, ['+Wm'], /Rescale Slope \(0028,1053\) -1/],
  ] as const)('shows a film with %s as DCMTK does (one straight line apart); without the curve it does not', async (_what, header, args, says) => {
    const ds: NaturalDataset = { ...buildMinimalDx({ SOPInstanceUID: '1.2.826.0.1.3680043.10.1234.9.9.77' }, { rows: 96, columns: 128 }), ...header };
    if ('VOILUTSequence' in header) {
      delete ds.WindowCenter;
      delete ds.WindowWidth;
    }
    const f = file(`tone-${args[0]}.dcm`, ds);
    const { log, lines } = captureLogger();
    const image = await decoded(f, log);
    expect(lines.map((l) => l.message)).toContainEqual(expect.stringMatching(says));
    const theirs = dcmtkRendering(f, [...args]);
    expect(worstAfterLine(toDisplay(image).data, theirs)).toBeLessThan(0.01);
    const straight = toDisplay({ ...image, tone: undefined }).data;
    expect(worstAfterLine(straight, theirs)).toBeGreaterThan(0.05);
  });
});

describe('a phantom hand stored through a curve, the curve in its VOI LUT', () => {
  let models: Models;
  let original: string;
  let curved: string;
  beforeAll(async () => {
    models = await loadModels(DEFAULT_MODELS_DIR, { provider: 'cpu' });
    original = (await writeFixtures(join(work, 'in'), ['hand-left-m2-explicit']))['hand-left-m2-explicit'];
    // stored values squared (the dark end coarser), a square-root VOI LUT to show them as before
    const { dataset } = readPart10(readFileSync(original));
    const bits = Number(dataset.BitsStored);
    expect(bits).toBe(12);
    const px = new Uint16Array(dataset.PixelData[0].slice(0));
    for (let i = 0; i < px.length; i++) px[i] = Math.round((px[i] * px[i]) / MAX);
    const { WindowCenter: _c, WindowWidth: _w, WindowCenterWidthExplanation: _e, ...rest } = dataset;
    curved = file('hand-curved.dcm', { ...rest, PixelData: [px.buffer], VOILUTSequence: [SQRT_LUT] });
  }, 120_000);

  it('is shown and graded as the film it was', async () => {
    const policy = analysisPolicy({ ...DEFAULT_CONFIG.analysis, outputs: { sr: false, pr: false, sc: false } });
    const before = await analyseObject(readFileSync(original), original, models, policy, captureLogger().log);
    const after = await analyseObject(readFileSync(curved), curved, models, policy, captureLogger().log);
    const diff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
    expect(diff(after.display.data, before.display.data)).toBeLessThan(0.03);
    const grades = (a: typeof before) => a.analysis.hands.flatMap((h) => h.joints.map((j) => `${h.laterality}-${j.site}:${j.jsn?.grade ?? '-'}/${j.erosion?.grade ?? '-'}/${j.kl?.grade ?? '-'}`));
    expect(grades(after)).toEqual(grades(before));
    expect(grades(before).length).toBeGreaterThan(15);
    // read through a straight window, the same file is a different picture
    expect(diff(toDisplay({ ...after.image, tone: undefined }).data, before.display.data)).toBeGreaterThan(0.2);
  }, 120_000);
});
