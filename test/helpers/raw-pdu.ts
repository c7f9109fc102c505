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

export function associateRq(called: string, calling: string): Buffer {
  const appContext = item(0x10, Buffer.from('1.2.840.10008.3.1.1.1', 'ascii'));
  const pc = item(0x20, Buffer.concat([Buffer.from([1, 0, 0, 0]), item(0x30, Buffer.from(VERIFICATION, 'ascii')), item(0x40, Buffer.from(IMPLICIT_LE, 'ascii'))]));
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
