#!/usr/bin/env node
/**
 * The node run out of disk and out of memory, as a host would do it to a real `jointscore
 * serve`, to check that nothing acknowledged is lost: every object answered Success ends
 * done or failed with its reason, and the node keeps answering.
 *
 *   npm run build && sudo node scripts/limits-run.mjs disk     # a 160 MB tmpfs as the data disk
 *   npm run build && sudo node scripts/limits-run.mjs memory   # a cgroup memory limit
 *   npm run build && sudo node scripts/limits-run.mjs slow     # a data disk written at 5 MB/s
 *
 * Needs root (mount, cgroup), DCMTK (storescu, echoscu) and a built dist/. Prints what was
 * sent, answered and recorded, and exits 1 if an acknowledged object was lost or left
 * unfinished, or the node stopped answering; 3 if this machine cannot mount a tmpfs or make
 * a memory cgroup (or, for `slow`, a throttled loop device). docs/hardening.md quotes its
 * output. `both` runs disk and memory; `slow` runs alone (about four minutes).
 *
 * disk: the data disk is filled (a filler file) to a few MB above what the hands need, with
 *   dimse.minFreeDiskMb 0 (the low-water mark off: the real full-disk paths: ENOSPC while
 *   receiving, SQLITE_FULL and ENOSPC while analysing and writing results), then again with
 *   the mark on (refused before the disk is full). The filler is then removed and the node
 *   must finish everything it acknowledged.
 * memory: the node runs in a memory cgroup (limit 560 MB) under a supervisor that restarts it
 *   when the kernel kills it, as systemd's Restart=always would; among ordinary hands one
 *   image of 49 million pixels needs more than the limit to analyse. It must end failed
 *   (analysis.maxAnalyses) while the other hands end done.
 * slow: the data disk is an ext4 loop device mounted `sync`, its writes throttled to 5 MB/s
 *   for the node's block-I/O cgroup (cgroup v1 blkio.throttle.write_bps_device, or v2 io.max);
 *   4 storescu at once push 7 objects of 30.7 MB each (215 MB a sender) to a node that skips
 *   them after receipt. The node's resident size is sampled throughout: it must stay at most
 *   300 MB (issue 13) and not grow with the data once every sender is under way (the backlog
 *   waits in TCP, src/dimse/paced-stream.ts), and every object answered Success must end skipped.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'jointscore.js');
const { JobQueue } = await import(join(ROOT, 'dist', 'store', 'queue.js'));
const { renderPhantom } = await import(join(ROOT, 'dist', 'phantom', 'render.js'));
const { encodePhantomDx } = await import(join(ROOT, 'dist', 'phantom', 'dicom-dx.js'));
const { randomUid } = await import(join(ROOT, 'dist', 'dicom', 'uid.js'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// DCMTK's tools: pynetdicom installs console scripts of the same names earlier on some PATHs
const dcmtk = (tool) => (existsSync(`/usr/bin/${tool}`) ? `/usr/bin/${tool}` : tool);

function phantoms(dir, count, seed, extra = []) {
  execFileSync(process.execPath, [BIN, 'phantom', '--count', String(count), '--seed', String(seed), '--out', dir, '--no-preview', ...extra], { stdio: 'ignore' });
  return Array.from({ length: count }, (_, i) => join(dir, `phantom-${String(seed + i).padStart(6, '0')}.dcm`));
}

function sopUid(file) {
  const out = execFileSync(dcmtk('dcmdump'), ['-s', '+P', '0008,0018', file], { encoding: 'utf8' });
  return /\[([0-9.]+)\]/.exec(out)[1];
}

/** storescu, one association per file; returns the status word storescu -v printed. */
function send(port, file) {
  const r = spawnSync(dcmtk('storescu'), ['-v', '-aec', 'JOINTSCORE', '127.0.0.1', String(port), file], { encoding: 'utf8', timeout: 120_000 });
  const m = /Received Store Response \(([^)]*)\)/.exec(r.stdout + r.stderr);
  return m ? m[1] : `no response (exit ${r.status})`;
}

