import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HandAnalysis } from '../src/analysis/hand-analysis.js';
import { runReferenceEval } from '../src/cli/eval.js';
import { filmScore, labelAgreement, readFilmLabels } from '../src/eval/film-labels.js';
import { localisationAgreement, readJointPoints, siteOfLabel } from '../src/eval/points.js';
import { readDicomImage } from '../src/imaging/decode.js';
import { toDisplay } from '../src/imaging/preprocess.js';
import { FIXTURES, makeFixture } from '../src/phantom/fixtures.js';

/**
 * Issue 9's other real-film forms: joint points a site's readers placed (labelme JSON or a CSV)
 * scored as PCK@0.1 of MCP2-MCP5, and per-film labels ("erosive") scored as the AUC of the
 * film's scores. The fixtures are made here: a phantom hand as a PNG, its true joints as
 * points, its truth graded against labels.
 */
let work: string;
let truth: HandAnalysis;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'jointscore-points-'));
  const art = await makeFixture(FIXTURES.find((f) => f.name === 'hand-left-m2-explicit')!, false);
  truth = art.truth;
  writeFileSync(join(work, 'hand.dcm'), art.dicom);
  const display = toDisplay(await readDicomImage(join(work, 'hand.dcm')));
  mkdirSync(join(work, 'films'));
  const png = sharp(Buffer.from(display.data.map((v) => Math.round(v * 255))), { raw: { width: display.columns, height: display.rows, channels: 1 } }).png();
  await png.clone().toFile(join(work, 'films', 'P001-LH.png'));
  await png.clone().toFile(join(work, 'films', 'P002-LH.png'));
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

const labelme = (imagePath: string, shapes: { label: string; points: number[][]; shape_type?: string }[]) =>
  JSON.stringify({ version: '5.4.1', flags: {}, shapes: shapes.map((s) => ({ shape_type: 'point', group_id: null, flags: {}, ...s })), imagePath, imageData: null });

describe('joint points', () => {
  it('reads labelme and CSV alike: sites with or without a side and case, other shapes and labels left out and counted', () => {
    expect(siteOfLabel('MCP2')).toEqual({ site: 'MCP2' });
    expect(siteOfLabel('l_mcp2')).toEqual({ laterality: 'L', site: 'MCP2' });
    expect(siteOfLabel('R-PIP 3')).toEqual({ laterality: 'R', site: 'PIP3' });
    expect(siteOfLabel('csl')).toEqual({ site: 'CSL' });
    expect(siteOfLabel('ruler')).toBeUndefined();
    expect(siteOfLabel('MCP9')).toBeUndefined();
    const json = labelme('../images/P001-LH.jpg', [
      { label: 'L-MCP2', points: [[10, 20]] },
      { label: 'mcp5', points: [[40, 22]] },
      { label: 'ruler', points: [[0, 0]] },
      { label: 'MCP3', points: [[1, 1], [2, 2]], shape_type: 'line' },
    ]);
    const csv = 'file,site,x,y\nP002-RH.png,R-DIP2,5.5,6\nP002-RH.png,note,1,1\n';
    const p = readJointPoints([{ name: 'a.json', text: json }, { name: 'b.csv', text: csv }]);
    expect(p.films.map((f) => [f.film, f.laterality, [...f.points]])).toEqual([
      ['P001-LH', 'L', [['MCP2', { x: 10, y: 20 }], ['MCP5', { x: 40, y: 22 }]]],
      ['P002-RH', 'R', [['DIP2', { x: 5.5, y: 6 }]]],
    ]);
    expect(p.ignored).toEqual({ ruler: 1, note: 1 });
    // one row per image, <site>_x and <site>_y pairs; the thumb's IP and MP as many sets name them
    const wide = readJointPoints([{ name: 'w.csv', text: 'img_id,IP_x,MP_x,MCP2_x,W1_x,IP_y,MP_y,MCP2_y,W1_y\nH1.png,1,2,3,4,5,6,7,8\nH2.png,,,9,,,,10,\n' }]);
    expect(wide.films.map((f) => [f.film, [...f.points]])).toEqual([
      ['H1', [['IP1', { x: 1, y: 5 }], ['MCP1', { x: 2, y: 6 }], ['MCP2', { x: 3, y: 7 }]]],
      ['H2', [['MCP2', { x: 9, y: 10 }]]],
    ]);
    expect(wide.ignored).toEqual({ W1: 1 });
    expect(() => readJointPoints([{ name: 'c.csv', text: 'file,site,x\nA,MCP2,1\n' }])).toThrow(/c\.csv: expected the columns file,site,x,y/);
    expect(() => readJointPoints([{ name: 'd.csv', text: 'file,site,x,y\nA,MCP2,1,\n' }])).toThrow(/d\.csv row 2: MCP2: the point is not two numbers/);
    expect(() => readJointPoints([{ name: 'e.json', text: '{"x": 1}' }])).toThrow(/e\.json: no "shapes" list/);
  });

  it('PCK@0.1: a joint within a tenth of the labelled MCP2-MCP5 distance counts; farther, or not found, does not', () => {
    const at = Object.fromEntries(truth.hands[0].joints.map((j) => [j.site, j]));
    const span = Math.hypot(at.MCP2.x - at.MCP5.x, at.MCP2.y - at.MCP5.y);
    const films = readJointPoints([{
      name: 'p.csv',
      text: ['file,site,x,y', `F,L-MCP2,${at.MCP2.x},${at.MCP2.y}`, `F,L-MCP5,${at.MCP5.x},${at.MCP5.y}`,
        `F,L-PIP3,${at.PIP3.x + 0.09 * span},${at.PIP3.y}`, `F,L-DIP3,${at.DIP3.x + 0.11 * span},${at.DIP3.y}`, 'G,MCP2,1,1'].join('\n'),
    }]).films;
    const found = { ...truth, hands: [{ ...truth.hands[0], joints: truth.hands[0].joints.filter((j) => j.site !== 'MCP5') }] };
    const a = localisationAgreement(films, new Map([['F', found], ['G', truth]]));
    // G has no MCP5 labelled: no scale, so out of PCK; F: MCP2 and PIP3 in, DIP3 too far, MCP5 not found
    expect(a).toMatchObject({ films: 2, joints: 5, scaled: 4, withinTenth: 2, notFound: 1, pck: 0.5 });
    expect(a.byGroup).toEqual([
      { group: 'MCP2-5', scaled: 2, withinTenth: 1, pck: 0.5 },
      { group: 'PIP', scaled: 1, withinTenth: 1, pck: 1 },
      { group: 'DIP', scaled: 1, withinTenth: 0, pck: 0 },
    ]);
  });
});

