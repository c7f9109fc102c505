import { transferSyntaxName } from '../dicom/transfer-syntax.js';
import { readFileSync } from 'node:fs';
import dimse from 'dcmjs-dimse';
import { useOurIdentity } from './library.js';
import { formatPeer, type Peer } from '../dicom/peer.js';
import { JointscoreError } from '../errors.js';

/**
 * The node as a DICOM SCU: C-ECHO, and C-STORE of Part 10 files, over dcmjs-dimse's Client.
 *
 * dcmjs-dimse reports most failures by silence: a request it cannot send (no accepted
 * presentation context, or one that needs transcoding while its codecs are not initialised)
 * is dropped with a log line and no response event. So every request is counted against its
 * response, and a request without one is a failure.
 *
 * Nothing is transcoded: dcmjs-dimse shares the dcmjs-codecs module with src/dicom/transcode.ts,
 * so once anything in the process has initialised the codecs it would silently re-encode a
 * compressed file into whatever the peer accepted, through dcmjs-codecs' own Part 10 path
 * (whose flaws transcode.ts works around). Files without an accepted context in their own
 * syntax are therefore taken off the association before anything is sent, and reported.
 */

const { Client } = dimse;
useOurIdentity();
const { CEchoRequest, CStoreRequest } = dimse.requests;

type Request = InstanceType<typeof dimse.requests.Request>;
type Response = InstanceType<typeof dimse.responses.Response>;
type Association = InstanceType<typeof dimse.association.Association>;

export interface ScuOptions {
  /** our AE title */
  callingAe: string;
  /** for connecting, for the association answer, and for each PDU after that */
  timeoutMs: number;
  /** DICOM over TLS: PEM contents (the CA to trust the peer; our key and certificate if it asks) */
  tls?: { ca?: Buffer; key?: Buffer; cert?: Buffer };
}

/** The association could not be used at all: connection error, reject, abort or timeout. */
export class DimseError extends JointscoreError {
  readonly kind = 'peer' as const;
  override name = 'DimseError';
}

export type StoreOutcome = 'success' | 'warning' | 'failure';

export interface StoreResult {
  file: string;
  outcome: StoreOutcome;
  sopInstanceUid?: string;
  /** the C-STORE-RSP status, when a response came */
  status?: number;
  /** one line for the operator: the status and its meaning, or why there was no response */
  message: string;
  /** not sent: the peer took the SOP class but not the file's own (compressed) transfer syntax */
  syntaxRefused?: true;
}

export function hex4(status: number): string {
  return `0x${status.toString(16).toUpperCase().padStart(4, '0')}`;
}

// PS3.4 B.2.3 (Storage Service Class) and PS3.7 Annex C.
const STORE_WARNINGS: Record<number, string> = {
  0xb000: 'coercion of data elements',
  0xb007: 'data set does not match SOP class',
  0xb006: 'elements discarded',
};
const STORE_FAILURES: Record<number, string> = {
  0x0110: 'processing failure',
  0x0111: 'duplicate SOP instance',
  0x0117: 'invalid SOP instance',
  0x0122: 'SOP class not supported',
  0x0124: 'not authorized',
  0x0210: 'duplicate invocation',
  0x0211: 'unrecognized operation',
  0x0212: 'mistyped argument',
  0x0213: 'resource limitation',
};

/** What a C-STORE-RSP status means. Only the three storage warnings count as warnings: any other non-zero status is treated as a failure. */
export function describeStoreStatus(status: number): { outcome: StoreOutcome; meaning: string } {
  if (status === 0x0000) return { outcome: 'success', meaning: 'success' };
  if (STORE_WARNINGS[status]) return { outcome: 'warning', meaning: STORE_WARNINGS[status] };
  if (STORE_FAILURES[status]) return { outcome: 'failure', meaning: STORE_FAILURES[status] };
  // The families are ranges: A7xx, A9xx and Cxxx carry implementation-specific low bits.
  if ((status & 0xff00) === 0xa700) return { outcome: 'failure', meaning: 'refused: out of resources' };
  if ((status & 0xff00) === 0xa900) return { outcome: 'failure', meaning: 'data set does not match SOP class' };
  if ((status & 0xf000) === 0xc000) return { outcome: 'failure', meaning: 'cannot understand' };
  return { outcome: 'failure', meaning: 'unknown status' };
}

const syntaxName = transferSyntaxName;

