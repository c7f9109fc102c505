import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dimse from 'dcmjs-dimse';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildProgram } from '../src/cli/main.js';
import { TransferSyntax, readPart10 } from '../src/dicom/part10.js';
import { parsePeer, type Peer } from '../src/dicom/peer.js';
import { DimseError, describeStoreStatus, echo, storeFiles } from '../src/dimse/scu.js';
import { FIXTURES, makeFixture } from '../src/phantom/fixtures.js';
import { hasPydicom, pydicomPixelSha256 } from './helpers/dicom-tools.js';

/**
 * The SCU against DCMTK's storescp (3.6.7), started here on free loopback ports. storescp
 * binds all interfaces: run through scripts/test.sh (private network namespace).
 *
 * Three peers: STORESCP with +xa (accepts the compressed syntaxes), PLAIN without it (only
 * uncompressed: a JPEG-LS file gets no response, which must be a failure), and REFUSER with
 * --refuse (rejects every association). storescp 3.6.7 accepts any called AE title (checked
 * with echoscu -aec WRONG; it has no option to check it), so the reject is tested with --refuse.
 */

interface Scp {
  peer: Peer;
  out: string;
  proc: ChildProcess;
}

const scps: Scp[] = [];
let work: string;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function startStorescp(aet: string, extra: string[]): Promise<Scp> {
  const port = await freePort();
  const out = mkdtempSync(join(work, `${aet.toLowerCase()}-`));
  const proc = spawn('storescp', ['-aet', aet, ...extra, '-od', out, String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (d) => (stderr += d));
  const scp = { peer: { aeTitle: aet, host: '127.0.0.1', port }, out, proc };
  scps.push(scp);
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null) throw new Error(`storescp exited with ${proc.exitCode}: ${stderr}`);
    if (await canConnect(port)) return scp;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`storescp did not listen on ${port}: ${stderr}`);
}

const opts = { callingAe: 'JOINTSCORE', timeoutMs: 20_000 };
let storescp: Scp;
let plain: Scp;
let refuser: Scp;
const files: Record<string, { path: string; sopInstanceUid: string }> = {};

beforeAll(async () => {
  // its INFO log (every PDU) on the console would bury the test output
  dimse.log.setLevel('silent');
  work = mkdtempSync(join(tmpdir(), 'jointscore-scu-'));
  for (const name of ['hand-left-m2-explicit', 'hands-both-m2-jpegls']) {
    const def = FIXTURES.find((f) => f.name === name)!;
    const artefacts = await makeFixture(def, false);
    const path = join(work, `${name}.dcm`);
    writeFileSync(path, artefacts.dicom);
    files[name] = { path, sopInstanceUid: readPart10(artefacts.dicom).dataset.SOPInstanceUID };
  }
  storescp = await startStorescp('STORESCP', ['+xa']);
  plain = await startStorescp('PLAIN', []);
  refuser = await startStorescp('REFUSER', ['--refuse']);
});

afterAll(() => {
  for (const s of scps) if (s.proc.exitCode === null) s.proc.kill('SIGKILL');
  if (work) rmSync(work, { recursive: true, force: true });
});

/** SOP Instance UID and transfer syntax of each file storescp wrote. */
function received(dir: string): Map<string, string> {
  const got = new Map<string, string>();
  for (const name of readdirSync(dir)) {
    const { meta, dataset } = readPart10(readFileSync(join(dir, name)));
    got.set(dataset.SOPInstanceUID, meta.TransferSyntaxUID);
  }
  return got;
}

