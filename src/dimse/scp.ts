import dimse from 'dcmjs-dimse';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { Writable } from 'node:stream';
import type { DimseConfig } from '../config/types.js';
import { isValidUid } from '../dicom/uid.js';
import type { Logger } from '../observability/logger.js';
import type { Spool, SpooledObject, SpoolWriter } from '../store/spool.js';
import { pacedBy } from './paced-stream.js';
import { setMaxPduLength, useOurIdentity } from './library.js';
import { decideAssociation, decideContext, normaliseHost } from './negotiation.js';

/**
 * The node as a DICOM SCP (dcmjs-dimse Server): C-ECHO and C-STORE.
 *
 * A C-STORE data set streams from the socket into the spool (src/store/spool.ts) instead of
 * memory; the response is sent only after the spool has the file on the device and the
 * receiver (the queue) has recorded it. Any failure on that path answers A700 (out of
 * resources) so the sender keeps its copy and retries.
 *
 * dcmjs-dimse creates one Scp object per connection and knows nothing of our state, so the
 * class is made per node by `scpClass(context)`.
 */
const { Server, Scp, Dataset } = dimse;
const { CEchoResponse, CStoreResponse } = dimse.responses;
const { AbortReason, AbortSource, PresentationContextResult, RejectResult, RejectSource, RejectReason, Status } = dimse.constants;

type Association = InstanceType<typeof dimse.association.Association>;
type PresentationContext = InstanceType<typeof dimse.association.PresentationContext>;
type CStoreRequest = InstanceType<typeof dimse.requests.CStoreRequest>;
type CEchoRequest = InstanceType<typeof dimse.requests.CEchoRequest>;
type CStoreResponseT = InstanceType<typeof CStoreResponse>;
type CEchoResponseT = InstanceType<typeof CEchoResponse>;

/** Where the calling peer stands, for the receiver and for logs. */
export interface PeerInfo {
  callingAe: string;
  host: string;
  associationId: number;
}

/** What the SCP hands a stored object to: records it durably, or throws. */
export interface Receiver {
  stored(obj: SpooledObject, peer: PeerInfo): void;
}

/** Numbers the SCP reports to the metrics registry (kept out of dimse's concerns). */
export interface ScpEvents {
  association?(result: 'accepted' | 'rejected', why?: string): void;
  object?(outcome: 'stored' | 'rejected', seconds: number): void;
}

export interface ScpContext {
  config: DimseConfig;
  spool: Spool;
  receiver: Receiver;
  log: Logger;
  events?: ScpEvents;
}

/** Status codes of PS3.4 B.2.3 the node answers with. */
export const STORE_STATUS = { success: 0x0000, outOfResources: 0xa700, cannotUnderstand: 0xc000 } as const;

let nextAssociationId = 1;

/** Associations open now, shared by the connections of one server (for maxAssociations and /metrics). */
export interface AssociationCount {
  active: number;
}

