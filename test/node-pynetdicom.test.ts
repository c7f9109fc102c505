import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DestinationConfig } from '../src/config/types.js';
import { readPart10 } from '../src/dicom/part10.js';
import { runAsync, startTestNode, waitForJobs, writeFixtures, type TestNode } from './helpers/node.js';
import { freePorts, tcpAccepts, tiedToParent } from './helpers/orthanc.js';
import { asHtj2k, HTJ2K_LOSSLESS } from './helpers/openjph.js';

/**
 * The node against pynetdicom (test/python/pynetdicom_peer.py), a DICOM implementation
 * independent of both dcmjs-dimse and DCMTK: pynetdicom as the modality (C-ECHO, C-STORE as
 * stored, explicit and compressed, inconsistent and malformed commands), as a second
 * association beyond dimse.maxAssociations, and as the archive the results go to (accepting,
 * and refusing with A700). Python side: python3 -m pip install -r test/python/requirements.txt.
 * Run through scripts/test.sh (loopback-only network namespace): the peers bind ports.
 */

const PEER = fileURLToPath(new URL('./python/pynetdicom_peer.py', import.meta.url));
const PYTHON = 'python3';

const EXPLICIT = '1.2.840.10008.1.2.1';
const JPEG_LS = '1.2.840.10008.1.2.4.80';
const RLE = '1.2.840.10008.1.2.5';
const SR_CLASS = '1.2.840.10008.5.1.4.1.1.88.34';
const SC_CLASS = '1.2.840.10008.5.1.4.1.1.7';
const PR_CLASS = '1.2.840.10008.5.1.4.1.1.11.1';

/** fixture -> the transfer syntax it is stored (and so sent) in */
const SENT: Record<string, string> = {
  'hand-left-m2-explicit': EXPLICIT,
  'hands-both-m2-jpegls': JPEG_LS,
  'hand-left-m2-rle': RLE,
};

interface PeerEvent {
  event: string;
  [k: string]: unknown;
}

/** One run of the peer as an SCU; its JSON lines, parsed. */
async function pynetdicom(mode: 'echo' | 'store', n: TestNode, args: string[] = []): Promise<{ events: PeerEvent[]; stderr: string }> {
  const r = await runAsync(PYTHON, [PEER, mode, '--port', String(n.node.port), '--aec', n.config.dimse.aeTitle, ...args], 120_000);
  if (r.status !== 0) throw new Error(`pynetdicom_peer.py ${mode} exited ${r.status}:\n${r.stderr.slice(-3000)}`);
  const events = r.stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as PeerEvent);
  return { events, stderr: r.stderr };
}

const association = (events: PeerEvent[]) => events.find((e) => e.event === 'association')!;
const stores = (events: PeerEvent[]) => events.filter((e) => e.event === 'store');

/** A long-lived peer process with its stdout lines (JSON) and stderr collected. */
interface LivePeer {
  proc: ChildProcess;
  events: PeerEvent[];
  output(): string;
  /** resolves with the first event satisfying `pred` (or rejects after timeoutMs / on exit) */
  waitFor(pred: (e: PeerEvent) => boolean, timeoutMs?: number): Promise<PeerEvent>;
  exited: Promise<number | null>;
}

