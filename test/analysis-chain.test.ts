import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MODELS_DIR, runAnalyze } from '../src/cli/analyze.js';
import { DEFAULT_CONFIG } from '../src/config/defaults.js';
import { readPart10, writePart10 } from '../src/dicom/part10.js';

import { dciodvfy } from './helpers/dicom-tools.js';
import { loadModels, modelList, type Models } from '../src/inference/models.js';
import { VERSION } from '../src/version.js';
import { analyseObject, analysisPolicy, withAgePolicy, type AnalysisPolicy } from '../src/pipeline/analyse-object.js';
import { analysisVersionOf, Worker, type WorkerDeps } from '../src/pipeline/worker.js';
import { select } from '../src/pipeline/select.js';
import { JobQueue } from '../src/store/queue.js';
import { captureLogger } from './helpers/inference.js';
import { deeplyNested } from './helpers/dx.js';
import { writeFixtures } from './helpers/node.js';
import { readSrQualitativeEvaluations } from './helpers/sr-reader.js';
import { makePhantom } from '../src/phantom/generate.js';
import { parsePhantomOptions, specFor } from '../src/phantom/options.js';

/**
 * The node's worker and `jointscore analyze` share one analysis chain: for the same input
 * and configuration they write byte-identical results, including the configured UID root,
 * SR class and no-hand policy. The worker runs here without sockets, on a real queue file.
 */
let work: string;
let models: Models;
let files: Record<string, string>;
let policy: AnalysisPolicy;
const UID_ROOT = '1.2.826.0.1.3680043.10.999';
const SERIES_DESCRIPTION = 'Hand joints, AI (machine-made)';
let lastJob: ReturnType<JobQueue['get']>;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'jointscore-chain-'));
  files = await writeFixtures(join(work, 'in'), ['hand-left-m2-explicit', 'chest-not-a-hand']);
  models = await loadModels(DEFAULT_MODELS_DIR, { provider: 'cpu' });
  policy = analysisPolicy(
    { ...DEFAULT_CONFIG.analysis, reportNoHand: true, uidRoot: UID_ROOT, srClass: 'comprehensive', seriesNumber: 42, seriesDescription: SERIES_DESCRIPTION },
    new Date(Date.UTC(2026, 0, 2, 3, 4, 5)),
  );
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** What the worker leaves in its results folder for one spooled file. */
async function throughWorker(file: string, limits: WorkerDeps['limits'] = DEFAULT_CONFIG.analysis, headerFrom = file): Promise<Record<string, Buffer>> {
  const queue = new JobQueue(join(work, `queue-${Date.now()}.sqlite`));
  const resultsDir = join(work, `worker-${Date.now()}`);
  const { log } = captureLogger();
  const header = readPart10(readFileSync(headerFrom), { untilPixelData: true }).dataset;
  const { job } = queue.enqueue({
    sopInstanceUid: String(header.SOPInstanceUID),
    modelVersion: analysisVersionOf(models),
    sopClassUid: String(header.SOPClassUID),
    transferSyntaxUid: '1.2.840.10008.1.2.1',
    callingAe: 'TEST',
    spoolPath: file,
  });
  const selection = { ...DEFAULT_CONFIG.selection, bodyParts: [] };
  const worker = new Worker({ queue, models, selection, policy, limits, destinations: ['folder'], resultsDir, log });
  expect(await worker.processNext()).toBe(true);
  lastJob = queue.get(job.id);
  queue.close();
  if (lastJob?.state === 'quarantined') return {};
  const dir = join(resultsDir, String(job.id));
  return Object.fromEntries(readdirSync(dir).filter((f) => f.endsWith('.dcm')).map((f) => [f.replace('.dcm', ''), readFileSync(join(dir, f))]));
}

async function throughAnalyze(file: string): Promise<Record<string, Buffer>> {
  const out = join(work, `analyze-${Date.now()}`);
  mkdirSync(out);
  const { log } = captureLogger();
  const run = await runAnalyze(file, { out, provider: 'cpu', policy }, { log, models, stdout: () => undefined, stderr: { write: () => true } });
  expect(run.failures).toEqual([]);
  return Object.fromEntries(readdirSync(out).filter((f) => f.endsWith('.dcm')).map((f) => [f.split('.').at(-2)!, readFileSync(join(out, f))]));
}

