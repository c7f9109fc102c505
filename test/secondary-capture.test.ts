import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HandAnalysis, SeverityClass } from '../src/analysis/hand-analysis.js';
import { readPart10, writePart10 } from '../src/dicom/part10.js';
import { derivedUid } from '../src/dicom/uid.js';
import { VERSION } from '../src/version.js';
import { worstSeverity } from '../src/imaging/preview.js';
import {
  ScBuildError, buildSecondaryCaptureDataset, jointLabel, overlayLayout, overlaySvg, renderOverlay, type OverlayLayout,
  type Rect, type RenderedOverlay, type ScOptions,
} from '../src/reports/secondary-capture.js';
import { SEVERITY_COLOURS, severityCounts } from '../src/analysis/severity.js';
import { COLUMNS, ROWS, SOURCE_SOP, fixtureAnalysis, fixtureGray, fixtureSource, withUngradedJoint } from './helpers/report-fixture.js';
import { groundTruth } from '../src/phantom/generate.js';
import { renderPhantom } from '../src/phantom/render.js';
import { totalsOf } from './helpers/totals.js';

const options: ScOptions = {
  seriesNumber: 9002,
  seriesDescription: 'jointscore overlay (machine-generated, not for diagnosis alone)',
  manufacturer: 'jointscore project',
  deviceName: 'jointscore',
  algorithmName: 'jointscore-grader',
  algorithmVersion: '1.0.0',
  contentDateTime: new Date(2026, 2, 1, 10, 30, 0, 250),
};

const analysis = withUngradedJoint(fixtureAnalysis());
const source = fixtureSource();
const gray = fixtureGray();

