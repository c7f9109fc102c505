import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HandAnalysis } from '../src/analysis/hand-analysis.js';
import { readPart10, writePart10, type NaturalDataset } from '../src/dicom/part10.js';
import { buildNoHandReport, DEFAULT_RESULT_OPTIONS } from '../src/pipeline/results.js';
import {
  CodedConcept, DCM, PRIVATE, SCT, SrBuildError, TextItem, UMLS, buildNoHandSrDataset, buildSrDataset, deviceObserverContext, machineResultNotice, measurementReport,
} from '../src/reports/sr/index.js';
import { dciodvfy, runTool } from './helpers/dicom-tools.js';
import { SOURCE_SOP, analysis as handAnalysis, options, source } from './helpers/sr-fixture.js';
import { isNoHandReport, readSrHandSummaries, readSrJoints, readSrQualitativeEvaluations } from './helpers/sr-reader.js';

/** The SR for an image in which no hand was found (analysis.reportNoHand). */

const noHand: HandAnalysis = { source: handAnalysis.source, models: handAnalysis.models, hands: [] };
const notice = machineResultNotice(options.algorithmName, options.algorithmVersion);

let dir: string;
let file: string;
let ds: NaturalDataset;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'jointscore-sr-no-hand-'));
  file = join(dir, 'sr-no-hand.dcm');
  writeFileSync(file, writePart10(buildNoHandSrDataset(noHand, source, options)));
  ds = readPart10(readFileSync(file)).dataset;
});
afterAll(() => {
  if (process.env.KEEP_SR) console.log(`kept ${file}`);
  else rmSync(dir, { recursive: true, force: true });
});

const codeOf = (item: NaturalDataset, key: 'ConceptNameCodeSequence' | 'ConceptCodeSequence') =>
  CodedConcept.fromItem(item[key][0]);
const childNames = (item: NaturalDataset) =>
  (item.ContentSequence ?? []).map((c: NaturalDataset) => codeOf(c, 'ConceptNameCodeSequence').toString());

describe('no-hand SR: validity', () => {
  it('dciodvfy reports no errors (Comprehensive 3D SR and Comprehensive SR)', () => {
    const r = dciodvfy(file);
    if (r.warnings.length) console.log(`dciodvfy warnings (no-hand SR):\n${[...new Set(r.warnings)].join('\n')}`);
    expect(r.errors, r.output).toEqual([]);
    const f = join(dir, 'sr-no-hand-88-33.dcm');
    writeFileSync(f, writePart10(buildNoHandSrDataset(noHand, source, { ...options, sopClass: 'comprehensive' })));
    const r2 = dciodvfy(f);
    expect(r2.errors, r2.output).toEqual([]);
  });

  it('dsrdump prints the tree: title, no measurement group, the finding and the notice', () => {
    const r = runTool('dsrdump', ['+Pt', '+Pl', file]);
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stderr.split('\n').filter((l) => /^(E|F):/.test(l)), r.stderr).toEqual([]);
    if (process.env.SHOW_SR) console.log(r.stdout);
    expect(r.stdout).toContain('# TID 1500 (DCMR)');
    expect(r.stdout).toContain('Imaging Measurement Report');
    expect(r.stdout).toContain('Qualitative Evaluations');
    expect(r.stdout).toContain('<contains CODE:(,,"Finding")=(JS-NO-HAND,99JSCORE,"No hand found")>');
    expect(r.stdout).toContain(notice);
    expect(r.stdout).not.toContain('Imaging Measurements');
    expect(r.stdout).not.toContain('Measurement Group');
  });

  it('highdicom parses it as a TID 1500 Measurement Report with no groups', () => {
    const r = spawnSync('python3', ['test/python/read_sr.py', file], { encoding: 'utf8' });
    if (r.error || r.status === 2 || /No module named|missing Python package/.test(r.stderr ?? '')) {
      throw new Error(`python3 with highdicom is needed: python3 -m pip install -r test/python/requirements.txt\n${r.stderr ?? r.error}`);
    }
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.sop_class).toBe('1.2.840.10008.5.1.4.1.1.88.34');
    expect(out.title).toBe('Imaging Measurement Report');
    expect(out.observer_types).toEqual(['Device']);
    expect(out.n_planar_groups).toBe(0);
    expect(out.n_other_groups).toBe(0);
  });
});

