import { connect, type Socket } from 'node:net';

/**
 * Raw DICOM upper-layer PDUs (PS3.8 9.3), for tests that must send what no well-behaved peer
 * sends: a second association request on one connection, a P-DATA that lies about its length.
 */
const VERIFICATION = '1.2.840.10008.1.1';
const IMPLICIT_LE = '1.2.840.10008.1.2';

function item(type: number, body: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt8(type, 0);
  head.writeUInt16BE(body.length, 2);
  return Buffer.concat([head, body]);
}

const ae = (name: string) => Buffer.from(name.padEnd(16, ' ').slice(0, 16), 'ascii');

const uid = (v: string) => Buffer.from(v.length % 2 ? v + '\0' : v, 'ascii');

/** An A-ASSOCIATE-RQ proposing one presentation context (id 1) for `abstractSyntax` in Implicit VR Little Endian. */
export function associateRq(called: string, calling: string, abstractSyntax = VERIFICATION, transferSyntax = IMPLICIT_LE): Buffer {
  const appContext = item(0x10, Buffer.from('1.2.840.10008.3.1.1.1', 'ascii'));
  const pc = item(0x20, Buffer.concat([Buffer.from([1, 0, 0, 0]), item(0x30, Buffer.from(abstractSyntax, 'ascii')), item(0x40, Buffer.from(transferSyntax, 'ascii'))]));
  const maxPdu = Buffer.alloc(4);
  maxPdu.writeUInt32BE(16384);
  const userInfo = item(0x50, Buffer.concat([item(0x51, maxPdu), item(0x52, Buffer.from('1.2.826.0.1.3680043.10.999', 'ascii'))]));
  const body = Buffer.concat([Buffer.from([0, 1, 0, 0]), ae(called), ae(calling), Buffer.alloc(32), appContext, pc, userInfo]);
  const head = Buffer.alloc(6);
  head.writeUInt8(0x01, 0);
  head.writeUInt32BE(body.length, 2);
  return Buffer.concat([head, body]);
}

/** A connected socket and the PDU types it has received so far (0x02 AC, 0x03 RJ, 0x07 abort). */
export async function rawPeer(port: number): Promise<{ socket: Socket; received: number[]; closed: Promise<void> }> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const received: number[] = [];
  let pending = Buffer.alloc(0);
  socket.on('data', (d: Buffer) => {
    pending = Buffer.concat([pending, d]);
    while (pending.length >= 6 && pending.length >= 6 + pending.readUInt32BE(2)) {
      received.push(pending[0]);
      pending = pending.subarray(6 + pending.readUInt32BE(2));
    }
  });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, received, closed };
}

function element(group: number, el: number, value: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt16LE(group, 0);
  head.writeUInt16LE(el, 2);
  head.writeUInt32LE(value.length, 4);
  return Buffer.concat([head, value]);
}

const us = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
};

/** A P-DATA-TF with one PDV on presentation context 1 (`command`: the command set; `last`: the last fragment). */
export function pData(payload: Buffer, command: boolean, last: boolean, claimedLength?: number): Buffer {
  const pdv = Buffer.alloc(6);
  pdv.writeUInt32BE(payload.length + 2, 0);
  pdv.writeUInt8(1, 4);
  pdv.writeUInt8((command ? 1 : 0) | (last ? 2 : 0), 5);
  const body = Buffer.concat([pdv, payload]);
  const head = Buffer.alloc(6);
  head.writeUInt8(0x04, 0);
  head.writeUInt32BE(claimedLength ?? body.length, 2);
  return Buffer.concat([head, body]);
}

/** The command set of a C-STORE-RQ (Implicit VR Little Endian, as PS3.7 requires). */
export function cStoreCommand(sopClass: string, sopInstance: string, messageId = 1): Buffer {
  const rest = Buffer.concat([
    element(0, 0x0002, uid(sopClass)),
    element(0, 0x0100, us(0x0001)),
    element(0, 0x0110, us(messageId)),
    element(0, 0x0700, us(0)),
    element(0, 0x0800, us(0x0000)),
    element(0, 0x1000, uid(sopInstance)),
  ]);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(rest.length);
  return Buffer.concat([element(0, 0x0000, length), rest]);
}

/**
 * Sends one Part 10 file's data set as it is (however broken) in a C-STORE on a raw
 * association, as no DICOM toolkit would send a truncated or lying file; returns the
 * C-STORE-RSP status, or undefined when the association ended without one.
 */
export async function rawStore(port: number, called: string, file: Buffer): Promise<number | undefined> {
  const metaLength = file.readUInt32LE(140); // (0002,0000) value: the group's length after it
  const ts = /1\.2\.840\.10008\.1\.2(\.[0-9.]+)?/.exec(file.subarray(144, 144 + metaLength).toString('latin1'));
  const uids = file.subarray(144, 144 + metaLength).toString('latin1').match(/[0-9][0-9.]{6,63}/g) ?? [];
  const [sopClass, sopInstance] = [uids[0] ?? '', uids[1] ?? ''];
  const dataset = file.subarray(144 + metaLength);
  const peer = await rawPeer(port);
  let status: number | undefined;
  let pending = Buffer.alloc(0);
  peer.socket.on('data', (d: Buffer) => {
    pending = Buffer.concat([pending, d]);
    const at = pending.indexOf(Buffer.from([0x00, 0x00, 0x00, 0x09, 0x02, 0x00, 0x00, 0x00]));
    if (at >= 0 && pending.length >= at + 10) status = pending.readUInt16LE(at + 8);
  });
  peer.socket.write(associateRq(called, 'RAWSENDER', sopClass, ts ? ts[0] : '1.2.840.10008.1.2.1'));
  for (let t = 0; t < 100 && !peer.received.includes(0x02) && !peer.received.includes(0x03); t++) await new Promise((r) => setTimeout(r, 20));
  if (!peer.received.includes(0x02)) {
    peer.socket.destroy();
    return undefined;
  }
  peer.socket.write(pData(cStoreCommand(sopClass, sopInstance), true, true));
  const CHUNK = 16_000;
  // at least one (last) fragment, empty when the data set is
  for (let o = 0; o === 0 || o < dataset.length; o += CHUNK) {
    peer.socket.write(pData(dataset.subarray(o, o + CHUNK), false, o + CHUNK >= dataset.length));
  }
  for (let t = 0; t < 300 && status === undefined && !peer.socket.destroyed; t++) await new Promise((r) => setTimeout(r, 50));
  const release = Buffer.from([0x05, 0, 0, 0, 0, 4, 0, 0, 0, 0]);
  if (!peer.socket.destroyed) peer.socket.write(release);
  await Promise.race([peer.closed, new Promise((r) => setTimeout(r, 1000))]);
  peer.socket.destroy();
  return status;
}