const echo = (port) => spawnSync(dcmtk('echoscu'), ['-aec', 'JOINTSCORE', '127.0.0.1', String(port)], { timeout: 30_000 }).status === 0;

function writeConfig(dir, dataDir, port, dimseExtra = []) {
  const file = join(dir, 'node.yaml');
  writeFileSync(file, [`dataDir: ${dataDir}`, 'dimse:', '  bindAddress: 127.0.0.1', `  port: ${port}`, ...dimseExtra, 'http:', '  enabled: false', 'logging:', '  file: ""', '  level: info'].join('\n') + '\n');
  return file;
}

/** `jointscore serve`; with a cgroup, the process joins it before exec'ing node. */
function serve(configFile, log, cgroupProcs) {
  const args = [BIN, 'serve', '--config', configFile];
  const proc = cgroupProcs
    ? spawn('sh', ['-c', `echo $$ > ${cgroupProcs} && exec "$0" "$@"`, process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout.on('data', (d) => log.push(String(d)));
  proc.stderr.on('data', (d) => log.push(String(d)));
  proc.exited = new Promise((r) => proc.once('exit', (code, signal) => r(signal ?? code)));
  return proc;
}

async function listening(port, proc) {
  for (let t = 0; t < 240; t++) {
    if (proc.exitCode !== null || proc.signalCode !== null) return false;
    if (echo(port)) return true;
    await sleep(250);
  }
  return false;
}

function jobsOf(dataDir) {
  const q = new JobQueue(join(dataDir, 'queue.sqlite'));
  try {
    return q.list({ limit: 10_000 });
  } finally {
    q.close();
  }
}

const FINISHED = ['done', 'failed', 'skipped', 'quarantined'];

async function settled(dataDir, acked, ms = 180_000) {
  const until = Date.now() + ms;
  for (;;) {
    const jobs = jobsOf(dataDir);
    const of = (uid) => jobs.find((j) => j.sopInstanceUid === uid);
    if (acked.every((uid) => FINISHED.includes(of(uid)?.state)) || Date.now() > until) return acked.map((uid) => ({ uid, job: of(uid) }));
    await sleep(1000);
  }
}

/** Every acknowledged object done, or failed/quarantined with a reason: nothing lost, nothing stuck. */
function judge(outcomes) {
  const bad = outcomes.filter(({ job }) => !job || !(job.state === 'done' || (FINISHED.includes(job.state) && job.reason)));
  for (const { uid, job } of outcomes) console.log(`  ${uid.slice(-12)}  ${job ? `${job.state}${job.reason ? `: ${job.reason.slice(0, 150)}` : ''}` : 'NO JOB (lost)'}`);
  return bad.length === 0;
}

function freeMb(dir) {
  const fs = statfsSync(dir);
  return Math.floor((fs.bavail * fs.bsize) / 1_048_576);
}

function fill(dir, leaveMb) {
  const filler = join(dir, 'filler');
  const mb = freeMb(dir) - leaveMb;
  execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=1M', `count=${mb}`], { stdio: 'ignore' });
  return filler;
}

async function diskRun(work, hands, later, withMark) {
  const disk = join(work, withMark ? 'disk-marked' : 'disk-full');
  mkdirSync(disk);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=160m', 'tmpfs', disk]);
  const log = [];
  let node;
  try {
    const dataDir = join(disk, 'data');
    const port = 11000 + Math.floor(Math.random() * 20000);
    const config = writeConfig(work, dataDir, port, [`  minFreeDiskMb: ${withMark ? 12 : 0}`]);
    node = serve(config, log);
    if (!(await listening(port, node))) throw new Error(`serve did not start:\n${log.join('').slice(-2000)}`);
    // room for about two of the hands with their results: the rest meets a full disk somewhere
    const filler = fill(disk, withMark ? 24 : 14);
    console.log(`\n[disk ${withMark ? 'with dimse.minFreeDiskMb 12' : 'full, low-water mark off'}] tmpfs 160 MB, ${freeMb(disk)} MB left free`);
    const acked = [];
    const answers = {};
    for (const file of hands) {
      const status = send(port, file);
      answers[status] = (answers[status] ?? 0) + 1;
      if (status === 'Success') acked.push(sopUid(file));
    }
    console.log(`  sent ${hands.length}: ${JSON.stringify(answers)}; ${freeMb(disk)} MB free; C-ECHO while full: ${echo(port) ? 'answered' : 'NOT answered'}`);
    await sleep(5000);
    const alive = node.exitCode === null && node.signalCode === null && echo(port);
    console.log(`  node after 5 s on a full disk: ${alive ? 'running, answers C-ECHO' : 'DEAD or not answering'}`);
    rmSync(filler);
    console.log(`  filler removed: ${freeMb(disk)} MB free`);
    const outcomes = await settled(dataDir, acked);
    const last = send(port, later);
    const ok = judge(outcomes) && alive;
    const errors = log.join('').split('\n').filter((l) => /"level":"error"/.test(l));
    const kinds = [...new Set(errors.map((l) => (JSON.parse(l).message ?? '').replace(/[0-9a-f]{16}\.part|[\d.]{20,}/g, '*').slice(0, 110)))];
    console.log(`  error lines logged: ${errors.length}; kinds:\n    ${kinds.slice(0, 8).join('\n    ')}`);
    console.log(`  a new object after space is back: ${last}`);
    return ok && last === 'Success';
  } finally {
    node?.kill('SIGKILL');
    await node?.exited;
    spawnSync('umount', [disk]);
  }
}

function memoryCgroup(limitBytes) {
  const v1 = '/sys/fs/cgroup/memory';
  if (existsSync(join(v1, 'memory.limit_in_bytes'))) {
    const self = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => /:memory:/.test(l)).split(':')[2];
    const dir = join(v1, self, `jointscore-limit-${process.pid}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'memory.limit_in_bytes'), String(limitBytes));
    if (existsSync(join(dir, 'memory.memsw.limit_in_bytes'))) writeFileSync(join(dir, 'memory.memsw.limit_in_bytes'), String(limitBytes));
    return { procs: join(dir, 'cgroup.procs'), ooms: () => Number(/oom_kill (\d+)/.exec(readFileSync(join(dir, 'memory.oom_control'), 'utf8'))?.[1] ?? NaN), remove: () => spawnSync('rmdir', [dir]) };
  }
  const v2 = '/sys/fs/cgroup';
  const self = readFileSync('/proc/self/cgroup', 'utf8').trim().split(':')[2];
  const dir = join(v2, self, `jointscore-limit-${process.pid}`);
  mkdirSync(dir);
  writeFileSync(join(dir, 'memory.max'), String(limitBytes));
  writeFileSync(join(dir, 'memory.swap.max'), '0');
  return { procs: join(dir, 'cgroup.procs'), ooms: () => Number(/oom_kill (\d+)/.exec(readFileSync(join(dir, 'memory.events'), 'utf8'))?.[1] ?? NaN), remove: () => spawnSync('rmdir', [dir]) };
}

async function memoryRun(work, hands, poison) {
  const limitMb = 560;
  const cg = memoryCgroup(limitMb * 1_048_576);
  const dataDir = join(work, 'mem-data');
  const port = 11000 + Math.floor(Math.random() * 20000);
  const config = writeConfig(work, dataDir, port);
  const log = [];
  let node;
  let restarts = 0;
  let stopping = false;
  const exits = [];
  // the supervisor: start again whenever the node dies, as systemd's Restart=always would
  const supervise = async () => {
    while (!stopping) {
      node = serve(config, log, cg.procs);
      const how = await node.exited;
      if (stopping) return;
      exits.push(how);
      restarts++;
      await sleep(500);
    }
  };
  const supervisor = supervise();
  try {
    await sleep(200);
    if (!(await listening(port, node))) throw new Error(`serve did not start:\n${log.join('').slice(-2000)}`);
    console.log(`\n[memory] cgroup limit ${limitMb} MB; ${hands.length} hands + 1 image of 49 M pixels (${Math.round(readFileSync(poison).length / 1_048_576)} MB)`);
    const order = [...hands.slice(0, 2), poison, ...hands.slice(2)];
    const acked = [];
    const answers = {};
    for (const file of order) {
      let status = send(port, file);
      // a sender retries a refused or broken association, as a PACS would
      for (let t = 0; t < 20 && status !== 'Success'; t++) {
        await sleep(1000);
        status = send(port, file);
      }
      answers[status] = (answers[status] ?? 0) + 1;
      if (status === 'Success') acked.push(sopUid(file));
    }
    console.log(`  sent ${order.length}: ${JSON.stringify(answers)}`);
    const outcomes = await settled(dataDir, acked, 300_000);
    await sleep(1000);
    const alive = echo(port);
    console.log(`  node restarts by the supervisor: ${restarts} (exits: ${exits.join(', ') || 'none'}); OOM kills in the cgroup: ${cg.ooms()}`);
    console.log(`  answers C-ECHO at the end: ${alive}`);
    const ok = judge(outcomes);
    const poisonJob = outcomes.find(({ uid }) => uid === sopUid(poison))?.job;
    const others = outcomes.filter(({ uid }) => uid !== sopUid(poison));
    console.log(`  the 49 M pixel image: ${poisonJob?.state}; the other hands: ${others.every(({ job }) => job?.state === "done") ? "all done" : "NOT all done"}`);
    return ok && alive && others.every(({ job }) => job?.state === "done");
  } finally {
    stopping = true;
    node?.kill('SIGKILL');
    await supervisor;
    cg.remove();
  }
}

/**
 * A block-I/O cgroup whose writes to `device` ("major:minor") are held to `bytesPerS`. With the
 * file system mounted `sync` a write reaches the device from the writing thread, so the
 * throttle applies to the node itself rather than to the kernel's background writeback.
 */
function throttledCgroup(device, bytesPerS) {
  const v1 = '/sys/fs/cgroup/blkio';
  if (existsSync(join(v1, 'blkio.throttle.write_bps_device'))) {
    const dir = join(v1, `jointscore-slow-${process.pid}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'blkio.throttle.write_bps_device'), `${device} ${bytesPerS}`);
    return { procs: join(dir, 'cgroup.procs'), remove: () => spawnSync('rmdir', [dir]) };
  }
  const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers') ? '/sys/fs/cgroup' : '/sys/fs/cgroup/unified';
  if (!readFileSync(join(v2, 'cgroup.controllers'), 'utf8').includes('io')) throw new Error('no blkio (v1) or io (v2) cgroup controller');
  const self = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.startsWith('0::')).slice(3);
  const dir = join(v2, self, `jointscore-slow-${process.pid}`);
  mkdirSync(dir);
  writeFileSync(join(dir, 'io.max'), `${device} wbps=${bytesPerS}`);
  return { procs: join(dir, 'cgroup.procs'), remove: () => spawnSync('rmdir', [dir]) };
}

