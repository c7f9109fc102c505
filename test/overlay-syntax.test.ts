import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../src/config/defaults.js';
import { loadConfig } from '../src/config/load.js';
import type { OverlaySyntaxName } from '../src/config/types.js';
import { readPart10, TransferSyntax, writePart10, type NaturalDataset } from '../src/dicom/part10.js';
import { analysisPolicy, resultObjects } from '../src/pipeline/analyse-object.js';
import { inOverlaySyntax, OVERLAY_SYNTAXES } from '../src/reports/overlay-syntax.js';
import { buildSecondaryCaptureDataset, renderOverlay } from '../src/reports/secondary-capture.js';
import { DCMTK_DECODERS, dciodvfy, runTool } from './helpers/dicom-tools.js';
import { runAsync, startNodeBesideOrthanc, startStorescpArchive, startTestNode, waitForJobs, writeFixtures, type StorescpArchive, type TestNode } from './helpers/node.js';
import { waitForSeries, type OrthancPeer } from './helpers/orthanc.js';
import { COLUMNS, ROWS, fixtureAnalysis, fixtureGray, fixtureSource } from './helpers/report-fixture.js';

/**
 * analysis.overlaySyntax: the overlay (Secondary Capture) written in a lossless compression the
 * archive accepts. Checked with peers that are not ours: dciodvfy on each file, DCMTK's own
 * decompressors giving back the uncompressed overlay's pixels byte for byte, and Orthanc
 * receiving the node's compressed overlay over C-STORE and filing it in the study.
 *
 * Run through scripts/test.sh (loopback-only network namespace): Orthanc binds every interface.
 */

const COMPRESSED: OverlaySyntaxName[] = ['rle', 'jpeg-ls', 'jpeg-lossless'];

let dir: string;
let explicitFile: string;
let sc: NaturalDataset;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'jointscore-overlay-syntax-'));
  const analysis = fixtureAnalysis();
  const rendered = await renderOverlay({ gray: fixtureGray(), rows: ROWS, columns: COLUMNS }, analysis);
  sc = buildSecondaryCaptureDataset(rendered, analysis, fixtureSource(), {
    manufacturer: 'jointscore project',
    deviceName: 'jointscore',
    algorithmName: 'jointscore-grader',
    algorithmVersion: '1.0.0',
    contentDateTime: new Date(2026, 2, 1, 10, 30, 0, 250),
    seriesNumber: 9101,
    seriesDescription: 'jointscore overlay',
  });
  explicitFile = join(dir, 'explicit.dcm');
  writeFileSync(explicitFile, writePart10(sc));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the overlay in a lossless compressed syntax', () => {
  it.each(COMPRESSED)('%s: dciodvfy clean, decoded by DCMTK to the uncompressed overlay\'s pixels, and smaller', async (name) => {
    const syntax = OVERLAY_SYNTAXES[name];
    const file = join(dir, `${name}.dcm`);
    writeFileSync(file, writePart10(await inOverlaySyntax(sc, name), syntax));
    const v = dciodvfy(file);
    expect(v.errors, v.output).toEqual([]);
    const read = readPart10(readFileSync(file));
    expect(read.meta.TransferSyntaxUID).toBe(syntax);
    expect([read.dataset.PhotometricInterpretation, read.dataset.SamplesPerPixel]).toEqual(['RGB', 3]);
    const decoded = join(dir, `${name}-decoded.dcm`);
    const run = runTool(DCMTK_DECODERS[syntax]!, [file, decoded]);
    expect(run.status, run.stderr).toBe(0);
    const [back, original] = [decoded, explicitFile].map((f) => Buffer.from(readPart10(readFileSync(f)).dataset.PixelData[0] as ArrayBuffer));
    expect(back.equals(original)).toBe(true);
    console.info(`overlay ${ROWS} x ${COLUMNS}: ${name} ${statSync(file).size} bytes, uncompressed ${statSync(explicitFile).size}`);
    expect(statSync(file).size).toBeLessThan(0.7 * statSync(explicitFile).size);
  });

  it('an overlay that fails while the SR and PR are written is a failure the caller sees, not an unhandled rejection', async () => {
    const policy = analysisPolicy({ ...DEFAULT_CONFIG.analysis, overlaySyntax: 'rle' });
    const display = { rows: ROWS, columns: COLUMNS, data: new Float32Array(ROWS * COLUMNS), pixelSpacingMm: [0.15, 0.15] as [number, number] };
    const failing = Promise.reject(new Error('the overlay could not be drawn'));
    const objects = resultObjects(fixtureAnalysis(), fixtureSource(), display, policy, { gray: fixtureGray(), picture: failing });
    const overlay = objects.find((o) => o.kind === 'sc')!;
    expect(overlay.transferSyntax).toBe(TransferSyntax.RleLossless);
    // the worker writes the SR and PR first: the rejection happens with nobody awaiting the overlay yet
    // (vitest fails the run on an unhandled rejection)
    await new Promise((r) => setTimeout(r, 50));
    await expect(overlay.dataset).rejects.toThrow('the overlay could not be drawn');
  });

  it('explicit leaves the overlay as built', async () => {
    expect(await inOverlaySyntax(sc, 'explicit')).toBe(sc);
    expect(OVERLAY_SYNTAXES.explicit).toBe(TransferSyntax.ExplicitVRLittleEndian);
  });

  it('a syntax the node does not write is refused, naming the key and the choices', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'analysis:\n  overlaySyntax: jpeg-2000\n');
    expect(() => loadConfig({ file, env: {} })).toThrow(/analysis\.overlaySyntax.*jpeg-2000.*explicit, rle, jpeg-ls, jpeg-lossless/s);
    writeFileSync(file, 'analysis:\n  overlaySyntax: JPEG-LS\n');
    expect(loadConfig({ file, env: {} }).analysis.overlaySyntax).toBe('jpeg-ls');
  });
});

