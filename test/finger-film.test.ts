import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { DEFAULT_MODELS_DIR, fingerNamed, runAnalyze, summaryLine } from '../src/cli/analyze.js';
import { decodeDicomImage } from '../src/imaging/decode.js';
import { toDisplay } from '../src/imaging/preprocess.js';
import { DEFAULT_CONFIG } from '../src/config/defaults.js';
import { readPart10, writePart10, type NaturalDataset } from '../src/dicom/part10.js';
import { loadModels, type Models } from '../src/inference/models.js';
import { analyzeImage } from '../src/inference/analyze.js';
import { analyseObject, analysisPolicy } from '../src/pipeline/analyse-object.js';
import { declaredFinger, digitsOfText } from '../src/pipeline/declared.js';
import { centralFinger } from '../src/inference/finger.js';
import { markerCheck } from '../src/analysis/laterality.js';
import { makePhantom } from '../src/phantom/generate.js';
import { parsePhantomOptions, specFor } from '../src/phantom/options.js';
import { overlayLayout } from '../src/reports/secondary-capture.js';
import { dciodvfy } from './helpers/dicom-tools.js';
import { captureLogger } from './helpers/inference.js';
import { writeFixtures } from './helpers/node.js';
import { readSrQualitativeEvaluations } from './helpers/sr-reader.js';

/**
 * Finger films: a film of one finger shows neither which finger nor whose, so the detectors find
 * no hand on it; where the header names the finger (src/pipeline/declared.ts `declaredFinger`),
 * its DIP, PIP and MCP are read along it (src/inference/finger.ts) and graded as a partial PA view
 * of that finger. Phantom finger films of the held-out partial-view style (`phantom --partial
 * --wide`, and `--wider --any-orientation`: films stored turned), on which the node finds no hand
 * without the header's name.
 */
