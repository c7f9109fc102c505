import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Orthanc (the Debian package, /usr/sbin/Orthanc 1.10) as a PACS peer for the tests.
 *
 * Each call starts a private Orthanc from a JSON file in a fresh temporary folder (index,
 * storage and log in that folder; no plugins, no authentication, HTTP only from
 * localhost; DICOM and HTTP ports picked at runtime) and returns REST helpers. Talk to it
 * on 127.0.0.1 only. Orthanc binds its DICOM and HTTP ports on all interfaces: run the
 * suite through scripts/test.sh, which puts it in a network namespace with only loopback.
 *
 * Always stop it in afterAll, guarded so that a failed start does not mask the real error:
 *
 *   let orthanc: OrthancPeer | undefined;
 *   beforeAll(async () => { orthanc = await startOrthanc({ aet: 'ORTHANC' }); });
 *   afterAll(async () => { await orthanc?.stop(); });
 *
 * vitest runs afterAll after failed tests (and after a failed beforeAll) too. If the test
 * worker dies without running it, an exit handler still kills Orthanc and removes the
 * folder, and where util-linux `setpriv --pdeathsig` exists Orthanc is also started with a
 * parent-death signal, so that even a SIGKILLed worker leaves no Orthanc behind (the
 * folder then stays in the temp directory).
 */

export type ModalityEntry = [aet: string, host: string, port: number];

export interface StartOrthancOptions {
  /** Orthanc's own AE title (DicomAet). Default ORTHANC. */
  aet?: string;
  /** DicomModalities: name -> [AE title, host, port], e.g. { JOINTSCORE: ['JOINTSCORE', '127.0.0.1', 11112] }. */
  modalities?: Record<string, ModalityEntry>;
  /** Extra configuration keys merged over ours (e.g. { OverwriteInstances: true }). */
  config?: Record<string, unknown>;
  /**
   * Ports to try first (default: free ones found at runtime). If one is taken, Orthanc is
   * retried on free ports: always read the ports back from the returned peer.
   */
  dicomPort?: number;
  httpPort?: number;
  /** How long to wait for /system to answer, per attempt. Default 30 s. */
  startTimeoutMs?: number;
  /** Timeout of each REST call. Default 60 s. */
  requestTimeoutMs?: number;
}

/** One item of GET /studies/{id}/series (Orthanc's expanded series resource). */
export interface OrthancSeries {
  ID: string;
  ParentStudy: string;
  Instances: string[];
  MainDicomTags: Record<string, string>;
  [key: string]: unknown;
}

/** The answer to POST /instances. */
export interface OrthancUploadResult {
  ID: string;
  Path: string;
  Status: string; // 'Success' | 'AlreadyStored' | ...
  ParentPatient: string;
  ParentStudy: string;
  ParentSeries: string;
}

export class OrthancHttpError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly body: string,
  ) {
    super(`Orthanc ${method} ${path}: HTTP ${status} ${body.slice(0, 2000)}`);
    this.name = 'OrthancHttpError';
  }
}

export interface OrthancPeer {
  aet: string;
  dicomPort: number;
  httpPort: number;
  /** http://127.0.0.1:<httpPort> */
  url: string;
  /** The temporary folder (config.json, orthanc.log, db/); removed by stop(). */
  dir: string;
  logFile: string;
  pid: number;
  /** GET, parsed as JSON. Throws OrthancHttpError on a status other than 2xx. */
  get<T = any>(path: string): Promise<T>;
  /** GET, the raw body. */
  getBuffer(path: string): Promise<Buffer>;
  /** POST a JSON value (objects, arrays, numbers), or a string / bytes as they are; parsed JSON back. */
  post<T = any>(path: string, body?: unknown): Promise<T>;
  delete(path: string): Promise<void>;
  /** POST /instances: store one Part 10 file. */
  upload(bytes: Uint8Array): Promise<OrthancUploadResult>;
  /** Orthanc IDs of all studies. */
  studies(): Promise<string[]>;
  seriesOfStudy(studyId: string): Promise<OrthancSeries[]>;
  /** /instances/{id}/simplified-tags: keyword -> value (strings; sequences as arrays of objects). */
  instanceTags(instanceId: string): Promise<Record<string, any>>;
  /** /instances/{id}/preview: a PNG rendered by Orthanc. */
  preview(instanceId: string): Promise<Buffer>;
  /** POST /modalities/{name}/store, synchronously; throws if Orthanc reports a failure. */
  storeToModality(modality: string, resourceIds: string[]): Promise<any>;
  /** The last lines of Orthanc's log (and of anything it wrote to stdout/stderr). */
  logTail(lines?: number): string;
  /** Kills Orthanc and removes the folder. Idempotent; never throws. */
  stop(): Promise<void>;
}

