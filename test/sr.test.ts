import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPart10, writePart10, type NaturalDataset } from '../src/dicom/part10.js';
import { derivedUid } from '../src/dicom/uid.js';
import { resultUidVersion } from '../src/reports/common.js';
import { EROSION_DRAWN, severityCounts, severityOf } from '../src/analysis/severity.js';
import {
  CodeItem, CodedConcept, ContainerItem, DCM, ImageItem, NumItem, PRIVATE, SCT, ScoordItem, SrBuildError, TextItem, UCUM, UidRefItem, buildSrDataset, imageRegionBox, measurementGroup, measurementReport,
} from '../src/reports/sr/index.js';
import { DX_FOR_PRESENTATION, SOURCE_SOP, analysis, options, source } from './helpers/sr-fixture.js';
import { fromFloat32, readSrHandSummaries, readSrJoints } from './helpers/sr-reader.js';

let dir: string;
let file: string;
let bytes: Buffer;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'jointscore-sr-'));
  bytes = writePart10(buildSrDataset(analysis, source, options));
  file = join(dir, 'sr.dcm');
  writeFileSync(file, bytes);
});
afterAll(() => {
  if (process.env.KEEP_SR) console.log(`kept ${file}`);
  else rmSync(dir, { recursive: true, force: true });
});

function dciodvfy(path: string): { errors: string[]; warnings: string[]; output: string } {
  const r = spawnSync('dciodvfy', [path], { encoding: 'utf8' });
  if (r.error) throw new Error(`dciodvfy (dicom3tools) could not run: ${r.error.message}; apt-get install dicom3tools`);
  const output = `${r.stdout}${r.stderr}`;
  const lines = output.split('\n');
  return {
    errors: lines.filter((l) => l.startsWith('Error')),
    warnings: lines.filter((l) => l.startsWith('Warning')),
    output,
  };
}

/** Distinct lines with their counts: dciodvfy repeats a warning for every item it applies to. */
function summarize(lines: string[]): string {
  const counts = new Map<string, number>();
  for (const l of lines) counts.set(l, (counts.get(l) ?? 0) + 1);
  return [...counts].map(([l, n]) => (n > 1 ? `${l} (x${n})` : l)).join('\n');
}

const allJoints = analysis.hands.flatMap((h) => h.joints.map((j) => ({ laterality: h.laterality, ...j })));

describe('TID 1500 SR: validity', () => {
  it('dciodvfy reports no errors (Comprehensive 3D SR)', () => {
    const { errors, warnings, output } = dciodvfy(file);
    if (warnings.length) console.log(`dciodvfy warnings (88.34):\n${summarize(warnings)}`);
    expect(errors, output).toEqual([]);
  });

  it('dciodvfy reports no errors (Comprehensive SR, 88.33)', () => {
    const f = join(dir, 'sr-88-33.dcm');
    const ds = buildSrDataset(analysis, source, { ...options, sopClass: 'comprehensive' });
    expect(ds.SOPClassUID).toBe('1.2.840.10008.5.1.4.1.1.88.33');
    writeFileSync(f, writePart10(ds));
    const { errors, warnings, output } = dciodvfy(f);
    if (warnings.length) console.log(`dciodvfy warnings (88.33):\n${summarize(warnings)}`);
    expect(errors, output).toEqual([]);
  });

  it('dsrdump reads the tree', () => {
    // Strict: no -Ee/-Ec, so a content item error or a relationship constraint violation fails.
    const r = spawnSync('dsrdump', ['+Pt', file], { encoding: 'utf8' });
    if (r.error) throw new Error(`dsrdump (DCMTK) could not run: ${r.error.message}; apt-get install dcmtk`);
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stderr.split('\n').filter((l) => /^(E|F):/.test(l)), r.stderr).toEqual([]);
    if (r.stderr.trim()) console.log(`dsrdump says:\n${r.stderr.trim()}`);
    expect(r.stdout).toContain('# TID 1500 (DCMR)');
    expect(r.stdout).toContain('# TID 1410 (DCMR)');
    for (const id of ['L-MCP2', 'L-PIP3', 'R-MCP2', 'R-CMC1', 'L-HAND']) expect(r.stdout).toContain(`"${id}"`);
    expect(r.stdout).toContain('Imaging Measurement Report');
    expect(r.stdout).toContain('张伟');
  });
});