describe('the finger a header names', () => {
  it('reads the digit from the descriptions radiographers type, a number only beside a word for finger and not counting views', () => {
    const digits = (t: string) => [...digitsOfText(t).digits.keys()];
    expect(digits('R 5TH FINGER')).toEqual([5]);
    expect(digits('INDEX FINGER LT')).toEqual([2]);
    expect(digits('Finger 3 pa')).toEqual([3]);
    expect(digits('DIG IV')).toEqual([4]);
    expect(digits('Ringfinger rechts')).toEqual([4]);
    expect(digits('auriculaire gauche')).toEqual([5]);
    expect(digits('LEFT LONG FINGER')).toEqual([3]);
    expect(digits('XR FINGER(S) 2+ VIEWS')).toEqual([]);
    expect(digits('FINGER 3 VIEWS')).toEqual([]);
    expect(digits('2ND AND 3RD FINGER')).toEqual([2, 3]);
    expect(digitsOfText('SMALL BOWEL').finger).toBe(false);
    expect(digitsOfText('XR HAND 3 VIEWS').finger).toBe(false);
  });

  it('names the finger and its side, or says what is missing and how to fix it', () => {
    expect(declaredFinger({ SeriesDescription: 'R 5TH FINGER' })).toEqual({ finger: { digit: 5, laterality: 'R', says: 'the words "5TH" and "R" in Series Description (0008,103E)' } });
    // the words that name the finger and side are quoted, never the whole text (a description may say more)
    expect(declaredFinger({ SeriesDescription: 'Smith^John left index finger', ImageLaterality: 'L' })).toEqual({ finger: { digit: 2, laterality: 'L', says: 'the word "index" in Series Description (0008,103E) and Image Laterality (0020,0062) "L"' } });
    expect(declaredFinger({ SeriesDescription: 'RIGHT 5TH FINGER', ImageLaterality: 'L' })).toMatchObject({ finger: { laterality: 'L', says: expect.stringContaining('Image Laterality (0020,0062) "L"') } });
    expect(declaredFinger({ AnatomicRegionSequence: [{ CodeValue: '82002001', CodingSchemeDesignator: 'SCT', CodeMeaning: 'Ring finger' }], Laterality: 'R' })).toMatchObject({ finger: { digit: 4, laterality: 'R' } });
    expect(declaredFinger({ BodyPartExamined: 'FINGER', ImageLaterality: 'R' })).toEqual({ unnamed: expect.stringMatching(/names no one finger \(it says finger, no more\).*Series Description \("R 5TH FINGER"/), laterality: 'R' });
    expect(declaredFinger({ SeriesDescription: '2ND AND 3RD FINGER', ImageLaterality: 'R' })).toEqual({ unnamed: expect.stringContaining('its description names several'), laterality: 'R' });
    expect(declaredFinger({ SeriesDescription: 'MIDDLE FINGER PA' })).toEqual({ unnamed: expect.stringMatching(/names no side.*Image Laterality \(0020,0062\)/) });
    expect(declaredFinger({ BodyPartExamined: 'THUMB', ImageLaterality: 'R' })).toEqual({ unnamed: expect.stringContaining('a film of the thumb'), laterality: 'R' });
    expect(declaredFinger({ BodyPartExamined: 'HAND', SeriesDescription: 'PA', ImageLaterality: 'R' })).toBeUndefined();
    // a study's description covers its other series; a hand film's body part outweighs a description
    expect(declaredFinger({ StudyDescription: 'XR HAND AND FINGERS', SeriesDescription: 'PA', ImageLaterality: 'R' })).toBeUndefined();
    expect(declaredFinger({ BodyPartExamined: 'HAND', SeriesDescription: 'HAND AND FINGERS PA', ImageLaterality: 'R' })).toBeUndefined();
    expect(declaredFinger({ BodyPartExamined: 'FINGER', StudyDescription: 'XR LEFT RING FINGER', ImageLaterality: 'L' })).toMatchObject({ finger: { digit: 4, laterality: 'L' } });
    // a digit named by the film's own description counts whatever the body part (a modality's menu may say HAND)
    expect(declaredFinger({ BodyPartExamined: 'HAND', SeriesDescription: 'PA 4TH FINGER', ImageLaterality: 'R' })).toMatchObject({ finger: { digit: 4, laterality: 'R' } });
  });
});

describe('the chain taken for the named finger', () => {
  const chain = (x: number) => ({ joints: { DIP: { x, y: 10, v: 1 }, PIP: { x, y: 20, v: 1 }, MCP: { x, y: 35, v: 1 } }, score: 1 });
  it('is the one nearest the film\'s middle, and none where that one passes further than 0.35 of the width from it (a neighbour)', () => {
    const film = { width: 40, height: 60 };
    expect(centralFinger([chain(8), chain(22)], film)).toEqual(chain(22));
    expect(centralFinger([chain(35)], film)).toBeUndefined(); // 15 of 40 off the middle
    expect(centralFinger([chain(5)], film)).toBeUndefined();
    expect(centralFinger([chain(8)], film)).toEqual(chain(8)); // 12 of 40
  });
});

let work: string;
let models: Models;
const policy = analysisPolicy({ ...DEFAULT_CONFIG.analysis, reportNoHand: true });

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'jointscore-finger-'));
  models = await loadModels(DEFAULT_MODELS_DIR, { provider: 'cpu' });
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Held-out partial-view phantom sets: `phantom --partial --wide` and `--partial --wider --any-orientation` (films stored turned). */
const SETS = {
  wide: { partial: true, wideRanges: true },
  turned: { partial: true, widerRanges: true, anyOrientation: true },
} as const;

/** A held-out partial-view phantom (one whole finger in view) and its truth, its header changed by `header`. */
async function fingerFilm(seed: string, header: NaturalDataset, set: keyof typeof SETS = 'wide') {
  const { dicom, truth } = await makePhantom(specFor(parsePhantomOptions({ seed, ...SETS[set] }), 0), {}, { preview: false });
  const { dataset } = readPart10(dicom);
  const file = join(work, `${seed}-${Object.values(header).join('-').replace(/\W+/g, '_')}.dcm`);
  writeFileSync(file, writePart10({ ...dataset, ...header }));
  return { file, truth: truth.hands[0] };
}

