import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { HandAnalysis } from '../src/analysis/hand-analysis.js';
import { listInputs, runAnalyze } from '../src/cli/analyze.js';
import { buildProgram } from '../src/cli/main.js';
import { readPart10, writePart10 } from '../src/dicom/part10.js';
import { DEFAULT_PIXEL_SPACING_MM, readDicomImage } from '../src/imaging/decode.js';
import { FIXTURES, makeFixture } from '../src/phantom/fixtures.js';
import { SPACING_TOLERANCE } from '../src/inference/spacing.js';
import { buildMinimalDx } from './helpers/dx.js';
import { captureLogger, handAnalysisProblems, TINY_MODELS } from './helpers/inference.js';
import { dciodvfy, runTool } from './helpers/dicom-tools.js';

const PICK = ['hand-left-m2-explicit', 'hand-right-m1-j2k', 'hands-both-m2-jpegls'];

async function cli(args: string[]): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  const before = process.exitCode;
  process.exitCode = 0;
  try {
    await buildProgram().exitOverride().parseAsync(['node', 'jointscore', 'analyze', ...args]);
    return { stdout, stderr, exitCode: Number(process.exitCode ?? 0) };
  } finally {
    out.mockRestore();
    err.mockRestore();
    process.exitCode = before;
  }
}

