import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPart10 } from '../src/dicom/part10.js';
import { runAsync, spawnServe, writeFixtures, type ServeProcess } from './helpers/node.js';
import { freePorts, tcpAccepts, tiedToParent } from './helpers/orthanc.js';

/**
 * Durability of `jointscore serve` (a real child process) across a SIGKILL and an archive
 * outage. The archive is DCMTK storescp with +uf (unique file names), so an object
 * received twice shows up as two files with the same SOP Instance UID.
 *
 *   a. SIGKILL while the results wait in the outbox (archive down), then archive up and
 *      restart: every result arrives. SIGKILL right after storescu's Success (mid-analysis),
 *      restart: every result arrives, with the same UIDs as in the first run. SIGKILL as the
 *      first result reaches a running archive: every result arrives; the objects of the
 *      interrupted association may arrive twice (same UID: "exactly once in effect").
 *   b. archive down while the node runs: deliveries back off, and all arrive once it is up.
 *
 * Run through scripts/test.sh (loopback-only network namespace): storescp binds every interface.
 */

const FIXTURES = ['hand-left-m2-explicit', 'hand-right-m1-explicit', 'hands-both-m2-jpegls'];
const KIND_BY_CLASS: Record<string, string> = {
  '1.2.840.10008.5.1.4.1.1.88.34': 'sr',
  '1.2.840.10008.5.1.4.1.1.7': 'sc',
  '1.2.840.10008.5.1.4.1.1.11.1': 'pr',
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * DCMTK's tools by full path where the Debian package put them: a pip-installed pynetdicom
 * (pyenv shims early on PATH) brings its own `storescp`/`storescu` with other options.
 * DCMTK_BIN_DIR overrides the folder.
 */
function dcmtk(tool: string): string {
  const path = join(process.env.DCMTK_BIN_DIR ?? '/usr/bin', tool);
  return existsSync(path) ? path : tool;
}

let work: string;
let files: Record<string, string>;
const sourceUid: Record<string, string> = {};
const children: ChildProcess[] = [];
/** (source SOP Instance UID, kind) -> result SOP Instance UID, from every scenario: must agree */
const resultUids = new Map<string, string>();

interface Archive {
  proc: ChildProcess;
  port: number;
  dir: string;
  stop(): Promise<void>;
}

async function startArchive(port: number, dir: string): Promise<Archive> {
  mkdirSync(dir, { recursive: true });
  const [cmd, args] = tiedToParent(dcmtk('storescp'), ['-aet', 'ARCHIVE', '+xa', '+uf', '-od', dir, String(port)]);
  const proc = spawn(cmd, args, { stdio: 'ignore' });
  children.push(proc);
  const until = Date.now() + 20_000;
  while (!(await tcpAccepts(port, 200))) {
    if (proc.exitCode !== null || Date.now() > until) throw new Error(`storescp did not start on port ${port}`);
    await sleep(100);
  }
  return {
    proc,
    port,
    dir,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        const gone = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGKILL');
        await gone;
      }
    },
  };
}

/** A data folder and a YAML configuration sending to ARCHIVE on 127.0.0.1:archivePort. */
function writeConfig(name: string, archivePort: number): { configFile: string; dataDir: string } {
  const dir = join(work, name);
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir, { recursive: true });
  const config = {
    dataDir,
    dimse: { aeTitle: 'JOINTSCORE', bindAddress: '127.0.0.1' },
    http: { enabled: false },
    logging: { file: '' },
    delivery: {
      destinations: [{ name: 'ARCHIVE', aeTitle: 'ARCHIVE', host: '127.0.0.1', port: archivePort }],
      initialBackoffS: 1,
      maxBackoffS: 2,
      maxAttempts: 50,
      timeoutS: 10,
    },
  };
  const configFile = join(dir, 'jointscore.yaml');
  writeFileSync(configFile, yaml.dump(config));
  return { configFile, dataDir };
}

async function serve(configFile: string): Promise<ServeProcess> {
  const s = await spawnServe(configFile, { JOINTSCORE_LOG_LEVEL: 'info' });
  children.push(s.proc);
  return s;
}

async function kill(s: ServeProcess): Promise<void> {
  s.proc.kill('SIGKILL');
  await s.exited;
}

interface QueueView {
  jobs: { id: number; sop: string; state: string; reason: string | null; analyses: number }[];
  deliveries: { job: number; sop: string; kind: string; state: string; attempts: number; error: string | null }[];
}