describe('a finger film read by the finger its header names', () => {
  it.each([
    ['9100019', 'PA LITTLE FINGER', 'LITTLE', 'R', 5, 'wide', 0],
    ['9200059', 'PA 3RD FINGER', '3RD', 'L', 3, 'turned', 180],
    // (9200129, the ring finger, was here until its film, lying at a slant, came to be read by the detectors levelled: 6 joints of two fingers)
    ['9200143', 'FINGER 2 PA', '2', 'R', 2, 'turned', 270],
  ] as const)('phantom %s, "%s": its DIP, PIP and MCP on the truth, graded as a partial view; SR and overlay say which finger and why', async (seed, description, word, side, digit, set, turned) => {
    const { file, truth } = await fingerFilm(seed, { SeriesDescription: description, BodyPartExamined: 'FINGER' }, set);
    expect(truth.laterality).toBe(side);
    const { log } = captureLogger();
    const { analysis, display, objects } = await analyseObject(readFileSync(file), file, models, policy, log);
    expect(analysis.hands).toHaveLength(1);
    const hand = analysis.hands[0];
    expect(hand.laterality).toBe(side);
    expect(hand.joints.map((j) => j.site)).toEqual([`DIP${digit}`, `PIP${digit}`, `MCP${digit}`]);
    expect(analysis.source.turnedDeg ?? 0).toBe(turned);
    const spacing = analysis.source.pixelSpacingMm![0];
    for (const j of hand.joints) {
      const t = truth.joints.find((q) => q.site === j.site)!;
      expect(Math.hypot(j.x - t.x, j.y - t.y) * spacing, j.site).toBeLessThan(3);
    }
    // JSN at the PIP and MCP (SvH), KL at all three, where not abstained
    expect(hand.joints.filter((j) => j.site !== `DIP${digit}`).every((j) => j.jsn || j.notGraded)).toBe(true);
    expect(hand.view).toMatchObject({ kind: 'PA-partial', namedBy: `the word "${word}" in Series Description (0008,103E) and Image Laterality (0020,0062) "${side}"` });
    expect(hand.view?.notInView).toHaveLength(18);
    expect(summaryLine('f', analysis)).toMatch(new RegExp(`^f: ${side} hand, ${['', '', 'index', 'middle', 'ring', 'little'][digit]} finger \\(per header\\): 3 joints`));
    const overlay = overlayLayout(display.rows, display.columns, analysis);
    expect(JSON.stringify(overlay)).toContain(`${side === 'L' ? 'Left' : 'Right'} hand, ${['', '', 'index', 'middle', 'ring', 'little'][digit]} finger (per header): 3 joints`);
    const sr = await objects.find((o) => o.kind === 'sr')!.dataset;
    const srFile = `${file}.sr.dcm`;
    writeFileSync(srFile, writePart10(sr));
    const v = dciodvfy(srFile);
    expect(v.errors, v.output).toEqual([]);
    expect(JSON.stringify(sr)).toContain(`read as a finger film: which finger, and whose, as the word \\"${word}\\" in Series Description`);
  }, 120_000);

  it('a PNG of a finger film is read as the finger `analyze --finger` names (at --spacing), as a header would name it', async () => {
    const { file, truth } = await fingerFilm('9100019', {});
    const display = toDisplay(await decodeDicomImage(readFileSync(file), file));
    const png = join(work, 'finger.png');
    writeFileSync(png, await sharp(Buffer.from(display.data.map((v) => Math.round(v * 255))), { raw: { width: display.columns, height: display.rows, channels: 1 } }).png().toBuffer());
    const io = { log: captureLogger().log, models, stdout: () => undefined, stderr: { write: () => true } };
    const spacing = display.pixelSpacingMm[0];
    const plain = await runAnalyze(png, { provider: 'cpu', spacing }, io);
    expect(plain.results[0].analysis.hands).toEqual([]);
    const named = await runAnalyze(png, { provider: 'cpu', spacing, finger: fingerNamed('r5') }, io);
    const hand = named.results[0].analysis.hands[0];
    expect(hand.view?.namedBy).toBe('--finger R5');
    for (const j of hand.joints) {
      const t = truth.joints.find((q) => q.site === j.site)!;
      expect(Math.hypot(j.x - t.x, j.y - t.y) * spacing, j.site).toBeLessThan(3);
    }
    expect(() => fingerNamed('R1')).toThrow(/expected the side and the digit, L or R then 2 \(index\) to 5 \(little\)/);
  }, 120_000);

  it('a film of fingers lying at a slant, unread as it lies, is read levelled by the detectors (no name needed), every joint on the truth', async () => {
    // phantom 9200129: stored turned 270 degrees, its fingers 26 degrees off the film's axes
    const { file, truth } = await fingerFilm('9200129', {}, 'turned');
    const image = await decodeDicomImage(readFileSync(file), file);
    const input = { ...image, sopInstanceUID: '1.2.3' };
    expect((await analyzeImage(input, models, undefined, { levelled: false })).hands).toEqual([]);
    const { hands, source } = await analyzeImage(input, models);
    expect(hands).toHaveLength(1);
    expect(hands[0].view?.kind).toBe('PA-partial');
    expect(hands[0].laterality).toBe(truth.laterality);
    expect(hands[0].joints.length).toBeGreaterThanOrEqual(6);
    for (const j of hands[0].joints) {
      const t = truth.joints.find((q) => q.site === j.site);
      expect(t, `${j.site} is not on the film`).toBeDefined();
      expect(Math.hypot(j.x - t!.x, j.y - t!.y) * source.pixelSpacingMm![0], j.site).toBeLessThan(3);
    }
  }, 120_000);

  it('without the header naming it, the same film is seen as a finger film and not graded; the SR and the log say which attribute to set', async () => {
    const plain = await fingerFilm('9100006', {});
    const bare = (await analyseObject(readFileSync(plain.file), plain.file, models, policy, captureLogger().log)).analysis;
    expect(bare.hands).toEqual([]);
    // seen from the pixels, its side the header's (the phantom writes Image Laterality)
    expect(bare.notGraded).toEqual([{ laterality: 'L', cause: 'view', view: 'finger', reason: expect.stringMatching(/^a finger film: a finger's DIP, PIP and MCP found in line across \d+ % of the film's length .*: the header names no finger; name it at the modality in the Series Description \("R 5TH FINGER"/) }]);
    const unnamed = await fingerFilm('9100006', { BodyPartExamined: 'FINGER' });
    const { log, lines } = captureLogger();
    const { analysis, objects } = await analyseObject(readFileSync(unnamed.file), unnamed.file, models, policy, log);
    expect(analysis.hands).toEqual([]);
    expect(lines.map((l) => l.message)).toContainEqual(expect.stringMatching(/not read as a finger film: a finger film whose header names no one finger .*Anatomic Region Sequence \(0008,2218\)/));
    // the SR a radiologist opens says why, as the job's reason does (the side from Image Laterality)
    expect(analysis.notGraded).toEqual([{ laterality: 'L', cause: 'view', view: 'finger', reason: expect.stringMatching(/^a finger film: .*: its header: a finger film whose header names no one finger/) }]);
    const sr = readPart10(writePart10(await objects[0].dataset)).dataset;
    const texts = readSrQualitativeEvaluations(sr);
    expect(texts.some((e) => /^Finger film \(left hand\) not graded: a finger film: .*its header: a finger film whose header names no one finger/.test(String(e.value)))).toBe(true);
    // the side is the header's, not found by a thumb: no lead-marker cross-check against it
    expect(markerCheck(analysis)).toBeUndefined();
    const srFile = `${unnamed.file}.sr.dcm`;
    writeFileSync(srFile, writePart10(await objects[0].dataset));
    const v = dciodvfy(srFile);
    expect(v.errors, v.output).toEqual([]);
  }, 120_000);

  it('a film the header names a finger on, showing none, stays without a hand, and the log says nothing was found in line', async () => {
    const { 'chest-not-a-hand': chest } = await writeFixtures(join(work, 'chest'), ['chest-not-a-hand']);
    const file = join(work, 'chest-named-finger.dcm');
    writeFileSync(file, writePart10({ ...readPart10(readFileSync(chest)).dataset, SeriesDescription: 'R 3RD FINGER', ImageLaterality: 'R', BodyPartExamined: 'FINGER' }));
    const { log, lines } = captureLogger();
    const { analysis } = await analyseObject(readFileSync(file), file, models, policy, log);
    expect(analysis.hands).toEqual([]);
    expect(lines.map((l) => l.message)).toContainEqual(expect.stringMatching(/the header names a finger \(the word "3RD" in Series Description \(0008,103E\) and Image Laterality \(0020,0062\) "R"\), but no finger's DIP, PIP and MCP were found in line/));
    expect(analysis.notGraded).toContainEqual({ laterality: 'R', cause: 'unrecognised', reason: expect.stringContaining("but no finger's DIP, PIP and MCP were found in line") });
  }, 120_000);
});
