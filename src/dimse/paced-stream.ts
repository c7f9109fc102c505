import type { Socket } from 'node:net';
import { Writable } from 'node:stream';

/**
 * The spool's file stream, with the sender's socket paused while the file is behind.
 * dcmjs-dimse writes each received PDV into the store stream without waiting for it (it
 * awaits 'drain' once per object at most), so on a slow disk the object would pile up in
 * memory at network speed; pausing the socket moves the backlog into TCP's window instead.
 * `onPause` is told each time the sender is held (a log line, a test).
 */
export function pacedBy(file: Writable, socket: Socket, onPause: () => void = () => undefined): Writable {
  const resume = () => {
    if (!socket.destroyed) socket.resume();
  };
  // a file that fails or is dropped never drains: let the association's own checks end it
  file.once('close', resume);
  file.once('error', resume);
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      // a failed file (the disk full) never drains: the rest of the object is read and
      // dropped, so that the sender gets its A700 when the object ends instead of a stall
      if (file.destroyed || file.errored) return callback();
      if (!file.write(chunk) && !socket.isPaused()) {
        socket.pause();
        onPause();
        file.once('drain', resume);
      }
      callback();
    },
  });
}