describe('jointscore analyze', () => {
  let dir: string;
  let images: string;
  const uids: Record<string, string> = {};
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'js-analyze-'));
    images = join(dir, 'images');
    mkdirSync(join(images, 'sub'), { recursive: true });
    for (const name of PICK) {
      const a = await makeFixture(FIXTURES.find((f) => f.name === name)!, false);
      // one in a sub-folder: folders are walked, order is by relative path
      const file = name === 'hand-right-m1-j2k' ? join(images, 'sub', `${name}.dcm`) : join(images, `${name}.dcm`);
      writeFileSync(file, a.dicom);
      uids[file] = a.truth.source.sopInstanceUID;
    }
    writeFileSync(join(images, 'notes.txt'), 'not a DICOM file');
    const broken = Buffer.alloc(400);
    broken.write('DICM', 128, 'latin1');
    writeFileSync(join(images, 'broken.dcm'), broken);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(() => vi.restoreAllMocks());

  it('lists the DICOM files of a folder in sorted path order and skips the rest', async () => {
    const { files, skipped, folder } = await listInputs(images);
    expect(folder).toBe(true);
    expect(files.map((f) => f.slice(images.length + 1))).toEqual([
      'broken.dcm', 'hand-left-m2-explicit.dcm', 'hands-both-m2-jpegls.dcm', 'sub/hand-right-m1-j2k.dcm',
    ]);
    expect(skipped.map((f) => f.slice(images.length + 1))).toEqual(['notes.txt']);
  });

  it('a folder: a JSON array of valid HandAnalysis in sorted order, one .json per image, the broken file reported, exit code 1', async () => {
    const out = join(dir, 'out');
    // the tiny untrained detector's "hands" lie anyhow: the PA-view check is off for them
    const conf = join(dir, 'all-views.yaml');
    writeFileSync(conf, 'analysis:\n  paViewsOnly: false\n');
    const r = await cli([images, '--json', '--out', out, '--config', conf, '--models', TINY_MODELS, '--provider', 'cpu']);
    expect(r.exitCode).toBe(1);
    const results = JSON.parse(r.stdout) as HandAnalysis[];
    const good = ['hand-left-m2-explicit.dcm', 'hands-both-m2-jpegls.dcm', 'sub/hand-right-m1-j2k.dcm'].map((f) => join(images, f));
    expect(results.map((a) => a.source.sopInstanceUID)).toEqual(good.map((f) => uids[f]));
    for (const a of results) {
      expect(handAnalysisProblems(a)).toEqual([]);
      expect(a.models.map((m) => m.name)).toEqual(['tiny-heatmap-detector', 'tiny-grader']);
      // the header's 0.2 mm, unless the (tiny, untrained) detector's "hand" contradicts it by more than the tolerance, the header's then kept beside it
      if (a.source.pixelSpacingFrom === 'header') expect(a.source.pixelSpacingMm).toEqual([0.2, 0.2]);
      else {
        expect([a.source.pixelSpacingFrom, a.source.pixelSpacingInHeaderMm]).toEqual(['estimated', [0.2, 0.2]]);
        expect(Math.max(a.source.pixelSpacingMm![0] / 0.2, 0.2 / a.source.pixelSpacingMm![0])).toBeGreaterThan(SPACING_TOLERANCE[a.source.pixelSpacingMeasuredOn!]);
      }
    }
    expect(results[1].source.columns).toBe(2048);
    expect(r.stderr).toContain('1 of 4 file(s) failed');
    expect(r.stderr).toContain(`${join(images, 'broken.dcm')}: `);
    // a decoding error names its file already: the list says it once
    expect(r.stderr).not.toContain(`${join(images, 'broken.dcm')}: ${join(images, 'broken.dcm')}`);
    const objects = (name: string) => [`${name}.json`, `${name}.pr.dcm`, `${name}.sc.dcm`, `${name}.sr.dcm`];
    expect(readdirSync(out).sort()).toEqual([...objects('hand-left-m2-explicit'), ...objects('hands-both-m2-jpegls'), 'sub']);
    // the result objects beside the JSON: valid, and in the source's study
    for (const kind of ['sr', 'sc', 'pr']) {
      const file = join(out, `hand-left-m2-explicit.${kind}.dcm`);
      const verdict = dciodvfy(file);
      expect(verdict.errors, verdict.output).toEqual([]);
      const { dataset } = readPart10(readFileSync(file));
      expect(dataset.StudyInstanceUID).toBe(readPart10(readFileSync(good[0])).dataset.StudyInstanceUID);
    }
    const written = JSON.parse(readFileSync(join(out, 'sub', 'hand-right-m1-j2k.json'), 'utf8')) as HandAnalysis;
    expect(written).toEqual(results[2]);
  });

  it('one file: one JSON object, exit code 0; without --json a summary line', async () => {
    const file = join(images, 'hand-left-m2-explicit.dcm');
    const r = await cli([file, '--json', '--models', TINY_MODELS, '--provider', 'cpu']);
    expect(r.exitCode).toBe(0);
    const a = JSON.parse(r.stdout) as HandAnalysis;
    expect(Array.isArray(a)).toBe(false);
    expect(a.source.sopInstanceUID).toBe(uids[file]);
    const plain = await cli([file, '--models', TINY_MODELS, '--provider', 'cpu']);
    expect(plain.stdout).toMatch(new RegExp(`^${file.replace(/[.]/g, '\\.')}: (no joints found|[LR] hand( \\(partial view\\)|, \\w+ finger \\(per header\\))?: \\d+ joints|(Left|Right) hand not graded: )`));
  });

  it('a missing models folder is one clear error before any image is read', async () => {
    const r = await cli([images, '--json', '--models', join(dir, 'nowhere')]);
    expect(r.exitCode).toBe(3); // the models cannot be used (src/errors.ts)
    expect(r.stderr).toContain(`${join(dir, 'nowhere', 'jointscore-detector', 'manifest.json')}: no manifest here`);
    expect(r.stderr).toContain('check the models folder');
    expect(r.stdout).toBe('');
  });

  it('errors in one file do not stop the others (runAnalyze, progress as log lines when stderr is not a TTY)', async () => {
    const { log, lines } = captureLogger();
    let stdout = '';
    let stderr = '';
    const run = await runAnalyze(images, { models: TINY_MODELS, provider: 'cpu' }, { log, stdout: (t) => (stdout += t), stderr: { isTTY: false, write: (t: string) => (stderr += t) } });
    expect(run.results).toHaveLength(3);
    expect(run.failures).toEqual([{ file: join(images, 'broken.dcm'), reason: expect.stringContaining(join(images, 'broken.dcm')) }]);
    expect(lines.filter((l) => l.message === 'analysed')).toHaveLength(3);
    expect(lines.filter((l) => l.level === 'error')).toHaveLength(1);
    expect(stdout.trim().split('\n')).toHaveLength(3);
    expect(stderr).not.toContain('\r');
  });

  it("a folder exported from a PACS: its DICOMDIR and the node's own results beside the images are skipped with the reason, not failures", async () => {
    const pacs = join(dir, 'pacs');
    mkdirSync(join(pacs, 'IMG'), { recursive: true });
    writeFileSync(join(pacs, 'IMG', 'IM1'), readFileSync(join(images, 'hand-left-m2-explicit.dcm')));
    // DCMTK writes the DICOMDIR, as a PACS export to media does
    const made = runTool('dcmmkdir', ['--output-file', join(pacs, 'DICOMDIR'), '--input-directory', pacs, '--recurse', 'IMG']);
    expect(made.status, made.stderr).toBe(0);
    const conf = join(dir, 'all-views.yaml');
    writeFileSync(conf, 'analysis:\n  paViewsOnly: false\n');
    const quiet = () => ({ log: captureLogger().log, stdout: () => undefined, stderr: { isTTY: false, write: () => true } });
    // the results written into the same folder, as a user re-running analyze over it would find them
    const first = await runAnalyze(pacs, { models: TINY_MODELS, provider: 'cpu', config: conf, out: join(pacs, 'RESULTS') }, quiet());
    expect(first.failures).toEqual([]);
    expect(first.results.map((r) => r.file)).toEqual([join(pacs, 'IMG', 'IM1')]);
    expect(first.notSelected).toEqual([
      { file: join(pacs, 'DICOMDIR'), rule: 'no-pixel-data', reason: 'no Pixel Data (7FE0,0010) in a DICOMDIR (SOP Class 1.2.840.10008.1.3.10): not an image' },
    ]);
    let text = '';
    const again = await runAnalyze(pacs, { models: TINY_MODELS, provider: 'cpu', config: conf }, { ...quiet(), stdout: (t) => (text += t) });
    expect(again.failures).toEqual([]);
    // the summary names what was not analysed and why, after the films that were
    const lines = text.trim().split('\n');
    expect(lines[0].startsWith(`${join(pacs, 'IMG', 'IM1')}: `)).toBe(true);
    expect(lines.slice(1)).toContain(`${join(pacs, 'DICOMDIR')}: not analysed (no-pixel-data): no Pixel Data (7FE0,0010) in a DICOMDIR (SOP Class 1.2.840.10008.1.3.10): not an image`);
    expect(lines.filter((l) => l.includes(': not analysed (own-output): made by this node'))).toHaveLength(3);
    expect(again.results).toHaveLength(1);
    const own = again.notSelected.filter((n) => n.rule === 'own-output').map((n) => n.file.slice(pacs.length + 1)).sort();
    expect(own).toEqual(['RESULTS/IMG/IM1.pr.dcm', 'RESULTS/IMG/IM1.sc.dcm', 'RESULTS/IMG/IM1.sr.dcm']);
  });

  it('with a TTY on stderr, a progress bar instead of per-file log lines', async () => {
    const { log, lines } = captureLogger();
    let stderr = '';
    await runAnalyze(images, { models: TINY_MODELS, provider: 'cpu', json: true }, { log, stdout: () => undefined, stderr: { isTTY: true, write: (t: string) => (stderr += t) } });
    expect(stderr).toContain('\r[');
    expect(stderr).toContain('4/4');
    expect(lines.filter((l) => l.message === 'analysed')).toHaveLength(0);
  });
});