describe('per-film labels', () => {
  it('reads file,<label>... with 0, 1 or empty, and scores each film by its largest expected grade', () => {
    const l = readFilmLabels('file,erosive,ra\nA.png,1,\nB.dcm,0,1\n');
    expect(l).toEqual({ labels: ['erosive', 'ra'], films: [{ film: 'A', values: { erosive: 1 } }, { film: 'B', values: { erosive: 0, ra: 1 } }] });
    expect(() => readFilmLabels('file,erosive\nA,yes\n', 'l.csv')).toThrow(/l\.csv row 2, erosive: "yes" is not 0 or 1/);
    const e = (p: number[]) => ({ grade: 0, probabilities: p });
    const hand = (probs: number[][]) => ({ ...truth, hands: [{ ...truth.hands[0], joints: probs.map((p, i) => ({ ...truth.hands[0].joints[i], erosion: e(p) })) }] });
    expect(filmScore(hand([[1, 0, 0, 0, 0, 0], [0.5, 0.5, 0, 0, 0, 0]]), 'erosion')).toBe(0.5);
    const a = labelAgreement(l, new Map([['A', hand([[0, 0, 1, 0, 0, 0]])], ['B', hand([[0.9, 0.1, 0, 0, 0, 0]])]]));
    expect(a[0]).toMatchObject({ label: 'erosive', positives: 1, negatives: 1, read: 2 });
    expect(a[0].auc.erosion).toBe(1);
    expect(a[1].auc.erosion).toBeNull(); // one class only
  });
});

describe('eval with points and labels', () => {
  it('runs the models on the films and reports PCK and AUC, with or without per-joint grades', async () => {
    const jointsOf = truth.hands[0].joints;
    mkdirSync(join(work, 'points'));
    writeFileSync(join(work, 'points', 'P001-LH.json'), labelme('P001-LH.png', jointsOf.map((j) => ({ label: `L-${j.site}`, points: [[j.x, j.y]] }))));
    writeFileSync(join(work, 'points', 'P002-LH.json'), labelme('P002-LH.png', jointsOf.map((j) => ({ label: j.site.toLowerCase(), points: [[j.x + 200, j.y]] }))));
    writeFileSync(join(work, 'labels.csv'), 'file,erosive\nP001-LH,1\nP002-LH,0\n');
    const out = join(work, 'out');
    const r = await runReferenceEval({ points: join(work, 'points'), labels: join(work, 'labels.csv'), images: join(work, 'films'), spacing: 0.2, out, provider: 'cpu' });
    expect(r.agreement).toBeUndefined();
    // P001's points are the true joints: found within a tenth; P002's are moved 200 px (more than a tenth of its span)
    expect(r.localisation).toMatchObject({ films: 2, joints: 2 * jointsOf.length, scaled: 2 * jointsOf.length });
    expect(r.localisation!.withinTenth).toBeGreaterThanOrEqual(jointsOf.length - 1);
    expect(r.localisation!.withinTenth).toBeLessThanOrEqual(jointsOf.length);
    // the same film twice: its scores tie, AUC one half
    expect(r.labels![0]).toMatchObject({ label: 'erosive', positives: 1, negatives: 1, read: 2, auc: { erosion: 0.5 } });
    const md = readFileSync(r.markdown, 'utf8');
    expect(md).toContain('## Where the joints are (your joint points)');
    expect(md).toMatch(/\| MCP2-5 \| 8 \| \d \| [\d.]+ % \|/);
    expect(md).toMatch(/\| erosive \| 1 \/ 1 \| 2 \| 0\.500 \|/);
    const json = JSON.parse(readFileSync(r.json, 'utf8'));
    expect(json.localisation.withinTenth).toBe(r.localisation!.withinTenth);
    expect(json.labelAgreement[0].auc.erosion).toBe(0.5);
    await expect(runReferenceEval({ images: join(work, 'films'), out, provider: 'cpu' })).rejects.toThrow(/--reference \(per-joint grades\), --points \(joint points\) or --labels/);
  }, 120_000);
});
