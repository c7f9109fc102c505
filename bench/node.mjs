// The node as a whole, against DCMTK in the same run: receive throughput, end-to-end latency
// and peak memory of `jointscore serve` (bin/jointscore.js, built JS in dist/).
// Build first (`npm run build`), then: node bench/node.mjs
//   E2E=10   radiographs sent one at a time for the latency (after one warm-up image)
//   ROUNDS=3 throughput rounds (storescp, node, storescp, node, ...; medians compared)
//   KEEP=1   keep the temporary folder (spools, archives, logs) and print its path
//   MALLOC=container  the node's malloc settings as the container sets them (MALLOC_ARENA_MAX=2,
//                     MALLOC_MMAP_THRESHOLD_=131072); MALLOC=arenas only MALLOC_ARENA_MAX=2;
//                     MALLOC=glibc glibc's defaults
//
// 1. Receive throughput: 50 DX objects of 10.5 MB (2048 x 2560, 16-bit, explicit VR LE) on one
//    association by DCMTK storescu, to DCMTK storescp (the reference) and to the node in turn,
//    ROUNDS times with fresh SOP Instance UIDs (patched in place); each send timed from
//    storescu's start to its exit, the medians compared. The node's selection skips every object
//    (selection.modalities: [XX]) so that no analysis competes with the receive; it still
//    reads each object back to apply the rule. The node fsyncs every object (and the spool
//    folder, and the queue row) before it answers Success; storescp writes without fsync.
//    Target: node MB/s >= storescp MB/s.
// 2. End-to-end latency: the node with its default selection and a DCMTK storescp as the
//    archive (storescp --fork: several associations at once, as a PACS takes them); hand
//    radiographs (phantom 2048 x 2560, 12 bits) sent one at a time, each timed from storescu's exit (last byte sent and acknowledged) until the node's queue says `done`
//    (its state once the archive has acknowledged SR, SC and PR). Target: median <= 0.6 s,
//    max <= 0.9 s; VmHWM after the run <= 400 MB.
//    The split (node log and queue timestamps): received -> analysed -> all delivered; and
//    the delivery step alone, the same three result objects sent by the node's deliverer
//    (dist/pipeline/delivery.js, on its default associations and on one) and by DCMTK storescu. The node's VmHWM after this run is printed too.
// 3. Peak memory: 8 storescu at once, each sending two 30.7 MB objects (3072 x 4992, 16-bit)
//    to a fresh node (selection skipping them); the node's VmHWM (lifetime peak, so it
//    includes model loading) and its sampled RSS during the load. Reference: storescp --fork
//    under the same load, its RSS and PSS summed over the parent and its children, sampled.
//    Target: node peak <= 300 MB.
//
// DCMTK's tools are called by absolute path (/usr/bin): a Python environment may put
// pynetdicom's storescu/storescp first on PATH. storescp listens on every interface for
// the few seconds it runs (DCMTK 3.6.7 cannot bind one address); the node binds 127.0.0.1.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import dimse from 'dcmjs-dimse';
import { DEFAULT_CONFIG } from '../dist/config/defaults.js';
import { Deliverer, splitBySize } from '../dist/pipeline/delivery.js';
import { JobQueue } from '../dist/store/queue.js';
import { encodePhantomDx } from '../dist/phantom/dicom-dx.js';
import { renderPhantom } from '../dist/phantom/render.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'jointscore.js');
const STORESCU = '/usr/bin/storescu';
const STORESCP = '/usr/bin/storescp';
const N_THROUGHPUT = 50;
const N_E2E = Number(process.env.E2E ?? 10);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const MALLOC = process.env.MALLOC ?? 'container';
const CONTAINER_MALLOC = { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072' }; // as the Dockerfile sets
const NODE_MALLOC = { container: CONTAINER_MALLOC, arenas: { MALLOC_ARENA_MAX: '2' }, glibc: {} }[MALLOC];
if (!NODE_MALLOC) throw new Error(`MALLOC=${MALLOC}: container, arenas or glibc`);
const N_PARALLEL = 8;
const PER_PARALLEL = 2;
// issue 13's targets
const TARGET = { ratio: 1.0, e2eMedianS: 0.6, e2eMaxS: 0.9, peakMb: 300, analysingMb: 400 };
const MB = 1e6;

const t0 = performance.now();
const work = mkdtempSync(join(tmpdir(), 'js-bench-node-'));
const children = new Set();
const nodeLogs = [];
const openDbs = new Set();
let cleaned = false;

function cleanUp() {
  if (cleaned) return;
  cleaned = true;
  for (const db of openDbs) {
    try {
      db.close();
    } catch {}
  }
  for (const p of children) {
    try {
      p.kill('SIGKILL');
    } catch {}
  }
  if (process.env.KEEP) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
process.on('exit', cleanUp);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

const hasPdeathsig = spawnSync('setpriv', ['--help'], { encoding: 'utf8' }).stdout?.includes('pdeathsig') ?? false;
/** A child that dies with us (setpriv execs, so the pid is the program's own). */
function start(cmd, args, opts = {}) {
  const [c, a] = hasPdeathsig ? ['setpriv', ['--pdeathsig', 'KILL', '--', cmd, ...args]] : [cmd, args];
  const p = spawn(c, a, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  let text = '';
  const keep = (d) => (text = (text + d).slice(-8000));
  p.stdout?.on('data', keep);
  p.stderr?.on('data', keep);
  children.add(p);
  p.exited = new Promise((resolve) =>
    p.once('exit', (code, signal) => {
      children.delete(p);
      p.exitedAt = performance.now();
      resolve({ code, signal });
    }),
  );
  p.output = () => text;
  return p;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (x, d = 1) => (x === undefined || Number.isNaN(x) ? '-' : x.toFixed(d));
const log = (s) => console.log(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(3)} s] ${s}`);

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}
const used = new Set();
async function freshPort() {
  for (;;) {
    const p = await freePort();
    if (!used.has(p)) {
      used.add(p);
      return p;
    }
  }
}

function tcpAccepts(port) {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1' });
    const done = (ok) => {
      s.destroy();
      resolve(ok);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    s.setTimeout(500, () => done(false));
  });
}
async function waitListening(port, proc, what, ms = 90_000) {
  const until = Date.now() + ms;
  while (!(await tcpAccepts(port))) {
    if (proc.exitCode !== null || Date.now() > until) throw new Error(`${what} did not start on port ${port}:\n${proc.output()}`);
    await sleep(100);
  }
}

// ---------------------------------------------------------------------------------------
// /proc

function statusKb(pid) {
  try {
    const t = readFileSync(`/proc/${pid}/status`, 'utf8');
    const get = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(t)?.[1] ?? NaN);
    return { rss: get('VmRSS'), hwm: get('VmHWM') };
  } catch {
    return undefined;
  }
}
function pssKb(pid) {
  try {
    return Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}
/** pid and every descendant (no /proc/<pid>/task/<pid>/children here: scan /proc). */
function tree(root) {
  const parent = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parent.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {}
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) for (const [pid, pp] of parent) if (pp === out[i]) out.push(pid);
  return out;
}
/** Samples every `ms` until stopped: max of the summed RSS (and PSS) of `pids()`. */
function sampler(pids, ms, withPss = false) {
  let maxRss = 0;
  let maxPss = 0;
  let maxProcs = 0;
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      const ps = pids();
      let rss = 0;
      let pss = 0;
      for (const pid of ps) {
        rss += statusKb(pid)?.rss || 0;
        if (withPss) pss += pssKb(pid) || 0;
      }
      maxRss = Math.max(maxRss, rss);
      maxPss = Math.max(maxPss, pss);
      maxProcs = Math.max(maxProcs, ps.length);
      await sleep(ms);
    }
  })();
  return async () => {
    stop = true;
    await loop;
    return { rssMb: (maxRss * 1024) / MB, pssMb: (maxPss * 1024) / MB, procs: maxProcs };
  };
}

// ---------------------------------------------------------------------------------------
// Test objects: a few renders, many SOP Instance UIDs (patched in place, same length).

const uidRoot = `2.25.${BigInt('0x' + randomBytes(10).toString('hex'))}`;

/** UID of copy `j` in round `round`: the same length as the placeholder, so nothing else moves. */
const copyUid = (tag, round, j) => `${uidRoot}.${tag}.1${String(round).padStart(3, '0')}${String(j).padStart(4, '0')}`;

/** Encodes once with a placeholder UID, then writes `count` copies, each with its own UID. */
async function writeCopies(rendered, tag, count, dir, prefix, bitsStored) {
  const template = copyUid(tag, 999, 9999);
  const dx = await encodePhantomDx(rendered, { bitsStored, sopInstanceUID: template, uidRoot: `${uidRoot}.9` });
  const needle = Buffer.from(template, 'latin1');
  const at = [];
  for (let i = dx.bytes.indexOf(needle); i >= 0; i = dx.bytes.indexOf(needle, i + 1)) at.push(i);
  if (at.length < 2) throw new Error(`SOP Instance UID found ${at.length} times in the encoded object`);
  const files = [];
  for (let j = 0; j < count; j++) {
    const uid = copyUid(tag, 0, j);
    for (const i of at) dx.bytes.write(uid, i, 'latin1');
    const path = join(dir, `${prefix}-${tag}-${j}.dcm`);
    writeFileSync(path, dx.bytes);
    files.push({ path, uid, bytes: dx.bytes.length, tag, j, at });
  }
  return files;
}

/** Gives every file a new SOP Instance UID for `round`, written in place (a few bytes each). */
function relabel(files, round) {
  for (const f of files) {
    f.uid = copyUid(f.tag, round, f.j);
    const fd = openSync(f.path, 'r+');
    try {
      for (const i of f.at) writeSync(fd, Buffer.from(f.uid, 'latin1'), 0, f.uid.length, i);
    } finally {
      closeSync(fd);
    }
  }
}

const spec = (seed, rows = 2560, columns = 2048) => ({
  seed,
  profile: ['mixed', 'ra', 'oa', 'healthy'][seed % 4],
  layout: 'one',
  laterality: seed % 2 ? 'L' : 'R',
  rows,
  columns,
  pixelSpacingMm: 0.15,
});

// ---------------------------------------------------------------------------------------
// Peers

async function startStorescp(aet, extra = []) {
  const port = await freshPort();
  const out = mkdtempSync(join(work, `${aet.toLowerCase()}-`));
  const proc = start(STORESCP, ['-aet', aet, ...extra, '-od', out, String(port)]);
  await waitListening(port, proc, 'storescp');
  return { proc, port, out, aet };
}

async function startNode(name, mutate) {
  const dataDir = join(work, name);
  mkdirSync(dataDir, { recursive: true });
  const port = await freshPort();
  const httpPort = await freshPort();
  const config = {
    dataDir,
    dimse: { aeTitle: 'JOINTSCORE', bindAddress: '127.0.0.1', port },
    analysis: { provider: 'cpu' },
    http: { enabled: true, host: '127.0.0.1', port: httpPort },
    logging: { level: 'info', file: 'logs/jointscore.log' },
  };
  mutate?.(config);
  const configFile = join(dataDir, 'config.yaml');
  writeFileSync(configFile, JSON.stringify(config, null, 2)); // JSON is YAML
  const startedAt = performance.now();
  // the node runs with the malloc settings the container gives it, unless MALLOC says otherwise
  const env = { ...process.env };
  for (const key of Object.keys(CONTAINER_MALLOC)) delete env[key];
  Object.assign(env, NODE_MALLOC);
  const proc = start(process.execPath, [BIN, 'serve', '--config', configFile], { cwd: ROOT, env });
  nodeLogs.push([name, proc, join(dataDir, 'logs', 'jointscore.log')]);
  await waitListening(port, proc, 'jointscore serve');
  const db = new Database(join(dataDir, 'queue.sqlite'), { readonly: true, fileMustExist: true });
  openDbs.add(db);
  return { proc, port, httpPort, dataDir, db, startS: (performance.now() - startedAt) / 1000, logFile: join(dataDir, 'logs', 'jointscore.log') };
}

async function stopNode(n) {
  openDbs.delete(n.db);
  n.db.close();
  n.proc.kill('SIGTERM');
  const r = await Promise.race([n.proc.exited, sleep(15_000).then(() => undefined)]);
  if (!r) n.proc.kill('SIGKILL');
  await n.proc.exited;
}
async function stopProc(p) {
  p.kill('SIGKILL');
  await p.exited;
}

async function storescu(aec, port, files, extra = []) {
  const started = performance.now();
  const p = start(STORESCU, ['-aet', 'BENCH', '-aec', aec, ...extra, '127.0.0.1', String(port), ...files]);
  const { code, signal } = await p.exited;
  if (code !== 0) throw new Error(`storescu to ${aec} exited ${code ?? signal}:\n${p.output().slice(-2000)}`);
  return { seconds: (p.exitedAt - started) / 1000, exitedAt: p.exitedAt, exitedAtMs: Date.now() };
}

async function metrics(n) {
  const res = await fetch(`http://127.0.0.1:${n.httpPort}/metrics`);
  const text = await res.text();
  const get = (name) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { text, get };
}

const countJobs = (n, state) => n.db.prepare('SELECT count(*) AS c FROM jobs WHERE state = ?').get(state).c;

// ---------------------------------------------------------------------------------------

const results = {};
const notes = [];

async function main() {
  for (const tool of [STORESCU, STORESCP]) if (!existsSync(tool)) throw new Error(`${tool} (DCMTK) is missing: apt-get install dcmtk`);
  const version = /v[\d.]+/.exec(spawnSync(STORESCU, ['--version'], { encoding: 'utf8' }).stdout ?? '')?.[0] ?? '?';
  console.log(`node bench: jointscore serve vs DCMTK ${version} storescp, ${(await import('node:os')).cpus().length} CPUs, load average ${(await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' ')}; node malloc settings: ${Object.entries(NODE_MALLOC).map(([k, v]) => `${k}=${v}`).join(' ') || "glibc's defaults"}`);

  // --- test objects
  const inDir = join(work, 'in');
  mkdirSync(inDir);
  const renders = [];
  const tr = performance.now();
  for (let i = 0; i < Math.max(N_E2E + 1, 5); i++) renders.push(renderPhantom(spec(101 + i)));
  const big = renderPhantom(spec(201, 4992, 3072));
  log(`rendered ${renders.length} phantoms 2048x2560 and one 3072x4992 in ${((performance.now() - tr) / 1000).toFixed(1)} s`);
  const perRender = N_THROUGHPUT / 5;
  const through = [];
  for (let r = 0; r < 5; r++) through.push(...(await writeCopies(renders[r], `1${r}`, perRender, inDir, 'rx', 16)));
  const e2e = [];
  for (let r = 0; r <= N_E2E; r++) e2e.push(...(await writeCopies(renders[r], `2${r}`, 1, inDir, 'e2e', 12)));
  const bigFiles = await writeCopies(big, '30', N_PARALLEL * PER_PARALLEL, inDir, 'big', 16);
  const throughMb = through.reduce((s, f) => s + f.bytes, 0) / MB;
  log(
    `wrote ${through.length} x ${(through[0].bytes / MB).toFixed(1)} MB, ${e2e.length} x ${(e2e[0].bytes / MB).toFixed(1)} MB, ` +
      `${bigFiles.length} x ${(bigFiles[0].bytes / MB).toFixed(1)} MB`,
  );

  // --- 1. receive throughput: storescp and the node in turn, ROUNDS times, fresh UIDs each round
  {
    const node = await startNode('node-rx', (c) => (c.selection = { modalities: ['XX'] }));
    log(`node up in ${node.startS.toFixed(1)} s (models loaded); selection.modalities [XX]`);
    const refS = [];
    const nodeS = [];
    let skippedAfter = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      relabel(through, round);
      const ref = await startStorescp('REF', ['--max-pdu', '131072']);
      const r = await storescu('REF', ref.port, through.map((f) => f.path));
      const stored = readdirSync(ref.out).length;
      await stopProc(ref.proc);
      rmSync(ref.out, { recursive: true, force: true }); // no dirty pages left for the node's turn
      if (stored !== through.length) throw new Error(`storescp stored ${stored} of ${through.length}`);
      refS.push(r.seconds);

      const before = countJobs(node, 'skipped');
      const n = await storescu('JOINTSCORE', node.port, through.map((f) => f.path));
      const until = Date.now() + 60_000;
      while (countJobs(node, 'skipped') < before + through.length && Date.now() < until) await sleep(20);
      skippedAfter = Math.max(skippedAfter, (performance.now() - n.exitedAt) / 1000);
      nodeS.push(n.seconds);
      log(`  round ${round}: storescp ${(throughMb / r.seconds).toFixed(0)} MB/s, node ${(throughMb / n.seconds).toFixed(0)} MB/s`);
    }
    const jobs = node.db.prepare('SELECT count(*) AS c FROM jobs').get().c;
    const m = await metrics(node);
    const recvSum = m.get('jointscore_receive_seconds_sum');
    const hwm = statusKb(node.proc.pid)?.hwm;
    await stopNode(node);
    if (jobs !== through.length * ROUNDS) throw new Error(`the node recorded ${jobs} jobs of ${through.length * ROUNDS}`);
    const refMbs = throughMb / median(refS);
    const nodeMbs = throughMb / median(nodeS);
    log(
      `receive, median of ${ROUNDS}: storescp ${refMbs.toFixed(0)} MB/s (max PDU 131072, no fsync), node ${nodeMbs.toFixed(0)} MB/s (max PDU 262144, fsync per object); ` +
        `node: last object skipped <= ${skippedAfter.toFixed(2)} s after storescu exit, receive_seconds sum ${fmt(recvSum, 1)} s of ${fmt(nodeS.reduce((a, b) => a + b, 0), 1)} s sending, VmHWM ${fmt((hwm * 1024) / MB, 0)} MB`,
    );
    results.rx = { refMbs, nodeMbs, ratio: nodeMbs / refMbs, refS, nodeS };
  }

  // --- 2. end-to-end latency
  {
    // --fork: an archive takes several associations at once, as a PACS does (without it
    // storescp serves one association at a time, and the node's second waits for the first)
    const archive = await startStorescp('ARCHIVE', ['--fork', '+xa']);
    const node = await startNode('node-e2e', (c) => (c.delivery = { destinations: [`ARCHIVE@127.0.0.1:${archive.port}`] }));
    log(`node up in ${node.startS.toFixed(1)} s; default selection, destination ARCHIVE@127.0.0.1:${archive.port} (storescp)`);
    const jobState = node.db.prepare('SELECT state, reason, received_at, updated_at FROM jobs WHERE sop_instance_uid = ?');
    const rows = [];
    let lastResults = [];
    for (let i = 0; i < e2e.length; i++) {
      const f = e2e[i];
      const had = new Set(readdirSync(archive.out));
      const s = await storescu('JOINTSCORE', node.port, [f.path]);
      let job;
      const until = Date.now() + 120_000;
      for (;;) {
        job = jobState.get(f.uid);
        if (job && !['received', 'analysing', 'reporting', 'sending'].includes(job.state)) break;
        if (Date.now() > until) throw new Error(`image ${i}: not done after 120 s (state ${job?.state})`);
        await sleep(5);
      }
      const seconds = (performance.now() - s.exitedAt) / 1000;
      if (job.state !== 'done' || job.reason) throw new Error(`image ${i}: ${job.state} ${job.reason ?? ''}`);
      const archived = readdirSync(archive.out).length;
      if (archived !== 3 * (i + 1)) throw new Error(`image ${i}: the archive holds ${archived} objects, expected ${3 * (i + 1)}`);
      lastResults = readdirSync(archive.out).filter((x) => !had.has(x)).map((x) => join(archive.out, x));
      rows.push({ i, seconds, sendS: s.seconds, uid: f.uid, receivedAt: job.received_at, doneAt: job.updated_at, exitMs: s.exitedAtMs });
      log(`  ${i === 0 ? 'warm-up' : `image ${String(i).padStart(2)}`}: send ${s.seconds.toFixed(2)} s, then ${seconds.toFixed(2)} s until done`);
    }
    // where the time goes: the node's own log (analysed, delivered) and queue timestamps
    const lines = readFileSync(node.logFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const at = (msg, uid, jobId) => lines.filter((l) => l.message === msg && (l.sopInstanceUid === uid || l.job === jobId)).map((l) => Date.parse(l.timestamp));
    const jobIds = new Map(node.db.prepare('SELECT id, sop_instance_uid FROM jobs').all().map((j) => [j.sop_instance_uid, j.id]));
    for (const r of rows) {
      const id = jobIds.get(r.uid);
      const analysed = at('analysed', r.uid, id)[0];
      const delivered = Math.max(...lines.filter((l) => l.message === 'delivered' && l.job === id).map((l) => Date.parse(l.timestamp)));
      r.analyseS = (analysed - r.receivedAt) / 1000;
      r.deliverS = (delivered - analysed) / 1000;
      r.ackToExitS = (r.exitMs - r.receivedAt) / 1000;
    }
    const m = await metrics(node);
    const hwm = statusKb(node.proc.pid)?.hwm;
    const measured = rows.slice(1);
    const e = measured.map((r) => r.seconds);
    results.e2e = {
      median: median(e),
      max: Math.max(...e),
      min: Math.min(...e),
      warmup: rows[0].seconds,
      analyse: median(measured.map((r) => r.analyseS)),
      deliver: median(measured.map((r) => r.deliverS)),
      send: median(measured.map((r) => r.sendS)),
      metricE2e: m.get('jointscore_end_to_end_seconds_sum') / m.get('jointscore_end_to_end_seconds_count'),
      metricAnalysis: m.get('jointscore_analysis_seconds_sum') / m.get('jointscore_analysis_seconds_count'),
      hwmMb: (hwm * 1024) / MB,
    };
    log(
      `end-to-end over ${measured.length} images: median ${fmt(results.e2e.median, 2)} s, max ${fmt(results.e2e.max, 2)} s ` +
        `(warm-up ${fmt(results.e2e.warmup, 2)} s); median split: received -> analysed ${fmt(results.e2e.analyse, 2)} s, ` +
        `analysed -> last delivered ${fmt(results.e2e.deliver, 2)} s; storescu send ${fmt(results.e2e.send, 2)} s; ` +
        `node metrics: mean analysis ${fmt(results.e2e.metricAnalysis, 2)} s, mean end_to_end ${fmt(results.e2e.metricE2e, 2)} s; VmHWM ${fmt(results.e2e.hwmMb, 0)} MB`,
    );
    await stopNode(node);
    await stopProc(archive.proc);

    // The delivery step alone, the same three result objects to a fresh storescp --fork: the
    // node's deliverer (dist/pipeline/delivery.js, in this process, over an in-memory queue)
    // on its default associations and on one, against DCMTK storescu, all three on one
    // association and, as the node shares them out, one storescu per share at once.
    const sizes = lastResults.map((f) => `${basename(f).split('.')[0]} ${(statSync(f).size / MB).toFixed(2)} MB`).join(', ');
    const associations = DEFAULT_CONFIG.delivery.associationsPerDestination;
    const shares = splitBySize(lastResults, (f) => statSync(f).size, associations);
    dimse.log.setLevel('warn'); // its per-PDU info lines
    const ref = await startStorescp('REF', ['--fork', '+xa']);
    const deliver = async (n) => {
      const queue = new JobQueue(':memory:');
      const { job } = queue.enqueue({ sopInstanceUid: `${uidRoot}.7`, modelVersion: 'bench', sopClassUid: '1.2', transferSyntaxUid: '1.2.840.10008.1.2.1', callingAe: 'BENCH', spoolPath: lastResults[0] });
      queue.claimNext();
      queue.startSending(job.id, lastResults.map((path, i) => ({ destination: 'REF', sopInstanceUid: `${uidRoot}.8.${i}`, path })), null);
      const quiet = { info() {}, warn() {}, error() {}, debug() {} };
      const destinations = [{ name: 'REF', aeTitle: 'REF', host: '127.0.0.1', port: ref.port, tls: { enabled: false } }];
      const t = performance.now();
      await new Deliverer({ queue, config: { ...DEFAULT_CONFIG.delivery, destinations, associationsPerDestination: n }, log: quiet }).runOnce();
      const seconds = (performance.now() - t) / 1000;
      const state = queue.get(job.id).state;
      queue.close();
      if (state !== 'done') throw new Error(`the deliverer left the job ${state}`);
      return seconds;
    };
    const nodeS = [];
    const nodeOneS = [];
    const dcmtkS = [];
    const dcmtkSharedS = [];
    for (let k = 0; k < 3; k++) {
      nodeS.push(await deliver(associations));
      nodeOneS.push(await deliver(1));
      dcmtkS.push((await storescu('REF', ref.port, lastResults, ['-R'])).seconds);
      const ts = performance.now();
      await Promise.all(shares.map((share) => storescu('REF', ref.port, share, ['-R'])));
      dcmtkSharedS.push((performance.now() - ts) / 1000);
    }
    await stopProc(ref.proc);
    results.e2e.scu = median(nodeS);
    results.e2e.scuOne = median(nodeOneS);
    results.e2e.storescu = median(dcmtkS);
    results.e2e.storescuShared = median(dcmtkSharedS);
    log(
      `delivery alone (${sizes}), median of 3: node on ${associations} associations ${fmt(results.e2e.scu, 2)} s, on one ${fmt(results.e2e.scuOne, 2)} s; ` +
        `DCMTK storescu -R, one association ${fmt(results.e2e.storescu, 2)} s, ${shares.length} at once ${fmt(results.e2e.storescuShared, 2)} s (process start included)`,
    );
  }

  // --- 3. peak memory under 8 concurrent 30 MB senders
  {
    const groups = Array.from({ length: N_PARALLEL }, (_, g) => bigFiles.slice(g * PER_PARALLEL, (g + 1) * PER_PARALLEL).map((f) => f.path));
    const loadMb = bigFiles.reduce((s, f) => s + f.bytes, 0) / MB;

    const ref = await startStorescp('REF', ['--fork', '--max-pdu', '131072']);
    const refIdle = statusKb(ref.proc.pid).rss;
    const stopRef = sampler(() => tree(ref.proc.pid), 20, true);
    const tr = performance.now();
    await Promise.all(groups.map((g) => storescu('REF', ref.port, g)));
    const refS = (performance.now() - tr) / 1000;
    const refPeak = await stopRef();
    await sleep(200);
    const refStored = readdirSync(ref.out).length;
    await stopProc(ref.proc);
    if (refStored !== bigFiles.length) throw new Error(`storescp stored ${refStored} of ${bigFiles.length}`);
    log(
      `storescp --fork: ${N_PARALLEL} x ${PER_PARALLEL} x ${(bigFiles[0].bytes / MB).toFixed(1)} MB in ${refS.toFixed(2)} s; ` +
        `peak summed RSS ${refPeak.rssMb.toFixed(0)} MB, PSS ${refPeak.pssMb.toFixed(0)} MB over up to ${refPeak.procs} processes (idle parent ${((refIdle * 1024) / MB).toFixed(0)} MB)`,
    );

    const node = await startNode('node-mem', (c) => (c.selection = { modalities: ['XX'] }));
    const before = statusKb(node.proc.pid);
    const stopNodeSampler = sampler(() => [node.proc.pid], 20);
    const tn = performance.now();
    await Promise.all(groups.map((g) => storescu('JOINTSCORE', node.port, g)));
    const nodeS = (performance.now() - tn) / 1000;
    const until = Date.now() + 60_000;
    while (countJobs(node, 'skipped') < bigFiles.length && Date.now() < until) await sleep(50);
    const nodePeak = await stopNodeSampler();
    const after = statusKb(node.proc.pid);
    await stopNode(node);
    results.mem = {
      hwmMb: (after.hwm * 1024) / MB,
      startHwmMb: (before.hwm * 1024) / MB,
      idleMb: (before.rss * 1024) / MB,
      sampledMb: nodePeak.rssMb,
      refRssMb: refPeak.rssMb,
      refPssMb: refPeak.pssMb,
      nodeS,
      refS,
      loadMb,
    };
    log(
      `node:            ${N_PARALLEL} x ${PER_PARALLEL} x ${(bigFiles[0].bytes / MB).toFixed(1)} MB in ${nodeS.toFixed(2)} s; ` +
        `VmHWM ${results.mem.hwmMb.toFixed(0)} MB (after start-up ${results.mem.startHwmMb.toFixed(0)} MB, idle RSS ${results.mem.idleMb.toFixed(0)} MB), ` +
        `sampled peak RSS during the load ${nodePeak.rssMb.toFixed(0)} MB`,
    );
  }

  // --- summary
  const pass = (ok) => (ok ? 'PASS' : 'FAIL');
  const { rx, e2e: l, mem } = results;
  const e2eOk = l.median <= TARGET.e2eMedianS && l.max <= TARGET.e2eMaxS;
  const table = [
    ['measure', 'node', 'reference', 'target', ''],
    [`receive ${N_THROUGHPUT} x 10.5 MB, 1 assoc. (MB/s)`, fmt(rx.nodeMbs, 0), `${fmt(rx.refMbs, 0)} storescp`, `ratio ${fmt(rx.ratio, 2)} >= ${TARGET.ratio}`, pass(rx.ratio >= TARGET.ratio)],
    [`end-to-end, ${N_E2E} hands one at a time (s)`, `median ${fmt(l.median, 2)}, max ${fmt(l.max, 2)}`, `delivery step: node ${fmt(l.scu, 2)} (one assoc. ${fmt(l.scuOne, 2)}) vs storescu ${fmt(l.storescu, 2)} (${fmt(l.storescuShared, 2)} shared out)`, `median <= ${TARGET.e2eMedianS}, max <= ${TARGET.e2eMaxS}`, pass(e2eOk)],
    [`peak memory while analysing (e2e run, MB)`, `${fmt(l.hwmMb, 0)} VmHWM`, '-', `<= ${TARGET.analysingMb}`, pass(l.hwmMb <= TARGET.analysingMb)],
    [`peak memory, ${N_PARALLEL} x ${PER_PARALLEL} x 30.7 MB concurrent (MB)`, `${fmt(mem.hwmMb, 0)} VmHWM`, `${fmt(mem.refRssMb, 0)} RSS / ${fmt(mem.refPssMb, 0)} PSS storescp --fork`, `<= ${TARGET.peakMb}`, pass(mem.hwmMb <= TARGET.peakMb)],
  ];
  const widths = table[0].map((_, c) => Math.max(...table.map((r) => r[c].length)));
  console.log('\nsummary');
  for (const r of table) console.log('  ' + r.map((x, c) => x.padEnd(widths[c])).join('  '));
  console.log(
    '  notes: the node fsyncs each object, the spool folder and the queue row before it answers Success; storescp does not fsync.\n' +
      '         receive and memory runs: the node skips every object (selection.modalities [XX]) but reads each back to apply the rule.\n' +
      '         end-to-end: from storescu exit to the job state `done` (SR, SC and PR acknowledged by the archive), after 1 warm-up image;\n' +
      `         median split: received -> analysed ${fmt(l.analyse, 2)} s, analysed -> all three delivered ${fmt(l.deliver, 2)} s.`,
  );
  console.log(`  total ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  process.exitCode = rx.ratio >= TARGET.ratio && e2eOk && l.hwmMb <= TARGET.analysingMb && mem.hwmMb <= TARGET.peakMb ? 0 : 1;
}

main()
  .catch((err) => {
    console.error(`bench/node.mjs: ${err.stack ?? err}`);
    // what the node said: its warnings and errors, and its console output if it died
    for (const [name, proc, file] of nodeLogs) {
      let lines = [];
      try {
        lines = readFileSync(file, 'utf8').split('\n').filter((l) => /"level":"(warn|error)"/.test(l)).slice(-15);
      } catch {}
      if (lines.length) console.error(`--- ${name}: last warnings and errors in its log\n${lines.join('\n')}`);
      if (proc.exitCode !== null && proc.exitCode !== 0) console.error(`--- ${name} exited ${proc.exitCode}:\n${proc.output().slice(-3000)}`);
    }
    process.exitCode = 2;
  })
  .finally(async () => {
    for (const p of [...children]) p.kill('SIGKILL');
    cleanUp();
  });
