import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPart10, writePart10, type NaturalDataset } from '../src/dicom/part10.js';
import { buildSrDataset } from '../src/reports/sr/index.js';
import { dciodvfy } from './helpers/dicom-tools.js';
import { buildMinimalDx } from './helpers/dx.js';
import { freePorts, startOrthanc, tcpAccepts, tiedToParent, type OrthancPeer } from './helpers/orthanc.js';
import { DX_FOR_PRESENTATION, analysis, options, source } from './helpers/sr-fixture.js';
import { readSrJoints } from './helpers/sr-reader.js';

/**
 * Orthanc as the PACS: DCMTK's storescu sends it the source DX and the SR made from it,
 * and its REST API says where they landed; Orthanc routes the SR on to DCMTK's storescp.
 * Run through scripts/test.sh, which isolates the network (Orthanc and storescp bind all
 * interfaces).
 */

const OUR_AET = 'JOINTSCORE';
const SCP_AET = 'JSCP';
const COMPREHENSIVE_3D_SR = '1.2.840.10008.5.1.4.1.1.88.34';

let orthanc: OrthancPeer | undefined;
let storescp: ChildProcess | undefined;
let dir: string;
let received: string;
let dxFile: string;
let srFile: string;
let sr: NaturalDataset;

function peer(): OrthancPeer {
  if (!orthanc) throw new Error('Orthanc did not start (see the beforeAll error)');
  return orthanc;
}

/** A DCMTK tool; throws if it cannot run at all, returns its status and output otherwise. */
function dcmtk(cmd: string, args: string[]): { status: number | null; output: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw new Error(`${cmd} (DCMTK) could not run: ${r.error.message}; apt-get install dcmtk`);
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

function storescu(...files: string[]) {
  // -R: propose only the files' own SOP classes (storescu's default list lacks Comprehensive 3D SR);
  // -v: one line per C-STORE response, so that a failure status shows up in the output.
  return dcmtk('storescu', ['-R', '-v', '-aet', OUR_AET, '-aec', peer().aet, '127.0.0.1', String(peer().dicomPort), ...files]);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'jointscore-orthanc-test-'));
  received = join(dir, 'received');
  mkdirSync(received);

  // storescp as a modality that Orthanc knows, to receive what Orthanc routes.
  const [scpPort] = await freePorts(1);
  storescp = spawn(...tiedToParent('storescp', ['-aet', SCP_AET, '-od', received, '-uf', String(scpPort)]), {
    stdio: 'ignore',
  });
  storescp.once('error', () => {}); // reported by the port wait below

  orthanc = await startOrthanc({ aet: 'ORTHANC', modalities: { [SCP_AET]: [SCP_AET, '127.0.0.1', scpPort] } });

  for (let i = 0; i < 100 && !(await tcpAccepts(scpPort)); i++) await new Promise((r) => setTimeout(r, 50));

  sr = buildSrDataset(analysis, source, options);
  dxFile = join(dir, 'dx.dcm');
  srFile = join(dir, 'sr.dcm');
  writeFileSync(dxFile, writePart10(buildMinimalDx(source)));
  writeFileSync(srFile, writePart10(sr));
});