describe('TID 1500 SR: content', () => {
  it('copies patient and study, makes a new series with deterministic UIDs', () => {
    const { dataset: ds, meta } = readPart10(bytes);
    expect(ds.SpecificCharacterSet).toBe('ISO_IR 192');
    expect(ds.PatientName).toEqual([{ Alphabetic: '张伟' }]);
    expect(ds.StudyInstanceUID).toBe(source.StudyInstanceUID);
    expect(ds.StudyDescription).toBe(source.StudyDescription);
    expect(ds.SeriesInstanceUID).not.toBe(source.SeriesInstanceUID);
    expect(ds.Modality).toBe('SR');
    expect(ds.SOPClassUID).toBe('1.2.840.10008.5.1.4.1.1.88.34');
    expect(meta.MediaStorageSOPInstanceUID).toBe(ds.SOPInstanceUID);
    expect(ds.VerificationFlag).toBe('UNVERIFIED');
    expect(ds.CompletionFlag).toBe('COMPLETE');
    const ev = ds.CurrentRequestedProcedureEvidenceSequence[0];
    expect(ev.ReferencedSeriesSequence[0].ReferencedSOPSequence[0].ReferencedSOPInstanceUID).toBe(SOURCE_SOP);
    expect(ds.ContributingEquipmentSequence[0].PurposeOfReferenceCodeSequence[0].CodeValue).toBe('109102');
    expect(ds.CodingSchemeIdentificationSequence[0].CodingSchemeDesignator).toBe('99JSCORE');
  });

  it('re-encodes a Latin-1 source as UTF-8 and says so (dcmjs writes UTF-8 only)', () => {
    const latin1 = { ...source, SpecificCharacterSet: 'ISO_IR 100', PatientName: [{ Alphabetic: 'Müller^Jürgen' }] };
    delete (latin1 as NaturalDataset).StudyDescription;
    const ds = readPart10(writePart10(buildSrDataset(analysis, latin1, options))).dataset;
    expect(ds.SpecificCharacterSet).toBe('ISO_IR 192');
    expect(ds.PatientName).toEqual([{ Alphabetic: 'Müller^Jürgen' }]);
    const ascii = buildSrDataset(analysis, { ...latin1, PatientName: [{ Alphabetic: 'Doe^John' }] }, options);
    expect(ascii.SpecificCharacterSet).toBe('ISO_IR 100');
  });

  it('same inputs give the same UIDs and bytes; another version gives other UIDs', () => {
    const again = writePart10(buildSrDataset(analysis, source, options));
    expect(Buffer.compare(again, bytes)).toBe(0);
    const a = readPart10(bytes).dataset;
    const b = buildSrDataset(analysis, source, { ...options, algorithmVersion: '1.0.1' });
    expect(b.SOPInstanceUID).not.toBe(a.SOPInstanceUID);
    expect(b.SeriesInstanceUID).not.toBe(a.SeriesInstanceUID);
    // the software's release is in the UIDs too: a new release with the same models is a new result
    const src = String(source.SOPInstanceUID);
    expect(a.SOPInstanceUID).toBe(derivedUid([src, resultUidVersion(options.algorithmVersion), 'sr', 'instance']));
    expect(resultUidVersion(options.algorithmVersion, '9.9.9')).not.toBe(resultUidVersion(options.algorithmVersion));
    const rooted = buildSrDataset(analysis, source, { ...options, uidRoot: '1.2.826.0.1.3680043.10.9999' });
    expect(rooted.SOPInstanceUID.startsWith('1.2.826.0.1.3680043.10.9999.')).toBe(true);
  });

  it('readSrJoints recovers every joint exactly', () => {
    const joints = readSrJoints(readPart10(bytes).dataset);
    expect(joints.map((j) => j.trackingIdentifier)).toEqual(allJoints.map((j) => `${j.laterality}-${j.site}`));
    for (const [i, want] of allJoints.entries()) {
      const got = joints[i];
      expect(got.laterality).toBe(want.laterality);
      expect(got.site).toBe(want.site);
      expect(got.box).toEqual(want.box);
      expect(got.confidence).toBe(want.confidence);
      for (const s of ['jsn', 'erosion', 'kl'] as const) expect(got[s]).toEqual(want[s]);
      expect(got.jswMm).toBe(want.jswMm);
      expect(got.severity).toEqual(want.severity);
      // an eroded joint's class is in the report as its box is drawn (severity.ts EROSION_DRAWN)
      expect(got.erosionClass).toBe(want.erosion ? severityOf(want.erosion.grade, EROSION_DRAWN) : undefined);
    }
    const hands = readSrHandSummaries(readPart10(bytes).dataset);
    expect(hands.map((h) => h.laterality)).toEqual(['L', 'R']);
    for (const [i, h] of analysis.hands.entries()) {
      expect({ ...hands[i], laterality: undefined, counts: undefined }).toEqual({
        ...h.summary, laterality: undefined, counts: undefined,
      });
    }
    expect(hands[0].counts.ra).toEqual({ healthy: 1, mild: 1, severe: 1 });
    for (const [i, h] of analysis.hands.entries()) expect(hands[i].counts).toEqual(severityCounts(h.joints));
    // the fixture's eroded joints are counted where the overlay's Erosion row counts them, not in RA healthy
    expect(hands[0].counts.erosion.mild + hands[0].counts.erosion.severe).toBeGreaterThan(0);
  });

  it('fromFloat32 recovers short decimals from float32', () => {
    for (const v of [412.3, 201.75, 1234.56, 0.1, 2047.99, 88.8]) expect(fromFloat32(Math.fround(v))).toBe(v);
  });

  it('highdicom parses it as a TID 1500 Measurement Report', () => {
    const r = spawnSync('python3', ['test/python/read_sr.py', file], { encoding: 'utf8' });
    if (r.error || r.status === 2 || /No module named|missing Python package/.test(r.stderr ?? '')) {
      throw new Error(
        `python3 with highdicom is needed for this test: python3 -m pip install -r test/python/requirements.txt\n${r.stderr ?? r.error}`,
      );
    }
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.sop_class).toBe('1.2.840.10008.5.1.4.1.1.88.34');
    expect(out.patient_name).toBe('张伟');
    expect(out.observer_types).toEqual(['Device']);
    // the hand summaries are TID 1410 groups too, over the box around each hand's joints
    expect(out.n_planar_groups).toBe(allJoints.length + 2);
    expect(out.tracking_ids).toEqual([...allJoints.map((j) => `${j.laterality}-${j.site}`), 'L-HAND', 'R-HAND']);
    expect(out.other_tracking_ids).toEqual([]);
    const g = out.groups[0];
    expect(g.graphic_type).toBe('POLYLINE');
    expect(g.graphic_data).toEqual([[380, 330], [445, 330], [445, 392], [380, 392], [380, 330]]);
    expect(g.finding_site).toEqual(['289002']);
    expect(g.laterality).toEqual(['Left']);
    expect(g.measurements['JS-SVH-JSN']).toBe(2);
    expect(g.measurements['JS-JSW']).toBe(1.52);
    expect(g.units['JS-JSW']).toBe('mm');
    // grades carry a UCUM annotation, not "1": OHIF shows a grade 0 as its unit alone (docs/viewer/README.md)
    for (const grade of ['JS-SVH-JSN', 'JS-SVH-ERO', 'JS-KL']) expect(g.units[grade]).toBe('{grade}');
    const hand = out.groups.find((x: { tracking_id: string }) => x.tracking_id === 'L-HAND');
    expect(hand.units['JS-SVH-JSN-TOT']).toBe('{score}');
    expect(hand.units['JS-N-RA-HEALTHY']).toBe('{joints}');
    expect(out.groups[2].measurements['JS-JSW']).toBe(0.71);
    expect(out.groups[3].measurements['JS-JSW']).toBeUndefined(); // RC: no single joint space
    expect(g.evaluations['JS-RA-SEV']).toBe('JS-MILD');
    expect(g.algorithm).toEqual(['jointscore-grader', '1.0.0']);
  });
});

