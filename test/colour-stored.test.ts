import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { DEFAULT_MODELS_DIR } from '../src/cli/analyze.js';
import { DEFAULT_CONFIG } from '../src/config/defaults.js';
import { readPart10, writePart10, type NaturalDataset } from '../src/dicom/part10.js';
import { greyFromColour, MAX_COLOURED_SHARE } from '../src/imaging/colour.js';
import { readDicomImage } from '../src/imaging/decode.js';
import { loadModels, type Models } from '../src/inference/models.js';
import { analyseObject, analysisPolicy, type ObjectResults } from '../src/pipeline/analyse-object.js';
import { FIXTURES, makeFixture } from '../src/phantom/fixtures.js';
import { dciodvfy, runTool } from './helpers/dicom-tools.js';
import { captureLogger } from './helpers/inference.js';

/**
 * A grey film stored in colour (a CD import, a digitised outside film: RGB or JPEG YBR) is read
 * as its luminance and graded as the same film stored grey; a colour picture is refused with
 * the attribute named. DCMTK's img2dcm makes the JPEG one as a site's import tool would.
 */
let models: Models;
let work: string;
const policy = analysisPolicy({ ...DEFAULT_CONFIG.analysis }, new Date(Date.UTC(2026, 0, 2)));

/** The hand fixture's 16-bit values brought to 8 bits: the grey film every colour form below holds. */
async function greyFilm(): Promise<{ ds: NaturalDataset; meta: NaturalDataset; grey: Uint8Array; rows: number; columns: number }> {
  const { dataset, meta } = readPart10((await makeFixture(FIXTURES.find((f) => f.name === 'hand-left-m2-explicit')!, false)).dicom);
  const px = new Uint16Array((dataset.PixelData as ArrayBuffer[])[0].slice(0));
  const shift = Number(dataset.BitsStored) - 8;
  const grey = Uint8Array.from(px, (v) => v >> shift);
  const eight = { BitsAllocated: 8, BitsStored: 8, HighBit: 7, PixelRepresentation: 0 };
  const ds: NaturalDataset = { ...dataset, ...eight, _vrMap: { ...(dataset._vrMap ?? {}), PixelData: 'OB' } };
  delete ds.PixelPaddingValue;
  return { ds, meta, grey, rows: Number(dataset.Rows), columns: Number(dataset.Columns) };
}

const asFile = (ds: NaturalDataset, meta: NaturalDataset, pixels: Uint8Array) =>
  writePart10({ ...ds, PixelData: [pixels.slice().buffer] }, meta.TransferSyntaxUID as string);

/** Each grey value as three samples, interleaved (planar 0) or as planes (planar 1). */
function rgb(grey: Uint8Array, planar: 0 | 1): Uint8Array {
  const n = grey.length;
  const out = new Uint8Array(3 * n);
  for (let i = 0; i < n; i++) for (let k = 0; k < 3; k++) out[planar ? k * n + i : 3 * i + k] = grey[i];
  return out;
}

const colourAttrs = (planar: 0 | 1) => ({ SamplesPerPixel: 3, PhotometricInterpretation: 'RGB', PlanarConfiguration: planar });
const joints = (r: ObjectResults) => r.analysis.hands.flatMap((h) => h.joints.map((j) => ({ site: j.site, x: j.x, y: j.y, severity: j.severity })));

beforeAll(async () => {
  models = await loadModels(DEFAULT_MODELS_DIR, { provider: 'cpu' });
  work = mkdtempSync(join(tmpdir(), 'jointscore-colour-'));
}, 60_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('greyFromColour', () => {
  const px = (data: Uint8Array, photometric = 'RGB', planarConfiguration = 0) => ({ data, rows: 2, columns: 2, photometric, planarConfiguration, bitsAllocated: 8, bitsStored: 8 });

  it('reads equal samples as their value, interleaved or planar, and YBR_FULL as its luminance', () => {
    const grey = Uint8Array.from([0, 90, 200, 255]);
    for (const planar of [0, 1] as const) expect(greyFromColour(px(rgb(grey, planar), 'RGB', planar))).toEqual({ grey: true, values: grey, colouredShare: 0 });
    const ybr = Uint8Array.from([0, 128, 128, 90, 129, 127, 200, 128, 128, 255, 128, 128]);
    expect(greyFromColour(px(ybr, 'YBR_FULL'))).toEqual({ grey: true, values: grey, colouredShare: 0 });
  });

  it('refuses a colour picture, saying how much of it is coloured', () => {
    const photo = Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9]);
    const r = greyFromColour(px(photo));
    expect(r.grey).toBe(false);
    expect(r.grey ? '' : r.reason).toMatch(/^75\.0 % of its pixels are coloured .*not a radiograph/);
    expect(greyFromColour(px(rgb(Uint8Array.from([1, 2, 3, 4]), 0), 'PALETTE COLOR')).grey).toBe(false);
  });

  it('reads 16-bit samples at their Bits Stored', () => {
    const data = new Uint8Array(new Uint16Array([4095, 4095, 4095, 100, 100, 100, 0, 0, 0, 2000, 2000, 2000]).buffer);
    expect(greyFromColour({ ...px(data), bitsAllocated: 16, bitsStored: 12 })).toEqual({ grey: true, values: Uint16Array.from([4095, 100, 0, 2000]), colouredShare: 0 });
  });
});