describe('the node sends its overlay as JPEG-LS, and Orthanc files it', () => {
  let orthanc: OrthancPeer | undefined;
  let node: TestNode | undefined;
  let input: string;

  beforeAll(async () => {
    input = (await writeFixtures(join(dir, 'in'), ['hand-left-m2-explicit']))['hand-left-m2-explicit'];
    ({ orthanc, node } = await startNodeBesideOrthanc((c) => {
      c.analysis.overlaySyntax = 'jpeg-ls';
    }));
  }, 120_000);

  afterAll(async () => {
    await node?.stop();
    await orthanc?.stop();
  });

  it('the overlay arrives in JPEG-LS Lossless, the SR and presentation state uncompressed, one delivery each', async () => {
    const pacs = orthanc!;
    const up = await pacs.upload(readFileSync(input));
    expect(up.Status, JSON.stringify(up)).toBe('Success');
    await pacs.storeToModality('JOINTSCORE', [up.ID]);
    const jobs = () => JSON.stringify(node!.node.queue.list().map((j) => [j.state, j.reason]));
    const series = await waitForSeries(pacs, up.ParentStudy, ['DX', 'SR', 'OT', 'PR'], 90_000, jobs);
    const syntaxOf = async (m: string) => {
      const s = series.find((x) => x.MainDicomTags.Modality === m)!;
      return (await pacs.getBuffer(`/instances/${s.Instances[0]}/metadata/TransferSyntax`)).toString();
    };
    expect(await syntaxOf('OT')).toBe(TransferSyntax.JpegLsLossless);
    expect(await syntaxOf('SR')).toBe(TransferSyntax.ExplicitVRLittleEndian);
    expect(await syntaxOf('PR')).toBe(TransferSyntax.ExplicitVRLittleEndian);
    // Orthanc decodes it: its preview is the overlay at its size, coloured (a joint's box is not grey)
    const ot = series.find((x) => x.MainDicomTags.Modality === 'OT')!;
    const tags = await pacs.instanceTags(ot.Instances[0]);
    const { data, info } = await sharp(await pacs.preview(ot.Instances[0])).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([Number(tags.Columns), Number(tags.Rows)]);
    let coloured = 0;
    for (let o = 0; o < data.length; o += info.channels) if (Math.max(data[o], data[o + 1], data[o + 2]) - Math.min(data[o], data[o + 1], data[o + 2]) > 60) coloured++;
    expect(coloured).toBeGreaterThan(1000);
    const [job] = await waitForJobs(() => node!.node.queue.list(), 1, 30_000);
    expect([job.state, job.reason]).toEqual(['done', null]);
    const deliveries = node!.node.queue.deliveriesOf(job.id);
    expect(deliveries.map((d) => [d.state, d.attempts])).toEqual(deliveries.map(() => ['delivered', 1]));
  }, 150_000);
});

describe('an archive that does not take the overlay syntax: storescp accepting uncompressed only', () => {
  let node: TestNode | undefined;
  let archive: StorescpArchive | undefined;

  beforeAll(async () => {
    archive = await startStorescpArchive(join(dir, 'archive'), false);
    const { port } = archive;
    node = await startTestNode((c) => {
      c.analysis.overlaySyntax = 'rle';
      c.delivery.maxAttempts = 1;
      c.delivery.destinations = [{ name: 'ARCHIVE', aeTitle: 'ARCHIVE', host: '127.0.0.1', port, tls: { enabled: false, requireClientCert: false } }];
    });
  }, 120_000);

  afterAll(async () => {
    await node?.stop();
    archive?.proc.kill('SIGKILL');
  });

  it('gets the SR and presentation state; the overlay fails, its reason naming the setting', async () => {
    const input = (await writeFixtures(join(dir, 'in-2'), ['hand-left-m2-explicit']))['hand-left-m2-explicit'];
    // not runTool: the node answers from this process, whose event loop a synchronous child would hold
    const run = await runAsync('storescu', ['-aec', node!.config.dimse.aeTitle, '127.0.0.1', String(node!.node.port), input]);
    expect(run.status, run.stderr).toBe(0);
    const [job] = await waitForJobs(() => node!.node.queue.list().filter((j) => j.state === 'done' || j.state === 'failed'), 1, 90_000);
    const deliveries = node!.node.queue.deliveriesOf(job.id);
    const overlay = deliveries.find((d) => d.path.endsWith('sc.dcm'))!;
    expect(overlay.state).toBe('failed');
    expect(overlay.lastError).toMatch(/did not accept RLE Lossless .*analysis\.overlaySyntax/);
    expect(deliveries.filter((d) => d !== overlay).map((d) => d.state)).toEqual(['delivered', 'delivered']);
    expect(readdirSync(archive!.out).map((f) => f.slice(0, 2)).sort()).toEqual(['PS', 'SR']);
  }, 150_000);
});