/** An ext4 file system on a loop device over a sparse file, mounted `sync` at `dir`. */
function loopDisk(image, dir, sizeMb) {
  execFileSync('truncate', ['-s', `${sizeMb}M`, image]);
  const device = execFileSync('losetup', ['-f', '--show', image], { encoding: 'utf8' }).trim();
  try {
    execFileSync('mkfs.ext4', ['-q', device]);
    mkdirSync(dir, { recursive: true });
    execFileSync('mount', ['-o', 'sync', device, dir]);
  } catch (err) {
    spawnSync('losetup', ['-d', device]);
    throw err;
  }
  const [major, minor] = execFileSync('stat', ['-c', '%t %T', device], { encoding: 'utf8' }).trim().split(' ').map((h) => parseInt(h, 16));
  return { device, id: `${major}:${minor}`, remove: () => (spawnSync('umount', [dir]), spawnSync('losetup', ['-d', device])) };
}

/**
 * `count` DX objects of 3072 x 4992 16-bit pixels (30.7 MB), one render encoded with a fresh
 * SOP Instance UID each by the project's own phantom encoder. Returns path and UID of each.
 */
async function bigObjects(dir, count) {
  const rendered = renderPhantom({ seed: 201, profile: 'mixed', layout: 'one', laterality: 'L', rows: 4992, columns: 3072, pixelSpacingMm: 0.15 });
  mkdirSync(dir, { recursive: true });
  const out = [];
  for (let j = 0; j < count; j++) {
    const uid = randomUid();
    const path = join(dir, `big-${j}.dcm`);
    writeFileSync(path, (await encodePhantomDx(rendered, { bitsStored: 16, sopInstanceUID: uid })).bytes);
    out.push({ path, uid });
  }
  return out;
}

