import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readPart10, writePart10 } from '../src/dicom/part10.js';
import { withSummary } from '../src/analysis/severity.js';
import { sitesNotFound, type HandAnalysis } from '../src/analysis/hand-analysis.js';
import { JOINT_SITES } from '../src/analysis/joints.js';
import { handHeading, overlayLayout, scaleNote, sitesSeen } from '../src/reports/secondary-capture.js';
import { DCM } from '../src/reports/sr/codes.js';
import { buildSrDataset } from '../src/reports/sr/document.js';
import { dciodvfy, runTool } from './helpers/dicom-tools.js';
import { analysis, joint, options, source } from './helpers/sr-fixture.js';
import { isNoHandReport, readSrHandSummaries, readSrJoints, readSrQualitativeEvaluations } from './helpers/sr-reader.js';
import { totalsOf } from './helpers/totals.js';

/**
 * The SR says how the image was read where the header would mislead: a spacing measured
 * from the hand instead of the header's, a hand found turned.
 */
const dir = mkdtempSync(join(tmpdir(), 'jointscore-sr-notes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('reading notes in the SR', () => {
  it('an estimated spacing and a turned hand appear as Comments; dciodvfy and dsrdump read the SR cleanly', () => {
    const read = { ...analysis, source: { ...analysis.source, pixelSpacingMm: [0.312, 0.312] as [number, number], pixelSpacingFrom: 'estimated' as const, turnedDeg: 90 } };
    const file = join(dir, 'sr.dcm');
    writeFileSync(file, writePart10(buildSrDataset(read, source, options)));
    const texts = readSrQualitativeEvaluations(readPart10(readFileSync(file)).dataset).map((e) => String(e.value));
    expect(texts.some((t) => t.startsWith('Pixel spacing estimated from the hand') && t.includes('0.312 mm'))).toBe(true);
    expect(texts.some((t) => t.includes('turning the image 90 degrees clockwise'))).toBe(true);
    expect(texts.some((t) => t.startsWith('Machine-generated result'))).toBe(true);
    const v = dciodvfy(file);
    expect(v.errors, v.output).toEqual([]);
    const dump = runTool('dsrdump', ['+Pl', file]);
    expect(dump.status, dump.stderr).toBe(0);
    expect(dump.stdout).toContain('Pixel spacing estimated from the hand');
    // a wrist-only view measured on its carpus says so
    const wrist = { ...read, source: { ...read.source, pixelSpacingMeasuredOn: 'wrist' as const } };
    const wristTexts = readSrQualitativeEvaluations(buildSrDataset(wrist, source, options)).map((e) => String(e.value));
    expect(wristTexts.some((t) => t.startsWith("Pixel spacing estimated from the distances between the wrist's joints (a wrist-only view"))).toBe(true);
    // pixels that are not square: both spacings said
    const oblong = { ...read, source: { ...read.source, pixelSpacingMm: [0.15, 0.3] as [number, number] } };
    const oblongTexts = readSrQualitativeEvaluations(buildSrDataset(oblong, source, options)).map((e) => String(e.value));
    expect(oblongTexts.some((t) => t.includes('0.150 mm between rows, 0.300 mm between columns'))).toBe(true);
    // a header the hand overruled: its value, and how far off it put the hand
    expect(texts.some((t) => t.includes("the image's header had none."))).toBe(true);
    const overruled = (inHeader: number) => ({ ...read, source: { ...read.source, pixelSpacingInHeaderMm: [inHeader, inHeader] as [number, number] } });
    const noteOf = (a: typeof read) => readSrQualitativeEvaluations(buildSrDataset(a, source, options)).map((e) => String(e.value)).find((t) => t.startsWith('Pixel spacing estimated'));
    expect(noteOf(overruled(0.2))).toBe(
      "Pixel spacing estimated from the hand's bone lengths: 0.312 mm; the header's 0.200 mm would make this hand 1.56 times smaller than an adult hand, so it was set aside. Joints were graded at this scale.",
    );
    expect(noteOf(overruled(0.42))).toContain("the header's 0.420 mm would make this hand 1.35 times the size of an adult hand");
  });

  it('records the view found: a hand read as PA, with its layout residual', () => {
    const pa = structuredClone(analysis);
    pa.hands[0].view = { kind: 'PA', layoutResidual: 0.123, maxResidual: 0.3 };
    const texts = readSrQualitativeEvaluations(buildSrDataset(pa, source, options)).map((e) => String(e.value));
    expect(texts).toContain('Left hand read as a PA view: its joints lie as in a PA view (layout residual 0.12; oblique and lateral views, above 0.3, are not graded).');
  });

  it('says nothing extra when the header spacing was used on an upright hand', () => {
    const plain = { ...analysis, source: { ...analysis.source, pixelSpacingFrom: 'header' as const } };
    const comments = readSrQualitativeEvaluations(buildSrDataset(plain, source, options)).filter((e) => DCM.Comment.equals(e.name));
    expect(comments).toHaveLength(1); // the machine-made notice
  });

  it("opens with each hand's findings: totals, pattern and every joint called mild or severe", () => {
    const evaluations = readSrQualitativeEvaluations(buildSrDataset(analysis, source, options));
    const summaries = evaluations.filter((e) => DCM.Summary.equals(e.name)).map((e) => String(e.value));
    // first, one per hand, before the reading notes and the notice
    expect(evaluations.slice(0, analysis.hands.length).map((e) => e.name.value)).toEqual(analysis.hands.map(() => DCM.Summary.value));
    expect(summaries).toHaveLength(analysis.hands.length);
    const left = totalsOf(analysis.hands[0].summary);
    expect(summaries[0]).toContain(`Left hand: 4 joints found, 4 graded. SvH JSN total ${left.svhJsn}, erosion total ${left.svhErosion}; KL sum ${left.klSum}; pattern ${left.pattern}.`);
    // MCP2 (JSN 2), PIP3 (JSN 3, E5, KL4) and DIP5 (KL2) are called; RC (JSN 0) and MCP2's KL 1 are not
    expect(summaries[0]).toContain('Mild or severe (3): MCP2 JSN2 E0 KL1 (mild); PIP3 JSN3 E5 KL4 (severe); DIP5 KL2 (mild).');
    expect(summaries[0]).not.toContain('RC');
  });

  it("a hand none of whose joints is graded: its findings say so, without totals", () => {
    const coarse = structuredClone(analysis);
    coarse.hands = [withSummary({
      laterality: 'R',
      joints: coarse.hands[0].joints.map(({ jsn: _j, erosion: _e, kl: _k, jswMm: _w, ...j }) => ({ ...j, severity: {}, notGraded: { cause: 'resolution' as const, reason: 'pixels 0.9 mm' } })),
    })];
    const summaries = readSrQualitativeEvaluations(buildSrDataset(coarse, source, options)).filter((e) => DCM.Summary.equals(e.name));
    expect(summaries.map((e) => e.value)).toEqual(['Right hand: 4 joints found, none graded (resolution).']);
  });
});

