import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAsync, startTestNode, type TestNode } from './helpers/node.js';
import { associateRq, rawPeer } from './helpers/raw-pdu.js';

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