export function scpClass(ctx: ScpContext, count: AssociationCount = { active: 0 }): typeof Scp {
  const { log } = ctx;

  return class NodeScp extends Scp {
    private peer: PeerInfo | undefined;
    private counted = false;
    private readonly writers = new WeakMap<object, { writer?: SpoolWriter; refusal?: Refusal; started: number }>();
    /** receipts still streaming (not yet committed or abandoned): dropped if the connection ends first */
    private readonly open = new Set<SpoolWriter>();

    private requestTimer: NodeJS.Timeout | undefined;

    /** the connection has closed: a data set the library still parses afterwards gets no spool file */
    private ended = false;

    constructor(
      private readonly socket: Socket,
      opts?: ConstructorParameters<typeof Scp>[1],
    ) {
      super(socket, opts);
      // close and abort both end the association; count it once
      this.on('close', () => {
        this.ended = true;
        this.release();
        // a transfer cut off mid-object never reaches cStoreRequest: without this its file
        // handle and partial file would stay until the process ends
        for (const writer of this.open) void writer.abandon().catch(() => undefined);
        this.open.clear();
      });
      // The library gives up on a connection (idle or PDU timeout, a malformed PDU, a socket
      // error) with socket.end() alone: a half-close, after which 'close' (the release of the
      // slot and of an open spool file) waits for a peer that need never close its side. A
      // silent peer would keep its association counted until dimse.associationDeadlineS.
      this.on('networkError', () => socket.destroy());
      // a connection that never asks for an association is dropped (the library's own
      // association timeout never starts for accepted sockets)
      this.requestTimer = setTimeout(() => {
        log.warn('connection closed: no association request', { host: normaliseHost(socket.remoteAddress ?? '?'), seconds: ctx.config.connectTimeoutS });
        socket.destroy();
      }, ctx.config.connectTimeoutS * 1000);
      this.requestTimer.unref();
      socket.once('close', () => clearTimeout(this.requestTimer));
      watchPduLengths(socket, ctx.config.maxPduLength, (type, length) => {
        log.warn('connection closed: a PDU longer than the node accepts', { host: normaliseHost(socket.remoteAddress ?? '?'), type, length, maxPduLength: ctx.config.maxPduLength });
        // reading stops at once (nothing more of it reaches the library's buffer); the peer is
        // told why with an A-ABORT before the connection ends
        socket.pause();
        socket.end(ABORT_INVALID_PDU_PARAMETER);
        setTimeout(() => socket.destroy(), 1000).unref();
      });
    }

    private release(): void {
      if (this.counted) count.active--;
      this.counted = false;
    }

    override associationRequested(association: Association): void {
      clearTimeout(this.requestTimer);
      const socket = (this as unknown as { socket: Socket }).socket;
      if (this.peer) {
        // a second A-ASSOCIATE-RQ on a connection that has one is a protocol error (PS3.8
        // 9.2, state Sta6): it would be counted again and hold a slot until restart
        log.warn('A-ASSOCIATE-RQ on a connection that already has an association: aborted', { ...this.peer });
        this.sendAbort(AbortSource.ServiceProvider, AbortReason.UnexpectedPdu);
        this.release();
        socket.destroy();
        return;
      }
      const host = normaliseHost(socket.remoteAddress ?? '?');
      const peer = { callingAe: association.getCallingAeTitle().trim(), host, associationId: nextAssociationId++ };
      this.peer = peer;
      const decision = decideAssociation(ctx.config, { calledAe: association.getCalledAeTitle(), callingAe: peer.callingAe, host, active: count.active });
      if (!decision.accept) {
        log.warn(`association rejected: ${decision.message}`, { ...peer });
        ctx.events?.association?.('rejected', decision.why);
        this.reject(decision.why);
        return;
      }
      const contexts = association.getPresentationContexts();
      // storescu and many PACS propose every storage class they know: one line, not one per context
      const refused = [...new Set(contexts.map((pc) => this.negotiate(pc.context)).filter((x) => x !== undefined))];
      if (refused.length) log.debug('presentation contexts refused', { ...peer, refused });
      // the A-ASSOCIATE-AC announces this association's value (capped by the library-wide one,
      // src/dimse/library.ts): both must be set, or the caller's proposal is echoed back
      association.setMaxPduLength(ctx.config.maxPduLength);
      count.active++;
      this.counted = true;
      // idle timers never fire for a peer that sends a byte now and then: a hard deadline does
      const deadline = setTimeout(() => {
        log.warn('association cut: dimse.associationDeadlineS reached', { ...peer, seconds: ctx.config.associationDeadlineS });
        this.sendAbort(AbortSource.ServiceProvider, AbortReason.NotSpecified);
        socket.destroy();
      }, ctx.config.associationDeadlineS * 1000);
      deadline.unref();
      socket.once('close', () => clearTimeout(deadline));
      ctx.events?.association?.('accepted');
      log.info('association accepted', { ...peer, contexts: contexts.length, refused: refused.length });
      this.sendAssociationAccept();
    }

    private reject(why: 'called-ae' | 'calling-ae' | 'busy'): void {
      if (why === 'busy') {
        this.sendAssociationReject(RejectResult.Transient, RejectSource.ServiceProviderPresentation, RejectReason.LocalLimitExceeded);
      } else {
        const reason = why === 'called-ae' ? RejectReason.CalledAeNotRecognized : RejectReason.CallingAeNotRecognized;
        this.sendAssociationReject(RejectResult.Permanent, RejectSource.ServiceUser, reason);
      }
    }

    /** Accepts or refuses one presentation context; returns the abstract syntax if refused. */
    private negotiate(context: PresentationContext): string | undefined {
      const decision = decideContext(context.getAbstractSyntaxUid(), context.getTransferSyntaxUids());
      if (decision.accept) {
        context.setResult(PresentationContextResult.Accept, decision.transferSyntaxUid);
        return undefined;
      }
      const result =
        decision.reason === 'abstract-syntax-not-supported'
          ? PresentationContextResult.RejectAbstractSyntaxNotSupported
          : PresentationContextResult.RejectTransferSyntaxesNotSupported;
      context.setResult(result);
      return `${context.getAbstractSyntaxUid()} (${decision.reason})`;
    }

    override associationReleaseRequested(): void {
      this.sendAssociationReleaseResponse();
      this.release();
    }

    override abort(source: number, reason: number): void {
      log.warn('association aborted by the peer', { ...this.peer, source, reason });
      this.release();
      // an A-ABORT ends the transport connection too (PS3.8 9.2, AA-3): a peer that aborts
      // mid-object and keeps its socket open would otherwise hold it, the partial file and
      // its descriptor until dimse.associationDeadlineS
      this.socket.destroy();
    }

    override cEchoRequest(request: CEchoRequest, callback: (response: CEchoResponseT) => void): void {
      const response = CEchoResponse.fromRequest(request);
      response.setStatus(Status.Success);
      callback(response);
    }

    override createStoreWritableStream(context: PresentationContext, request: CStoreRequest) {
      const sopInstanceUid = request.getAffectedSopInstanceUid();
      const sopClassUid = request.getAffectedSopClassUid();
      const started = Date.now();
      const problem = checkStoreCommand(sopClassUid, sopInstanceUid, context.getAbstractSyntaxUid());
      const refusal: Refusal | undefined = problem ? { status: STORE_STATUS.cannotUnderstand, why: problem } : diskLow(ctx);
      if (refusal) {
        this.writers.set(request, { refusal, started });
        return discardStream();
      }
      if (this.ended) return discardStream();
      const writer = ctx.spool.begin({
        sopClassUid,
        sopInstanceUid,
        transferSyntaxUid: context.getAcceptedTransferSyntaxUid() ?? '1.2.840.10008.1.2',
        sourceAeTitle: this.peer?.callingAe,
      });
      this.writers.set(request, { writer, started });
      this.open.add(writer);
      let pauses = 0;
      writer.stream.once('close', () => {
        if (pauses) log.debug('receiving was paused while the spool caught up', { sopInstanceUid, pauses });
      });
      return pacedBy(writer.stream, this.socket, () => pauses++);
    }

    override createDatasetFromStoreWritableStream(_writable: unknown, context: PresentationContext, callback: (dataset: InstanceType<typeof Dataset>) => void): void {
      // The bytes are in the spool; cStoreRequest reads nothing from this placeholder.
      callback(new Dataset({}, context.getAcceptedTransferSyntaxUid()));
    }

    override cStoreRequest(request: CStoreRequest, callback: (response: CStoreResponseT) => void): void {
      void this.store(request).then(({ status, comment }) => {
        const response = CStoreResponse.fromRequest(request);
        response.setStatus(status);
        if (comment) response.setErrorComment(comment.slice(0, 64));
        callback(response);
      });
    }

    private async store(request: CStoreRequest): Promise<{ status: number; comment?: string }> {
      const entry = this.writers.get(request);
      const uid = request.getAffectedSopInstanceUid();
      const seconds = () => (Date.now() - (entry?.started ?? Date.now())) / 1000;
      if (!entry?.writer) {
        const { status, why, comment } = entry?.refusal ?? { status: STORE_STATUS.cannotUnderstand, why: 'no data set was received' };
        log.error(`C-STORE refused (status ${status.toString(16).toUpperCase().padStart(4, '0')}): ${why}`, { ...this.peer, sopInstanceUid: uid });
        ctx.events?.object?.('rejected', seconds());
        return { status, comment: comment ?? why };
      }
      this.open.delete(entry.writer);
      try {
        const obj = await entry.writer.commit();
        ctx.receiver.stored(obj, this.peer!);
        ctx.events?.object?.('stored', seconds());
        log.debug('stored', { ...this.peer, sopInstanceUid: uid, bytes: obj.bytes });
        return { status: STORE_STATUS.success };
      } catch (err) {
        await entry.writer.abandon().catch(() => undefined);
        const message = (err as Error).message;
        log.error(`C-STORE not stored, answered A700 so the sender retries: ${message}`, {
          ...this.peer,
          sopInstanceUid: uid,
          spool: ctx.spool.root,
        });
        ctx.events?.object?.('rejected', seconds());
        return { status: STORE_STATUS.outOfResources, comment: 'could not store durably' };
      }
    }
  } as unknown as typeof Scp;
}

