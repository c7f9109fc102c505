import { spawn, type ChildProcess } from 'node:child_process';
import yaml from 'js-yaml';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_CONFIG } from '../../src/config/defaults.js';
import type { NodeConfig } from '../../src/config/types.js';
import { makeFixture, FIXTURES } from '../../src/phantom/fixtures.js';
import { startNode, type NodeHooks, type RunningNode } from '../../src/pipeline/node.js';
import type { Job, JobState } from '../../src/store/queue.js';
import { captureLogger } from './inference.js';
import { freePorts, startOrthanc, tcpAccepts, tiedToParent, type OrthancPeer, type StartOrthancOptions } from './orthanc.js';

/**
 * The node under test, in this process (`startTestNode`) or as a real `jointscore serve`
 * child process (`spawnServe`, for crash tests). Both bind loopback only and keep their
 * data in a fresh temporary folder.
 */
export const BIN = fileURLToPath(new URL('../../bin/jointscore.js', import.meta.url));

export function testConfig(dataDir: string, patch: (c: NodeConfig) => void = () => {}): NodeConfig {
  const c: NodeConfig = structuredClone(DEFAULT_CONFIG);
  c.dataDir = dataDir;
  c.dimse.bindAddress = '127.0.0.1';
  c.dimse.port = 0;
  c.http.enabled = false;
  c.logging.file = undefined;
  c.delivery.folder = join(dataDir, 'results');
  c.delivery.initialBackoffS = 1;
  c.delivery.maxBackoffS = 2;
  patch(c);
  return c;
}

export interface TestNode {
  node: RunningNode;
  config: NodeConfig;
  dataDir: string;
  lines: ReturnType<typeof captureLogger>['lines'];
  stop(): Promise<void>;
}

export async function startTestNode(patch?: (c: NodeConfig) => void, observers?: NodeHooks): Promise<TestNode> {
  const dataDir = mkdtempSync(join(tmpdir(), 'jointscore-node-'));
  const config = testConfig(dataDir, patch);
  const { log, lines } = captureLogger();
  const node = await startNode(config, log, observers);
  let stopped = false;
  return {
    node,
    config,
    dataDir,
    lines,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await node.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** DCMTK's storescp as the archive (AE ARCHIVE), writing what it receives into `out`. */
export interface StorescpArchive {
  proc: ChildProcess;
  port: number;
  out: string;
}

/**
 * storescp as the archive, on a free port, its files in `out` (made if missing); `compressed`: it
 * also accepts the compressed transfer syntaxes (+xa), as a PACS does; without, uncompressed only.
 * The caller kills `proc`.
 */
export async function startStorescpArchive(out: string, compressed = true): Promise<StorescpArchive> {
  const [port] = await freePorts(1);
  mkdirSync(out, { recursive: true });
  const [cmd, args] = tiedToParent('storescp', ['-aet', 'ARCHIVE', ...(compressed ? ['+xa'] : []), '-od', out, String(port)]);
  const proc = spawn(cmd, args, { stdio: 'ignore' });
  for (let i = 0; i < 100 && !(await tcpAccepts(port, 200)); i++) await new Promise((r) => setTimeout(r, 100));
  return { proc, port, out };
}

/**
 * Orthanc as the PACS and the node in this process, each configured with the other: Orthanc
 * routes to the node as modality JOINTSCORE, the node delivers to Orthanc (AE ORTHANC). The node's
 * port is chosen first, so that Orthanc can know it from its configuration. `orthanc` adds to
 * Orthanc's options (plugins), `patch` to the node's configuration.
 */
export async function startNodeBesideOrthanc(
  patch: (c: NodeConfig) => void = () => {},
  orthanc: Omit<StartOrthancOptions, 'aet' | 'modalities'> = {},
): Promise<{ orthanc: OrthancPeer; node: TestNode }> {
  const [nodePort] = await freePorts(1);
  const pacs = await startOrthanc({ ...orthanc, aet: 'ORTHANC', modalities: { JOINTSCORE: ['JOINTSCORE', '127.0.0.1', nodePort] } });
  try {
    const node = await startTestNode((c) => {
      c.dimse.aeTitle = 'JOINTSCORE';
      c.dimse.port = nodePort;
      c.delivery.destinations = [{ name: 'ORTHANC', aeTitle: pacs.aet, host: '127.0.0.1', port: pacs.dicomPort, tls: { enabled: false, requireClientCert: false } }];
      patch(c);
    });
    return { orthanc: pacs, node };
  } catch (err) {
    await pacs.stop();
    throw err;
  }
}

const TERMINAL: JobState[] = ['done', 'skipped', 'failed', 'quarantined'];

/** Waits until `count` jobs exist and all are finished; returns them (newest first). */
export async function waitForJobs(list: () => Job[], count: number, timeoutMs = 60_000): Promise<Job[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const jobs = list();
    if (jobs.length >= count && jobs.every((j) => TERMINAL.includes(j.state))) return jobs;
    if (Date.now() > until) {
      throw new Error(`timed out waiting for ${count} finished jobs: ${JSON.stringify(jobs.map((j) => [j.id, j.state, j.reason]))}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Writes the named phantom fixtures into `dir`; returns name -> path. */
export async function writeFixtures(dir: string, names: string[]): Promise<Record<string, string>> {
  mkdirSync(dir, { recursive: true });
  const out: Record<string, string> = {};
  for (const name of names) {
    const def = FIXTURES.find((f) => f.name === name);
    if (!def) throw new Error(`no fixture ${name}`);
    const art = await makeFixture(def, false);
    const path = join(dir, `${name}.dcm`);
    writeFileSync(path, art.dicom);
    out[name] = path;
  }
  return out;
}

type Section = Record<string, unknown>;

/**
 * A `jointscore serve` configuration file for a test: DICOM on loopback only, logs on stderr
 * only, `sections` (dimse, http, delivery, ...) merged in. Returns the file's path.
 */
export function writeServeConfig(file: string, dataDir: string, sections: { dimse?: Section; logging?: Section; [name: string]: unknown } = {}): string {
  const config = { ...sections, dataDir, dimse: { bindAddress: '127.0.0.1', ...sections.dimse }, logging: { file: '', ...sections.logging } };
  writeFileSync(file, yaml.dump(config));
  return file;
}

export interface ServeProcess {
  proc: ChildProcess;
  port: number;
  output(): string;
  exited: Promise<number | null>;
}

/** `jointscore serve` as a child process on a free port; resolves once it accepts TCP. */
export async function spawnServe(configFile: string, env: Record<string, string> = {}, flags: string[] = []): Promise<ServeProcess> {
  const [port] = await freePorts(1);
  const [cmd, args] = tiedToParent(process.execPath, [BIN, 'serve', '--config', configFile, '--port', String(port), ...flags]);
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let text = '';
  proc.stdout?.on('data', (d) => (text += d));
  proc.stderr?.on('data', (d) => (text += d));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const until = Date.now() + 60_000;
  while (!(await tcpAccepts(port, 500))) {
    if (proc.exitCode !== null || Date.now() > until) throw new Error(`jointscore serve did not start:\n${text.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { proc, port, output: () => text, exited };
}

/**
 * A DCMTK tool run without blocking the event loop: the node under test lives in this
 * process, and spawnSync would keep it from answering.
 */
export function runAsync(cmd: string, args: string[], timeoutMs = 120_000): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout?.on('data', (d) => (stdout += d));
    proc.stderr?.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.once('error', reject);
    proc.once('exit', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}