describe('no-hand SR: content', () => {
  it('root: language, device observer, procedure, image library, then Qualitative Evaluations only', () => {
    expect(codeOf(ds, 'ConceptNameCodeSequence').equals(DCM.ImagingMeasurementReport)).toBe(true);
    expect(ds.ContentTemplateSequence[0].TemplateIdentifier).toBe('1500');
    expect(childNames(ds)).toEqual([
      DCM.LanguageOfContentItemAndDescendants, DCM.ObserverType, DCM.DeviceObserverUID, DCM.DeviceObserverName,
      DCM.DeviceObserverManufacturer, DCM.DeviceObserverModelName, DCM.ProcedureReported, DCM.ImageLibrary,
      UMLS.QualitativeEvaluations,
    ].map((c) => c.toString()));
    const library = ds.ContentSequence.find((c: NaturalDataset) => codeOf(c, 'ConceptNameCodeSequence').equals(DCM.ImageLibrary));
    const image = library.ContentSequence[0].ContentSequence[0];
    expect(image.ValueType).toBe('IMAGE');
    expect(image.ReferencedSOPSequence[0].ReferencedSOPInstanceUID).toBe(SOURCE_SOP);
  });

  it('states the finding, with the algorithm, and carries the notice exactly as the normal SR', () => {
    const evaluations = readSrQualitativeEvaluations(ds);
    expect(evaluations.map((e) => e.name.toString())).toEqual([DCM.Finding.toString(), DCM.Comment.toString()]);
    expect((evaluations[0].value as CodedConcept).equals(PRIVATE.NoHandFound)).toBe(true);
    expect(evaluations[1].value).toBe(notice);
    const normal = readPart10(writePart10(buildSrDataset(handAnalysis, source, options))).dataset;
    // the normal SR: each hand's findings, then the same notice
    expect(readSrQualitativeEvaluations(normal).filter((e) => !DCM.Summary.equals(e.name)).map((e) => e.value)).toEqual([notice]);
    expect(isNoHandReport(ds)).toBe(true);
    expect(isNoHandReport(normal)).toBe(false);
    const qe = ds.ContentSequence.at(-1);
    expect(childNames(qe.ContentSequence[0])).toEqual([DCM.AlgorithmName.toString(), DCM.AlgorithmVersion.toString()]);
    expect(qe.ContentSequence[0].ContentSequence.map((c: NaturalDataset) => c.TextValue)).toEqual(['jointscore-grader', '1.0.0']);
    expect(readSrJoints(ds)).toEqual([]);
    expect(readSrHandSummaries(ds)).toEqual([]);
  });

  it('declares the private scheme, keeps the evidence and equipment of the normal SR', () => {
    expect(ds.CodingSchemeIdentificationSequence[0].CodingSchemeDesignator).toBe('99JSCORE');
    expect(ds.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence[0].ReferencedSOPSequence[0].ReferencedSOPInstanceUID).toBe(SOURCE_SOP);
    expect(ds.ContributingEquipmentSequence[0].PurposeOfReferenceCodeSequence[0].CodeValue).toBe('109102');
    expect([ds.CompletionFlag, ds.VerificationFlag, ds.Modality]).toEqual(['COMPLETE', 'UNVERIFIED', 'SR']);
  });

  it('same UIDs, series number and description as the SR of a hand would have; deterministic', () => {
    const normal = buildSrDataset(handAnalysis, source, options);
    for (const k of ['SOPInstanceUID', 'SeriesInstanceUID', 'SeriesNumber', 'SeriesDescription', 'StudyInstanceUID', 'PatientID']) {
      expect(ds[k], k).toEqual(normal[k]);
    }
    const again = writePart10(buildNoHandSrDataset(noHand, source, options));
    expect(Buffer.compare(Buffer.from(again), readFileSync(file))).toBe(0);
    const other = buildNoHandSrDataset(noHand, source, { ...options, algorithmVersion: '1.0.1' });
    expect(other.SOPInstanceUID).not.toBe(ds.SOPInstanceUID);
  });

  it('buildNoHandReport gives only the SR, numbered and described like the normal results', () => {
    const objects = buildNoHandReport({ ...noHand, models: [] }, source, { ...DEFAULT_RESULT_OPTIONS, contentDateTime: options.contentDateTime });
    expect(Object.keys(objects)).toEqual(['sr']);
    expect(objects.sr.SeriesNumber).toBe(DEFAULT_RESULT_OPTIONS.seriesNumberBase);
    expect(objects.sr.SeriesDescription).toBe(DEFAULT_RESULT_OPTIONS.seriesDescription);
    expect(isNoHandReport(objects.sr)).toBe(true);
  });
});

describe('no-hand SR: validated at construction', () => {
  it('refuses an analysis that has hands, or a source that is not the analysed image', () => {
    expect(() => buildNoHandSrDataset(handAnalysis, source, options)).toThrow(/has 2 hand\(s\): use buildSrDataset/);
    expect(() => buildNoHandSrDataset(noHand, { ...source, SOPInstanceUID: '1.2.3.4' }, options)).toThrow(/analysis is of image/);
    expect(() => buildNoHandSrDataset(noHand, source, { ...options, algorithmVersion: '' })).toThrow(SrBuildError);
  });

  it('a TID 1500 report needs measurement groups or qualitative evaluations, and these only CODE/TEXT', () => {
    const base = { observerContext: [], procedureReported: [SCT.ImagingProcedure], groups: [] };
    const observer = deviceObserverContext({ uid: '1.2.3' });
    expect(() => measurementReport({ ...base, observerContext: observer })).toThrow(/at least one Measurement Group .* or Qualitative Evaluation/);
    const contained = new TextItem(DCM.Comment, 'x', { relationship: 'HAS CONCEPT MOD' });
    expect(() => measurementReport({ ...base, observerContext: observer, qualitativeEvaluations: [contained] })).toThrow(
      /CONTAINS CODE or TEXT items only/,
    );
  });
});