describe('C-ECHO', () => {
  it('storescp answers', async () => {
    await expect(echo(storescp.peer, opts)).resolves.toBeUndefined();
  });

  it('a rejected association is a clear error', async () => {
    const err = await echo(refuser.peer, opts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DimseError);
    expect((err as Error).message).toMatch(/association rejected by REFUSER@127\.0\.0\.1:\d+: no reason given \(permanent, by the service user\)/);
  });

  it('a closed port is a connection error naming host:port', async () => {
    const port = await freePort();
    const err = await echo({ aeTitle: 'NOBODY', host: '127.0.0.1', port }, opts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DimseError);
    expect((err as Error).message).toContain(`127.0.0.1:${port}`);
    expect((err as Error).message).toMatch(/ECONNREFUSED/);
  });

  it('a peer that never answers the association request times out', async () => {
    const silent = createServer(() => {}); // accepts the connection, says nothing
    await new Promise<void>((resolve) => silent.listen({ host: '127.0.0.1', port: 0 }, () => resolve()));
    const { port } = silent.address() as { port: number };
    try {
      const started = Date.now();
      const err = await echo({ aeTitle: 'SILENT', host: '127.0.0.1', port }, { ...opts, timeoutMs: 1500 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DimseError);
      expect((err as Error).message).toMatch(new RegExp(`^network error with 127\\.0\\.0\\.1:${port} \\(SILENT\\): .*timeout`, 'i'));
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      silent.close();
    }
  });
});

describe('C-STORE', () => {
  it('sends Explicit VR LE and JPEG-LS on one association, each stored in its own syntax', async () => {
    const explicit = files['hand-left-m2-explicit'];
    const jpegls = files['hands-both-m2-jpegls'];
    const results = await storeFiles(storescp.peer, [explicit.path, jpegls.path], opts);
    expect(results.map((r) => [r.file, r.outcome, r.status, r.sopInstanceUid])).toEqual([
      [explicit.path, 'success', 0, explicit.sopInstanceUid],
      [jpegls.path, 'success', 0, jpegls.sopInstanceUid],
    ]);
    const got = received(storescp.out);
    expect(got.get(explicit.sopInstanceUid)).toBe(TransferSyntax.ExplicitVRLittleEndian);
    expect(got.get(jpegls.sopInstanceUid)).toBe(TransferSyntax.JpegLsLossless);
    // sent as the stored bytes (no parse and re-encode): the archive decodes the same pixels
    const byUid = new Map(readdirSync(storescp.out).map((f) => [readPart10(readFileSync(join(storescp.out, f))).dataset.SOPInstanceUID, join(storescp.out, f)]));
    if (hasPydicom()) {
      const pairs = [explicit, jpegls].map((x) => [x.path, byUid.get(x.sopInstanceUid)!]);
      const sha = pydicomPixelSha256(pairs.flat());
      for (const [sent, stored] of pairs) expect(sha[stored], stored).toBe(sha[sent]);
    }
  });

  it('a compressed file the peer does not accept is a failure, not silence', async () => {
    const explicit = files['hand-left-m2-explicit'];
    const jpegls = files['hands-both-m2-jpegls'];
    // makeFixture encoded JPEG-LS through the dcmjs-codecs module dcmjs-dimse shares: its
    // codecs are live, so without the SCU's guard the file would be silently transcoded.
    expect(dimse.Transcoding.isInitialized()).toBe(true);
    const [a, b] = await storeFiles(plain.peer, [explicit.path, jpegls.path], opts);
    expect(a.outcome).toBe('success');
    expect(b.outcome).toBe('failure');
    expect(b.message).toMatch(/^not sent: the peer did not accept JPEG-LS Lossless \(1\.2\.840\.10008\.1\.2\.4\.80\) for SOP class 1\.2\.840\.10008\.5\.1\.4\.1\.1\.1\.1 .*does not transcode/);
    // flagged for the caller that can change the syntax it writes (the node's overlay: delivery.ts)
    expect([a.syntaxRefused, b.syntaxRefused]).toEqual([undefined, true]);
    expect([...received(plain.out).keys()]).toEqual([explicit.sopInstanceUid]);
  });

  it('a file that is not DICOM fails alone; the others are sent', async () => {
    const junk = join(work, 'junk.dcm');
    writeFileSync(junk, 'not dicom');
    const results = await storeFiles(storescp.peer, [junk, files['hand-left-m2-explicit'].path], opts);
    expect(results[0]).toMatchObject({ file: junk, outcome: 'failure' });
    expect(results[0].message).toMatch(/not a readable DICOM Part 10 file/);
    expect(results[1].outcome).toBe('success');
  });

  it('a rejected association throws', async () => {
    await expect(storeFiles(refuser.peer, [files['hand-left-m2-explicit'].path], opts)).rejects.toThrow(/association rejected/);
  });

  it('status meanings', () => {
    expect(describeStoreStatus(0)).toEqual({ outcome: 'success', meaning: 'success' });
    expect(describeStoreStatus(0xb007)).toEqual({ outcome: 'warning', meaning: 'data set does not match SOP class' });
    expect(describeStoreStatus(0xa701)).toEqual({ outcome: 'failure', meaning: 'refused: out of resources' });
    expect(describeStoreStatus(0xc123)).toEqual({ outcome: 'failure', meaning: 'cannot understand' });
    expect(describeStoreStatus(0x0122)).toEqual({ outcome: 'failure', meaning: 'SOP class not supported' });
    expect(describeStoreStatus(0x0001).outcome).toBe('failure');
  });
});

describe('jointscore echo / send', () => {
  let lines: string[];
  afterEach(() => {
    vi.restoreAllMocks();
    process.exitCode = undefined;
  });
  function captureStdout(): void {
    lines = [];
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  }
  const target = () => `STORESCP@127.0.0.1:${storescp.peer.port}`;

  it('echo prints one line', async () => {
    captureStdout();
    await buildProgram().parseAsync(['node', 'jointscore', 'echo', target(), '--timeout', '10']);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^C-ECHO STORESCP@127\.0\.0\.1:\d+: success/);
  });

  it('send prints one line per file and exits non-zero on any failure', async () => {
    captureStdout();
    const missing = join(work, 'missing.dcm');
    await buildProgram().parseAsync(['node', 'jointscore', 'send', files['hand-left-m2-explicit'].path, missing, '--to', target(), '--calling-ae', 'TESTSCU']);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^OK +\S+hand-left-m2-explicit\.dcm [\d.]+: status 0x0000 \(success\)$/);
    expect(lines[1]).toMatch(/^FAILED +\S+missing\.dcm: not sent: not a readable DICOM Part 10 file/);
    expect(process.exitCode).toBe(1);
  });

  it('send to a refusing peer prints a failure for every file', async () => {
    captureStdout();
    const f = files['hand-left-m2-explicit'].path;
    await buildProgram().parseAsync(['node', 'jointscore', 'send', f, f, '--to', `REFUSER@127.0.0.1:${refuser.peer.port}`]);
    expect(lines).toHaveLength(2);
    for (const l of lines) expect(l).toMatch(/^FAILED .*association rejected/);
    expect(process.exitCode).toBe(1);
  });
});