describe('a joint found but not graded', () => {
  it('keeps its region and confidence, says why in a coded evaluation and a Comment, carries no grades; dciodvfy and dsrdump clean', async () => {
    
    const { withSummary } = await import('../src/analysis/severity.js');
    const a = structuredClone(analysis);
    const left = a.hands[0];
    const pip3 = left.joints.find((j) => j.site === 'PIP3')!;
    delete pip3.jsn;
    delete pip3.erosion;
    delete pip3.kl;
    delete pip3.jswMm;
    pip3.severity = {};
    pip3.notGraded = { cause: 'out-of-view', reason: 'PIP3 lies 2.0 mm from the edge of the image: part of the joint is out of view' };
    a.hands[0] = withSummary(left);
    const file = join(dir, 'joint-not-graded.dcm');
    writeFileSync(file, writePart10(buildSrDataset(a, source, options)));
    const ds = readPart10(readFileSync(file)).dataset;
    const back = readSrJoints(ds).find((j) => j.trackingIdentifier === 'L-PIP3')!;
    expect(back.notGraded).toBe('Joint partly out of view');
    expect([back.jsn, back.erosion, back.kl, back.severity]).toEqual([undefined, undefined, undefined, {}]);
    expect(back.confidence).toBeCloseTo(pip3.confidence, 6);
    expect(readSrJoints(ds).filter((j) => j.notGraded)).toHaveLength(1);
    // the hand's totals leave it out
    expect(readSrHandSummaries(ds).find((h) => h.laterality === 'L')).toMatchObject({ svhJsn: totalsOf(a.hands[0].summary).svhJsn });
    const texts = readSrQualitativeEvaluations(ds).map((e) => String(e.value));
    expect(texts).toContain(`1 of ${left.joints.length} joints found on the left hand were not graded: L-PIP3 (${pip3.notGraded.reason}).`);
    const v = dciodvfy(file);
    expect(v.errors, v.output).toEqual([]);
    const dump = runTool('dsrdump', ['+Pl', file]);
    expect(dump.status, dump.stderr).toBe(0);
    expect(dump.stdout).toContain('Joint partly out of view');
  });

  it('two finger joints found on one spot: both "Joint overlapped by another", the reason in the Comment; dciodvfy clean', async () => {
    const { withSummary } = await import('../src/analysis/severity.js');
    const a = structuredClone(analysis);
    const pair = a.hands[0].joints.filter((j) => j.site === 'MCP2' || j.site === 'PIP3');
    const reason = `${pair[0].site} and ${pair[1].site} were found 0.7 mm apart: one joint space, not two joints (fingers overlapping, or a joint named twice)`;
    for (const j of pair) {
      for (const k of ['jsn', 'erosion', 'kl', 'jswMm'] as const) delete j[k];
      j.severity = {};
      j.notGraded = { cause: 'overlapped', reason };
    }
    a.hands[0] = withSummary(a.hands[0]);
    const file = join(dir, 'joints-overlapped.dcm');
    writeFileSync(file, writePart10(buildSrDataset(a, source, options)));
    const ds = readPart10(readFileSync(file)).dataset;
    expect(readSrJoints(ds).filter((j) => j.notGraded).map((j) => [j.trackingIdentifier, j.notGraded])).toEqual(
      pair.map((j) => [`L-${j.site}`, 'Joint overlapped by another']),
    );
    expect(pair).toHaveLength(2);
    expect(readSrQualitativeEvaluations(ds).map((e) => String(e.value)).join('\n')).toContain(`L-${pair[0].site} (${reason})`);
    const v = dciodvfy(file);
    expect(v.errors, v.output).toEqual([]);
  });

  it('a joint with grades and a reason not to grade it is refused', async () => {
    const a = structuredClone(analysis);
    a.hands[0].joints[0].notGraded = { cause: 'uncertain', reason: 'x' };
    expect(() => buildSrDataset(a, source, options)).toThrow(/a joint not graded carries no grades/);
    // nor a measured width: what cannot be graded is not measured either
    const b = structuredClone(analysis);
    const j = b.hands[0].joints[0];
    delete j.jsn;
    delete j.erosion;
    delete j.kl;
    j.severity = {};
    j.notGraded = { cause: 'uncertain', reason: 'x' };
    expect(j.jswMm).toBeDefined();
    expect(() => buildSrDataset(b, source, options)).toThrow(/L-MCP2: a joint not graded carries no grades and no width/);
  });
});