describe('reading DICOM images for analysis', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'js-decode-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, ds: Record<string, unknown>) => {
    const file = join(dir, name);
    writeFileSync(file, writePart10(ds));
    return file;
  };

  it('uses Pixel Spacing, else Imager Pixel Spacing, else a digitised film\'s Nominal Scanned Pixel Spacing, else 0.15 mm with a warning naming the file', async () => {
    const base = buildMinimalDx({}, { rows: 32, columns: 48 });
    const withPs = write('ps.dcm', { ...base, PixelSpacing: ['0.3', '0.25'] });
    const withIps = write('ips.dcm', base);
    const { ImagerPixelSpacing: _drop, ...noSpacing } = base;
    const none = write('none.dcm', noSpacing);
    const scanned = write('scanned.dcm', { ...noSpacing, NominalScannedPixelSpacing: ['0.2', '0.175'] });
    const { log, lines } = captureLogger();
    const a = await readDicomImage(withPs, log);
    expect([a.pixelSpacingMm, a.pixelSpacingSource]).toEqual([[0.3, 0.25], 'PixelSpacing']);
    expect([a.rows, a.columns, a.photometric, a.values.length]).toEqual([32, 48, 'MONOCHROME2', 32 * 48]);
    const b = await readDicomImage(withIps, log);
    expect([b.pixelSpacingMm, b.pixelSpacingSource]).toEqual([[0.1, 0.1], 'ImagerPixelSpacing']);
    const d = await readDicomImage(scanned, log);
    expect([d.pixelSpacingMm, d.pixelSpacingSource]).toEqual([[0.2, 0.175], 'NominalScannedPixelSpacing']);
    expect(lines).toHaveLength(0);
    const c = await readDicomImage(none, log);
    expect(c.pixelSpacingMm).toEqual([DEFAULT_PIXEL_SPACING_MM, DEFAULT_PIXEL_SPACING_MM]);
    expect(lines).toHaveLength(1);
    expect(lines[0].level).toBe('warn');
    expect(lines[0].message).toContain(none);
    expect(lines[0].message).toContain('0.15 mm');
  });

  it('refuses coloured, palette and multi-frame images, naming the file and the attribute', async () => {
    const base = buildMinimalDx({}, { rows: 8, columns: 8 });
    const rgb = write('rgb.dcm', {
      ...base, SamplesPerPixel: 3, PhotometricInterpretation: 'RGB', PlanarConfiguration: 0, BitsAllocated: 8, BitsStored: 8, HighBit: 7,
      PixelData: [Uint8Array.from({ length: 8 * 8 * 3 }, (_, i) => (i % 3 === 0 ? 200 : 50)).buffer], _vrMap: { PixelData: 'OB' },
    });
    // a grey film stored in colour is read (test/colour-stored.test.ts); a coloured one is not
    await expect(readDicomImage(rgb)).rejects.toThrow(`${rgb}: Photometric Interpretation (0028,0004) "RGB" with three samples: 100.0 % of its pixels are coloured`);
    const palette = write('palette.dcm', { ...base, PhotometricInterpretation: 'PALETTE COLOR' });
    await expect(readDicomImage(palette)).rejects.toThrow(`${palette}: Photometric Interpretation (0028,0004) is "PALETTE COLOR" with Samples per Pixel (0028,0002) 1`);
    const frames = write('frames.dcm', { ...base, NumberOfFrames: 2, PixelData: [new Uint8Array(8 * 8 * 2 * 2).buffer] });
    await expect(readDicomImage(frames)).rejects.toThrow(`${frames}: Number of Frames (0028,0008) is 2`);
    const text = join(dir, 'x.txt');
    writeFileSync(text, 'hello');
    await expect(readDicomImage(text)).rejects.toThrow(`${text}: not a DICOM Part 10 file`);
  });

  it('names a transfer syntax nothing here decodes and the fix (a deflated file DCMTK wrote)', async () => {
    const plain = write('to-deflate.dcm', buildMinimalDx({}, { rows: 8, columns: 8 }));
    const deflated = join(dir, 'deflated.dcm');
    const made = runTool('dcmconv', ['+td', plain, deflated]);
    expect(made.status, made.stderr).toBe(0);
    await expect(readDicomImage(deflated)).rejects.toThrow(
      `${deflated}: cannot decode the pixel data: cannot decode pixel data in transfer syntax Deflated Explicit VR Little Endian (1.2.840.10008.1.2.1.99): write the file as Explicit VR Little Endian first (DCMTK: dcmconv +te`,
    );
  });

  it('decodes a compressed fixture to the same stored values as the file says (JPEG-LS)', async () => {
    const a = await makeFixture(FIXTURES.find((f) => f.name === 'hands-both-m2-jpegls')!, false);
    const file = join(dir, 'ls.dcm');
    writeFileSync(file, a.dicom);
    const img = await readDicomImage(file);
    const { dataset } = readPart10(a.dicom);
    expect([img.rows, img.columns]).toEqual([dataset.Rows, dataset.Columns]);
    let max = 0;
    for (const v of img.values) if (v > max) max = v;
    expect(max).toBeLessThan(2 ** dataset.BitsStored);
    expect(max).toBeGreaterThan(0);
  });
});

