import { createWriteStream, mkdirSync, readdirSync, rmSync, statfsSync, type WriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { encodeFileMeta, type FileMetaInput } from '../dicom/file-meta.js';

/**
 * The spool: received objects as Part 10 files, written so that a C-STORE can be answered
 * Success only once the object survives a crash.
 *
 * An object streams into `incoming/` under a random name (never visible as complete while
 * it is partial), is flushed to the device when the stream closes, renamed to
 * `objects/<SOP Instance UID>.dcm`, and the folder entry is flushed too. A crash before the
 * rename leaves only an `incoming/` file, which was never acknowledged and is removed at
 * start-up; a crash after it leaves a complete file that the queue (or the start-up scan)
 * picks up.
 */
export interface SpooledObject extends FileMetaInput {
  path: string;
  /** bytes of the data set as received (without the meta header) */
  bytes: number;
}

export class SpoolWriter {
  readonly stream: WriteStream;
  private readonly headerLength: number;
  private failure: Error | undefined;

  constructor(
    private readonly spool: Spool,
    readonly meta: FileMetaInput,
    readonly tempPath: string,
  ) {
    // flush: fsync the file before close, so 'close' means on the device (Node >= 20.10)
    this.stream = createWriteStream(tempPath, { flags: 'wx', flush: true, highWaterMark: 1 << 20 });
    this.stream.on('error', (err) => (this.failure ??= err));
    const header = encodeFileMeta(meta);
    this.headerLength = header.length;
    this.stream.write(header);
  }

  /** Ends the stream, waits until the file is on the device, moves it into `objects/`. */
  async commit(): Promise<SpooledObject> {
    await new Promise<void>((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.stream.once('close', () => (this.failure ? reject(this.failure) : resolve()));
      this.stream.once('error', reject);
      this.stream.end();
    });
    const path = this.spool.pathFor(this.meta.sopInstanceUid);
    await rename(this.tempPath, path);
    await syncFolder(this.spool.objectsDir);
    return { ...this.meta, path, bytes: this.stream.bytesWritten - this.headerLength };
  }

  /**
   * Drops a partial receipt (the association broke, or the object was refused). The file is
   * removed only once the stream has closed: a stream destroyed while its file is still being
   * opened creates the file after an earlier removal would have run, and the partial file
   * would stay until the next start.
   */
  async abandon(): Promise<void> {
    await new Promise<void>((resolve) => {
      if (this.stream.closed) return resolve();
      this.stream.once('close', () => resolve());
      this.stream.destroy();
    });
    await rm(this.tempPath, { force: true });
  }
}

async function syncFolder(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export class Spool {
  readonly incomingDir: string;
  readonly objectsDir: string;

  /** Creates the folders and removes partial receipts left by a crash (never acknowledged). */
  constructor(readonly root: string) {
    this.incomingDir = join(root, 'incoming');
    this.objectsDir = join(root, 'objects');
    mkdirSync(this.incomingDir, { recursive: true });
    mkdirSync(this.objectsDir, { recursive: true });
    for (const name of readdirSync(this.incomingDir)) rmSync(join(this.incomingDir, name), { force: true });
  }

  /** The caller has checked the UID (isValidUid): it becomes a file name. */
  pathFor(sopInstanceUid: string): string {
    return join(this.objectsDir, `${sopInstanceUid}.dcm`);
  }

  begin(meta: FileMetaInput): SpoolWriter {
    const temp = join(this.incomingDir, `${randomBytes(8).toString('hex')}.part`);
    return new SpoolWriter(this, meta, temp);
  }

  /** Bytes free to an unprivileged writer on the spool's file system. */
  freeBytes(): number {
    const fs = statfsSync(this.root);
    return fs.bavail * fs.bsize;
  }

  /**
   * Why nothing more should be received (dimse.minFreeDiskMb): "N MB free, less than ..." when
   * the disk holding the spool has less than `minFreeMb` free; undefined while there is room
   * (or the mark is 0).
   */
  belowFreeMark(minFreeMb: number): string | undefined {
    if (minFreeMb <= 0) return undefined;
    const free = this.freeBytes();
    if (free >= minFreeMb * 1_048_576) return undefined;
    return `${Math.floor(free / 1_048_576)} MB free, less than dimse.minFreeDiskMb (${minFreeMb})`;
  }

  /** Complete objects present in the spool (for the start-up scan). */
  listObjects(): string[] {
    return readdirSync(this.objectsDir)
      .filter((n) => n.endsWith('.dcm'))
      .map((n) => join(this.objectsDir, n));
  }

  async remove(path: string): Promise<void> {
    await rm(path, { force: true });
  }
}