// PS3.8 9.3.4 (A-ASSOCIATE-RJ) and 9.3.8 (A-ABORT).
function describeReject(r: { result: number; source: number; reason: number }): string {
  const result = r.result === 1 ? 'permanent' : r.result === 2 ? 'transient' : `result ${r.result}`;
  const reasons: Record<number, Record<number, string>> = {
    1: { 1: 'no reason given', 2: 'application context not supported', 3: 'calling AE title not recognized', 7: 'called AE title not recognized' },
    2: { 1: 'no reason given', 2: 'protocol version not supported' },
    3: { 1: 'temporary congestion', 2: 'local limit exceeded' },
  };
  const source = ['', 'service user', 'service provider (ACSE)', 'service provider (presentation)'][r.source] ?? `source ${r.source}`;
  const reason = reasons[r.source]?.[r.reason] ?? `reason ${r.reason}`;
  return `${reason} (${result}, by the ${source})`;
}

function describeAbort(a: { source: number; reason: number }): string {
  const source = ['service user', 'unknown source', 'service provider'][a.source] ?? `source ${a.source}`;
  const reasons = ['not specified', 'unrecognized PDU', 'unexpected PDU', 'reserved', 'unrecognized PDU parameter', 'unexpected PDU parameter', 'invalid PDU parameter'];
  return `${reasons[a.reason] ?? `reason ${a.reason}`} (${source})`;
}

/** The parts of dcmjs-dimse's undocumented Network object (the Client's `network`) used here. */
interface InternalNetwork {
  on(event: 'abort', listener: (a: { source: number; reason: number }) => void): void;
  socket?: { destroy(): void; setNoDelay(noDelay?: boolean): void };
}

/** How one association ended, gathered from the Client's events. */
interface AssociationRun {
  accepted?: Association;
  /** why the association could not be used, or broke before it was released */
  problem?: string;
  released: boolean;
}

/**
 * Sends the requests on one association and resolves when the connection is closed, never
 * rejects: the caller decides what each way of ending means for its requests. `select`, given
 * the accepted association, picks the requests that may actually be sent.
 */
function runAssociation(
  peer: Peer,
  requests: Request[],
  opts: ScuOptions,
  select: (association: Association) => Request[] = () => requests,
): Promise<AssociationRun> {
  const target = formatPeer(peer);
  return new Promise((resolve) => {
    const run: AssociationRun = { released: false };
    let settled = false;
    let watchdog: NodeJS.Timeout | undefined;
    const finish = () => {
      if (settled) return;
      settled = true;
      if (watchdog) clearTimeout(watchdog);
      resolve(run);
    };
    // The first problem is the cause; later ones (the socket closing after it) are echoes.
    const problem = (text: string) => {
      run.problem ??= text;
    };

    let network: InternalNetwork | undefined;
    const client = new Client();
    for (const r of requests) client.addRequest(r);
    client.on('associationAccepted', (association: Association) => {
      run.accepted = association;
      // The Client emits this just before it hands its request list (the same array) to the
      // network, so replacing the list's contents here decides what is sent.
      const chosen = select(association);
      client.clearRequests();
      for (const r of chosen) client.addRequest(r);
    });
    client.on('associationRejected', (reject: { result: number; source: number; reason: number }) => {
      problem(`association rejected by ${target}: ${describeReject(reject)}`);
    });
    client.on('associationReleased', () => {
      run.released = true;
    });
    client.on('networkError', (err: Error) => {
      // The library prefixes its messages with "<called AE> -> ": we name the peer ourselves.
      const text = err.message.replace(/^.*?-> /, '');
      const idle = /timeout/i.test(text) ? ` (nothing heard for ${opts.timeoutMs} ms)` : '';
      problem(`network error with ${peer.host}:${peer.port} (${peer.aeTitle}): ${text}${idle}`);
      // The Client only ends the socket after an error, which does not close one still
      // connecting: if "closed" does not follow soon, destroy it rather than hang.
      watchdog ??= setTimeout(() => {
        network?.socket?.destroy();
        finish();
      }, 2000);
    });
    client.on('closed', () => {
      if (!run.released) problem(`connection to ${target} closed before the association was released`);
      finish();
    });
    client.send(peer.host, peer.port, opts.callingAe, peer.aeTitle, {
      connectTimeout: opts.timeoutMs,
      associationTimeout: opts.timeoutMs,
      pduTimeout: opts.timeoutMs,
      // the archive's certificate is always verified: against caFile, or the system's CAs without one
      securityOptions: opts.tls && { ...opts.tls, rejectUnauthorized: true },
    });
    // The Client does not forward A-ABORT; its Network object (set synchronously by send) does.
    network = (client as unknown as { network?: InternalNetwork }).network;
    // dcmjs-dimse writes a request's command and each data PDU separately: with Nagle's
    // algorithm the first data PDU waits for the peer's delayed ACK of the command (about
    // 40 ms per object on Linux)
    network?.socket?.setNoDelay(true);
    network?.on('abort', (a) => problem(`association aborted by ${target}: ${describeAbort(a)}`));
  });
}