describe('the one-line summary of analyze', () => {
  it('counts joints not graded and says why a hand was not graded', async () => {
    const { summaryLine } = await import('../src/cli/analyze.js');
    const joint = (site: 'MCP2' | 'MCP3', notGraded?: boolean) => ({
      site, x: 1, y: 1, box: [0, 0, 2, 2] as [number, number, number, number], confidence: 0.9, severity: {},
      ...(notGraded ? { notGraded: { cause: 'uncertain' as const, reason: 'unsure' } } : {}),
    });
    const a = {
      source: { sopInstanceUID: '1.2.3', rows: 10, columns: 10 },
      models: [],
      hands: [{ laterality: 'R' as const, joints: [joint('MCP2'), joint('MCP3', true)], summary: { svhJsn: 0, svhErosion: 0, klSum: 0, pattern: 'normal' as const } }],
      notGraded: [{ laterality: 'L' as const, cause: 'view' as const, reason: 'an oblique view' }],
    };
    expect(summaryLine('f.dcm', a)).toBe('f.dcm: R hand: 2 joints (1 not graded), SvH JSN 0, erosion 0, KL sum 0, normal; Left hand not graded: an oblique view');
    expect(summaryLine('g.dcm', { ...a, hands: [], notGraded: [] })).toBe('g.dcm: no joints found');
  });
});