describe('a report on hands found but not graded', () => {
  it('says "Hand found, not graded" with each reason, not "No hand found"; dciodvfy clean', async () => {
    const { buildNoHandSrDataset } = await import('../src/reports/sr/document.js');
    const none = {
      ...analysis,
      hands: [],
      notGraded: [{ laterality: 'L' as const, reason: 'the joints found do not lie as in a PA view (layout residual 0.47 > 0.3)' }],
    };
    const file = join(dir, 'not-graded.dcm');
    writeFileSync(file, writePart10(buildNoHandSrDataset(none, source, options)));
    const ds = readPart10(readFileSync(file)).dataset;
    const items = readSrQualitativeEvaluations(ds);
    expect(items.some((e) => typeof e.value !== 'string' && e.value.value === 'JS-NOT-GRADED')).toBe(true);
    expect(items.some((e) => String(e.value).startsWith('Left hand not graded: the joints found do not lie as in a PA view'))).toBe(true);
    expect(isNoHandReport(ds)).toBe(true);
    const v = dciodvfy(file);
    expect(v.errors, v.output).toEqual([]);
  });

  it('structures not recognised as a hand keep "No hand found", with what was seen', async () => {
    const { buildNoHandSrDataset } = await import('../src/reports/sr/document.js');
    const none = {
      ...analysis,
      hands: [],
      notGraded: [{ laterality: 'R' as const, cause: 'unrecognised' as const, reason: '7 joint-like structures at a mean detector confidence of 0.41' }],
    };
    const items = readSrQualitativeEvaluations(buildNoHandSrDataset(none, source, options));
    expect(items.some((e) => typeof e.value !== 'string' && e.value.value === 'JS-NO-HAND')).toBe(true);
    expect(items.some((e) => typeof e.value !== 'string' && e.value.value === 'JS-NOT-GRADED')).toBe(false);
    expect(items.some((e) => String(e.value) === 'Not recognised as a hand: 7 joint-like structures at a mean detector confidence of 0.41')).toBe(true);
  });
});