/** Why a C-STORE is answered without storing: the status, the log's reason, the sender's Error Comment. */
interface Refusal {
  status: number;
  why: string;
  comment?: string;
}

/**
 * Below dimse.minFreeDiskMb the node stores nothing more: A700 leaves the object with the
 * sender, who retries, while what is already received can still be analysed and reported.
 */
function diskLow(ctx: ScpContext): Refusal | undefined {
  const low = ctx.spool.belowFreeMark(ctx.config.minFreeDiskMb);
  if (!low) return undefined;
  return {
    status: STORE_STATUS.outOfResources,
    why: `the disk holding ${ctx.spool.root} has ${low}: free space on it, or lower the limit; the sender keeps the object and retries`,
    comment: 'disk low: not stored, retry later',
  };
}

/** A-ABORT from the service provider, reason 6 "invalid PDU parameter value" (PS3.8 9.3.8). */
const ABORT_INVALID_PDU_PARAMETER = Buffer.from([0x07, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x02, 0x06]);

/** Non-data PDUs (association negotiation, release, abort) are small; this is ample. */
const MAX_CONTROL_PDU = 1 << 20;

/**
 * Reads the PDU headers (type, 32-bit length) of what a peer sends, beside the library: it
 * buffers a whole PDU before looking at it, so a P-DATA claiming 4 GB would be collected in
 * memory. A P-DATA longer than the maximum the node announced, or any other PDU over 1 MB,
 * ends the connection at its header.
 */