describe('parsePeer', () => {
  it('parses AE@host:port', () => {
    expect(parsePeer('PACS@10.0.0.5:104')).toEqual({ aeTitle: 'PACS', host: '10.0.0.5', port: 104 });
    expect(parsePeer('A@B@pacs.example.org:11112')).toEqual({ aeTitle: 'A@B', host: 'pacs.example.org', port: 11112 });
    expect(parsePeer('X@[::1]:104')).toEqual({ aeTitle: 'X', host: '::1', port: 104 });
    expect(parsePeer('SIXTEEN_CHARS_AE@h:1').aeTitle).toBe('SIXTEEN_CHARS_AE');
  });

  it.each([
    ['pacs.example.org:104', 'invalid peer "pacs.example.org:104": no "@" between the AE title and the host; expected AE@host:port'],
    ['@host:104', 'invalid peer "@host:104": the AE title is empty'],
    ['SEVENTEEN_CHARS_X@host:104', 'invalid peer "SEVENTEEN_CHARS_X@host:104": the AE title "SEVENTEEN_CHARS_X" is 17 characters long; at most 16 are allowed'],
    ['A\\B@host:104', 'contains a backslash'],
    ['PACS@host', 'invalid peer "PACS@host": no ":port" after the host'],
    ['PACS@:104', 'the host is empty'],
    ['PACS@host:abc', 'the port "abc" is not a number'],
    ['PACS@host:0', 'the port 0 is outside 1-65535'],
    ['PACS@host:65536', 'the port 65536 is outside 1-65535'],
    ['PACS@::1:104', 'an IPv6 host must be written in brackets'],
  ])('%s', (value, message) => {
    expect(() => parsePeer(value)).toThrow(message);
    expect(() => parsePeer(value)).toThrow(/expected AE@host:port/);
  });

  it('the command line rejects a bad peer before connecting', async () => {
    const program = buildProgram().exitOverride();
    program.commands.forEach((c) => c.exitOverride().configureOutput({ writeErr: () => {} }));
    await expect(program.parseAsync(['node', 'jointscore', 'echo', 'PACS@host:99999'])).rejects.toThrow(/the port 99999 is outside 1-65535/);
  });
});