describe('sites not found on a hand read as a PA view', () => {
  it('are named in the findings, a reading note and the overlay heading; the sites a partial view has off the film are not', () => {
    const pa = structuredClone(analysis);
    const all = JOINT_SITES.filter((s) => s !== 'MCP3' && s !== 'MCP4').map((site) => joint({ site, box: [10, 10, 40, 40] }));
    pa.hands = [{ ...withSummary({ laterality: 'R', joints: all }), view: { kind: 'PA', layoutResidual: 0.1, maxResidual: 0.3 } }];
    expect(sitesNotFound(pa.hands[0])).toEqual(['MCP3', 'MCP4']);
    const evaluations = readSrQualitativeEvaluations(buildSrDataset(pa, source, options)).map((e) => String(e.value));
    expect(evaluations[0]).toMatch(/^Right hand: 19 joints found \(not found: MCP3, MCP4\), 19 graded\./);
    expect(evaluations).toContain('Not found on the right hand, so not scored: R-MCP3, R-MCP4. Totals cover the joints found.');
    expect([handHeading(pa.hands[0]), sitesSeen(pa.hands[0])]).toEqual(['Right hand: 19 joints', 'Not found: MCP3, MCP4']);
    // a partial view: MCP4 off the film is not in view, MCP3 in view and missed is not found
    const partial = { ...pa.hands[0], view: { kind: 'PA-partial' as const, layoutResidual: 0.1, maxResidual: 0.2, notInView: ['MCP4' as const] } };
    expect(sitesNotFound(partial)).toEqual(['MCP3']);
    expect(sitesSeen(partial)).toBe('Partial view: 1 not in view, 1 not found');
    // a hand whose view was not judged: nothing is said
    expect(sitesNotFound({ joints: all })).toEqual([]);
  });
});

type HandAnalysisSource = HandAnalysis['source'];

describe('the scale on the overlay', () => {
  it('says where the scale came from when not from the header, in the models block', () => {
    const src = (s: Partial<HandAnalysisSource>) => ({ ...analysis.source, ...s });
    expect(scaleNote(src({ pixelSpacingFrom: 'header', pixelSpacingMm: [0.15, 0.15] }))).toBeUndefined();
    expect(scaleNote(src({ pixelSpacingFrom: 'estimated', pixelSpacingMm: [0.111, 0.111], pixelSpacingMeasuredOn: 'hand', pixelSpacingInHeaderMm: [0.15, 0.15] }))).toBe(
      "Scale estimated from the hand: 0.111 mm a pixel; the header's 0.150 mm set aside",
    );
    expect(scaleNote(src({ pixelSpacingFrom: 'estimated', pixelSpacingMm: [0.2, 0.2], pixelSpacingMeasuredOn: 'wrist' }))).toBe('Scale estimated from the wrist: 0.200 mm a pixel');
    expect(scaleNote(src({ pixelSpacingFrom: 'default', pixelSpacingMm: [0.15, 0.15] }))).toBe('Scale assumed: 0.150 mm a pixel (none in the header)');
    const estimated = { ...analysis, source: src({ pixelSpacingFrom: 'estimated', pixelSpacingMm: [0.111, 0.111], pixelSpacingMeasuredOn: 'hand' }) };
    const models = overlayLayout(2500, 2048, estimated).blocks.find((b) => b.block.id === 'models')!.block.lines;
    expect(models.map((l) => l.runs.map((r) => r.text).join('')).join(' ')).toContain('Scale estimated from the hand: 0.111 mm a pixel');
  });
});