/** The node's queue, read-only, as another process sees it (WAL: no lock on the writer). */
function readQueue(dataDir: string): QueueView {
  const db = new Database(join(dataDir, 'queue.sqlite'), { readonly: true, fileMustExist: true });
  try {
    const jobs = (db.prepare('SELECT id, sop_instance_uid AS sop, state, reason, analyses FROM jobs ORDER BY id').all() as QueueView['jobs']);
    const deliveries = (
      db.prepare('SELECT job_id AS job, sop_instance_uid AS sop, path, state, attempts, last_error AS error FROM deliveries ORDER BY id').all() as (QueueView['deliveries'][number] & { path: string })[]
    ).map(({ path, ...d }) => ({ ...d, kind: path.replace(/^.*[\\/]/, '').replace(/\.dcm$/, '') }));
    return { jobs, deliveries };
  } finally {
    db.close();
  }
}

async function waitForQueue(dataDir: string, what: string, ok: (q: QueueView) => boolean, timeoutMs: number): Promise<QueueView> {
  const until = Date.now() + timeoutMs;
  let last: QueueView | undefined;
  let lastError = '';
  for (;;) {
    try {
      last = readQueue(dataDir);
      if (ok(last)) return last;
    } catch (err) {
      lastError = (err as Error).message; // the database is not there yet
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(last)} ${lastError}`);
    await sleep(200);
  }
}

interface Receipt {
  file: string;
  sopInstanceUid: string;
  kind: string;
  source: string;
}

/** Every object storescp wrote: its UID, its kind and the source image it refers to. */
function receipts(dir: string): Receipt[] {
  return readdirSync(dir)
    .filter((f) => !f.startsWith('.'))
    .map((f) => {
      const ds = readPart10(readFileSync(join(dir, f))).dataset;
      const kind = KIND_BY_CLASS[String(ds.SOPClassUID)] ?? String(ds.SOPClassUID);
      return { file: f, sopInstanceUid: String(ds.SOPInstanceUID), kind, source: referencedSource(ds) };
    });
}

/** The source SOP Instance UID a result names (SR evidence, SC source image, PR referenced image). */
function referencedSource(ds: Record<string, any>): string {
  const known = new Set(Object.values(sourceUid));
  const found = new Set<string>();
  const walk = (v: unknown) => {
    if (typeof v === 'string' && known.has(v)) found.add(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.entries(v).forEach(([k, x]) => k !== 'PixelData' && walk(x));
  };
  walk(ds);
  return found.size === 1 ? [...found][0] : `(${[...found].join(',') || 'none'})`;
}

async function waitForReceipts(dir: string, count: number, timeoutMs: number, context: () => string): Promise<Receipt[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    let got: Receipt[] = [];
    try {
      got = receipts(dir);
    } catch {
      // a file being written: read again
    }
    if (new Set(got.map((r) => r.sopInstanceUid)).size >= count) {
      await sleep(500); // let a file still being written complete
      return receipts(dir);
    }
    if (Date.now() > until) throw new Error(`archive holds ${got.length} files after ${timeoutMs} ms, wanted ${count} UIDs\n${context()}`);
    await sleep(250);
  }
}

/** Receipts per UID, the (source, kind) pairs, and the cross-scenario UID agreement. */
function checkReceipts(label: string, got: Receipt[], sources: string[], q: QueueView): void {
  const perUid = new Map<string, number>();
  for (const r of got) perUid.set(r.sopInstanceUid, (perUid.get(r.sopInstanceUid) ?? 0) + 1);
  const copies = [...perUid.values()];
  console.info(
    `${label}: ${got.length} files, ${perUid.size} distinct SOP Instance UIDs; copies per UID ${JSON.stringify(copies)}; ` +
      `jobs ${JSON.stringify(q.jobs.map((j) => [j.state, j.analyses]))} [state, times analysed]; ` +
      `delivery attempts ${JSON.stringify(q.deliveries.map((d) => d.attempts))}`,
  );
  expect(perUid.size).toBe(sources.length * 3);
  // one UID for each (source, kind), the ones the outbox lists
  const pairs = new Map<string, Set<string>>();
  for (const r of got) pairs.set(`${r.source}/${r.kind}`, (pairs.get(`${r.source}/${r.kind}`) ?? new Set()).add(r.sopInstanceUid));
  expect([...pairs.keys()].sort()).toEqual(sources.flatMap((s) => ['pr', 'sc', 'sr'].map((k) => `${s}/${k}`)).sort());
  for (const [pair, uids] of pairs) expect(uids.size, pair).toBe(1);
  expect(new Set(q.deliveries.map((d) => d.sop))).toEqual(new Set(perUid.keys()));
  // deterministic UIDs: every scenario (each its own process and data folder) gives the same ones
  for (const [pair, uids] of pairs) {
    const uid = [...uids][0];
    const seen = resultUids.get(pair);
    if (seen) expect(uid, `${label}: ${pair} differs from an earlier run`).toBe(seen);
    else resultUids.set(pair, uid);
  }
}

/** Once every job is done, the node removes the spooled sources and the working results. */
async function expectCleanedUp(dataDir: string): Promise<void> {
  const list = (d: string) => {
    try {
      return readdirSync(join(dataDir, d));
    } catch {
      return [];
    }
  };
  const until = Date.now() + 10_000;
  while (list('spool/objects').length + list('results-work').length > 0 && Date.now() < until) await sleep(200);
  expect({ spool: list('spool/objects'), resultsWork: list('results-work') }).toEqual({ spool: [], resultsWork: [] });
}

/**
 * Sends the named fixtures with DCMTK storescu, in order: the uncompressed ones in one
 * association, the JPEG-LS one in its own, proposing JPEG-LS (storescu cannot decompress it).
 */
async function storescu(port: number, names: string[]): Promise<{ status: number | null; stderr: string }> {
  const peer = ['-aet', 'MODALITY', '-aec', 'JOINTSCORE', '127.0.0.1', String(port)];
  const plain = names.filter((n) => !n.includes('jpegls'));
  const packed = names.filter((n) => n.includes('jpegls'));
  const calls = [...(plain.length ? [[...peer, ...plain.map((n) => files[n])]] : []), ...packed.map((n) => ['-xt', '-R', ...peer, files[n]])];
  let stderr = '';
  for (const args of calls) {
    const r = await runAsync(dcmtk('storescu'), args);
    stderr += r.stderr;
    if (r.status !== 0) return { status: r.status, stderr };
  }
  return { status: 0, stderr };
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'jointscore-node-crash-'));
  files = await writeFixtures(join(work, 'in'), FIXTURES);
  for (const [name, path] of Object.entries(files)) sourceUid[name] = String(readPart10(readFileSync(path)).dataset.SOPInstanceUID);
}, 120_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('a SIGKILLed node delivers every result after a restart', () => {
  it('killed while its results wait in the outbox for an archive that is down', async () => {
    const [archivePort] = await freePorts(1); // nothing listens there yet
    const { configFile, dataDir } = writeConfig('outbox', archivePort);
    const first = await serve(configFile);
    const sent = await storescu(first.port, FIXTURES);
    expect(sent.status, sent.stderr).toBe(0);

    // every job analysed and in the outbox, and each delivery tried (and refused) at least once
    const before = await waitForQueue(
      dataDir,
      '3 jobs sending, every delivery tried',
      (q) => q.jobs.length === 3 && q.jobs.every((j) => j.state === 'sending') && q.deliveries.length === 9 && q.deliveries.every((d) => d.attempts >= 1),
      90_000,
    );
    await kill(first);
    expect(before.deliveries.every((d) => d.state === 'pending' && /refused|ECONNREFUSED|association|connect/i.test(d.error ?? ''))).toBe(true);

    const archive = await startArchive(archivePort, join(work, 'outbox', 'archive'));
    const t0 = Date.now();
    const second = await serve(configFile);
    try {
      const got = await waitForReceipts(archive.dir, 9, 60_000, () => second.output().slice(-3000));
      const after = await waitForQueue(dataDir, 'every job done', (q) => q.jobs.every((j) => j.state === 'done'), 30_000);
      console.info(`outbox crash: all results in the archive ${((Date.now() - t0) / 1000).toFixed(1)} s after the restart began`);
      checkReceipts('SIGKILL in sending', got, Object.values(sourceUid), after);
      // the outbox survived as it was: the same UIDs, no second analysis
      expect(new Set(after.deliveries.map((d) => d.sop))).toEqual(new Set(before.deliveries.map((d) => d.sop)));
      expect(after.jobs.map((j) => j.analyses)).toEqual([1, 1, 1]);
      await expectCleanedUp(dataDir);
      expect(got).toHaveLength(9); // the archive was down before the crash: nothing can arrive twice
    } finally {
      await kill(second);
      await archive.stop();
    }
  }, 180_000);

  it('killed right after storescu got Success, mid-analysis', async () => {
    const [archivePort] = await freePorts(1);
    const { configFile, dataDir } = writeConfig('analysis', archivePort);
    const archive = await startArchive(archivePort, join(work, 'analysis', 'archive'));
    const first = await serve(configFile);
    const sent = await storescu(first.port, FIXTURES);
    expect(sent.status, sent.stderr).toBe(0);
    await kill(first);
    const atKill = readQueue(dataDir);
    // counted, not read: at the kill storescp may still be writing a file, or removing one whose
    // association the kill aborted (waitForReceipts reads them once they are settled)
    const inArchive = readdirSync(archive.dir).filter((f) => !f.startsWith('.')).length;
    console.info(`mid-analysis crash: queue at the kill ${JSON.stringify(atKill.jobs.map((j) => j.state))}, ${inArchive} files in the archive`);
    expect(atKill.jobs).toHaveLength(3); // every Success was backed by a job
    expect(atKill.jobs.some((j) => j.state !== 'sending' && j.state !== 'done')).toBe(true);

    const t0 = Date.now();
    const second = await serve(configFile);
    try {
      const got = await waitForReceipts(archive.dir, 9, 90_000, () => second.output().slice(-3000));
      const after = await waitForQueue(dataDir, 'every job done', (q) => q.jobs.length === 3 && q.jobs.every((j) => j.state === 'done'), 30_000);
      console.info(`mid-analysis crash: all results in the archive ${((Date.now() - t0) / 1000).toFixed(1)} s after the restart began`);
      checkReceipts('SIGKILL mid-analysis', got, Object.values(sourceUid), after);
      expect(second.output()).toMatch(/resuming jobs interrupted by a restart/);
      await expectCleanedUp(dataDir);
    } finally {
      await kill(second);
      await archive.stop();
    }
  }, 180_000);

  it('killed in the middle of delivering to a running archive (a re-send after the restart is allowed)', async () => {
    const [archivePort] = await freePorts(1);
    const { configFile, dataDir } = writeConfig('delivery', archivePort);
    const archive = await startArchive(archivePort, join(work, 'delivery', 'archive'));
    const first = await serve(configFile);
    const sent = await storescu(first.port, FIXTURES);
    expect(sent.status, sent.stderr).toBe(0);
    // kill as soon as the archive has written the first result object
    const until = Date.now() + 90_000;
    while (readdirSync(archive.dir).length === 0) {
      if (Date.now() > until) throw new Error(`nothing reached the archive:\n${first.output().slice(-3000)}`);
      await sleep(20);
    }
    await kill(first);
    const atKill = readQueue(dataDir);
    const filesAtKill = readdirSync(archive.dir).length;
    console.info(
      `mid-delivery crash: ${filesAtKill} file(s) in the archive at the kill; jobs ${JSON.stringify(atKill.jobs.map((j) => j.state))}; ` +
        `deliveries ${JSON.stringify(atKill.deliveries.map((d) => d.state))}`,
    );

    const second = await serve(configFile);
    try {
      const got = await waitForReceipts(archive.dir, 9, 90_000, () => second.output().slice(-3000));
      const after = await waitForQueue(dataDir, 'every job done', (q) => q.jobs.length === 3 && q.jobs.every((j) => j.state === 'done'), 30_000);
      checkReceipts('SIGKILL mid-delivery', got, Object.values(sourceUid), after);
      // at most the objects of the interrupted association arrive twice
      expect(got.length).toBeLessThanOrEqual(9 + atKill.deliveries.filter((d) => d.state === 'pending').length);
      await expectCleanedUp(dataDir);
    } finally {
      await kill(second);
      await archive.stop();
    }
  }, 180_000);
});

describe('an archive outage', () => {
  it('backs off while the archive is down and delivers everything once it is up', async () => {
    const [archivePort] = await freePorts(1);
    const { configFile, dataDir } = writeConfig('outage', archivePort);
    const node = await serve(configFile);
    let archive: Archive | undefined;
    try {
      const two = FIXTURES.slice(0, 2);
      const sent = await storescu(node.port, two);
      expect(sent.status, sent.stderr).toBe(0);
      const down = await waitForQueue(
        dataDir,
        'failed attempts with the archive down',
        (q) => q.deliveries.length === 6 && q.deliveries.every((d) => d.attempts >= 2),
        90_000,
      );
      expect(down.jobs.map((j) => j.state)).toEqual(['sending', 'sending']);
      expect(node.output()).toMatch(/delivery attempt failed, retrying in [\d.]+ s: .*ECONNREFUSED/);

      archive = await startArchive(archivePort, join(work, 'outage', 'archive'));
      const t0 = Date.now();
      const got = await waitForReceipts(archive.dir, 6, 20_000, () => node.output().slice(-3000));
      const after = await waitForQueue(dataDir, 'both jobs done', (q) => q.jobs.every((j) => j.state === 'done'), 10_000);
      console.info(`outage: all results in the archive ${((Date.now() - t0) / 1000).toFixed(1)} s after it came up`);
      checkReceipts('archive outage', got, two.map((f) => sourceUid[f]), after);
      expect(got).toHaveLength(6);
      expect(after.deliveries.every((d) => d.state === 'delivered')).toBe(true);
      await expectCleanedUp(dataDir);
    } finally {
      await kill(node);
      await archive?.stop();
    }
  }, 180_000);
});
