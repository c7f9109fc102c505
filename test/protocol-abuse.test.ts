import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAsync, startTestNode, type TestNode } from './helpers/node.js';
import { associateRq, cStoreCommand, pData, rawPeer } from './helpers/raw-pdu.js';

/**
 * What no well-behaved peer sends, sent on a raw socket: the node must not lose capacity.
 */
let node: TestNode;

beforeAll(async () => {
  node = await startTestNode((c) => {
    c.dimse.maxAssociations = 2;
  });
}, 120_000);

afterAll(async () => node?.stop());

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('protocol abuse', () => {
  it('a second A-ASSOCIATE-RQ on an accepted association is aborted and holds no slot', async () => {
    for (let i = 0; i < 5; i++) {
      const peer = await rawPeer(node.node.port);
      peer.socket.write(associateRq('JOINTSCORE', 'ABUSER'));
      for (let t = 0; t < 50 && !peer.received.includes(0x02); t++) await wait(20);
      expect(peer.received[0]).toBe(0x02); // A-ASSOCIATE-AC
      peer.socket.write(associateRq('JOINTSCORE', 'ABUSER'));
      await Promise.race([peer.closed, wait(3000)]);
      expect(peer.received).toContain(0x07); // A-ABORT
      peer.socket.destroy();
    }
    await wait(300);
    // with maxAssociations 2, two legitimate associations at once still fit
    const [a, b] = await Promise.all([
      runAsync('echoscu', ['-aec', 'JOINTSCORE', '127.0.0.1', String(node.node.port)]),
      runAsync('echoscu', ['-aec', 'JOINTSCORE', '127.0.0.1', String(node.node.port)]),
    ]);
    expect([a.status, b.status], a.stderr + b.stderr).toEqual([0, 0]);
    expect(node.lines.some((l) => l.message.startsWith('A-ASSOCIATE-RQ on a connection that already has an association'))).toBe(true);
  }, 60_000);
});

describe('transfers cut off mid-object', () => {
  it('leave no open file and no partial file behind', async () => {
    const { readdirSync } = await import('node:fs');
    const { join } = await import('node:path');
    const fds = () => readdirSync('/proc/self/fd').length;
    const partials = () => readdirSync(join(node.dataDir, 'spool'), { recursive: true }).filter((f) => /incoming|\.part/.test(String(f)) && !String(f).endsWith('incoming')).length;
    const DX = '1.2.840.10008.5.1.4.1.1.1.1';
    const before = fds();
    for (let i = 0; i < 30; i++) {
      const peer = await rawPeer(node.node.port);
      peer.socket.write(associateRq('JOINTSCORE', 'CUTOFF', DX));
      for (let t = 0; t < 50 && !peer.received.includes(0x02); t++) await wait(20);
      expect(peer.received[0]).toBe(0x02);
      peer.socket.write(pData(cStoreCommand(DX, `1.2.826.0.1.3680043.10.999.${i + 1}`), true, true));
      // the start of a data set, and then the cable is pulled
      peer.socket.write(pData(Buffer.alloc(64 * 1024, 7), false, false));
      await wait(30);
      peer.socket.destroy();
    }
    await wait(1000);
    expect(partials()).toBe(0);
    expect(fds() - before).toBeLessThan(5);
    const echo = await runAsync('echoscu', ['-aec', 'JOINTSCORE', '127.0.0.1', String(node.node.port)]);
    expect(echo.status).toBe(0);
  }, 60_000);
});

describe('slowloris', () => {
  it('an association that trickles bytes is cut at dimse.associationDeadlineS, and its slot is free again', async () => {
    const slow = await startTestNode((c) => {
      c.dimse.maxAssociations = 1;
      c.dimse.associationDeadlineS = 2;
    });
    try {
      const peer = await rawPeer(slow.node.port);
      peer.socket.write(associateRq('JOINTSCORE', 'SLOW'));
      for (let t = 0; t < 50 && !peer.received.includes(0x02); t++) await wait(20);
      expect(peer.received[0]).toBe(0x02);
      const started = Date.now();
      const trickle = setInterval(() => peer.socket.write(Buffer.from([0x04])), 300);
      await Promise.race([peer.closed, wait(8000)]);
      clearInterval(trickle);
      expect(Date.now() - started).toBeLessThan(6000);
      const echo = await runAsync('echoscu', ['-aec', 'JOINTSCORE', '127.0.0.1', String(slow.node.port)]);
      expect(echo.status, echo.stderr).toBe(0);
    } finally {
      await slow.stop();
    }
  }, 60_000);
});

describe('a P-DATA claiming 4 GB', () => {
  it('ends the connection at its header, before anything is buffered; the node serves on', async () => {
    const peer = await rawPeer(node.node.port);
    peer.socket.write(associateRq('JOINTSCORE', 'HUGE'));
    for (let t = 0; t < 50 && !peer.received.includes(0x02); t++) await wait(20);
    expect(peer.received[0]).toBe(0x02);
    const head = Buffer.from([0x04, 0, 0xff, 0xff, 0xff, 0xf0]);
    peer.socket.write(Buffer.concat([head, Buffer.alloc(1 << 20, 1)]));
    const closedIn = await Promise.race([peer.closed.then(() => true), wait(3000).then(() => false)]);
    expect(closedIn).toBe(true);
    expect(node.lines.some((l) => l.message === 'connection closed: a PDU longer than the node accepts')).toBe(true);
    const echo = await runAsync('echoscu', ['-aec', 'JOINTSCORE', '127.0.0.1', String(node.node.port)]);
    expect(echo.status, echo.stderr).toBe(0);
  }, 30_000);
});