export function watchPduLengths(socket: Socket, maxPduLength: number, tooLong: (type: number, length: number) => void): void {
  let skip = 0; // body bytes of the current PDU still to come
  let header = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    let at = 0;
    while (at < chunk.length) {
      if (skip > 0) {
        const n = Math.min(skip, chunk.length - at);
        skip -= n;
        at += n;
        continue;
      }
      const need = 6 - header.length;
      header = Buffer.concat([header, chunk.subarray(at, at + need)]);
      at += Math.min(need, chunk.length - at);
      if (header.length < 6) return;
      const type = header[0];
      const length = header.readUInt32BE(2);
      header = Buffer.alloc(0);
      // the announced maximum counts the PDV items; allow their headers on top
      if (length > (type === 0x04 ? maxPduLength + 64 : MAX_CONTROL_PDU)) {
        tooLong(type, length);
        return;
      }
      skip = length;
    }
  });
}

/** Problems with the C-STORE command itself, named by attribute for the sender's log. */
export function checkStoreCommand(sopClassUid: string, sopInstanceUid: string, contextClass: string): string | undefined {
  if (!isValidUid(sopInstanceUid)) {
    return `Affected SOP Instance UID (0000,1000) "${sopInstanceUid}" is not a valid UID (digits and dots, at most 64)`;
  }
  if (sopClassUid !== contextClass) {
    return `Affected SOP Class UID (0000,0002) ${sopClassUid} differs from the presentation context's ${contextClass}`;
  }
  return undefined;
}

/** Swallows the data set of a command that will be refused, without buffering it. */
function discardStream(): Writable {
  return new Writable({ write: (_chunk, _enc, cb) => cb() });
}

export interface RunningScp {
  port: number;
  /** associations open now */
  associations(): number;
  close(): Promise<void>;
}

function securityOptions(c: DimseConfig) {
  if (!c.tls.enabled) return undefined;
  const read = (f?: string) => (f ? readFileSync(f) : undefined);
  return {
    key: read(c.tls.keyFile),
    cert: read(c.tls.certFile),
    ca: read(c.tls.caFile),
    requestCert: c.tls.requireClientCert,
    rejectUnauthorized: c.tls.requireClientCert,
  };
}

/** Starts listening; rejects with a message naming the address and key if it cannot bind. */
export function startScp(ctx: ScpContext): Promise<RunningScp> {
  const c = ctx.config;
  useOurIdentity();
  setMaxPduLength(c.maxPduLength);
  const count: AssociationCount = { active: 0 };
  const server = new Server(scpClass(ctx, count));
  return new Promise((resolve, reject) => {
    let listening = false;
    server.on('networkError', (err: Error) => {
      if (!listening) reject(new Error(`cannot listen on ${c.bindAddress}:${c.port} (dimse.bindAddress / dimse.port): ${err.message}`));
      else ctx.log.warn(`network error: ${err.message}`);
    });
    server.on('listening', () => {
      listening = true;
      const inner = (server as unknown as { server: { address(): { port: number } } }).server;
      resolve({
        port: inner.address().port,
        associations: () => count.active,
        close: () =>
          new Promise<void>((done) => {
            server.close();
            done();
          }),
      });
    });
    server.listen({ port: c.port, host: c.bindAddress } as unknown as number, {
      // the library uses connectTimeout as the socket's idle limit for the whole connection:
      // an association may rest between two C-STOREs as long as dimse.pduTimeoutS allows
      connectTimeout: Math.max(c.pduTimeoutS, c.associationTimeoutS) * 1000,
      associationTimeout: c.associationTimeoutS * 1000,
      pduTimeout: c.pduTimeoutS * 1000,
      securityOptions: securityOptions(c),
    });
  });
}