/** Collects the single final response of each request (C-ECHO and C-STORE have no pending ones). */
function collectResponses(requests: Request[]): Map<Request, Response> {
  const responses = new Map<Request, Response>();
  for (const r of requests) r.on('response', (response: Response) => responses.set(r, response));
  return responses;
}

/** C-ECHO: resolves when the peer answered Success, throws a DimseError otherwise. */
export async function echo(peer: Peer, opts: ScuOptions): Promise<void> {
  const request = new CEchoRequest();
  const responses = collectResponses([request]);
  const run = await runAssociation(peer, [request], opts);
  const response = responses.get(request);
  if (!response) {
    throw new DimseError(run.problem ?? `no C-ECHO response from ${formatPeer(peer)} (verification SOP class not accepted?)`);
  }
  const status = response.getStatus();
  if (status !== 0) throw new DimseError(`C-ECHO to ${formatPeer(peer)} answered status ${hex4(status)}`);
}

interface PreparedFile {
  /** position in the caller's list, so that a file named twice keeps two results */
  index: number;
  file: string;
  request: InstanceType<typeof CStoreRequest>;
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
}

const UNCOMPRESSED = new Set(['1.2.840.10008.1.2', '1.2.840.10008.1.2.1']);

/**
 * A data set that is sent as the bytes stored in its file, after the file meta group. By
 * default dcmjs-dimse parses the whole file into dcmjs objects and writes it back out when
 * it sends it: for an SR's deep content tree that is several hundred milliseconds per
 * object, and for a large image a second copy in memory. Used only when the peer accepted
 * the file's own transfer syntax, so nothing needs re-encoding; the bytes are read when
 * the request's turn comes, not before.
 */
class StoredBytes extends dimse.Dataset {
  constructor(
    private readonly file: string,
    private readonly syntax: string,
  ) {
    super({}, syntax);
  }

  override getTransferSyntaxUid(): string {
    return this.syntax;
  }

  override getDenaturalizedDataset(): Buffer {
    const bytes = readFileSync(this.file);
    return bytes.subarray(datasetOffset(bytes, this.file));
  }
}

/** Where the data set starts: after the preamble, "DICM" and the meta group (its length is in (0002,0000)). */
export function datasetOffset(bytes: Buffer, file: string): number {
  const ok = bytes.length >= 144 && bytes.toString('latin1', 128, 132) === 'DICM' && bytes.readUInt16LE(132) === 0x0002 && bytes.readUInt16LE(134) === 0x0000;
  if (!ok) throw new Error(`${file}: no File Meta Information Group Length (0002,0000) after the preamble`);
  return 144 + bytes.readUInt32LE(140);
}

function sendAsStored(p: PreparedFile): void {
  (p.request as unknown as { needsFullDatasetLoading: boolean }).needsFullDatasetLoading = false;
  p.request.setDataset(new StoredBytes(p.file, p.transferSyntaxUid));
}

/**
 * Reads each file's header (the request loads the rest at send time). The Client then
 * proposes, per SOP class, Implicit and Explicit VR Little Endian, and for a compressed file
 * one more context with the file's own syntax.
 */
function prepare(files: string[]): { prepared: PreparedFile[]; unreadable: Map<number, StoreResult> } {
  const prepared: PreparedFile[] = [];
  const unreadable = new Map<number, StoreResult>();
  for (const [index, file] of files.entries()) {
    try {
      const request = new CStoreRequest(file);
      const sopClassUid = request.getAffectedSopClassUid();
      const sopInstanceUid = request.getAffectedSopInstanceUid();
      const transferSyntaxUid = request.getDataset()?.getTransferSyntaxUid() ?? '';
      if (!sopClassUid || !sopInstanceUid) throw new Error('no SOP Class UID or SOP Instance UID');
      prepared.push({ index, file, request, sopClassUid, sopInstanceUid, transferSyntaxUid });
    } catch (err) {
      unreadable.set(index, { file, outcome: 'failure', message: `not sent: not a readable DICOM Part 10 file (${(err as Error).message})` });
    }
  }
  return { prepared, unreadable };
}