let dir: string;
let file: string;
let bytes: Buffer;
let rendered: RenderedOverlay;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'jointscore-sc-'));
  const t0 = performance.now();
  rendered = await renderOverlay({ gray, rows: ROWS, columns: COLUMNS }, analysis, {});
  const t1 = performance.now();
  bytes = writePart10(buildSecondaryCaptureDataset(rendered, analysis, source, options));
  console.log(`renderOverlay ${(t1 - t0).toFixed(0)} ms, dataset + Part 10 ${(performance.now() - t1).toFixed(0)} ms`);
  file = join(dir, 'sc.dcm');
  writeFileSync(file, bytes);
  const png = await sharp(Buffer.from(rendered.rgb), { raw: { width: rendered.columns, height: rendered.rows, channels: 3 } })
    .png()
    .toBuffer();
  writeFileSync(join(dir, 'sc.png'), png);
  if (process.env.SC_SAMPLE_PNG) writeFileSync(process.env.SC_SAMPLE_PNG, png);
});
afterAll(() => {
  if (process.env.KEEP_SC) console.log(`kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
});

function dciodvfy(path: string): { errors: string[]; warnings: string[]; output: string } {
  const r = spawnSync('dciodvfy', [path], { encoding: 'utf8' });
  if (r.error) throw new Error(`dciodvfy (dicom3tools) could not run: ${r.error.message}; apt-get install dicom3tools`);
  const output = `${r.stdout}${r.stderr}`;
  const lines = output.split('\n').map((l) => l.trim());
  return { errors: lines.filter((l) => l.startsWith('Error')), warnings: lines.filter((l) => l.startsWith('Warning')), output };
}

/** The pixel at canvas (x, y) as [r, g, b]. */
function px(img: { rgb: Uint8Array; columns: number }, x: number, y: number): [number, number, number] {
  const i = (Math.round(y) * img.columns + Math.round(x)) * 3;
  return [img.rgb[i], img.rgb[i + 1], img.rgb[i + 2]];
}

/** Which severity colour a pixel shows, if any (the SEVERITY_COLOURS, allowing for anti-aliasing). */
function colourClass([r, g, b]: [number, number, number]): SeverityClass | 'unknown' | 'other' {
  if (r > 190 && g < 120 && b < 120) return 'severe'; // #ff3b30
  if (r > 190 && g > 130 && g < 220 && b < 90) return 'mild'; // #ffb000
  if (g > 150 && g > r + 60 && g > b + 40) return 'healthy'; // #34c759
  if (b > 170 && b > r + 80 && g > 120) return 'unknown'; // #32ade6
  return 'other';
}

/** Midpoints of a rectangle's four edges. */
const edgeMidpoints = (b: Rect): [number, number][] => [
  [b.x, b.y + b.height / 2], [b.x + b.width, b.y + b.height / 2], [b.x + b.width / 2, b.y], [b.x + b.width / 2, b.y + b.height],
];

const overlap = (a: Rect, b: Rect) =>
  a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

/** the software release and the models' version, as result UIDs are derived from */
const RELEASE_KEY = `jointscore ${VERSION}|1.0.0`;

describe('Secondary Capture: validity', () => {
  it('dciodvfy reports no errors', () => {
    const { errors, warnings, output } = dciodvfy(file);
    if (warnings.length) console.log(`dciodvfy warnings (SC):\n${[...new Set(warnings)].join('\n')}`);
    expect(errors, output).toEqual([]);
  });

  it('dcmdump reads it', () => {
    const out = execFileSync('dcmdump', ['-q', '+P', 'SOPClassUID', '+P', 'PatientName', '+P', 'PhotometricInterpretation', file], {
      encoding: 'utf8',
    });
    expect(out).toContain('SecondaryCaptureImageStorage');
    expect(out).toContain('张^伟');
    expect(out).toContain('RGB');
  });
});

describe('Secondary Capture: attributes', () => {
  it('same patient and study, a new series, the SC modules', () => {
    const { dataset: ds, meta } = readPart10(bytes);
    expect(ds.SOPClassUID).toBe('1.2.840.10008.5.1.4.1.1.7');
    expect(meta.MediaStorageSOPInstanceUID).toBe(ds.SOPInstanceUID);
    expect(ds.SpecificCharacterSet).toBe('ISO_IR 192');
    expect(ds.PatientName).toEqual([{ Alphabetic: '张^伟' }]);
    expect(ds.PatientID).toBe('PID-0042');
    expect(ds.StudyInstanceUID).toBe(source.StudyInstanceUID);
    expect(ds.StudyDescription).toBe('手部 X 光 hand radiograph');
    expect(ds.AccessionNumber).toBe('ACC-7');
    expect(ds.SeriesInstanceUID).not.toBe(source.SeriesInstanceUID);
    expect(ds.SeriesNumber).toBe(9002);
    expect(ds.SeriesDescription).toBe(options.seriesDescription);
    expect(ds.Modality).toBe('OT');
    expect(ds.Laterality).toBe('L');
    expect(ds.InstanceNumber).toBe(1);
    expect(ds.ConversionType).toBe('WSD');
    expect(ds.ImageType).toEqual(['DERIVED', 'SECONDARY']);
    expect(ds.BurnedInAnnotation).toBe('YES');
    expect(ds.PatientOrientation).toEqual(['R', 'F']);
    expect(ds.DerivationDescription).toMatch(/at the source's size.*right panel.*21 joint boxes/);
    expect(ds.SourceImageSequence).toHaveLength(1);
    const ref = ds.SourceImageSequence[0];
    expect(ref.ReferencedSOPInstanceUID).toBe(SOURCE_SOP);
    expect(ref.ReferencedSOPClassUID).toBe(source.SOPClassUID);
    expect(ref.PurposeOfReferenceCodeSequence[0]).toMatchObject({
      CodeValue: '121322', CodingSchemeDesignator: 'DCM', CodeMeaning: 'Source image for image processing operation',
    });
    expect(ds.ContributingEquipmentSequence[0].PurposeOfReferenceCodeSequence[0].CodeValue).toBe('109102');
    expect(ds.ContributingEquipmentSequence[0].ManufacturerModelName).toBe('jointscore-grader');
    expect(ds).toMatchObject({
      SamplesPerPixel: 3, PhotometricInterpretation: 'RGB', PlanarConfiguration: 0, BitsAllocated: 8, BitsStored: 8,
      HighBit: 7, PixelRepresentation: 0, Rows: rendered.rows, Columns: rendered.columns,
    });
    expect(ds.PixelSpacing).toBeUndefined();
    expect(ds.NominalScannedPixelSpacing).toBeUndefined();
    const pixels = new Uint8Array(ds.PixelData[0]);
    expect(pixels.length).toBe(rendered.rows * rendered.columns * 3);
    expect(Buffer.compare(Buffer.from(pixels), Buffer.from(rendered.rgb))).toBe(0);
  });

  it('same inputs give the same bytes; UIDs derive from (source SOP, release and model versions, sc)', async () => {
    const again = await renderOverlay({ gray, rows: ROWS, columns: COLUMNS }, analysis, {});
    const b2 = writePart10(buildSecondaryCaptureDataset(again, analysis, source, options));
    expect(Buffer.compare(b2, bytes)).toBe(0);
    const ds = readPart10(bytes).dataset;
    expect(ds.SOPInstanceUID).toBe(derivedUid([SOURCE_SOP, RELEASE_KEY, 'sc', 'instance']));
    expect(ds.SeriesInstanceUID).toBe(derivedUid([source.SeriesInstanceUID, RELEASE_KEY, 'sc', 'series']));
    const other = buildSecondaryCaptureDataset(again, analysis, source, { ...options, algorithmVersion: '1.0.1' });
    expect(other.SOPInstanceUID).not.toBe(ds.SOPInstanceUID);
    const rooted = buildSecondaryCaptureDataset(again, analysis, source, { ...options, uidRoot: '1.2.826.0.1.3680043.10.9999' });
    expect(rooted.SOPInstanceUID.startsWith('1.2.826.0.1.3680043.10.9999.')).toBe(true);
  });

  it('copies a lossy history, leaves Patient Orientation empty when the source has none', () => {
    const src = fixtureSource({ LossyImageCompression: '01', LossyImageCompressionMethod: 'ISO_10918_1' });
    delete src.PatientOrientation;
    const ds = buildSecondaryCaptureDataset(rendered, analysis, src, options);
    expect(ds.LossyImageCompression).toBe('01');
    expect(ds.LossyImageCompressionMethod).toBe('ISO_10918_1');
    expect(ds.PatientOrientation).toBe('');
    const f = join(dir, 'sc-lossy.dcm');
    writeFileSync(f, writePart10(ds));
    const { errors, output } = dciodvfy(f);
    expect(errors, output).toEqual([]);
  });

  it('declares UTF-8 for a Latin-1 source with a non-ASCII name', () => {
    const src = fixtureSource({ SpecificCharacterSet: 'ISO_IR 100', PatientName: [{ Alphabetic: 'Müller^Jürgen' }], StudyDescription: 'Hand' });
    const ds = readPart10(writePart10(buildSecondaryCaptureDataset(rendered, analysis, src, options))).dataset;
    expect(ds.SpecificCharacterSet).toBe('ISO_IR 192');
    expect(ds.PatientName).toEqual([{ Alphabetic: 'Müller^Jürgen' }]);
  });

  it('rejects inputs that do not fit', () => {
    expect(() => buildSecondaryCaptureDataset(rendered, analysis, { ...source, SOPInstanceUID: '1.2.3.4' }, options)).toThrow(
      /analysis is of image/,
    );
    expect(() =>
      buildSecondaryCaptureDataset({ rgb: new Uint8Array(10), rows: 2, columns: 2 }, analysis, source, options),
    ).toThrow(ScBuildError);
    expect(() => buildSecondaryCaptureDataset(rendered, analysis, source, { ...options, seriesNumber: 1.5 })).toThrow(
      /seriesNumber/,
    );
    return expect(renderOverlay({ gray: new Uint8Array(4), rows: 2, columns: 2 }, analysis)).rejects.toThrow(/analysis is of a/);
  });
});

describe('Secondary Capture: the picture', () => {
  it('draws every joint box in its severity colour', () => {
    const { layout } = rendered;
    const joints = analysis.hands.flatMap((h) => h.joints);
    const seen = new Set<string>();
    for (const [i, j] of joints.entries()) {
      const want = worstSeverity(j);
      const box = layout.labels[i].box;
      const got = edgeMidpoints(box).map(([x, y]) => colourClass(px(rendered, x, y)));
      expect(got.filter((c) => c === want).length, `${j.site} (${want}): edges ${got.join(', ')}`).toBeGreaterThanOrEqual(3);
      seen.add(want);
    }
    expect([...seen].sort()).toEqual(['healthy', 'mild', 'severe', 'unknown']);
    // a severe joint's outline is red-dominant
    const pip3 = layout.labels[joints.findIndex((j) => j.site === 'PIP3')].box;
    const [r, g, b] = px(rendered, pip3.x, pip3.y + pip3.height / 2);
    expect(r).toBeGreaterThan(2 * g);
    expect(r).toBeGreaterThan(2 * b);
  });

  it('keeps the radiograph uncovered outside the boxes and labels', () => {
    const { layout } = rendered;
    // the panel lies beside the image, not on it
    expect(layout.panel.side).toBe('right');
    expect(layout.panel.x).toBeGreaterThanOrEqual(layout.image.width);
    // a pixel of the radiograph far from any joint is the source's grey
    const x = 100;
    const y = 1200;
    for (const l of layout.labels) expect(overlap({ x, y, width: 1, height: 1 }, l.plate)).toBe(false);
    const v = gray[y * COLUMNS + x];
    expect(px(rendered, x, y)).toEqual([v, v, v]);
  });

  it('shows the notice: a red banner with light text, not blank', () => {
    const n = rendered.layout.notice;
    let red = 0;
    let white = 0;
    for (let y = Math.ceil(n.y + 4); y < n.y + n.height - 4; y++) {
      for (let x = Math.ceil(n.x + 4); x < n.x + n.width - 4; x++) {
        const [r, g, b] = px(rendered, x, y);
        if (r > 150 && g < 60 && b < 60) red++;
        else if (r > 220 && g > 220 && b > 220) white++;
      }
    }
    const area = (n.width - 8) * (n.height - 8);
    expect(red / area).toBeGreaterThan(0.4);
    expect(white / area).toBeGreaterThan(0.05);
    // and big enough to read on a screen that shows the canvas 1000 pixels high
    expect((rendered.layout.fonts.notice * 1000) / rendered.rows).toBeGreaterThanOrEqual(20);
  });

  it('the summary panel has text beside every hand summary block', () => {
    const hand = rendered.layout.blocks.find((b) => b.block.id === 'hand-L')!;
    let bright = 0;
    for (let y = hand.y; y < hand.y + hand.height; y++) {
      for (let x = hand.x; x < hand.x + hand.width; x++) if (px(rendered, x, y)[0] > 180) bright++;
    }
    expect(bright).toBeGreaterThan(500);
    const text = hand.block.lines.map((l) => l.runs.map((r) => r.text).join(' ')).join('\n');
    const s = totalsOf(analysis.hands[0].summary);
    expect(text).toContain(`SvH total ${s.svhJsn + s.svhErosion} (JSN ${s.svhJsn}, erosion ${s.svhErosion})`);
    const c = severityCounts(analysis.hands[0].joints);
    expect(text).toMatch(new RegExp(`Erosion\\s+${c.erosion.healthy}\\s+${c.erosion.mild}\\s+${c.erosion.severe}`));
    expect(c.erosion.healthy + c.erosion.mild + c.erosion.severe).toBe(analysis.hands[0].joints.filter((j) => j.erosion).length);
    expect(text).toContain(`KL sum ${s.klSum}`);
    expect(text).toContain(`Pattern: ${s.pattern}`);
  });
});

describe('Secondary Capture: layout (pure)', () => {
  it('labels name the site and the grades present', () => {
    const j = fixtureAnalysis().hands[0].joints;
    expect(jointLabel(j.find((x) => x.site === 'MCP2')!)).toBe('MCP2 JSN2 E1 KL1');
    expect(jointLabel(j.find((x) => x.site === 'DIP3')!)).toBe('DIP3 KL3');
    expect(jointLabel(j.find((x) => x.site === 'RC')!)).toBe('RC JSN3');
    expect(jointLabel({ site: 'CMC5' })).toBe('CMC5');
    // a joint found but not graded says so, beside its box in the "not graded" colour
    const ungraded = withUngradedJoint(fixtureAnalysis());
    const cmc5 = ungraded.hands[0].joints.find((x) => x.site === 'CMC5')!;
    expect(jointLabel(cmc5)).toBe('CMC5 not graded');
    const placed = overlayLayout(ROWS, COLUMNS, ungraded).labels.find((l) => l.text === 'CMC5 not graded')!;
    expect(placed.colour).toBe(SEVERITY_COLOURS.unknown);
    expect(overlaySvg(overlayLayout(ROWS, COLUMNS, ungraded))).toContain('; 1 not graded');
  });

  it('places labels inside the radiograph, clear of each other and of the boxes', () => {
    const { layout } = rendered;
    const { labels, image } = layout;
    let clashes = 0;
    for (const [i, a] of labels.entries()) {
      expect(a.plate.x).toBeGreaterThanOrEqual(image.x);
      expect(a.plate.y).toBeGreaterThanOrEqual(image.y);
      expect(a.plate.x + a.plate.width).toBeLessThanOrEqual(image.x + image.width);
      expect(a.plate.y + a.plate.height).toBeLessThanOrEqual(image.y + image.height);
      for (const b of labels.slice(i + 1)) if (overlap(a.plate, b.plate)) clashes++;
      for (const b of labels) if (overlap(a.plate, b.box)) clashes++;
    }
    expect(clashes).toBe(0);
  });

  it('sizes fonts for a canvas shown 1000 pixels high, whatever the resolution', () => {
    for (const [rows, columns] of [[1280, 1024], [2560, 2048], [4280, 3520], [640, 512]] as const) {
      const a: HandAnalysis = { ...analysis, source: { ...analysis.source, rows, columns } };
      const l = overlayLayout(rows, columns, a);
      const fit = Math.max(l.canvas.height, l.canvas.width / 1.6);
      expect(Math.max(l.image.width, l.image.height)).toBeLessThanOrEqual(2048);
      expect((l.fonts.label * 1000) / fit, `${rows}x${columns}`).toBeGreaterThanOrEqual(12.5);
      expect((l.fonts.text * 1000) / fit).toBeGreaterThanOrEqual(15);
      // the panel's content fits in the panel
      for (const b of l.blocks) {
        expect(b.x + b.width).toBeLessThanOrEqual(l.canvas.width);
        expect(b.y + b.height).toBeLessThanOrEqual(l.canvas.height);
      }
    }
    const big = overlayLayout(4280, 3520, { ...analysis, source: { ...analysis.source, rows: 4280, columns: 3520 } });
    expect(big.image).toEqual({ x: 0, y: 0, width: 1684, height: 2048 });
    expect(overlayLayout(4280, 3520, { ...analysis, source: { ...analysis.source, rows: 4280, columns: 3520 } }, { maxSide: 1000 }).image.height).toBe(1000);
  });

  it('puts the panel below a landscape image (both hands side by side), or at the right on request', async () => {
    const a = twoHands();
    const wide = new Uint8Array(ROWS * COLUMNS * 2);
    for (let y = 0; y < ROWS; y++) {
      for (let x = 0; x < COLUMNS; x++) {
        wide[y * 2 * COLUMNS + x] = gray[y * COLUMNS + x];
        wide[y * 2 * COLUMNS + (2 * COLUMNS - 1 - x)] = gray[y * COLUMNS + x];
      }
    }
    for (const panel of ['auto', 'right'] as const) {
      const r = await renderOverlay({ gray: wide, rows: ROWS, columns: 2 * COLUMNS }, a, { panel });
      if (process.env.SC_SAMPLE_PNG) {
        await sharp(Buffer.from(r.rgb), { raw: { width: r.columns, height: r.rows, channels: 3 } })
          .png()
          .toFile(process.env.SC_SAMPLE_PNG.replace(/\.png$/, `-landscape-${panel}.png`));
      }
      const { layout } = r;
      expect(layout.panel.side).toBe(panel === 'auto' ? 'bottom' : 'right');
      expect(layout.image.width).toBe(2048);
      expect(layout.blocks.map((b) => b.block.id)).toEqual(['notice', 'title', 'models', 'legend', 'hand-L', 'hand-R']);
      for (const b of layout.blocks) {
        // no block on the radiograph, every block on the canvas
        expect(overlap(b, layout.image), b.block.id).toBe(false);
        expect(b.x + b.width).toBeLessThanOrEqual(layout.canvas.width);
        expect(b.y + b.height).toBeLessThanOrEqual(layout.canvas.height);
      }
      const fit = Math.max(layout.canvas.height, layout.canvas.width / 1.6);
      expect((layout.fonts.label * 1000) / fit, panel).toBeGreaterThanOrEqual(panel === 'auto' ? 12 : 10);
      const dip3 = edgeMidpoints(layout.labels[1].box).map(([x, y]) => colourClass(px(r, x, y))); // L-DIP3
      expect(dip3.filter((c) => c === 'severe').length, dip3.join(', ')).toBeGreaterThanOrEqual(3);
    }
  });

  it('shrinks to maxSide and scales the boxes with the picture', async () => {
    const r = await renderOverlay({ gray, rows: ROWS, columns: COLUMNS }, analysis, { maxSide: 640 });
    expect(r.layout.image).toEqual({ x: 0, y: 0, width: 512, height: 640 });
    const i = analysis.hands[0].joints.findIndex((j) => j.site === 'MCP3');
    const box = r.layout.labels[i].box;
    expect(box.x).toBeCloseTo(analysis.hands[0].joints[i].box[0] * 0.5, 5);
    const got = edgeMidpoints(box).map(([x, y]) => colourClass(px(r, x, y)));
    expect(got.filter((c) => c === 'severe').length, got.join(', ')).toBeGreaterThanOrEqual(3);
  });

  it('a shrunk radiograph is the source shrunk: grey, in place, the same at every distance from the marks', async () => {
    // Until 2026-12-03 the shrunk grey came back from sharp as RGB and was spread as if one
    // sample a pixel: every film larger than maxSide (most real DX films) was garbled.
    const r = await renderOverlay({ gray, rows: ROWS, columns: COLUMNS }, analysis, { maxSide: 640 });
    const expected = await sharp(Buffer.from(gray), { raw: { width: COLUMNS, height: ROWS, channels: 1 } })
      .resize(512, 640, { fit: 'fill', kernel: 'lanczos3' })
      .extractChannel(0)
      .raw()
      .toBuffer();
    const marks = r.layout.labels.flatMap((l) => [l.box, l.plate]).map((b) => ({ x: b.x - 6, y: b.y - 6, width: b.width + 12, height: b.height + 12 }));
    let checked = 0;
    for (let y = 0; y < 640; y += 7) {
      for (let x = 0; x < 512; x += 7) {
        if (marks.some((m) => overlap({ x, y, width: 1, height: 1 }, m))) continue;
        const v = expected[y * 512 + x];
        expect(px(r, x, y), `(${x}, ${y})`).toEqual([v, v, v]);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(2000);
  });

  it('is the radiograph with the canvas-sized SVG composited over it (drawn in parts: panel text, joint marks), but for a few antialiased edges', async () => {
    // the straightforward way: the whole canvas, one SVG over it
    const reference = async (a: HandAnalysis, g: Uint8Array, rows: number, columns: number, opts: { maxSide?: number; panel?: 'bottom' }) => {
      const layout = overlayLayout(rows, columns, a, opts);
      let pic = sharp(Buffer.from(g), { raw: { width: columns, height: rows, channels: 1 } });
      if (layout.image.width !== columns) pic = pic.resize(layout.image.width, layout.image.height, { fit: 'fill', kernel: 'lanczos3' });
      const rgb = await pic.toColourspace('srgb').raw().toBuffer();
      return sharp(rgb, { raw: { width: layout.image.width, height: layout.image.height, channels: 3 } })
        .extend({ right: layout.canvas.width - layout.image.width, bottom: layout.canvas.height - layout.image.height, background: '#1c1c1e' })
        .composite([{ input: Buffer.from(overlaySvg(layout)), left: 0, top: 0 }])
        .removeAlpha()
        .raw()
        .toBuffer();
    };
    // a joint at the right edge: its mark reaches off the radiograph
    const atEdge = structuredClone(analysis);
    const j = atEdge.hands[0].joints[0];
    j.box = [COLUMNS - (j.box[2] - j.box[0]), j.box[1], COLUMNS, j.box[3]];
    // an odd size where a few text edges come out a few grey levels apart
    const oddRows = 2047;
    const oddColumns = 1531;
    const odd = groundTruth(renderPhantom({ seed: 2047, profile: 'mixed', layout: 'one', laterality: 'L', rows: oddRows, columns: oddColumns, pixelSpacingMm: 0.134 }), SOURCE_SOP);
    const oddGray = Uint8Array.from({ length: oddRows * oddColumns }, (_, i) => (i * 7 + Math.floor(i / oddColumns)) & 255);
    for (const [what, a, g, rows, columns, opts] of [
      ['as is', analysis, gray, ROWS, COLUMNS, {}],
      ['shrunk', analysis, gray, ROWS, COLUMNS, { maxSide: 640 }],
      ['panel below', analysis, gray, ROWS, COLUMNS, { panel: 'bottom' }],
      ['a mark off the radiograph', atEdge, gray, ROWS, COLUMNS, {}],
      ['2047 x 1531', odd, oddGray, oddRows, oddColumns, {}],
    ] as const) {
      const r = await renderOverlay({ gray: g, rows, columns }, a, opts);
      const expected = await reference(a, g, rows, columns, opts);
      expect(r.rgb.length, what).toBe(expected.length);
      let differing = 0;
      let most = 0;
      for (let i = 0; i < expected.length; i++) {
        const d = Math.abs(r.rgb[i] - expected[i]);
        if (d > 0) differing++;
        most = Math.max(most, d);
      }
      expect(differing, `${what}: samples that differ`).toBeLessThanOrEqual(100);
      expect(most, `${what}: largest difference in grey levels`).toBeLessThanOrEqual(16);
      if (what !== '2047 x 1531') expect(differing, what).toBe(0);
    }
  });

  it('the SVG is pure text: same layout, same string; XML special characters escaped', () => {
    const l1 = overlayLayout(ROWS, COLUMNS, analysis, { notice: 'Not for diagnosis <alone> & "such"' });
    const l2: OverlayLayout = overlayLayout(ROWS, COLUMNS, analysis, { notice: 'Not for diagnosis <alone> & "such"' });
    expect(overlaySvg(l1)).toBe(overlaySvg(l2));
    expect(overlaySvg(l1)).toContain('&lt;alone&gt; &amp;');
  });
});

/** Both hands on one landscape film: the fixture's left hand and its mirror image as the right. */
function twoHands(): HandAnalysis {
  const a = withUngradedJoint(fixtureAnalysis());
  const w = 2 * COLUMNS;
  const right = structuredClone(a.hands[0]);
  right.laterality = 'R';
  for (const j of right.joints) {
    j.x = w - j.x;
    j.box = [w - j.box[2], j.box[1], w - j.box[0], j.box[3]];
  }
  return { ...a, source: { ...a.source, columns: w }, hands: [a.hands[0], right] };
}