const ORTHANC = process.env.ORTHANC_BIN || 'Orthanc';
const MAX_ATTEMPTS = 4;

/**
 * Polls a study until a series of each wanted modality holds an instance (bounded); the
 * error names what Orthanc has, then `context()` (the sender's side: jobs, log) and Orthanc's log.
 */
export async function waitForSeries(orthanc: OrthancPeer, studyId: string, modalities: string[], timeoutMs: number, context: () => string = () => ''): Promise<OrthancSeries[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const series = await orthanc.seriesOfStudy(studyId);
    const have = new Set(series.filter((s) => s.Instances.length > 0).map((s) => s.MainDicomTags.Modality));
    if (modalities.every((m) => have.has(m))) return series;
    if (Date.now() > until) {
      throw new Error(`Orthanc's study has series ${JSON.stringify([...have])} after ${timeoutMs} ms, wanted ${modalities.join(', ')}\n${context()}\nOrthanc log:\n${orthanc.logTail(20)}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * The first port of the kernel's range for outgoing connections. A port handed out by
 * listening on port 0 comes from that range, so between our check and the peer's bind any
 * outgoing connection (a storescu, the node's delivery) may take it as its own local port.
 */
function ephemeralLow(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32768;
  } catch {
    return 32768;
  }
}

/**
 * Free TCP ports, distinct, below the range outgoing connections use (see ephemeralLow), each
 * checked by listening on it on all interfaces (as Orthanc will). Drawn at random so that test
 * files running at once rarely pick the same one.
 */
export async function freePorts(count: number): Promise<number[]> {
  const low = Math.min(ephemeralLow(), 65536);
  const floor = low > 21000 ? 20000 : 1024;
  const servers: Server[] = [];
  try {
    for (let tries = 0; servers.length < count; tries++) {
      if (tries > 1000) throw new Error(`freePorts: no ${count} free ports found below ${low}`);
      const port = floor + (randomBytes(2).readUInt16LE(0) % Math.max(1, low - floor));
      const server = createServer();
      const ok = await new Promise<boolean>((resolve) => {
        server.once('error', () => resolve(false));
        server.listen({ port, exclusive: true }, () => resolve(true));
      });
      if (ok) servers.push(server);
    }
    return servers.map((s) => {
      const addr = s.address();
      if (addr === null || typeof addr === 'string') throw new Error('freePorts: no port');
      return addr.port;
    });
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

/** Whether 127.0.0.1:port accepts a TCP connection within timeoutMs. */
export function tcpAccepts(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let pdeathsigChecked: boolean | undefined;
/** util-linux setpriv with --pdeathsig (Debian 12 has it): Orthanc dies with its parent. */
function hasPdeathsig(): boolean {
  if (pdeathsigChecked === undefined) {
    const r = spawnSync('setpriv', ['--help'], { encoding: 'utf8' });
    pdeathsigChecked = !r.error && r.status === 0 && r.stdout.includes('--pdeathsig');
  }
  return pdeathsigChecked;
}

class RingText {
  private text = '';
  constructor(private readonly max = 64 * 1024) {}
  push(chunk: Buffer | string): void {
    this.text += chunk.toString();
    if (this.text.length > this.max) this.text = this.text.slice(-this.max);
  }
  toString(): string {
    return this.text;
  }
}

interface Attempt {
  child: ChildProcess;
  output: RingText;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exitedNow: () => { code: number | null; signal: NodeJS.Signals | null } | undefined;
}

/**
 * [cmd, args] to spawn so that the process gets SIGKILL when the spawning process dies
 * (`setpriv --pdeathsig KILL`), or unchanged where setpriv lacks that option. For peers a
 * test starts itself, e.g. storescp: spawn(...tiedToParent('storescp', [...])).
 */
export function tiedToParent(cmd: string, args: string[]): [string, string[]] {
  return hasPdeathsig() ? ['setpriv', ['--pdeathsig', 'KILL', '--', cmd, ...args]] : [cmd, args];
}

function launch(dir: string, configFile: string, logFile: string): Attempt {
  const [cmd, argv] = tiedToParent(ORTHANC, [`--logfile=${logFile}`, '--no-jobs', configFile]);
  const child = spawn(cmd, argv, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = new RingText();
  child.stdout?.on('data', (c) => output.push(c));
  child.stderr?.on('data', (c) => output.push(c));
  let status: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('error', (err) => {
      output.push(`\n[spawn error] ${err.message}\n`);
      status = { code: -1, signal: null };
      resolve(status);
    });
    child.once('exit', (code, signal) => {
      status = { code, signal };
      resolve(status);
    });
  });
  return { child, output, exited, exitedNow: () => status };
}

function tailOf(logFile: string, output: string, lines: number): string {
  let log = '';
  try {
    if (existsSync(logFile)) log = readFileSync(logFile, 'utf8');
  } catch {
    // unreadable: show what we have
  }
  const all = `${log}${output ? `\n--- stdout/stderr ---\n${output}` : ''}`.split('\n').filter((l) => l.trim() !== '');
  return all.slice(-lines).join('\n');
}

/** Starts a private Orthanc; see the file comment for the afterAll pattern. */
export async function startOrthanc(opts: StartOrthancOptions = {}): Promise<OrthancPeer> {
  const aet = opts.aet ?? 'ORTHANC';
  if (!/^[\x20-\x7e]{1,16}$/.test(aet) || aet.includes('\\')) throw new Error(`startOrthanc: bad AE title "${aet}"`);
  const startTimeoutMs = opts.startTimeoutMs ?? 30_000;
  const requestTimeoutMs = opts.requestTimeoutMs ?? 60_000;

  const dir = mkdtempSync(join(tmpdir(), 'jointscore-orthanc-'));
  const configFile = join(dir, 'config.json');
  const logFile = join(dir, 'orthanc.log');
  // A name of our own, so that /system proves the answer comes from this Orthanc.
  const name = `jointscore-test-${randomBytes(6).toString('hex')}`;

  let attempt: Attempt | undefined;
  const cleanupSync = () => {
    if (attempt && attempt.exitedNow() === undefined) {
      try {
        attempt.child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  // If the worker exits without afterAll (process.exit, an uncaught error): kill and clean up.
  const onExit = () => cleanupSync();
  process.once('exit', onExit);
  const removeExitHook = () => process.removeListener('exit', onExit);

  const failures: string[] = [];
  try {
    for (let n = 1; n <= MAX_ATTEMPTS; n++) {
      const [freeDicom, freeHttp] = await freePorts(2);
      const dicomPort = (n === 1 && opts.dicomPort) || freeDicom;
      const httpPort = (n === 1 && opts.httpPort) || freeHttp;
      const config = {
        Name: name,
        StorageDirectory: join(dir, 'db'),
        IndexDirectory: join(dir, 'db'),
        StorageCompression: false,
        DicomAet: aet,
        DicomPort: dicomPort,
        HttpPort: httpPort,
        HttpServerEnabled: true,
        DicomServerEnabled: true,
        RemoteAccessAllowed: false,
        AuthenticationEnabled: false,
        RegisteredUsers: {},
        SslEnabled: false,
        // Only this file is read (not /etc/orthanc), and no plugin is loaded.
        Plugins: [],
        LuaScripts: [],
        ExecuteLuaEnabled: false,
        RestApiWriteToFileSystemEnabled: false,
        SaveJobs: false,
        HttpDescribeErrors: true,
        DicomModalities: { ...opts.modalities },
        OrthancPeers: {},
        DicomScuTimeout: 10,
        DicomAssociationCloseDelay: 0,
        ...opts.config,
      };
      writeFileSync(configFile, JSON.stringify(config, null, 2));
      rmSync(logFile, { force: true });

      attempt = launch(dir, configFile, logFile);
      const url = `http://127.0.0.1:${httpPort}`;
      const deadline = Date.now() + startTimeoutMs;
      let ready = false;
      let lastError = '';
      while (Date.now() < deadline) {
        if (attempt.exitedNow()) break;
        try {
          const res = await fetch(`${url}/system`, { signal: AbortSignal.timeout(2000) });
          const body = await res.text();
          if (res.ok) {
            const system = JSON.parse(body);
            if (system.Name === name && system.DicomPort === dicomPort && system.HttpPort === httpPort) {
              // /system answers once the DICOM server is up (it starts first), but make sure.
              if (await tcpAccepts(dicomPort)) {
                ready = true;
                break;
              }
              lastError = `DICOM port ${dicomPort} does not accept connections`;
            } else {
              lastError = `another server answers on port ${httpPort}: ${body.slice(0, 200)}`;
            }
          } else {
            lastError = `/system: HTTP ${res.status}`;
          }
        } catch (err) {
          lastError = (err as Error).message;
        }
        await sleep(100);
      }
      if (ready) {
        return makePeer({
          aet, dicomPort, httpPort, url, dir, logFile, attempt, requestTimeoutMs, removeExitHook,
        });
      }

      const exit = attempt.exitedNow();
      const tail = tailOf(logFile, attempt.output.toString(), 40);
      attempt.child.kill('SIGKILL');
      await Promise.race([attempt.exited, sleep(5000)]);
      const portTaken =
        /already in use|Address already in use|cannot bind|privileged/i.test(tail) ||
        /another server answers/.test(lastError);
      failures.push(
        `attempt ${n} (DICOM ${dicomPort}, HTTP ${httpPort}): ` +
          (exit ? `Orthanc exited (code ${exit.code}, signal ${exit.signal})` : `no answer in ${startTimeoutMs} ms (${lastError})`) +
          `\n${tail}`,
      );
      // A port taken between freePorts() and Orthanc's bind: try other ports. Anything else is final.
      if (!portTaken) break;
    }
    throw new Error(
      `Orthanc did not start (${ORTHANC}; is the Debian package "orthanc" installed?) in ${dir} (removed)\n` +
        failures.join('\n----\n'),
    );
  } catch (err) {
    removeExitHook();
    if (attempt && attempt.exitedNow() === undefined) {
      attempt.child.kill('SIGKILL');
      await Promise.race([attempt.exited, sleep(5000)]);
    }
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

interface PeerParts {
  aet: string;
  dicomPort: number;
  httpPort: number;
  url: string;
  dir: string;
  logFile: string;
  attempt: Attempt;
  requestTimeoutMs: number;
  removeExitHook: () => void;
}

function makePeer(p: PeerParts): OrthancPeer {
  const { url, attempt, requestTimeoutMs } = p;

  async function request(method: string, path: string, body?: unknown): Promise<Response> {
    if (!path.startsWith('/')) path = `/${path}`;
    let payload: string | Uint8Array | undefined;
    let contentType: string | undefined;
    if (body === undefined) payload = undefined;
    else if (typeof body === 'string') payload = body;
    else if (body instanceof Uint8Array) {
      payload = body;
      contentType = 'application/dicom';
    } else {
      payload = JSON.stringify(body);
      contentType = 'application/json';
    }
    const res = await fetch(`${url}${path}`, {
      method,
      body: payload,
      headers: contentType ? { 'content-type': contentType } : undefined,
      signal: AbortSignal.timeout(requestTimeoutMs),
    });
    if (!res.ok) throw new OrthancHttpError(method, path, res.status, await res.text());
    return res;
  }
  async function json<T>(res: Response): Promise<T> {
    const text = await res.text();
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  let stopped: Promise<void> | undefined;
  const peer: OrthancPeer = {
    aet: p.aet,
    dicomPort: p.dicomPort,
    httpPort: p.httpPort,
    url,
    dir: p.dir,
    logFile: p.logFile,
    pid: attempt.child.pid ?? -1,
    get: async (path) => json(await request('GET', path)),
    getBuffer: async (path) => Buffer.from(await (await request('GET', path)).arrayBuffer()),
    post: async (path, body) => json(await request('POST', path, body)),
    delete: async (path) => {
      await request('DELETE', path);
    },
    upload: async (bytes) => json(await request('POST', '/instances', bytes)),
    studies: async () => json(await request('GET', '/studies')),
    seriesOfStudy: async (id) => json(await request('GET', `/studies/${encodeURIComponent(id)}/series`)),
    instanceTags: async (id) => json(await request('GET', `/instances/${encodeURIComponent(id)}/simplified-tags`)),
    preview: async (id) => {
      const res = await fetch(`${url}/instances/${encodeURIComponent(id)}/preview`, {
        headers: { accept: 'image/png' },
        signal: AbortSignal.timeout(requestTimeoutMs),
      });
      if (!res.ok) throw new OrthancHttpError('GET', `/instances/${id}/preview`, res.status, await res.text());
      return Buffer.from(await res.arrayBuffer());
    },
    storeToModality: async (modality, resourceIds) => {
      const answer = await json<any>(
        await request('POST', `/modalities/${encodeURIComponent(modality)}/store`, {
          Resources: resourceIds,
          Synchronous: true,
        }),
      );
      if (answer && typeof answer.FailedInstancesCount === 'number' && answer.FailedInstancesCount > 0) {
        throw new Error(`Orthanc C-STORE to ${modality}: ${answer.FailedInstancesCount} instance(s) failed: ${JSON.stringify(answer)}`);
      }
      return answer;
    },
    logTail: (lines = 40) => tailOf(p.logFile, attempt.output.toString(), lines),
    stop: () => {
      stopped ??= (async () => {
        p.removeExitHook();
        if (attempt.exitedNow() === undefined) {
          // SIGKILL: the index and storage are thrown away anyway, and a graceful stop takes ~2.5 s.
          attempt.child.kill('SIGKILL');
          await Promise.race([attempt.exited, sleep(5000)]);
        }
        rmSync(p.dir, { recursive: true, force: true });
      })().catch(() => {});
      return stopped;
    },
  };
  return peer;
}
