import { createServer, connect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { pacedBy } from '../src/dimse/paced-stream.js';

/**
 * Receiving keeps pace with the spool: while the file stream is behind, the sender's socket
 * is paused (TCP holds the backlog, not the node's memory), and resumed when it drains.
 */
describe('a store stream paced by its file', () => {
  it('pauses a real socket while a slow file is behind, resumes on drain, and loses no byte', async () => {
    const received: Buffer[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    // a disk that takes 2 ms per 64 KiB write and holds at most 128 KiB before asking to wait
    const slowFile = new Writable({
      highWaterMark: 128 * 1024,
      write(chunk: Buffer, _enc, cb) {
        inFlight += chunk.length;
        maxInFlight = Math.max(maxInFlight, slowFile.writableLength);
        setTimeout(() => {
          received.push(chunk);
          inFlight -= chunk.length;
          cb();
        }, 2);
      },
    });
    const payload = Buffer.alloc(8 * 1024 * 1024);
    for (let i = 0; i < payload.length; i += 4) payload.writeUInt32LE(i, i);
    let pauses = 0;
    const server = createServer();
    const done = new Promise<void>((resolve) => {
      server.on('connection', (socket: Socket) => {
        const paced = pacedBy(slowFile, socket, () => pauses++);
        socket.on('data', (chunk) => paced.write(chunk));
        socket.on('end', () => slowFile.end(() => resolve()));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    const client = connect(port, '127.0.0.1');
    client.end(payload);
    await done;
    server.close();
    expect(pauses).toBeGreaterThan(0);
    expect(Buffer.concat(received).equals(payload)).toBe(true);
    // the backlog in memory stays near the file's own buffer, not the 8 MiB sent
    expect(maxInFlight).toBeLessThan(2 * 1024 * 1024);
    expect(inFlight).toBe(0);
  });

  it('keeps reading, without pausing, once the file has failed (a full disk): the transfer ends and the sender gets its answer', async () => {
    // a disk that fills after 1 MiB
    let written = 0;
    const fullDisk = new Writable({
      highWaterMark: 64 * 1024,
      write(chunk: Buffer, _enc, cb) {
        written += chunk.length;
        setTimeout(() => cb(written > 1024 * 1024 ? Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }) : null), 1);
      },
    });
    fullDisk.on('error', () => undefined);
    const payload = Buffer.alloc(8 * 1024 * 1024, 7);
    const server = createServer();
    let read = 0;
    const ended = new Promise<void>((resolve) => {
      server.on('connection', (socket: Socket) => {
        const paced = pacedBy(fullDisk, socket);
        socket.on('data', (chunk) => {
          read += chunk.length;
          paced.write(chunk);
        });
        socket.on('end', () => resolve());
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    connect(port, '127.0.0.1').end(payload);
    const outcome = await Promise.race([ended.then(() => 'ended'), new Promise((r) => setTimeout(() => r('stalled'), 5000))]);
    server.close();
    expect(outcome).toBe('ended');
    expect(read).toBe(payload.length);
    expect(fullDisk.errored).toBeTruthy();
  });
});