describe('a grey film stored in colour', () => {
  it('RGB, interleaved or planar, with a coloured annotation: graded as the film stored grey, no presentation state', async () => {
    const { ds, meta, grey, rows, columns } = await greyFilm();
    const { log, lines } = captureLogger();
    const plain = await analyseObject(asFile(ds, meta, grey), 'grey.dcm', models, policy, log);
    expect(plain.analysis.hands.length).toBe(1);
    expect(plain.objects.map((o) => o.kind)).toEqual(['sr', 'pr', 'sc']);

    const planar = await analyseObject(asFile({ ...ds, ...colourAttrs(1) }, meta, rgb(grey, 1)), 'planar.dcm', models, policy, log);
    expect(joints(planar)).toEqual(joints(plain));

    // a red label in the top left corner, under the share of coloured pixels a grey film may carry
    const marked = rgb(grey, 0);
    const side = Math.floor(Math.sqrt(0.5 * MAX_COLOURED_SHARE * rows * columns));
    for (let y = 0; y < side; y++) for (let x = 0; x < side; x++) marked.set([230, 20, 20], 3 * (y * columns + x));
    const annotated = await analyseObject(asFile({ ...ds, ...colourAttrs(0) }, meta, marked), 'annotated.dcm', models, policy, log);
    expect(annotated.analysis.hands[0].laterality).toBe(plain.analysis.hands[0].laterality);
    const where = new Map(joints(plain).map((j) => [j.site, j]));
    expect(joints(annotated).map((j) => j.site).sort()).toEqual([...where.keys()].sort());
    for (const j of joints(annotated)) expect(Math.hypot(j.x - where.get(j.site)!.x, j.y - where.get(j.site)!.y), j.site).toBeLessThan(3);
    expect(annotated.objects.map((o) => o.kind)).toEqual(['sr', 'sc']);

    const said = lines.filter((l) => /three samples holds a grey film/.test(l.message)).map((l) => l.message);
    expect(said).toHaveLength(2);
    expect(said[0]).toMatch(/^planar\.dcm: Photometric Interpretation \(0028,0004\) "RGB" with three samples holds a grey film \(0\.00 % of pixels coloured\)/);
    expect(lines.filter((l) => /no presentation state/.test(l.message))).toHaveLength(2);
  }, 120_000);

  it('a JPEG in YBR_FULL_422 made by DCMTK img2dcm: the same joints, its SR and overlay valid to dciodvfy', async () => {
    const { ds, meta, grey, rows, columns } = await greyFilm();
    const plain = await analyseObject(asFile(ds, meta, grey), 'grey.dcm', models, policy, captureLogger().log);
    const jpeg = join(work, 'film.jpg');
    await sharp(rgb(grey, 0), { raw: { width: columns, height: rows, channels: 3 } }).jpeg({ quality: 95, chromaSubsampling: '4:2:0' }).toFile(jpeg);
    const spacing = (ds.PixelSpacing as number[]).join('\\');
    const sc = join(work, 'film.dcm');
    const made = runTool('img2dcm', ['-k', `NominalScannedPixelSpacing=${spacing}`, '-k', 'PatientID=COLOUR1', '-k', 'StudyInstanceUID=1.2.826.0.1.3680043.10.1443.77.1', jpeg, sc]);
    expect(made.status, made.stderr).toBe(0);
    expect(runTool('dcmdump', ['+P', 'PhotometricInterpretation', sc]).stdout).toContain('YBR_FULL_422');

    const image = await readDicomImage(sc, captureLogger().log);
    expect([image.photometric, image.pixelSpacingSource, image.values.length]).toEqual(['MONOCHROME2', 'NominalScannedPixelSpacing', rows * columns]);
    const r = await analyseObject(readFileSync(sc), sc, models, policy, captureLogger().log);
    const where = new Map(joints(plain).map((j) => [j.site, j]));
    expect(joints(r).map((j) => j.site).sort()).toEqual([...where.keys()].sort());
    for (const j of joints(r)) expect(Math.hypot(j.x - where.get(j.site)!.x, j.y - where.get(j.site)!.y), j.site).toBeLessThan(3);
    expect(r.objects.map((o) => o.kind)).toEqual(['sr', 'sc']);
    for (const o of r.objects) {
      const f = join(work, `result.${o.kind}.dcm`);
      writeFileSync(f, writePart10(await o.dataset));
      const { errors, output } = dciodvfy(f);
      expect(errors, output).toEqual([]);
    }
  }, 120_000);

  it('a colour picture is refused, the file and attribute named', async () => {
    const { ds, meta, grey } = await greyFilm();
    const photo = rgb(grey, 0);
    for (let i = 0; i < photo.length; i += 3) photo[i] = 255 - photo[i];
    const f = join(work, 'photo.dcm');
    writeFileSync(f, asFile({ ...ds, ...colourAttrs(0) }, meta, photo));
    await expect(readDicomImage(f, captureLogger().log)).rejects.toThrow(
      new RegExp(`^${f}: Photometric Interpretation \\(0028,0004\\) "RGB" with three samples: [0-9.]+ % of its pixels are coloured`),
    );
  });
});
