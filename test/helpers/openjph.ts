import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPart10, writePart10, type NaturalDataset } from '../../src/dicom/part10.js';
import { runTool } from './dicom-tools.js';

/**
 * OpenJPH (Debian's openjph-tools: ojph_compress, ojph_expand) as the independent
 * High-Throughput JPEG 2000 peer: it encodes a film's stored values, and decodes the same
 * codestream for comparison with ours.
 */

export const HTJ2K_LOSSLESS = '1.2.840.10008.1.2.4.201';
export const HTJ2K_LOSSLESS_RPCL = '1.2.840.10008.1.2.4.202';
export const HTJ2K = '1.2.840.10008.1.2.4.203';

/** A grey film's stored values as a binary PGM (16-bit big-endian samples above 8 bits). */
function pgm(values: ArrayLike<number>, rows: number, columns: number, bitsStored: number): Buffer {
  const wide = bitsStored > 8;
  const body = Buffer.alloc(values.length * (wide ? 2 : 1));
  for (let i = 0; i < values.length; i++) {
    if (wide) body.writeUInt16BE(values[i], 2 * i);
    else body[i] = values[i];
  }
  return Buffer.concat([Buffer.from(`P5\n${columns} ${rows}\n${2 ** bitsStored - 1}\n`, 'latin1'), body]);
}

/** The samples of a binary PGM. */
function pgmValues(file: Buffer): Uint16Array {
  const header = /^P5\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(file.toString('latin1', 0, 64));
  if (!header) throw new Error('not a binary PGM');
  const [n, max] = [Number(header[1]) * Number(header[2]), Number(header[3])];
  const body = file.subarray(header[0].length);
  return Uint16Array.from({ length: n }, (_, i) => (max > 255 ? body.readUInt16BE(2 * i) : body[i]));
}

/** The codestream OpenJPH makes of the film's stored values: reversible (lossless), or lossy at `qstep`. */
export function ojphCompress(values: ArrayLike<number>, rows: number, columns: number, bitsStored: number, lossy?: { qstep: number }): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'jointscore-ojph-'));
  try {
    writeFileSync(join(dir, 'in.pgm'), pgm(values, rows, columns, bitsStored));
    const args = ['-i', join(dir, 'in.pgm'), '-o', join(dir, 'out.j2c'), ...(lossy ? ['-qstep', String(lossy.qstep)] : ['-reversible', 'true'])];
    const r = runTool('ojph_compress', args);
    if (r.status !== 0) throw new Error(`ojph_compress exited ${r.status}: ${r.stderr}`);
    return readFileSync(join(dir, 'out.j2c'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** OpenJPH's decoding of a codestream: its samples, row-major. */
export function ojphExpand(codestream: Buffer): Uint16Array {
  const dir = mkdtempSync(join(tmpdir(), 'jointscore-ojph-'));
  try {
    writeFileSync(join(dir, 'in.j2c'), codestream);
    const r = runTool('ojph_expand', ['-i', join(dir, 'in.j2c'), '-o', join(dir, 'out.pgm')]);
    if (r.status !== 0) throw new Error(`ojph_expand exited ${r.status}: ${r.stderr}`);
    return pgmValues(readFileSync(join(dir, 'out.pgm')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A native-syntax Part 10 file (unsigned grey pixels) rewritten in HTJ2K: its pixels encoded
 * by OpenJPH, one fragment, under `syntax`; a lossy one says so (Lossy Image Compression and
 * its method) and gets its own SOP Instance UID, as PS3.3 asks of a lossy derivation (or the
 * one given).
 */
export function asHtj2k(file: Uint8Array, syntax: string, lossy?: { qstep: number }, sopInstanceUID?: string): { bytes: Buffer; codestream: Buffer; stored: Uint16Array } {
  const { dataset } = readPart10(file);
  const [rows, columns, bitsStored] = [Number(dataset.Rows), Number(dataset.Columns), Number(dataset.BitsStored)];
  const raw = (dataset.PixelData as ArrayBuffer[])[0];
  const stored = Number(dataset.BitsAllocated) > 8 ? new Uint16Array(raw, 0, rows * columns) : Uint16Array.from(new Uint8Array(raw, 0, rows * columns));
  const codestream = ojphCompress(stored, rows, columns, bitsStored, lossy);
  const even = codestream.length % 2 ? Buffer.concat([codestream, Buffer.alloc(1)]) : codestream;
  const lossyAttributes: NaturalDataset = lossy
    ? { LossyImageCompression: '01', LossyImageCompressionMethod: 'ISO_15444_15', SOPInstanceUID: `${dataset.SOPInstanceUID}.9` }
    : {};
  const out: NaturalDataset = {
    ...dataset,
    ...lossyAttributes,
    ...(sopInstanceUID ? { SOPInstanceUID: sopInstanceUID } : {}),
    PixelData: [even.buffer.slice(even.byteOffset, even.byteOffset + even.byteLength)],
    _vrMap: { PixelData: 'OB' },
  };
  return { bytes: writePart10(out, syntax), codestream, stored };
}