const residentMb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

async function slowRun(work) {
  const senders = 4;
  const perSender = 7;
  const limitMb = 300;
  // room for all of it above dimse.minFreeDiskMb (1024), below which C-STOREs are refused
  const disk = loopDisk(join(work, 'slow.img'), join(work, 'slow'), 2800);
  const cg = throttledCgroup(disk.id, 5 * 1_048_576);
  const dataDir = join(work, 'slow', 'data');
  const port = 11000 + Math.floor(Math.random() * 20000);
  const config = writeConfig(work, dataDir, port);
  writeFileSync(config, readFileSync(config, 'utf8') + 'selection:\n  modalities: [XX]\n');
  const log = [];
  let node;
  try {
    node = serve(config, log, cg.procs);
    if (!(await listening(port, node))) throw new Error(`serve did not start:\n${log.join('').slice(-2000)}`);
    const objects = await bigObjects(join(work, 'big'), senders * perSender);
    const groups = Array.from({ length: senders }, (_, g) => objects.slice(g * perSender, (g + 1) * perSender));
    const objectMb = statSync(objects[0].path).size / 1_048_576;
    console.log(`\n[slow] data disk ${disk.device} (ext4, mounted sync), writes throttled to 5 MB/s; ${senders} senders x ${perSender} x ${objectMb.toFixed(1)} MB at once`);
    const samples = [];
    const started = Date.now();
    const sampler = setInterval(() => samples.push({ s: (Date.now() - started) / 1000, mb: residentMb(node.pid) }), 200);
    const answers = {};
    const acked = [];
    await Promise.all(
      groups.map(
        (files) =>
          new Promise((resolve) => {
            const p = spawn(dcmtk('storescu'), ['-v', '-aec', 'JOINTSCORE', '127.0.0.1', String(port), ...files.map((f) => f.path)], { stdio: ['ignore', 'pipe', 'pipe'] });
            let out = '';
            p.stdout.on('data', (d) => (out += d));
            p.stderr.on('data', (d) => (out += d));
            p.once('exit', () => {
              const statuses = [...out.matchAll(/Received Store Response \(([^)]*)\)/g)].map((m) => m[1]);
              statuses.forEach((st, i) => {
                answers[st] = (answers[st] ?? 0) + 1;
                if (st === 'Success') acked.push(files[i].uid);
              });
              resolve();
            });
          }),
      ),
    );
    clearInterval(sampler);
    const seconds = (Date.now() - started) / 1000;
    const pushedMb = acked.length * objectMb;
    const peak = Math.max(...samples.map((x) => x.mb));
    // once every sender is under way (after the first tenth) the resident size must not climb
    const settledIn = samples.filter((x) => x.s > seconds / 10);
    const firstHalf = Math.max(...settledIn.filter((x) => x.s <= seconds / 2).map((x) => x.mb));
    const secondHalf = Math.max(...settledIn.filter((x) => x.s > seconds / 2).map((x) => x.mb));
    console.log(`  ${pushedMb.toFixed(0)} MB in ${seconds.toFixed(0)} s (${(pushedMb / seconds).toFixed(1)} MB/s); answers ${JSON.stringify(answers)}`);
    console.log(`  node resident size: peak ${peak.toFixed(0)} MB (limit ${limitMb}); highest in the first half ${firstHalf.toFixed(0)} MB, in the second ${secondHalf.toFixed(0)} MB`);
    const outcomes = await settled(dataDir, acked, 300_000);
    const alive = echo(port);
    console.log(`  answers C-ECHO at the end: ${alive}`);
    const states = {};
    for (const { job } of outcomes) states[job?.state ?? 'NO JOB (lost)'] = (states[job?.state ?? 'NO JOB (lost)'] ?? 0) + 1;
    const ok = outcomes.every(({ job }) => job?.state === 'skipped' && job.reason);
    console.log(`  the ${outcomes.length} acknowledged objects ended: ${JSON.stringify(states)} (skipped by the selection rule, as configured)`);
    // A backlog held in memory grows with the data received (at network speed, hundreds of MB
    // here); the collector's own swing is some 20 MB either way. So the second half may rise
    // above the first by at most a tenth of what came in during it.
    const bounded = peak <= limitMb && secondHalf - firstHalf <= pushedMb / 2 / 10;
    // faster than the throttle allows would mean the disk was not slow: nothing was tested
    if (pushedMb / seconds > 5.5) {
      console.log('  the data went in faster than 5 MB/s: the throttle did not hold here, so the run proves nothing');
      return 'cannot';
    }
    return ok && alive && bounded && acked.length === senders * perSender;
  } finally {
    node?.kill('SIGKILL');
    await node?.exited;
    cg.remove();
    disk.remove();
  }
}