afterAll(async () => {
  await orthanc?.stop();
  storescp?.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('Orthanc as the PACS (DCMTK storescu -> Orthanc -> storescp)', () => {
  it('starts with its own ports and no plugins', async () => {
    const system = await peer().get('/system');
    expect(system.DicomAet).toBe('ORTHANC');
    expect(system.DicomPort).toBe(peer().dicomPort);
    expect(system.HttpPort).toBe(peer().httpPort);
    // "explorer.js" is Orthanc Explorer's built-in hook, listed even when no plugin is loaded
    expect((await peer().get<string[]>('/plugins')).filter((p) => p !== 'explorer.js')).toEqual([]);
    expect(await peer().studies()).toEqual([]);
  });

  it('answers C-ECHO from echoscu', () => {
    const r = dcmtk('echoscu', ['-aet', OUR_AET, '-aec', peer().aet, '127.0.0.1', String(peer().dicomPort)]);
    expect(r.status, r.output).toBe(0);
  });

  it('the source DX is a valid DX For Presentation object', () => {
    const { errors, output } = dciodvfy(dxFile);
    expect(errors, output).toEqual([]);
  });

  it('stores the source DX and its SR sent by storescu, the SR in a new series of the same study', async () => {
    const r = storescu(dxFile, srFile);
    expect(r.status, r.output).toBe(0);
    expect(r.output.match(/Received Store Response \(Success\)/g)?.length, r.output).toBe(2);

    const studies = await peer().studies();
    expect(studies).toHaveLength(1);
    const study = await peer().get(`/studies/${studies[0]}`);
    expect(study.MainDicomTags.StudyInstanceUID).toBe(source.StudyInstanceUID);
    expect(study.PatientMainDicomTags.PatientID).toBe(source.PatientID);

    const series = await peer().seriesOfStudy(studies[0]);
    expect(series).toHaveLength(2);
    const dxSeries = series.find((s) => s.MainDicomTags.SeriesInstanceUID === source.SeriesInstanceUID);
    const srSeries = series.find((s) => s.MainDicomTags.SeriesInstanceUID === sr.SeriesInstanceUID);
    expect(dxSeries, JSON.stringify(series)).toBeDefined();
    expect(srSeries, JSON.stringify(series)).toBeDefined();
    expect(sr.SeriesInstanceUID).not.toBe(source.SeriesInstanceUID);
    expect(dxSeries!.MainDicomTags.Modality).toBe('DX');
    expect(srSeries!.MainDicomTags.Modality).toBe('SR');
    expect(srSeries!.Instances).toHaveLength(1);

    const srTags = await peer().instanceTags(srSeries!.Instances[0]);
    expect(srTags.SOPClassUID).toBe(COMPREHENSIVE_3D_SR);
    expect(srTags.SOPInstanceUID).toBe(sr.SOPInstanceUID);
    expect(srTags.StudyInstanceUID).toBe(source.StudyInstanceUID);
    expect(srTags.PatientName).toBe('张伟');
    const dxTags = await peer().instanceTags(dxSeries!.Instances[0]);
    expect(dxTags.SOPClassUID).toBe(DX_FOR_PRESENTATION);
    expect(dxTags.SOPInstanceUID).toBe(source.SOPInstanceUID);
  });

  it('re-sending the same SR (same UIDs) leaves one instance, not two', async () => {
    const r = storescu(srFile);
    expect(r.status, r.output).toBe(0);
    expect(r.output, r.output).toContain('Received Store Response (Success)');
    const [studyId] = await peer().studies();
    const srSeries = (await peer().seriesOfStudy(studyId)).find((s) => s.MainDicomTags.Modality === 'SR');
    expect(srSeries?.Instances).toHaveLength(1);
    const stats = await peer().get('/statistics');
    expect(stats.CountStudies).toBe(1);
    expect(stats.CountSeries).toBe(2);
    expect(stats.CountInstances).toBe(2);
    // the same through REST: Orthanc recognises the instance
    const up = await peer().upload(readFileSync(srFile));
    expect(up.Status).toBe('AlreadyStored');
    expect(up.ParentStudy).toBe(studyId);
  });

  it('renders a PNG preview of the DX', async () => {
    const [studyId] = await peer().studies();
    const dxSeries = (await peer().seriesOfStudy(studyId)).find((s) => s.MainDicomTags.Modality === 'DX');
    const png = await peer().preview(dxSeries!.Instances[0]);
    expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    // IHDR: width, height
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([source.Columns, source.Rows]);
  });

  it('routes the SR to a DICOM modality (storescp) with the SR intact', async () => {
    const [studyId] = await peer().studies();
    const srSeries = (await peer().seriesOfStudy(studyId)).find((s) => s.MainDicomTags.Modality === 'SR');
    const answer = await peer().storeToModality(SCP_AET, [srSeries!.ID]);
    expect(answer.InstancesCount).toBe(1);
    const files = readdirSync(received);
    expect(files).toEqual([`SR3.${sr.SOPInstanceUID}`]); // -uf: "<modality prefix>.<SOP Instance UID>"
    const got = readPart10(readFileSync(join(received, files[0]))).dataset;
    expect(got.SOPClassUID).toBe(COMPREHENSIVE_3D_SR);
    expect(got.SOPInstanceUID).toBe(sr.SOPInstanceUID);
    expect(readSrJoints(got)).toEqual(readSrJoints(readPart10(readFileSync(srFile)).dataset));
  });
});

describe('startOrthanc: robust start, clear failure, clean stop', () => {
  it('moves to free ports when a port it was given is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen({ port: 0 }, () => resolve()));
    const busy = (blocker.address() as { port: number }).port;
    let second: OrthancPeer | undefined;
    try {
      second = await startOrthanc({ aet: 'SECOND', dicomPort: busy });
      expect(second.dicomPort).not.toBe(busy);
      expect((await second.get('/system')).DicomAet).toBe('SECOND');
      const r = dcmtk('echoscu', ['-aec', 'SECOND', '127.0.0.1', String(second.dicomPort)]);
      expect(r.status, r.output).toBe(0);
    } finally {
      await second?.stop();
      blocker.close();
    }
    expect(existsSync(second!.dir)).toBe(false);
  });

  it('fails with the tail of Orthanc\'s log, and leaves no folder behind', async () => {
    const err = await startOrthanc({ config: { IndexDirectory: '/proc/jointscore-nonexistent' } }).then(
      () => undefined,
      (e: Error) => e,
    );
    if (process.env.SHOW_ORTHANC_ERROR) console.log(err?.message);
    expect(err?.message).toMatch(/Orthanc did not start[\s\S]*exited \(code 255[\s\S]*SQLite: Unable to open the database/);
    const dir = /in (\S+jointscore-orthanc-\S+) \(removed\)/.exec(err!.message)?.[1];
    expect(dir, err!.message).toBeDefined();
    expect(existsSync(dir!)).toBe(false);
  });
});
