import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HandAnalysis } from '../src/analysis/hand-analysis.js';
import { runReferenceEval } from '../src/cli/eval.js';
import { groupAgreement, jointGroupOf, pairFilms, readReference, referenceAgreement, referenceJointCsv, referenceJointRows } from '../src/eval/reference.js';
import { readDicomImage } from '../src/imaging/decode.js';
import { readPart10, writePart10 } from '../src/dicom/part10.js';
import { toDisplay } from '../src/imaging/preprocess.js';
import { FIXTURES, makeFixture } from '../src/phantom/fixtures.js';
import { runTool } from './helpers/dicom-tools.js';
import { totalsOf } from './helpers/totals.js';

/**
 * Real-film references as sites hold them (RA2-DREAM's per-patient columns, a plain
 * per-joint table) round-trip, and `eval --reference` scores the models against them.
 */
let work: string;
let truth: HandAnalysis;

const RA2_COLUMNS: [string, string, 'jsn' | 'erosion'][] = [
  ['mcp_J__2', 'MCP2', 'jsn'], ['mcp_J__3', 'MCP3', 'jsn'], ['pip_J__4', 'PIP4', 'jsn'], ['wrist_J__radcar', 'RC', 'jsn'],
  ['wrist_J__mna', 'STT', 'jsn'], ['mcp_E__ip', 'IP1', 'erosion'], ['pip_E__2', 'PIP2', 'erosion'], ['wrist_E__mc1', 'CMC1', 'erosion'],
];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'jointscore-reference-'));
  const def = FIXTURES.find((f) => f.name === 'hand-left-m2-explicit')!;
  const art = await makeFixture(def, false);
  truth = art.truth;
  writeFileSync(join(work, 'hand.dcm'), art.dicom);
  const display = toDisplay(await readDicomImage(join(work, 'hand.dcm')));
  const grey = Buffer.from(display.data.map((v) => Math.round(v * 255)));
  mkdirSync(join(work, 'films'));
  await sharp(grey, { raw: { width: display.columns, height: display.rows, channels: 1 } }).png().toFile(join(work, 'films', 'P001-LH.png'));
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

const gradeOf = (site: string, score: 'jsn' | 'erosion' | 'kl') => truth.hands[0].joints.find((j) => j.site === site)?.[score]?.grade;

function ra2Csv(zero: boolean): string {
  const cols = RA2_COLUMNS.map(([c]) => `LH_${c}`);
  const values = RA2_COLUMNS.map(([, site, score]) => (zero ? 0 : gradeOf(site, score)));
  return `Patient_ID,Overall_Tol,${cols.join(',')},RH_mcp_J__2\nP001,0,${values.join(',')},\n`;
}

function plainCsv(films = ['P001-LH.png']): string {
  const rows = films.flatMap((film) => truth.hands[0].joints.map((j) => `${film},L-${j.site},${j.jsn?.grade ?? ''},${j.erosion?.grade ?? ''},${j.kl?.grade ?? ''},${j.jswMm ?? ''}`));
  return ['file,site,jsn,erosion,kl,jsw_mm', ...rows].join('\n') + '\n';
}