const what = process.argv[2] ?? 'both';
if (!['disk', 'memory', 'both', 'slow'].includes(what)) {
  console.error('usage: node scripts/limits-run.mjs disk|memory|both|slow');
  process.exit(2);
}
/** Exit 3 (not 1) where this machine cannot make the conditions: CI tells "cannot" from "failed". */
function cannot(why) {
  console.error(`limits-run: cannot run here: ${why}`);
  process.exit(3);
}
if (process.getuid?.() !== 0) cannot('needs root (tmpfs mount, cgroup)');
const work = mkdtempSync(join(tmpdir(), 'jointscore-limits-'));
try {
  const probe = join(work, 'probe');
  mkdirSync(probe);
  if (what === 'slow') {
    loopDisk(join(work, 'probe.img'), probe, 64).remove();
    throttledCgroup('7:0', 5 * 1_048_576).remove();
  } else {
    if (what !== 'memory') execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe], { stdio: 'ignore' });
    spawnSync('umount', [probe]);
    if (what !== 'disk') memoryCgroup(1 << 30).remove();
  }
} catch (err) {
  rmSync(work, { recursive: true, force: true });
  cannot(`no ${what === 'slow' ? 'loop device or block-I/O cgroup' : 'tmpfs mount or memory cgroup'} (${err.message.split('\n')[0]})`);
}
let pass = true;
try {
  if (what === 'slow') {
    const slow = await slowRun(work);
    if (slow === 'cannot') {
      rmSync(work, { recursive: true, force: true });
      cannot('the block-I/O throttle did not hold on the loop device');
    }
    pass = slow;
  }
  const hands = what === 'slow' ? [] : phantoms(join(work, 'hands'), 6, 9100);
  if (what === 'disk' || what === 'both') {
    // one more hand, sent once space is back
    const later = phantoms(join(work, 'later'), 2, 9200);
    pass = (await diskRun(work, hands, later[0], false)) && pass;
    pass = (await diskRun(work, hands, later[1], true)) && pass;
  }
  if (what === 'memory' || what === 'both') {
    const [poison] = phantoms(join(work, 'poison'), 1, 5, ['--rows', '7000', '--columns', '7000', '--spacing', '0.05']);
    pass = (await memoryRun(work, hands, poison)) && pass;
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
console.log(pass ? '\nlimits-run: PASS' : '\nlimits-run: FAIL');
process.exit(pass ? 0 : 1);
