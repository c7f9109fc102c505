import { connect, createServer } from 'node:net';
import { networkInterfaces } from 'node:os';
import { describe, expect, it } from 'vitest';

/**
 * scripts/test.sh runs the suite in a private network namespace (loopback only) and sets
 * JOINTSCORE_TEST_ISOLATED=1 there. These checks prove the isolation when it is claimed;
 * run without it (plain `npx vitest run`), they are skipped.
 */
const isolated = process.env.JOINTSCORE_TEST_ISOLATED === '1';

describe.skipIf(!isolated)('network isolation (scripts/test.sh)', () => {
  it('loopback is the only interface', () => {
    expect(Object.keys(networkInterfaces())).toEqual(['lo']);
  });

  it('loopback is up and works', async () => {
    const server = createServer((socket) => socket.end('ok'));
    await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, () => resolve()));
    const { port } = server.address() as { port: number };
    const reply = await new Promise<string>((resolve, reject) => {
      let data = '';
      connect({ host: '127.0.0.1', port })
        .on('data', (d) => (data += d))
        .on('end', () => resolve(data))
        .on('error', reject);
    });
    server.close();
    expect(reply).toBe('ok');
  });

  it('a non-loopback address is unreachable at once', async () => {
    // Never send a packet anywhere unless the namespace really has loopback only.
    if (Object.keys(networkInterfaces()).join() !== 'lo') throw new Error('not isolated: not trying to connect');
    // 192.0.2.1 is TEST-NET-1 (RFC 5737): never a real host, so this touches nothing even if it leaked.
    const code = await new Promise<string>((resolve) => {
      const s = connect({ host: '192.0.2.1', port: 9, timeout: 2000 });
      s.once('connect', () => {
        s.destroy();
        resolve('connected');
      });
      s.once('timeout', () => {
        s.destroy();
        resolve('timeout');
      });
      s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    });
    expect(code).toBe('ENETUNREACH');
  });
});
