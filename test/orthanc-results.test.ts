import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writePart10, type NaturalDataset } from '../src/dicom/part10.js';
import { buildGspsDataset } from '../src/reports/gsps.js';
import { buildSrDataset } from '../src/reports/sr/index.js';
import { buildSecondaryCaptureDataset, renderOverlay, type RenderedOverlay } from '../src/reports/secondary-capture.js';
import { buildMinimalDx } from './helpers/dx.js';
import { startOrthanc, type OrthancPeer } from './helpers/orthanc.js';
import { COLUMNS, ROWS, fixtureAnalysis, fixtureGray, fixtureSource } from './helpers/report-fixture.js';

/**
 * docs/design.md's definition of done for the image results: Orthanc stores the Secondary
 * Capture and the presentation state in the source's study, and renders the SC preview.
 */

const base = {
  manufacturer: 'jointscore project',
  deviceName: 'jointscore',
  algorithmName: 'jointscore-grader',
  algorithmVersion: '1.0.0',
  contentDateTime: new Date(2026, 2, 1, 10, 30, 0, 250),
};

let orthanc: OrthancPeer | undefined;
let rendered: RenderedOverlay;
let sc: NaturalDataset;
let pr: NaturalDataset;
let sr: NaturalDataset;
const analysis = fixtureAnalysis();
const source = fixtureSource();

beforeAll(async () => {
  orthanc = await startOrthanc({ aet: 'ORTHANC' });
  rendered = await renderOverlay({ gray: fixtureGray(), rows: ROWS, columns: COLUMNS }, analysis);
  sc = buildSecondaryCaptureDataset(rendered, analysis, source, { ...base, seriesNumber: 9002, seriesDescription: 'jointscore overlay' });
  pr = buildGspsDataset(analysis, source, { ...base, seriesNumber: 9003, seriesDescription: 'jointscore annotations' });
  sr = buildSrDataset(analysis, source, { ...base, seriesNumber: 9001, seriesDescription: 'jointscore report', sopClass: 'comprehensive3d' });
});

afterAll(async () => {
  await orthanc?.stop();
});

function peer(): OrthancPeer {
  if (!orthanc) throw new Error('Orthanc did not start (see the beforeAll error)');
  return orthanc;
}

describe('Orthanc stores the SR, the SC and the GSPS beside the source', () => {
  it('files all of them in the source study, each in a new series', async () => {
    const dx = buildMinimalDx(source);
    for (const ds of [dx, sr, sc, pr]) {
      const up = await peer().upload(writePart10(ds));
      expect(up.Status, JSON.stringify(up)).toBe('Success');
    }
    const studies = await peer().studies();
    expect(studies).toHaveLength(1);
    const series = await peer().seriesOfStudy(studies[0]);
    const byModality = Object.fromEntries(series.map((s) => [s.MainDicomTags.Modality, s]));
    expect(Object.keys(byModality).sort()).toEqual(['DX', 'OT', 'PR', 'SR']);
    expect(byModality.SR.MainDicomTags.SeriesInstanceUID).toBe(sr.SeriesInstanceUID);
    expect(byModality.OT.MainDicomTags.SeriesInstanceUID).toBe(sc.SeriesInstanceUID);
    expect(byModality.PR.MainDicomTags.SeriesInstanceUID).toBe(pr.SeriesInstanceUID);
    const scTags = await peer().instanceTags(byModality.OT.Instances[0]);
    expect(scTags.PatientName).toBe('张^伟');
    expect(scTags.SOPClassUID).toBe('1.2.840.10008.5.1.4.1.1.7');
  });

  it('renders the SC preview with the severity colours intact', async () => {
    const [studyId] = await peer().studies();
    const ot = (await peer().seriesOfStudy(studyId)).find((s) => s.MainDicomTags.Modality === 'OT')!;
    const png = await peer().preview(ot.Instances[0]);
    const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([rendered.columns, rendered.rows]);
    const i = analysis.hands[0].joints.findIndex((j) => j.site === 'PIP3'); // severe
    const box = rendered.layout.labels[i].box;
    const o = (Math.round(box.y + box.height / 2) * info.width + Math.round(box.x)) * info.channels;
    const [r, g, b] = [data[o], data[o + 1], data[o + 2]];
    expect(r, `${r},${g},${b}`).toBeGreaterThan(190);
    expect(g).toBeLessThan(120);
    expect(b).toBeLessThan(120);
  });
});