/** One association carries at most 128 presentation contexts (odd IDs 1-255). */
function countContexts(prepared: PreparedFile[]): number {
  const keys = new Set<string>();
  for (const p of prepared) {
    keys.add(p.sopClassUid);
    if (!UNCOMPRESSED.has(p.transferSyntaxUid)) keys.add(`${p.sopClassUid} ${p.transferSyntaxUid}`);
  }
  return keys.size;
}

function acceptedSyntaxes(association: Association, sopClassUid: string): string[] {
  return association
    .getPresentationContexts()
    .map(({ id }) => association.getPresentationContext(id))
    .filter((pc) => pc.getAbstractSyntaxUid() === sopClassUid && pc.getResult() === dimse.constants.PresentationContextResult.Accept)
    .map((pc) => pc.getAcceptedTransferSyntaxUid() ?? '');
}

/**
 * Why a file cannot go on this association without transcoding, or undefined when it can: an
 * accepted context in the file's own syntax, or, for an uncompressed file, in the other Little
 * Endian syntax (Explicit <-> Implicit re-encodes no pixel data and needs no codec).
 */
function whyNotSendable(association: Association, p: PreparedFile): string | undefined {
  const accepted = acceptedSyntaxes(association, p.sopClassUid);
  if (accepted.length === 0) return `the peer accepted no presentation context for SOP class ${p.sopClassUid}`;
  if (accepted.includes(p.transferSyntaxUid)) return undefined;
  if (UNCOMPRESSED.has(p.transferSyntaxUid) && accepted.some((ts) => UNCOMPRESSED.has(ts))) return undefined;
  return `the peer did not accept ${syntaxName(p.transferSyntaxUid)} for SOP class ${p.sopClassUid} (accepted: ${accepted.map(syntaxName).join(', ')}); jointscore does not transcode`;
}

function resultOf(p: PreparedFile, response: Response | undefined, run: AssociationRun): StoreResult {
  const base = { file: p.file, sopInstanceUid: p.sopInstanceUid };
  const notSendable = run.accepted && whyNotSendable(run.accepted, p);
  if (notSendable) {
    // the SOP class taken in other syntaxes: the file's own syntax is what its sender can change
    const syntaxRefused = acceptedSyntaxes(run.accepted!, p.sopClassUid).length > 0;
    return { ...base, outcome: 'failure', message: `not sent: ${notSendable}`, ...(syntaxRefused ? { syntaxRefused: true as const } : {}) };
  }
  if (!response) return { ...base, outcome: 'failure', message: `no response: ${run.problem ?? 'no C-STORE response received'}` };
  const status = response.getStatus();
  const { outcome, meaning } = describeStoreStatus(status);
  const comment = response.getErrorComment?.();
  const detail = comment ? `${meaning}; peer says: ${comment}` : meaning;
  return { ...base, outcome, status, message: `status ${hex4(status)} (${detail})` };
}

/**
 * C-STORE of each file on one association. Returns one result per file, in the order given.
 * Throws a DimseError when the association could not be established (connection refused,
 * reject, timeout); problems after that become the results of the files they left unanswered.
 */
export async function storeFiles(peer: Peer, files: string[], opts: ScuOptions): Promise<StoreResult[]> {
  const { prepared, unreadable } = prepare(files);
  const byIndex = unreadable;
  if (prepared.length > 0) {
    const contexts = countContexts(prepared);
    if (contexts > 128) {
      throw new DimseError(`these files need ${contexts} presentation contexts, more than the 128 one association can carry: send them in smaller batches`);
    }
    const requests = prepared.map((p) => p.request);
    const responses = collectResponses(requests);
    const run = await runAssociation(peer, requests, opts, (association) =>
      prepared
        .filter((p) => whyNotSendable(association, p) === undefined)
        .map((p) => {
          if (acceptedSyntaxes(association, p.sopClassUid).includes(p.transferSyntaxUid)) sendAsStored(p);
          return p.request;
        }),
    );
    if (!run.accepted) throw new DimseError(run.problem ?? `no association with ${formatPeer(peer)}`);
    for (const p of prepared) byIndex.set(p.index, resultOf(p, responses.get(p.request), run));
  }
  return files.map((_, i) => byIndex.get(i)!);
}