function livePeer(args: string[]): LivePeer {
  const [cmd, argv] = tiedToParent(PYTHON, [PEER, ...args]);
  const proc = spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
  const events: PeerEvent[] = [];
  let text = '';
  let partial = '';
  proc.stdout!.on('data', (d: Buffer) => {
    text += d;
    partial += d;
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const l of lines) if (l.trim()) events.push(JSON.parse(l) as PeerEvent);
  });
  proc.stderr!.on('data', (d: Buffer) => (text += d));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return {
    proc,
    events,
    output: () => text.slice(-4000),
    exited,
    waitFor: async (pred, timeoutMs = 30_000) => {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const e = events.find(pred);
        if (e) return e;
        if (proc.exitCode !== null || proc.signalCode !== null || Date.now() > until) {
          throw new Error(`pynetdicom_peer.py ${args[0]}: no such event (exit ${proc.exitCode}):\n${text.slice(-3000)}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

interface Received {
  sopClassUid: string;
  sopInstanceUid: string;
  studyInstanceUid: string;
  transferSyntaxUid: string;
  commandSopInstanceUid: string;
  callingAe: string;
  status: number;
  t: number;
}

interface ArchivePeer extends LivePeer {
  port: number;
  aeTitle: string;
  received(): Received[];
  destination(): DestinationConfig;
}

/** The peer as a storage SCP on a free port; `failStatus` makes it refuse every C-STORE. */
async function startArchive(dir: string, aeTitle: string, failStatus?: string): Promise<ArchivePeer> {
  const [port] = await freePorts(1);
  const out = join(dir, `${aeTitle}.jsonl`);
  const peer = livePeer(['scp', '--port', String(port), '--aet', aeTitle, '--out', out, ...(failStatus ? ['--fail-status', failStatus] : [])]);
  await peer.waitFor((e) => e.event === 'listening', 60_000);
  for (let i = 0; i < 100 && !(await tcpAccepts(port, 200)); i++) await new Promise((r) => setTimeout(r, 100));
  return {
    ...peer,
    port,
    aeTitle,
    received: () =>
      existsSync(out)
        ? readFileSync(out, 'utf8')
            .split('\n')
            .filter((l) => l.trim())
            .map((l) => JSON.parse(l) as Received)
        : [],
    destination: () => ({ name: aeTitle, aeTitle, host: '127.0.0.1', port, tls: { enabled: false, requireClientCert: false } }),
  };
}

function kill(p: LivePeer | undefined): void {
  if (p && p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill('SIGKILL');
}

const sourceOf = (file: string) => readPart10(readFileSync(file)).dataset;

let work: string;
let files: Record<string, string>;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'jointscore-node-pynetdicom-'));
  files = await writeFixtures(join(work, 'in'), Object.keys(SENT));
}, 120_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('pynetdicom as the modality', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode(); // no archive: results go to delivery.folder, and a job ends `done`
  }, 120_000);
  afterAll(async () => node?.stop());

  it('answers C-ECHO, announcing dimse.maxPduLength as its largest PDU', async () => {
    const { events } = await pynetdicom('echo', node);
    expect(association(events)).toMatchObject({ established: true, rejected: false, acceptorMaxPdu: node.config.dimse.maxPduLength });
    expect(events.find((e) => e.event === 'echo')?.status).toBe(0x0000);
  });

  it('stores explicit little endian, JPEG-LS and RLE images in the syntax they were sent in, and analyses each hand', async () => {
    const names = Object.keys(SENT);
    const { events } = await pynetdicom('store', node, names.map((n) => files[n]));
    expect(association(events)).toMatchObject({ established: true });
    const sent = stores(events);
    expect(sent.map((e) => [e.file, e.transferSyntax, e.status])).toEqual(names.map((n) => [files[n], SENT[n], 0x0000]));

    const jobs = await waitForJobs(() => node.node.queue.list(), names.length, 120_000);
    expect(jobs).toHaveLength(names.length);
    for (const name of names) {
      const src = sourceOf(files[name]);
      const job = jobs.find((j) => j.sopInstanceUid === src.SOPInstanceUID);
      expect(job, name).toBeDefined();
      expect([job!.state, job!.reason, job!.transferSyntaxUid, job!.callingAe], name).toEqual(['done', null, SENT[name], 'PYNETDICOM']);
      expect(job!.studyInstanceUid, name).toBe(src.StudyInstanceUID);
      // SR, SC and PR of each job in the results folder, filed under the source's study
      const dir = join(node.config.delivery.folder!, String(src.StudyInstanceUID));
      expect(readdirSync(dir).filter((f) => f.endsWith('.dcm')), name).toHaveLength(3);
    }
  }, 180_000);

  it('stores a High-Throughput JPEG 2000 image (OpenJPH, lossless) as sent, and analyses the hand', async () => {
    const uid = `${sourceOf(files['hand-left-m2-explicit']).SOPInstanceUID}.201`;
    const file = join(work, 'in', 'hand-htj2k.dcm');
    writeFileSync(file, asHtj2k(readFileSync(files['hand-left-m2-explicit']), HTJ2K_LOSSLESS, undefined, uid).bytes);
    const { events } = await pynetdicom('store', node, [file]);
    expect(stores(events).map((e) => [e.transferSyntax, e.status])).toEqual([[HTJ2K_LOSSLESS, 0x0000]]);
    const jobs = await waitForJobs(() => node.node.queue.list().filter((j) => j.sopInstanceUid === uid), 1, 120_000);
    expect([jobs[0].state, jobs[0].reason, jobs[0].transferSyntaxUid]).toEqual(['done', null, HTJ2K_LOSSLESS]);
    // its results delivered with the others of its study (the explicit fixture's: the same study)
    const results = readdirSync(join(node.config.delivery.folder!, String(sourceOf(file).StudyInstanceUID))).filter((f) => f.endsWith('.dcm'));
    expect(results.map((f) => readPart10(readFileSync(join(node.config.delivery.folder!, String(sourceOf(file).StudyInstanceUID), f))).dataset)
      .filter((ds) => JSON.stringify(ds.ReferencedSeriesSequence ?? ds.SourceImageSequence ?? ds.CurrentRequestedProcedureEvidenceSequence ?? '').includes(uid))).not.toHaveLength(0);
  }, 180_000);

  it('answers Success to a C-STORE whose data set names another SOP Instance UID, and quarantines the job naming (0008,0018)', async () => {
    const commandUid = `2.25.${BigInt('0x' + randomUUID().replaceAll('-', '')).toString()}`;
    const datasetUid = String(sourceOf(files['hand-left-m2-explicit']).SOPInstanceUID);
    const before = node.node.queue.list().length;
    const { events } = await pynetdicom('store', node, ['--command-uid', commandUid, files['hand-left-m2-explicit']]);
    expect(stores(events).map((e) => e.status)).toEqual([0x0000]);

    const jobs = await waitForJobs(() => node.node.queue.list(), before + 1, 60_000);
    const job = jobs.find((j) => j.sopInstanceUid === commandUid);
    expect(job?.state).toBe('quarantined');
    expect(job?.reason).toContain('(0008,0018)');
    expect(job?.reason).toContain(datasetUid);
    expect(job?.reason).toContain(commandUid);
  });

  it('refuses a C-STORE whose Affected SOP Instance UID is malformed with C000, logging (0000,1000)', async () => {
    const before = node.node.queue.list().length;
    // letters, and a component with a leading zero; the log shows the UID exactly as sent
    for (const [badUid, logged] of [
      ['1.2.826.0.1.3680043.9.7433.abc', '"1.2.826.0.1.3680043.9.7433.abc"'],
      ['1.2.826.0.1.3680043.9.7433.012', '"1.2.826.0.1.3680043.9.7433.012"'],
    ]) {
      const linesBefore = node.lines.length;
      const { events } = await pynetdicom('store', node, ['--command-uid', badUid, files['hand-left-m2-explicit']]);
      const [rsp] = stores(events);
      expect(rsp.status, badUid).toBe(0xc000);
      expect(String(rsp.errorComment), badUid).toContain('(0000,1000)');
      const line = node.lines.slice(linesBefore).find((l) => l.message.startsWith('C-STORE refused'));
      expect(line?.level, badUid).toBe('error');
      expect(line?.message, badUid).toContain(`Affected SOP Instance UID (0000,1000) ${logged} is not a valid UID`);
    }
    // nothing was queued for either
    await new Promise((r) => setTimeout(r, 500));
    expect(node.node.queue.list()).toHaveLength(before);
  });

  /**
   * dcmjs removes every character but digits and dots from a UI value on reading, so
   * "...7433.1a2" would be read as the valid "...7433.12" and the image filed under a UID the
   * sender never sent. src/dicom/uid-fidelity.ts keeps UIDs as sent; this guards it.
   */
  it('refuses a C-STORE whose SOP Instance UIDs have a letter inside, rather than storing it under the UID without the letter', async () => {
    const badUid = '1.2.826.0.1.3680043.9.7433.1a2';
    const { events } = await pynetdicom('store', node, ['--dataset-uid', badUid, files['hand-left-m2-explicit']]);
    expect(stores(events).map((e) => e.status)).toEqual([0xc000]);
  });
});

describe('dimse.maxAssociations against pynetdicom', () => {
  let node: TestNode;
  let holder: LivePeer | undefined;
  beforeAll(async () => {
    node = await startTestNode((c) => {
      c.dimse.maxAssociations = 1;
    });
  }, 120_000);
  afterAll(async () => {
    kill(holder);
    await node?.stop();
  });

  it('rejects a second association as transient, local limit exceeded, and accepts one after the first is released', async () => {
    holder = livePeer(['hold', '--port', String(node.node.port), '--aec', node.config.dimse.aeTitle, '--aet', 'HOLDER']);
    await holder.waitFor((e) => e.event === 'associated');

    const second = await pynetdicom('echo', node, ['--aet', 'SECOND']);
    expect(association(second.events)).toMatchObject({
      established: false,
      rejected: true,
      result: 2,
      source: 3,
      reason: 2,
      resultStr: 'Rejected (Transient)',
      sourceStr: 'DUL service-provider (presentation related)',
      reasonStr: 'Local limit exceeded',
    });
    expect(second.events.some((e) => e.event === 'echo')).toBe(false);
    expect(node.lines.some((l) => l.message === 'association rejected: 1 associations already open (dimse.maxAssociations = 1)' && l.callingAe === 'SECOND')).toBe(true);

    holder.proc.stdin!.write('release\n');
    expect(await holder.waitFor((e) => e.event === 'released')).toMatchObject({ released: true });
    expect(await holder.exited).toBe(0);

    const third = await pynetdicom('echo', node, ['--aet', 'THIRD']);
    expect(association(third.events)).toMatchObject({ established: true, rejected: false });
    expect(third.events.find((e) => e.event === 'echo')?.status).toBe(0x0000);
  });
});

describe('pynetdicom as the archive', () => {
  let archive: ArchivePeer | undefined;
  let failing: ArchivePeer | undefined;
  let node: TestNode;
  let refused: TestNode;
  beforeAll(async () => {
    [archive, failing] = await Promise.all([startArchive(work, 'ARCHIVE'), startArchive(work, 'FAILING', '0xA700')]);
    node = await startTestNode((c) => {
      c.delivery.destinations = [archive!.destination()];
    });
    refused = await startTestNode((c) => {
      c.delivery.destinations = [failing!.destination()];
      c.delivery.maxAttempts = 3;
    });
  }, 120_000);
  afterAll(async () => {
    await node?.stop();
    await refused?.stop();
    kill(archive);
    kill(failing);
  });

  it('receives SR, SC and PR of an analysed hand, filed under the source study', async () => {
    const file = files['hand-left-m2-explicit'];
    const src = sourceOf(file);
    const { events } = await pynetdicom('store', node, [file]);
    expect(stores(events).map((e) => e.status)).toEqual([0x0000]);

    const [job] = await waitForJobs(() => node.node.queue.list(), 1, 120_000);
    expect([job.state, job.reason]).toEqual(['done', null]);
    const got = archive!.received();
    expect(got).toHaveLength(3);
    expect(new Set(got.map((r) => r.sopInstanceUid)).size).toBe(3);
    expect(got.map((r) => r.sopClassUid).sort()).toEqual([SR_CLASS, PR_CLASS, SC_CLASS].sort());
    for (const r of got) {
      expect(r.studyInstanceUid).toBe(src.StudyInstanceUID);
      expect(r.sopInstanceUid).not.toBe(src.SOPInstanceUID);
      expect(r.commandSopInstanceUid).toBe(r.sopInstanceUid);
      expect(r.callingAe).toBe(node.config.delivery.callingAeTitle);
      expect([EXPLICIT, '1.2.840.10008.1.2']).toContain(r.transferSyntaxUid);
    }
    // what the archive got is what the queue says was delivered
    const deliveries = node.node.queue.deliveriesOf(job.id);
    expect(deliveries.map((d) => [d.state, d.destination])).toEqual(deliveries.map(() => ['delivered', 'ARCHIVE']));
    expect(new Set(deliveries.map((d) => d.sopInstanceUid))).toEqual(new Set(got.map((r) => r.sopInstanceUid)));
  }, 180_000);

  it('retries an archive that answers A700 with back-off, then fails the job naming the status', async () => {
    const file = files['hand-left-m2-explicit'];
    const { events } = await pynetdicom('store', refused, [file]);
    expect(stores(events).map((e) => e.status)).toEqual([0x0000]);

    const [job] = await waitForJobs(() => refused.node.queue.list(), 1, 120_000);
    expect(job.state).toBe('failed');
    expect(job.reason).toMatch(/^3 result object\(s\) could not be delivered: .*A700/);
    const deliveries = refused.node.queue.deliveriesOf(job.id);
    expect(deliveries).toHaveLength(3);
    for (const d of deliveries) {
      expect([d.state, d.attempts]).toEqual(['failed', 3]);
      expect(d.lastError).toContain('A700');
    }

    // the archive saw each object exactly maxAttempts times, at least 1 s then 2 s apart
    const got = failing!.received();
    const bySop = new Map<string, number[]>();
    for (const r of got) bySop.set(r.sopInstanceUid, [...(bySop.get(r.sopInstanceUid) ?? []), r.t]);
    expect(new Set(bySop.keys())).toEqual(new Set(deliveries.map((d) => d.sopInstanceUid)));
    for (const [uid, times] of bySop) {
      expect(times, uid).toHaveLength(3);
      const gaps = times.slice(1).map((t, i) => t - times[i]);
      expect(gaps[0], `${uid}: first back-off`).toBeGreaterThanOrEqual(0.95);
      expect(gaps[1], `${uid}: second back-off`).toBeGreaterThanOrEqual(1.95);
      expect(Math.max(...gaps), `${uid}: back-off capped`).toBeLessThan(10);
    }
    expect(refused.lines.some((l) => /^delivery failed for good after 3 attempt\(s\): .*A700/.test(l.message))).toBe(true);
  }, 180_000);
});

/**
 * DICOM over TLS (PS3.15 B.1), both ways, with certificates made here by openssl: a CA, a
 * server certificate for localhost / 127.0.0.1, and a client certificate.
 */
describe('DICOM over TLS against pynetdicom', () => {
  let pki: Record<'ca' | 'serverCert' | 'serverKey' | 'clientCert' | 'clientKey', string>;
  let archive: ArchivePeer | undefined;
  let node: TestNode;

  async function openssl(args: string[]): Promise<void> {
    const r = await runAsync('openssl', args);
    if (r.status !== 0) throw new Error(`openssl ${args[0]}: ${r.stderr}`);
  }

  async function makePki(dir: string) {
    const p = (n: string) => join(dir, n);
    await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=jointscore test CA', '-keyout', p('ca.key'), '-out', p('ca.pem')]);
    for (const [who, cn, ext] of [
      ['server', 'localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
      ['client', 'PYNETDICOM', 'extendedKeyUsage=clientAuth'],
    ]) {
      await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-keyout', p(`${who}.key`), '-out', p(`${who}.csr`)]);
      writeFileSync(p(`${who}.ext`), `${ext}\n`);
      await openssl(['x509', '-req', '-in', p(`${who}.csr`), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', p(`${who}.ext`), '-out', p(`${who}.pem`)]);
    }
    return { ca: p('ca.pem'), serverCert: p('server.pem'), serverKey: p('server.key'), clientCert: p('client.pem'), clientKey: p('client.key') };
  }

  beforeAll(async () => {
    const dir = join(work, 'pki');
    mkdirSync(dir, { recursive: true });
    pki = await makePki(dir);
    const [port] = await freePorts(1);
    const out = join(work, 'TLSARCHIVE.jsonl');
    const peer = livePeer(['scp', '--port', String(port), '--aet', 'TLSARCHIVE', '--out', out, '--tls-cert', pki.serverCert, '--tls-key', pki.serverKey]);
    await peer.waitFor((e) => e.event === 'listening', 60_000);
    archive = {
      ...peer,
      port,
      aeTitle: 'TLSARCHIVE',
      received: () => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Received) : []),
      destination: () => ({ name: 'TLSARCHIVE', aeTitle: 'TLSARCHIVE', host: 'localhost', port, tls: { enabled: true, caFile: pki.ca, requireClientCert: false } }),
    };
    node = await startTestNode((c) => {
      c.dimse.tls = { enabled: true, keyFile: pki.serverKey, certFile: pki.serverCert, caFile: pki.ca, requireClientCert: true };
      c.delivery.destinations = [archive!.destination()];
    });
  }, 120_000);
  afterAll(async () => {
    kill(archive);
    await node?.stop();
  });

  const tls = () => ['--tls-ca', pki.ca];
  const clientCert = () => ['--tls-cert', pki.clientCert, '--tls-key', pki.clientKey];

  it('accepts a peer with a client certificate from the trusted CA, and refuses one without, or without TLS', async () => {
    const good = await pynetdicom('echo', node, [...tls(), ...clientCert()]);
    expect(association(good.events)).toMatchObject({ established: true });
    expect(good.events.find((e) => e.event === 'echo')?.status).toBe(0);

    const noCert = await pynetdicom('echo', node, tls());
    expect(association(noCert.events)).toMatchObject({ established: false });
    const plain = await pynetdicom('echo', node);
    expect(association(plain.events)).toMatchObject({ established: false });
  });

  it('receives over TLS and delivers the results to a TLS archive, verifying its certificate', async () => {
    const file = files['hand-left-m2-explicit'];
    const sent = await pynetdicom('store', node, [...tls(), ...clientCert(), file]);
    expect(stores(sent.events).map((e) => e.status)).toEqual([0]);
    const [job] = await waitForJobs(() => node.node.queue.list(), 1, 120_000);
    expect([job.state, job.reason]).toEqual(['done', null]);
    const got = archive!.received();
    expect(new Set(got.map((r) => r.sopClassUid))).toEqual(new Set([SR_CLASS, SC_CLASS, PR_CLASS]));
    expect(got.every((r) => r.studyInstanceUid === sourceOf(file).StudyInstanceUID)).toBe(true);
  }, 180_000);
});

describe('timeouts', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode((c) => {
      c.dimse.connectTimeoutS = 1;
      c.dimse.pduTimeoutS = 30;
    });
  }, 120_000);
  afterAll(async () => node?.stop());

  it('closes a connection that never asks for an association, but lets an association rest longer than that', async () => {
    const socket = createConnection({ host: '127.0.0.1', port: node.node.port });
    const started = Date.now();
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const silentFor = (Date.now() - started) / 1000;
    expect(silentFor).toBeGreaterThan(0.8);
    expect(silentFor).toBeLessThan(10);
    expect(node.lines.some((l) => l.message === 'connection closed: no association request')).toBe(true);

    const holder = livePeer(['hold', '--port', String(node.node.port), '--aec', node.config.dimse.aeTitle, '--aet', 'RESTING']);
    await holder.waitFor((e) => e.event === 'associated');
    await new Promise((r) => setTimeout(r, 2500));
    holder.proc.stdin!.write('release\n');
    expect(await holder.waitFor((e) => e.event === 'released')).toMatchObject({ released: true });
  }, 60_000);
});