describe('one analysis chain for the node and the CLI', () => {
  it('gives byte-identical SR, PR and SC for a hand, under the configured UID root, SR class and series', async () => {
    const node = await throughWorker(files['hand-left-m2-explicit']);
    const cli = await throughAnalyze(files['hand-left-m2-explicit']);
    expect(Object.keys(node).sort()).toEqual(['pr', 'sc', 'sr']);
    expect(Object.keys(cli).sort()).toEqual(['pr', 'sc', 'sr']);
    for (const kind of ['sr', 'pr', 'sc']) expect(cli[kind].equals(node[kind]), kind).toBe(true);
    const sr = readPart10(node.sr).dataset;
    expect(sr.SOPClassUID).toBe('1.2.840.10008.5.1.4.1.1.88.33');
    expect(String(sr.SOPInstanceUID).startsWith(`${UID_ROOT}.`)).toBe(true);
    expect(String(readPart10(node.sc).dataset.SeriesInstanceUID).startsWith(`${UID_ROOT}.`)).toBe(true);
    const series = ['sr', 'sc', 'pr'].map((k) => readPart10(node[k]).dataset);
    expect(series.map((ds) => [ds.SeriesNumber, ds.SeriesDescription])).toEqual([42, 43, 44].map((n) => [n, SERIES_DESCRIPTION]));
    // the overlay sent back by a PACS that routes whole studies is known as ours at any series number
    expect(select(series[1], DEFAULT_CONFIG.selection)).toMatchObject({ analyse: false, rule: 'own-output' });
  }, 120_000);

  it("keys a job by the release and every model's version, as the result UIDs are derived", () => {
    const key = analysisVersionOf(models);
    expect(key.split('+')).toEqual([`jointscore@${VERSION}`, ...modelList(models).map(({ info }) => `${info.name}@${info.version}`)]);
  });

  it('quarantines, unread, an object over analysis.maxObjectMb or an image over analysis.maxPixels', async () => {
    expect(await throughWorker(files['hand-left-m2-explicit'], { ...DEFAULT_CONFIG.analysis, maxObjectMb: 1 })).toEqual({});
    expect(lastJob).toMatchObject({ state: 'quarantined', reason: expect.stringMatching(/more than analysis\.maxObjectMb \(1\): not read/) });
    expect(await throughWorker(files['hand-left-m2-explicit'], { ...DEFAULT_CONFIG.analysis, maxPixels: 1_000_000 })).toEqual({});
    expect(lastJob).toMatchObject({ state: 'quarantined', reason: expect.stringMatching(/is 1310720 pixels, more than analysis\.maxPixels/) });
  }, 60_000);

  it('quarantines, unparsed, an object nested 20 000 sequences deep (dcmjs would hold the event loop)', async () => {
    const deep = deeplyNested(readFileSync(files['hand-left-m2-explicit']));
    const file = join(work, 'deep.dcm');
    writeFileSync(file, deep);
    const started = Date.now();
    expect(await throughWorker(file, DEFAULT_CONFIG.analysis, files['hand-left-m2-explicit'])).toEqual({});
    expect(lastJob).toMatchObject({ state: 'quarantined', reason: expect.stringMatching(/more than analysis.maxSequenceItems \(10000\) sequence items before the pixel data/) });
    expect(Date.now() - started).toBeLessThan(5000);
  }, 60_000);

  it("does not grade a child's hand: both write the same SR saying why, the job and the JSON name the reason; dciodvfy clean", async () => {
    const { dataset } = readPart10(readFileSync(files['hand-left-m2-explicit']));
    const child = join(work, 'child.dcm');
    writeFileSync(child, writePart10({ ...dataset, PatientAge: '012Y' }));
    const node = await throughWorker(child);
    const cli = await throughAnalyze(child);
    expect(Object.keys(node)).toEqual(['sr']);
    expect(cli.sr.equals(node.sr)).toBe(true);
    expect(lastJob?.reason).toMatch(/^no hand found: reported \(Left hand not graded: skeletally immature: patient aged 12 years .* under analysis\.minGradingAgeYears 16/);
    const texts = readSrQualitativeEvaluations(readPart10(node.sr).dataset);
    expect(texts.some((e) => typeof e.value !== 'string' && e.value.value === 'JS-NOT-GRADED')).toBe(true);
    expect(texts.some((e) => /^Left hand not graded: skeletally immature/.test(String(e.value)))).toBe(true);
    const file = join(work, 'child-sr.dcm');
    writeFileSync(file, node.sr);
    const v = dciodvfy(file);
    expect(v.errors, v.output).toEqual([]);
    const { analysis } = await analyseObject(readFileSync(child), child, models, policy, captureLogger().log);
    expect(analysis.hands).toEqual([]);
    expect(analysis.notGraded).toEqual([{ laterality: 'L', cause: 'immature', reason: expect.stringContaining('SvH and KL are adult scores') }]);
    // an adult's, and an unknown age, are graded
    expect(withAgePolicy(analysis, { PatientAge: '030Y' }, 16)).toBe(analysis);
    const adult = await analyseObject(readFileSync(files['hand-left-m2-explicit']), 'adult', models, policy, captureLogger().log);
    expect(adult.analysis.hands.length).toBe(1);
  }, 120_000);

  it("does not grade a child's hand whose header has no age: the open growth plates say it; the SR says so, dciodvfy clean", async () => {
    // the phantom child of test/physes.test.ts, its age taken out of the header
    const { dicom } = await makePhantom(specFor(parsePhantomOptions({ seed: '9100002', child: true }), 0), {}, { preview: false });
    const { dataset } = readPart10(dicom);
    const { PatientAge: _age, PatientBirthDate: _born, ...ageless } = dataset;
    const child = join(work, 'child-no-age.dcm');
    writeFileSync(child, writePart10(ageless));
    const node = await throughWorker(child);
    expect(Object.keys(node)).toEqual(['sr']);
    expect(lastJob?.reason).toMatch(/hand not graded: skeletally immature: open growth plates seen at \d+ of \d+ finger joints/);
    const texts = readSrQualitativeEvaluations(readPart10(node.sr).dataset);
    expect(texts.some((e) => /hand not graded: skeletally immature: open growth plates/.test(String(e.value)))).toBe(true);
    const file = join(work, 'child-no-age-sr.dcm');
    writeFileSync(file, node.sr);
    const v = dciodvfy(file);
    expect(v.errors, v.output).toEqual([]);
  }, 120_000);

  it('applies the no-hand policy in both: the same SR saying so, nothing else', async () => {
    const node = await throughWorker(files['chest-not-a-hand']);
    const cli = await throughAnalyze(files['chest-not-a-hand']);
    expect(Object.keys(node)).toEqual(['sr']);
    expect(Object.keys(cli)).toEqual(['sr']);
    expect(cli.sr.equals(node.sr)).toBe(true);
  }, 120_000);
});
