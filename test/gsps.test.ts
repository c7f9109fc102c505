import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPart10, writePart10, type NaturalDataset } from '../src/dicom/part10.js';
import { derivedUid } from '../src/dicom/uid.js';
import { VERSION } from '../src/version.js';
import { SEVERITY_COLOURS, worstSeverity } from '../src/imaging/preview.js';
import {
  GSPS_LAYERS, GSPS_SOP_CLASS_UID, GspsBuildError, buildGspsDataset, hexToDicomLab, presentationLutShape, type GspsOptions,
} from '../src/reports/gsps.js';
import { jointLabel } from '../src/reports/labels.js';
import { COLUMNS, ROWS, SOURCE_SOP, fixtureAnalysis, fixtureGray, fixtureSource, withUngradedJoint } from './helpers/report-fixture.js';

const options: GspsOptions = {
  seriesNumber: 9003,
  seriesDescription: 'jointscore annotations (machine-made, not for diagnosis alone)',
  manufacturer: 'jointscore project',
  deviceName: 'jointscore',
  algorithmName: 'jointscore-grader',
  algorithmVersion: '1.0.0',
  contentDateTime: new Date(2026, 2, 1, 10, 30, 0, 250),
};

const analysis = withUngradedJoint(fixtureAnalysis());
const source = fixtureSource();
const joints = analysis.hands.flatMap((h) => h.joints);