describe('SR builders validate at construction', () => {
  const src = { sopClassUID: DX_FOR_PRESENTATION, sopInstanceUID: SOURCE_SOP };

  it('rejects a relationship the IOD does not allow', () => {
    const img = new ImageItem(undefined, src, { relationship: 'CONTAINS' });
    // TEXT cannot CONTAIN anything; CONTAINS is only from CONTAINER.
    expect(() => new TextItem(DCM.Comment, 'x', { relationship: 'CONTAINS', children: [img] })).toThrow(
      /TEXT CONTAINS IMAGE .* not allowed/,
    );
    // HAS CONCEPT MOD may only target TEXT or CODE.
    const n = new NumItem(PRIVATE.KlGrade, 1, UCUM.NoUnits, { relationship: 'HAS CONCEPT MOD' });
    expect(() => new CodeItem(SCT.FindingSite, SCT.Hand, { relationship: 'HAS CONCEPT MOD', children: [n] })).toThrow(
      SrBuildError,
    );
  });

  it('rejects a SCOORD without its SELECTED FROM image', () => {
    expect(() => new ScoordItem(DCM.ImageRegion, 'POLYLINE', [[0, 0], [1, 1]], { relationship: 'CONTAINS' })).toThrow(
      /SELECTED FROM IMAGE/,
    );
    expect(() => imageRegionBox([10, 10, 5, 20], src)).toThrow(/x1 <= x0/);
  });

  it('rejects wrong value types', () => {
    expect(() => new NumItem(PRIVATE.KlGrade, Number.NaN, UCUM.NoUnits, { relationship: 'CONTAINS' })).toThrow(
      /finite number/,
    );
    expect(() => new NumItem(PRIVATE.KlGrade, 1, DCM.Comment, { relationship: 'CONTAINS' })).toThrow(/UCUM/);
    expect(() => new UidRefItem(DCM.TrackingUniqueIdentifier, '1.2.abc', { relationship: 'HAS OBS CONTEXT' })).toThrow(
      /not a valid UID/,
    );
    expect(() => new CodeItem(SCT.FindingSite, 'hand' as unknown as CodedConcept, { relationship: 'HAS CONCEPT MOD' })).toThrow(
      /CodedConcept/,
    );
    expect(() => new CodedConcept('1', 'SCT', 'x'.repeat(65))).toThrow(/longer than 64/);
  });

  it('rejects a measurement group or report that lacks a required child', () => {
    const region = imageRegionBox([1, 1, 5, 5], src);
    const m = new NumItem(PRIVATE.KlGrade, 1, UCUM.NoUnits, { relationship: 'CONTAINS' });
    expect(() =>
      measurementGroup({ template: '1410', trackingIdentifier: 'L-MCP2', trackingUid: '1.2.3', measurements: [m] }),
    ).toThrow(/Image Region \(111030\) SCOORD is required/);
    expect(() =>
      measurementGroup({ template: '1410', trackingIdentifier: 'L-MCP2', trackingUid: '1.2.3', imageRegion: region }),
    ).toThrow(/at least one measurement/);
    expect(() =>
      measurementGroup({
        template: '1410', trackingIdentifier: 'L-MCP2', trackingUid: '1.2.3', imageRegion: region, measurements: [m, m],
      }),
    ).toThrow(/appears twice/);
    const group = measurementGroup({
      template: '1410', trackingIdentifier: 'L-MCP2', trackingUid: '1.2.3', imageRegion: region, measurements: [m],
    });
    expect(() => measurementReport({ observerContext: [], procedureReported: [SCT.ImagingProcedure], groups: [group] })).toThrow(
      /Observer Type/,
    );
    expect(() => new ContainerItem(DCM.ImagingMeasurements, { relationship: 'CONTAINS', continuity: 'X' as 'SEPARATE' })).toThrow(
      /Continuity/,
    );
  });

  it('rejects analyses that do not fit the joint vocabulary or the source', () => {
    const bad = structuredClone(analysis);
    bad.hands[0].joints[2].jsn = { grade: 1, probabilities: [] }; // DIP5 has no SvH JSN
    expect(() => buildSrDataset(bad, source, options)).toThrow(/jsn is not scored at DIP5/);
    const bad2 = structuredClone(analysis);
    bad2.hands[0].joints[0].jsn = { grade: 7, probabilities: [] };
    expect(() => buildSrDataset(bad2, source, options)).toThrow(/grade must be an integer 0..4/);
    const bad3 = structuredClone(analysis);
    bad3.hands[0].joints[3].jswMm = 1.2; // RC
    expect(() => buildSrDataset(bad3, source, options)).toThrow(/L-RC: joint space width is measured at the finger joints only/);
    const bad4 = structuredClone(analysis);
    bad4.hands[0].joints[0].jswMm = -0.1;
    expect(() => buildSrDataset(bad4, source, options)).toThrow(/L-MCP2: joint space width must be a number of mm, 0 or more/);
    expect(() => buildSrDataset(analysis, { ...source, SOPInstanceUID: '1.2.3.4' }, options)).toThrow(/analysis is of image/);
    const { StudyInstanceUID: _s, ...noStudy } = source;
    expect(() => buildSrDataset(analysis, noStudy, options)).toThrow(/StudyInstanceUID is missing/);
  });
});

describe('dcmdump can read it too', () => {
  it('dcmdump exits 0', () => {
    execFileSync('dcmdump', ['-q', file], { encoding: 'utf8' });
  });
});