describe('real-film references', () => {
  it('read both layouts back into the same joints', () => {
    const ra2 = readReference(ra2Csv(false));
    expect(ra2.format).toBe('ra2-dream');
    expect(ra2.films.map((f) => [f.film, f.laterality])).toEqual([['P001-LH', 'L']]); // RH has no scores
    for (const [, site, score] of RA2_COLUMNS) expect(ra2.films[0].joints.get(site as never)?.[score]).toBe(gradeOf(site, score));
    const plain = readReference(plainCsv());
    expect(plain.format).toBe('plain');
    expect(plain.films[0].film).toBe('P001-LH');
    expect(plain.films[0].joints.size).toBe(truth.hands[0].joints.length);
    for (const j of truth.hands[0].joints) {
      expect(plain.films[0].joints.get(j.site)).toEqual({
        ...(j.jsn ? { jsn: j.jsn.grade } : {}), ...(j.erosion ? { erosion: j.erosion.grade } : {}), ...(j.kl ? { kl: j.kl.grade } : {}),
        ...(j.jswMm !== undefined ? { jswMm: j.jswMm } : {}),
      });
    }
    // the phantom's truth has a width at each finger joint (14 a hand), none elsewhere
    expect([...plain.films[0].joints.values()].filter((j) => j.jswMm !== undefined)).toHaveLength(14);
  });

  it('RA2-DREAM wrist erosion bones land on the carpal site that shows them, the worse bone counting', () => {
    const cols = ['wrist_E__mul', 'wrist_E__nav', 'wrist_E__lunate', 'wrist_E__radius', 'wrist_E__ulna'];
    const film = readReference(`Patient_ID,${cols.map((c) => `RH_${c}`).join(',')}\nP2,1,3,2,0,4\n`).films[0];
    expect(film.film).toBe('P2-RH');
    expect([...film.joints].map(([site, j]) => [site, j.erosion])).toEqual([['STT', 1], ['CSL', 3], ['RC', 4]]);
  });

  it('refuses an unknown layout and a bad grade, naming the row and column', () => {
    expect(() => readReference('a,b\n1,2\n')).toThrow(/unknown reference layout/);
    expect(() => readReference('file,site,jsn\nx.png,MCP2,two\n', 'scores.csv')).toThrow(/scores\.csv row 2, jsn: "two" is not a grade/);
    expect(() => readReference('file,site,jsn\nx.png,MCP9,1\n')).toThrow(/site "MCP9" is not one of/);
    expect(() => readReference('file,site,jsn,jsw_mm\nx.png,RC,1,1.5\n', 'w.csv')).toThrow(/w\.csv row 2, jsw_mm: a joint space width is read at the finger joints only/);
    expect(() => readReference('file,site,jsn,jsw_mm\nx.png,MCP2,1,wide\n', 'w.csv')).toThrow(/w\.csv row 2, jsw_mm: "wide" is not a joint space width in mm/);
  });

  it('agreement: the truth against itself is perfect, and the all-zero share counts what is called', () => {
    const films = readReference(plainCsv()).films;
    const perfect = referenceAgreement(films, new Map([['P001-LH', truth]]));
    expect(perfect.scores.jsn.accuracy).toBe(1);
    expect(perfect.coverage.share).toBe(1);
    expect(perfect.width).toEqual({ n: 14, maeMm: 0, biasMm: 0, correlation: expect.closeTo(1, 9) });
    // the grade-0 baseline on the same joints: the share the reference scores 0 (and 0-1)
    const jsn = films.flatMap((f) => [...f.joints.values()].map((j) => j.jsn)).filter((g): g is number => g !== undefined);
    expect(perfect.scores.jsn.n).toBe(jsn.length);
    expect(perfect.scores.jsn.allZero.accuracy).toBeCloseTo(jsn.filter((g) => g === 0).length / jsn.length, 12);
    expect(perfect.scores.jsn.allZero.withinOne).toBeCloseTo(jsn.filter((g) => g <= 1).length / jsn.length, 12);
    expect(perfect.scores.jsn.allZero.accuracy).toBeLessThan(1);
    const zero = referenceAgreement(readReference(ra2Csv(true)).films, new Map([['P001-LH', truth]]));
    expect(zero.allZeroFilms.films).toBe(1);
    expect(zero.allZeroFilms.joints).toBe(truth.hands[0].joints.length);
    // the hand's pattern: the truth against itself agrees; against an all-zero reference the
    // phantom's diseased hand counts as a pattern said where the reference sees none
    expect(perfect.pattern).toMatchObject({ hands: 1, agreed: 1, share: 1 });
    expect(perfect.pattern.confusion[totalsOf(truth.hands[0].summary).pattern]).toEqual({ [totalsOf(truth.hands[0].summary).pattern]: 1 });
    expect(totalsOf(truth.hands[0].summary).pattern).not.toBe('normal');
    expect(zero.pattern.allZero).toEqual({ hands: 1, notNormal: 1 });
    // (the RA2-DREAM columns give JSN and erosion only: the hand's pattern on them is RA-like, whatever its KL)
    expect(zero.pattern.confusion).toEqual({ normal: { 'RA-like': 1 } });
    expect(zero.scores.jsn.n).toBeGreaterThan(0);
  });

  it('by joint group: which joints the models read higher or lower than the reference', () => {
    const row = (site: string, score: 'jsn' | 'erosion' | 'kl', reference: number, predicted?: number) =>
      ({ film: 'f', site, score, reference, ...(predicted !== undefined ? { predicted } : {}), outcome: predicted === undefined ? 'joint not found' : 'graded' });
    const groups = groupAgreement([
      row('L-MCP2', 'jsn', 0, 2), row('L-MCP3', 'jsn', 1, 1), row('R-MCP5', 'jsn', 2, 1), row('MCP1', 'jsn', 0, 0),
      row('L-PIP3', 'jsn', 2, 0), row('L-DIP2', 'kl', 3, 3), row('L-STT', 'erosion', 1), row('L-RC', 'erosion', 2, 3),
    ]);
    expect(groups.map((g) => [g.score, g.group, g.n])).toEqual([
      ['jsn', 'MCP2-5', 3], ['jsn', 'PIP', 1], ['jsn', 'thumb', 1], ['erosion', 'wrist', 1], ['kl', 'DIP', 1],
    ]);
    // MCP2-5: 0 -> 2, 1 -> 1, 2 -> 1: one exact, two within one, read higher by (2 + 0 - 1) / 3
    expect(groups[0]).toEqual({ score: 'jsn', group: 'MCP2-5', n: 3, accuracy: 1 / 3, withinOne: 2 / 3, mae: 1, bias: 1 / 3 });
    expect(groups[1]).toMatchObject({ group: 'PIP', accuracy: 0, withinOne: 0, bias: -2 });
    expect(jointGroupOf('CMC1')).toBe('thumb');
    expect(jointGroupOf('CMC4')).toBe('CMC3-5');
    expect(jointGroupOf('CSL')).toBe('wrist');
    // in the agreement, over the rows graded by both: the truth against itself has no bias anywhere
    const perfect = referenceAgreement(readReference(plainCsv()).films, new Map([['P001-LH', truth]]));
    expect(perfect.byGroup.length).toBeGreaterThan(3);
    expect(perfect.byGroup.every((g) => g.accuracy === 1 && g.bias === 0)).toBe(true);
    expect(perfect.byGroup.reduce((n, g) => n + (g.score === 'jsn' ? g.n : 0), 0)).toBe(perfect.scores.jsn.n);
  });

  it('joint by joint: each referenced score beside its prediction, or why there is none', () => {
    const films = readReference(ra2Csv(false)).films;
    const rows = referenceJointRows(films, new Map([['P001-LH', truth]]));
    expect(rows).toHaveLength(RA2_COLUMNS.length);
    for (const [, site, score] of RA2_COLUMNS) {
      const row = rows.find((r) => r.site === `L-${site}` && r.score === score)!;
      expect(row).toMatchObject({ film: 'P001-LH', reference: gradeOf(site, score), predicted: gradeOf(site, score), outcome: 'graded' });
    }
    // a joint not graded keeps its cause; a film without an analysis says why, where known
    // (as the grader reports it: a joint not graded carries no grades)
    const notGradedMcp2 = ({ jsn: _j, erosion: _e, kl: _k, ...j }: HandAnalysis['hands'][number]['joints'][number]) => ({ ...j, notGraded: { cause: 'metal' as const, reason: 'a wire' } });
    const abstained: HandAnalysis = { ...truth, hands: [{ ...truth.hands[0], joints: truth.hands[0].joints.map((j) => (j.site === 'MCP2' ? notGradedMcp2(j) : j)) }] };
    const mcp2 = referenceJointRows(films, new Map([['P001-LH', abstained]])).find((r) => r.site === 'L-MCP2')!;
    expect(mcp2).toEqual({ film: 'P001-LH', site: 'L-MCP2', score: 'jsn', reference: gradeOf('MCP2', 'jsn'), outcome: 'not graded (metal)' });
    expect(referenceAgreement(films, new Map([['P001-LH', abstained]])).coverage.graded).toBe(RA2_COLUMNS.length - 1);
    const noHand: HandAnalysis = { ...truth, hands: [], notGraded: [{ laterality: 'L', cause: 'immature', reason: 'open growth plates' }] };
    expect(new Set(referenceJointRows(films, new Map([['P001-LH', noHand]])).map((r) => r.outcome))).toEqual(new Set(['no hand graded (immature)']));
    const none = referenceJointRows(films, new Map(), new Map([['P001-LH', 'no image']]));
    expect(none.every((r) => r.outcome === 'film not analysed (no image)' && r.predicted === undefined)).toBe(true);
    const csv = referenceJointCsv([{ film: 'a,b', site: 'L-MCP2', score: 'jsn', reference: 2, outcome: 'joint not found' }]);
    expect(csv).toBe('film,site,score,reference,predicted,outcome\n"a,b",L-MCP2,jsn,2,,joint not found\n');
  });

  it('pairs films with images by name: the films without an image, the images not named, the names two images share', () => {
    const { films } = readReference(ra2Csv(true));
    expect(films.map((f) => f.film)).toEqual(['P001-LH']);
    expect(pairFilms(films, ['/x/P001-LH.PNG'])).toEqual({ missing: [], unreferenced: [], sharedNames: [] });
    expect(pairFilms(films, ['/x/P001.png', 'y/P001-LH.dcm', 'z/P001-LH.jpg', 'P002-RH.jpeg'])).toEqual({
      missing: [],
      unreferenced: ['P001', 'P002-RH'],
      sharedNames: ['P001-LH'],
    });
    expect(pairFilms(films, ['P001.png']).missing).toEqual(['P001-LH']);
  });

  it('eval --reference lists the reference films it found no image for in its report', async () => {
    writeFileSync(join(work, 'scores-missing.csv'), plainCsv(['P001-LH.png', 'P404-LH.png']));
    const r = await runReferenceEval({ reference: join(work, 'scores-missing.csv'), images: join(work, 'films'), spacing: 0.2, out: join(work, 'out-missing'), provider: 'cpu' });
    expect(r.agreement!.films).toBe(2);
    expect(r.agreement!.analysed).toBe(1);
    expect(r.agreement!.pairing).toEqual({ missing: ['P404-LH'], unreferenced: [], sharedNames: [] });
    expect(readFileSync(r.markdown, 'utf8')).toMatch(/Reference films without an image \(not analysed; .*: 1\n\n- P404-LH\n/);
    expect(JSON.parse(readFileSync(r.json, 'utf8')).pairing.missing).toEqual(['P404-LH']);
    const joints = readFileSync(join(work, 'out-missing', 'reference-joints.csv'), 'utf8').trim().split('\n');
    expect(joints[0]).toBe('film,site,score,reference,predicted,outcome');
    expect(joints.filter((l) => l.startsWith('P404-LH,')).every((l) => l.endsWith(',,film not analysed (no image)'))).toBe(true);
    expect(joints.filter((l) => l.startsWith('P001-LH,') && l.endsWith(',graded')).length).toBe(r.agreement!.coverage.graded);
  }, 120_000);

  it('eval --reference runs the models on the films and writes the report', async () => {
    writeFileSync(join(work, 'scores.csv'), plainCsv());
    const out = join(work, 'out');
    const r = await runReferenceEval({ reference: join(work, 'scores.csv'), images: join(work, 'films'), spacing: 0.2, out, provider: 'cpu' });
    expect(r.agreement!.analysed).toBe(1);
    expect(r.agreement!.coverage.share).toBeGreaterThan(0.8);
    expect(r.agreement!.scores.jsn.withinOne).toBeGreaterThan(0.7);
    const md = readFileSync(r.markdown, 'utf8');
    expect(md).toMatch(/\| jsn \| \d+ \|.* \| [\d.]+ % \/ [\d.]+ % \|$/m);
    // by joint group, each row the agreement's
    for (const g of r.agreement!.byGroup) expect(md).toContain(`| ${g.score} | ${g.group} | ${g.n} |`);
    expect(md).toMatch(/\| jsn \| MCP2-5 \| \d+ \| [\d.]+ % \| [\d.]+ % \| [\d.]+ \| [+-][\d.]+ \|$/m);
    // the grader measures the phantom's joint spaces near their true widths (0.6-1.6 mm here)
    expect(r.agreement!.width!.n).toBeGreaterThan(10);
    expect(r.agreement!.width!.maeMm).toBeLessThan(0.2);
    expect(r.agreement!.width!.correlation!).toBeGreaterThan(0.5);
    expect(md).toMatch(/Joint space width \(the reference's jsw_mm\): \d+ joints measured by both/);
    expect(md).toMatch(/Hand pattern .*: [01] of 1 hands agree/);
    expect(JSON.parse(readFileSync(r.json, 'utf8')).format).toBe('plain');
  }, 120_000);

  it('eval --reference finds a DICOM film exported under any name by its SOP Instance UID', async () => {
    const dir = join(work, 'films-uid');
    mkdirSync(dir);
    copyFileSync(join(work, 'hand.dcm'), join(dir, 'IM0001'));
    const uid = readPart10(readFileSync(join(work, 'hand.dcm'))).dataset.SOPInstanceUID as string;
    writeFileSync(join(work, 'scores-uid.csv'), plainCsv([uid]));
    const r = await runReferenceEval({ reference: join(work, 'scores-uid.csv'), images: dir, out: join(work, 'out-uid'), provider: 'cpu' });
    expect(r.agreement!.analysed).toBe(1);
    expect(r.agreement!.pairing).toEqual({ missing: [], unreferenced: [], sharedNames: [] });
    expect(r.agreement!.coverage.share).toBeGreaterThan(0.8);
  }, 120_000);

  it('eval --reference leaves a DICOMDIR out of the pairing: it is no film the reference could name', async () => {
    const dir = join(work, 'films-media');
    mkdirSync(join(dir, 'IMG'), { recursive: true });
    copyFileSync(join(work, 'films', 'P001-LH.png'), join(dir, 'P001-LH.png'));
    copyFileSync(join(work, 'hand.dcm'), join(dir, 'IMG', 'IM1'));
    const made = runTool('dcmmkdir', ['--output-file', join(dir, 'DICOMDIR'), '--input-directory', dir, 'IMG/IM1']);
    expect(made.status, made.stderr).toBe(0);
    writeFileSync(join(work, 'scores-media.csv'), plainCsv());
    const r = await runReferenceEval({ reference: join(work, 'scores-media.csv'), images: dir, spacing: 0.2, out: join(work, 'out-media'), provider: 'cpu' });
    expect(r.agreement!.analysed).toBe(1);
    expect(r.agreement!.notSelected.map((n) => [n.file, n.rule])).toEqual([['DICOMDIR', 'no-pixel-data']]);
    expect(r.agreement!.pairing).toEqual({ missing: [], unreferenced: ['IM1'], sharedNames: [] });
  }, 120_000);

  it("eval --reference skips a DICOM film as the node's selection would, says why, and counts its joints against coverage", async () => {
    const dir = join(work, 'films-views');
    mkdirSync(dir);
    copyFileSync(join(work, 'films', 'P001-LH.png'), join(dir, 'P001-LH.png'));
    const { meta, dataset } = readPart10(readFileSync(join(work, 'hand.dcm')));
    // (the fixture's View Code Sequence says postero-anterior: a header contradicting itself declares nothing)
    dataset.ViewPosition = 'LL';
    dataset.ViewCodeSequence = [{ CodeValue: 'L', CodingSchemeDesignator: '99LOCAL', CodeMeaning: 'lateral' }];
    writeFileSync(join(dir, 'P002-LH.dcm'), writePart10(dataset, meta.TransferSyntaxUID));
    writeFileSync(join(work, 'scores2.csv'), plainCsv(['P001-LH.png', 'P002-LH.dcm']));
    const run = (out: string, config?: string) =>
      runReferenceEval({ reference: join(work, 'scores2.csv'), images: dir, spacing: 0.2, out: join(work, out), provider: 'cpu', config });
    const r = await run('out-views');
    expect(r.agreement!.analysed).toBe(1);
    expect(r.agreement!.notSelected).toEqual([
      { file: 'P002-LH.dcm', rule: 'declared-view', reason: expect.stringMatching(/^View Position \(0018,5101\) "LL" and View Code Sequence \(0054,0220\) "lateral" declare a lateral view/) },
    ]);
    expect(r.agreement!.coverage.share).toBeLessThan(0.55);
    expect(readFileSync(r.markdown, 'utf8')).toMatch(/Films the node's selection skips .*: 1\n\n- P002-LH\.dcm: declared-view: View Position/);
    expect(JSON.parse(readFileSync(r.json, 'utf8')).notSelected).toHaveLength(1);
    // a site whose configuration leaves the view to the pixels grades it
    const config = join(work, 'views.yaml');
    writeFileSync(config, 'selection:\n  skipDeclaredViews: []\n');
    const all = await run('out-views-all', config);
    expect(all.agreement!.analysed).toBe(2);
    expect(all.agreement!.notSelected).toEqual([]);
  }, 180_000);
});