let dir: string;
let file: string;
let bytes: Buffer;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'jointscore-pr-'));
  const t0 = performance.now();
  bytes = writePart10(buildGspsDataset(analysis, source, options));
  console.log(`buildGspsDataset + Part 10: ${(performance.now() - t0).toFixed(1)} ms`);
  file = join(dir, 'pr.dcm');
  writeFileSync(file, bytes);
});
afterAll(() => {
  if (process.env.KEEP_PR) console.log(`kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
});

function dciodvfy(path: string): { errors: string[]; warnings: string[]; output: string } {
  const r = spawnSync('dciodvfy', [path], { encoding: 'utf8' });
  if (r.error) throw new Error(`dciodvfy (dicom3tools) could not run: ${r.error.message}; apt-get install dicom3tools`);
  const output = `${r.stdout}${r.stderr}`;
  const lines = output.split('\n').map((l) => l.trim());
  return { errors: lines.filter((l) => l.startsWith('Error')), warnings: lines.filter((l) => l.startsWith('Warning')), output };
}

function expectValid(path: string, what: string): void {
  const { errors, warnings, output } = dciodvfy(path);
  if (warnings.length) console.log(`dciodvfy warnings (${what}):\n${[...new Set(warnings)].join('\n')}`);
  expect(errors, output).toEqual([]);
}

/** A DX image with pixels (12 bits in 16) for DCMTK to render with the presentation state. */
function dxWithPixels(monochrome: 'MONOCHROME1' | 'MONOCHROME2'): NaturalDataset {
  const g = fixtureGray();
  const px = new Uint16Array(ROWS * COLUMNS);
  for (let i = 0; i < px.length; i++) px[i] = monochrome === 'MONOCHROME1' ? 4095 - g[i] * 16 : g[i] * 16;
  return {
    ...fixtureSource({ PhotometricInterpretation: monochrome }),
    SamplesPerPixel: 1,
    PixelData: [px.buffer],
    _vrMap: { PixelData: 'OW' },
  };
}

/** dcmp2pgm (DCMTK dcmpstat): renders the image through the presentation state's grayscale pipeline. */
function render(image: string, pr: string, out: string): Buffer {
  const r = spawnSync('dcmp2pgm', ['-p', pr, image, out], { encoding: 'utf8' });
  if (r.error) throw new Error(`dcmp2pgm (DCMTK) could not run: ${r.error.message}`);
  expect(r.status, r.stderr).toBe(0);
  expect(r.stderr.split('\n').filter((l) => /^(E|F):/.test(l)), r.stderr).toEqual([]);
  return readFileSync(out);
}

/** the software release and the models' version, as result UIDs are derived from */
const RELEASE_KEY = `jointscore ${VERSION}|1.0.0`;

describe('GSPS: validity', () => {
  it('dciodvfy reports no errors', () => expectValid(file, 'GSPS'));

  it('dcmdump reads it', () => {
    const out = execFileSync('dcmdump', ['-q', file], { encoding: 'utf8' });
    expect(out).toContain('GrayscaleSoftcopyPresentationStateStorage');
    expect(out).toContain('张^伟');
    expect(out).toContain('JOINTS_SEVERE');
  });

  it('DCMTK applies it to the image (dcmp2pgm)', () => {
    const img = join(dir, 'dx2.dcm');
    writeFileSync(img, writePart10(dxWithPixels('MONOCHROME2')));
    const pr = join(dir, 'pr2.dcm');
    writeFileSync(pr, writePart10(buildGspsDataset(analysis, dxWithPixels('MONOCHROME2'), options)));
    const r = spawnSync('dcmp2pgm', ['-v', '-p', pr, img, join(dir, 'out.pgm')], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const log = `${r.stdout}${r.stderr}`;
    expect(log).toContain('Presentation Label: JOINTSCORE');
    expect(log).toContain('window center=2048 width=4096');
    expect(log).toMatch(/Graphic Layer #\d \[JOINTS_SEVERE\]/);
    expect(log).toContain('"PIP3 JSN3 E2 KL4"');
  });
});

describe('GSPS: attributes', () => {
  it('same patient and study, a new PR series, referencing the source image', () => {
    const { dataset: ds, meta } = readPart10(bytes);
    expect(ds.SOPClassUID).toBe(GSPS_SOP_CLASS_UID);
    expect(meta.MediaStorageSOPInstanceUID).toBe(ds.SOPInstanceUID);
    expect(ds.SpecificCharacterSet).toBe('ISO_IR 192');
    expect(ds.PatientName).toEqual([{ Alphabetic: '张^伟' }]);
    expect(ds.StudyInstanceUID).toBe(source.StudyInstanceUID);
    expect(ds.StudyDescription).toBe('手部 X 光 hand radiograph');
    expect(ds.Modality).toBe('PR');
    expect(ds.SeriesInstanceUID).not.toBe(source.SeriesInstanceUID);
    expect(ds.SeriesNumber).toBe(9003);
    expect(ds.SeriesDescription).toBe(options.seriesDescription);
    expect(ds.ContentLabel).toBe('JOINTSCORE');
    expect(ds.ContentDescription).toBe('Machine-made joint grades, jointscore-grader 1.0.0');
    expect(ds.ContentCreatorName).toEqual([{ Alphabetic: 'jointscore^' }]);
    expect(ds.PresentationCreationDate).toBe('20260301');
    expect(ds.PresentationCreationTime).toBe('103000.250');
    expect(ds.ReferencedSeriesSequence).toMatchObject([{
      SeriesInstanceUID: source.SeriesInstanceUID,
      ReferencedImageSequence: [{ ReferencedSOPClassUID: source.SOPClassUID, ReferencedSOPInstanceUID: SOURCE_SOP }],
    }]);
    expect(ds.ContributingEquipmentSequence[0].PurposeOfReferenceCodeSequence[0].CodeValue).toBe('109102');
    const area = ds.DisplayedAreaSelectionSequence[0];
    expect(area.DisplayedAreaTopLeftHandCorner).toEqual([1, 1]);
    expect(area.DisplayedAreaBottomRightHandCorner).toEqual([COLUMNS, ROWS]);
    expect(area.PresentationSizeMode).toBe('SCALE TO FIT');
    expect(area.PresentationPixelAspectRatio).toEqual([1, 1]);
    // the source's grayscale pipeline: rescale, window, presentation LUT
    expect(ds).toMatchObject({ RescaleSlope: 1, RescaleIntercept: 0, RescaleType: 'US', PresentationLUTShape: 'IDENTITY' });
    expect(ds.SoftcopyVOILUTSequence).toHaveLength(1);
    expect(ds.SoftcopyVOILUTSequence[0]).toMatchObject({ WindowCenter: 2048, WindowWidth: 4096 });
  });

  it('one layer per severity class, coloured like the Secondary Capture', () => {
    const ds = readPart10(bytes).dataset;
    const layers = ds.GraphicLayerSequence as NaturalDataset[];
    expect(layers.map((l) => l.GraphicLayer)).toEqual(['JOINTS_HEALTHY', 'JOINTS_UNGRADED', 'JOINTS_MILD', 'JOINTS_SEVERE', 'NOTICE']);
    expect(layers.map((l) => l.GraphicLayerOrder)).toEqual([1, 2, 3, 4, 5]);
    for (const k of ['healthy', 'unknown', 'mild', 'severe'] as const) {
      const l = layers.find((x) => x.GraphicLayer === GSPS_LAYERS[k].name)!;
      expect(l.GraphicLayerRecommendedDisplayCIELabValue).toEqual(hexToDicomLab(SEVERITY_COLOURS[k]));
    }
  });

  it('a closed POLYLINE box and a TEXT label in PIXEL units per joint, on its severity layer', () => {
    const ds = readPart10(bytes).dataset;
    const anns = ds.GraphicAnnotationSequence as NaturalDataset[];
    let n = 0;
    for (const j of joints) {
      const ann = anns.find((a) => a.GraphicLayer === GSPS_LAYERS[worstSeverity(j)].name)!;
      const label = jointLabel(j);
      const text = (ann.TextObjectSequence as NaturalDataset[]).find((t) => t.UnformattedTextValue === label);
      expect(text, label).toBeDefined();
      expect(text!.BoundingBoxAnnotationUnits).toBe('PIXEL');
      expect(text!.AnchorPointAnnotationUnits).toBe('PIXEL');
      expect(text!.AnchorPoint).toEqual([j.box[0], j.box[1]]);
      const [tx0, ty0] = text!.BoundingBoxTopLeftHandCorner;
      const [tx1, ty1] = text!.BoundingBoxBottomRightHandCorner;
      expect(tx0).toBeGreaterThanOrEqual(0);
      expect(ty0).toBeGreaterThanOrEqual(0);
      expect(tx1).toBeLessThanOrEqual(COLUMNS);
      expect(ty1).toBeLessThanOrEqual(ROWS);
      expect(tx1 - tx0).toBeGreaterThan(ty1 - ty0);
      const [x0, y0, x1, y1] = j.box;
      const g = (ann.GraphicObjectSequence as NaturalDataset[]).find(
        (o) => o.GraphicData[0] === Math.fround(x0) && o.GraphicData[1] === Math.fround(y0),
      );
      expect(g, label).toBeDefined();
      expect(g).toMatchObject({
        GraphicAnnotationUnits: 'PIXEL', GraphicDimensions: 2, NumberOfGraphicPoints: 5, GraphicType: 'POLYLINE', GraphicFilled: 'N',
      });
      expect(g!.GraphicData).toEqual([x0, y0, x1, y0, x1, y1, x0, y1, x0, y0].map(Math.fround));
      n++;
    }
    expect(n).toBe(21);
    const total = anns.reduce((s, a) => s + (a.GraphicObjectSequence?.length ?? 0), 0);
    expect(total).toBe(21);
    const notice = anns.find((a) => a.GraphicLayer === 'NOTICE')!;
    const texts = (notice.TextObjectSequence as NaturalDataset[]).map((t) => t.UnformattedTextValue);
    expect(texts[0]).toBe('Machine-generated result (jointscore-grader 1.0.0) - not for diagnosis alone');
    expect(texts[1]).toMatch(/^Left hand: SvH JSN 17, erosion 7, KL sum 19, mixed$/);
    expect(notice.TextObjectSequence[0].BoundingBoxAnnotationUnits).toBe('DISPLAY');
  });

  it('same inputs give the same bytes; UIDs derive from (source SOP, release and model versions, pr)', () => {
    expect(Buffer.compare(writePart10(buildGspsDataset(analysis, source, options)), bytes)).toBe(0);
    const ds = readPart10(bytes).dataset;
    expect(ds.SOPInstanceUID).toBe(derivedUid([SOURCE_SOP, RELEASE_KEY, 'pr', 'instance']));
    expect(ds.SeriesInstanceUID).toBe(derivedUid([source.SeriesInstanceUID, RELEASE_KEY, 'pr', 'series']));
    expect(buildGspsDataset(analysis, source, { ...options, algorithmVersion: '2.0.0' }).SOPInstanceUID).not.toBe(ds.SOPInstanceUID);
  });

  it('takes a window from the options, or the source VOI LUT, or none', () => {
    const w = buildGspsDataset(analysis, source, { ...options, window: { center: 1000, width: 800, explanation: 'BONE' } });
    expect(w.SoftcopyVOILUTSequence).toEqual([{ WindowCenter: 1000, WindowWidth: 800, WindowCenterWidthExplanation: 'BONE' }]);
    const multi = buildGspsDataset(analysis, fixtureSource({ WindowCenter: [1500, 2000], WindowWidth: [1000, 3000], VOILUTFunction: 'SIGMOID' }), options);
    expect(multi.SoftcopyVOILUTSequence).toEqual([{ WindowCenter: 1500, WindowWidth: 1000, VOILUTFunction: 'SIGMOID' }]);
    const src = fixtureSource();
    delete src.WindowCenter;
    delete src.WindowWidth;
    expect(buildGspsDataset(analysis, src, options).SoftcopyVOILUTSequence).toBeUndefined();
    expect(() => buildGspsDataset(analysis, source, { ...options, window: { center: 1, width: 0 } })).toThrow(/width >= 1/);
  });

  it('copies a source VOI LUT Sequence, rescaled to 16-bit entries (C.11.8 allows 8 or 16)', () => {
    const lut = new Uint16Array(4096);
    for (let i = 0; i < lut.length; i++) lut[i] = Math.round(4095 * Math.sqrt(i / 4095));
    const src0 = fixtureSource({
      VOILUTSequence: [{
        LUTDescriptor: [4096, 0, 12], LUTExplanation: 'SQRT', LUTData: [lut.buffer], _vrMap: { LUTDescriptor: 'US', LUTData: 'OW' },
      }],
    });
    delete src0.WindowCenter;
    delete src0.WindowWidth;
    const src = readPart10(writePart10(src0)).dataset; // as it comes off the wire
    const f = join(dir, 'pr-voilut.dcm');
    writeFileSync(f, writePart10(buildGspsDataset(analysis, src, options)));
    expectValid(f, 'GSPS with VOI LUT');
    const item = readPart10(readFileSync(f)).dataset.SoftcopyVOILUTSequence[0].VOILUTSequence[0];
    expect(item.LUTDescriptor).toEqual([4096, 0, 16]);
    expect(item.LUTExplanation).toBe('SQRT');
    const data = new Uint16Array(item.LUTData[0]);
    expect([data[0], data[4095]]).toEqual([0, 65535]);
    expect(data[1024]).toBe(Math.round(lut[1024] * (65535 / 4095)));
  });

  it('copies a display shutter and stays valid', () => {
    const src = fixtureSource({
      ShutterShape: 'RECTANGULAR', ShutterLeftVerticalEdge: 20, ShutterRightVerticalEdge: 1000,
      ShutterUpperHorizontalEdge: 10, ShutterLowerHorizontalEdge: 1270,
    });
    const ds = buildGspsDataset(analysis, src, options);
    expect(ds).toMatchObject({ ShutterShape: 'RECTANGULAR', ShutterLeftVerticalEdge: 20, ShutterPresentationValue: 0 });
    const f = join(dir, 'pr-shutter.dcm');
    writeFileSync(f, writePart10(ds));
    expectValid(f, 'GSPS with shutter');
  });

  it('a minimal source (UIDs only) still gives a valid object; Laterality restates the source', () => {
    const minimal: NaturalDataset = {
      SOPClassUID: source.SOPClassUID, SOPInstanceUID: SOURCE_SOP, StudyInstanceUID: '1.2.3', SeriesInstanceUID: '1.2.3.4',
      Rows: ROWS, Columns: COLUMNS,
    };
    const ds = buildGspsDataset(analysis, minimal, options);
    expect(ds.Laterality).toBe('');
    expect(ds.PresentationLUTShape).toBe('IDENTITY');
    expect(ds.SoftcopyVOILUTSequence).toBeUndefined();
    expect(ds.PatientName).toBe('');
    const f = join(dir, 'pr-minimal.dcm');
    writeFileSync(f, writePart10(ds));
    expectValid(f, 'GSPS, minimal source');
    const dx = fixtureSource({ ImageLaterality: 'R' });
    delete dx.Laterality;
    expect(buildGspsDataset(analysis, dx, options).Laterality).toBe('R');
  });

  it('rejects inputs that do not fit', () => {
    expect(() => buildGspsDataset(analysis, { ...source, SOPInstanceUID: '1.2.3.4' }, options)).toThrow(/analysis is of image/);
    expect(() => buildGspsDataset(analysis, { ...source, Rows: 100 }, options)).toThrow(GspsBuildError);
    expect(() => buildGspsDataset(analysis, source, { ...options, contentLabel: 'lower case' })).toThrow(/contentLabel/);
    expect(() => buildGspsDataset(analysis, source, { ...options, seriesDescription: 'x'.repeat(65) })).toThrow(/longer than 64/);
    const bad = structuredClone(analysis);
    bad.hands[0].joints[0].box = [10, 10, 5, 20];
    expect(() => buildGspsDataset(bad, source, options)).toThrow(/x1 > x0/);
  });
});

describe('GSPS: MONOCHROME1 sources', () => {
  it('INVERSE for MONOCHROME1, IDENTITY for MONOCHROME2, the source\'s own shape when it has one', () => {
    expect(presentationLutShape({ PhotometricInterpretation: 'MONOCHROME2' })).toBe('IDENTITY');
    expect(presentationLutShape({ PhotometricInterpretation: 'MONOCHROME1' })).toBe('INVERSE');
    expect(presentationLutShape({ PhotometricInterpretation: 'MONOCHROME1', PresentationLUTShape: 'INVERSE' })).toBe('INVERSE');
    expect(presentationLutShape({ PhotometricInterpretation: 'MONOCHROME2', PresentationLUTShape: 'INVERSE' })).toBe('INVERSE');
  });

  it('renders a MONOCHROME1 image the way its MONOCHROME2 twin renders (DCMTK), and valid', () => {
    const out: Record<string, Buffer> = {};
    for (const mono of ['MONOCHROME1', 'MONOCHROME2'] as const) {
      const img = dxWithPixels(mono);
      const imgFile = join(dir, `dx-${mono}.dcm`);
      const prFile = join(dir, `pr-${mono}.dcm`);
      writeFileSync(imgFile, writePart10(img));
      const pr = buildGspsDataset(analysis, img, options);
      expect(pr.PresentationLUTShape).toBe(mono === 'MONOCHROME1' ? 'INVERSE' : 'IDENTITY');
      writeFileSync(prFile, writePart10(pr));
      expectValid(prFile, `GSPS for ${mono}`);
      out[mono] = render(imgFile, prFile, join(dir, `${mono}.pgm`));
      if (mono === 'MONOCHROME1') {
        // the wrong choice, IDENTITY, shows the MONOCHROME1 film inverted
        const wrong = join(dir, 'pr-wrong.dcm');
        writeFileSync(wrong, writePart10({ ...pr, PresentationLUTShape: 'IDENTITY' }));
        out.wrong = render(imgFile, wrong, join(dir, 'wrong.pgm'));
      }
    }
    expect(Buffer.compare(out.MONOCHROME1, out.MONOCHROME2)).toBe(0);
    expect(Buffer.compare(out.wrong, out.MONOCHROME2)).not.toBe(0);
    // bone (bright in the fixture) is bright in the rendering
    const pgm = out.MONOCHROME1;
    const pixels = pgm.subarray(pgm.length - ROWS * COLUMNS);
    const mcp3 = joints.find((j) => j.site === 'MCP3')!;
    const boneRow = Math.round(mcp3.y - 40); // on the shaft above the joint
    expect(pixels[boneRow * COLUMNS + Math.round(mcp3.x)]).toBeGreaterThan(150);
    expect(pixels[5 * COLUMNS + 5]).toBeLessThan(60);
  });
});

describe('hexToDicomLab', () => {
  it('scales CIELab (D50) to 0..65535', () => {
    const white = hexToDicomLab('#ffffff');
    expect(white[0]).toBe(65535);
    expect(Math.abs(white[1] - 32896)).toBeLessThan(40);
    expect(Math.abs(white[2] - 32896)).toBeLessThan(40);
    expect(hexToDicomLab('#000000')).toEqual([0, 32896, 32896]);
    const red = hexToDicomLab('#ff0000'); // L* 54.3, a* 80.8, b* 69.9 (D50)
    expect(red[0] / 655.35).toBeCloseTo(54.3, 0);
    expect((red[1] * 255) / 65535 - 128).toBeCloseTo(80.8, 0);
    expect((red[2] * 255) / 65535 - 128).toBeCloseTo(69.9, 0);
    expect(() => hexToDicomLab('red')).toThrow(RangeError);
  });
});
