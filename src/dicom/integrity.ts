import type { NaturalDataset } from './part10.js';
import { TransferSyntax } from './part10.js';
import { JointscoreError } from '../errors.js';
import { occurrences } from './search.js';

/**
 * Is the pixel data whole? dcmjs fills a truncated native Pixel Data with zeros, and the
 * codecs decode a cut or corrupt JPEG, JPEG 2000 or RLE stream into something: either way a
 * broken image would be graded and the results sent. These checks read the structure only
 * (no decoding), and name what is wrong so the sender can send the object again.
 */
const PIXEL_DATA_TAG = Buffer.from([0xe0, 0x7f, 0x10, 0x00]);
const SEQUENCE_DELIMITER = Buffer.from([0xfe, 0xff, 0xdd, 0xe0]);
const UNDEFINED_LENGTH = 0xffffffff;

const JPEG_FAMILY = new Set([
  TransferSyntax.JpegBaseline, '1.2.840.10008.1.2.4.51', '1.2.840.10008.1.2.4.57', TransferSyntax.JpegLossless,
  TransferSyntax.JpegLsLossless, '1.2.840.10008.1.2.4.81',
]);
const J2K_FAMILY = new Set([TransferSyntax.Jpeg2000Lossless, '1.2.840.10008.1.2.4.91']);

export class PixelDataIntegrityError extends JointscoreError {
  readonly kind = 'input' as const;
  override name = 'PixelDataIntegrityError';
}

/** Bytes of native pixel data the Image Pixel attributes call for (all frames). */
export function nativePixelDataLength(ds: NaturalDataset): number {
  const frames = Number(ds.NumberOfFrames ?? 1) || 1;
  const bytesPerSample = Math.ceil(Number(ds.BitsAllocated) / 8);
  return Number(ds.Rows) * Number(ds.Columns) * Number(ds.SamplesPerPixel ?? 1) * bytesPerSample * frames;
}

const EXPLICIT_PIXEL_VRS = new Set(['OB', 'OW', 'UN']);

/**
 * Native Pixel Data as the file's last element, where it nearly always is: read where it must
 * start for `nativeLength` bytes (or one more, padded), instead of searched for (a search
 * backwards through 10 MB of pixel values took 50 ms). Its value ends where the file ends,
 * so it is whole. Undefined when the file is laid out otherwise.
 */
export function nativePixelDataAtEnd(bytes: Uint8Array, implicitVr: boolean, nativeLength: number): { valueAt: number; length: number } | undefined {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const length of [nativeLength, nativeLength + 1]) {
    const at = buf.length - length - (implicitVr ? 8 : 12);
    if (at < 132 || !buf.subarray(at, at + 4).equals(PIXEL_DATA_TAG)) continue;
    const header = implicitVr
      ? buf.readUInt32LE(at + 4) === length
      : EXPLICIT_PIXEL_VRS.has(buf.toString('latin1', at + 4, at + 6)) && buf.readUInt16LE(at + 6) === 0 && buf.readUInt32LE(at + 8) === length;
    if (header) return { valueAt: buf.length - length, length };
  }
  return undefined;
}

/**
 * Where the Pixel Data element's value starts, and its declared length. The tag's four bytes
 * can also occur inside the pixel values themselves, so the last occurrence counts only where
 * what follows is an element header: in explicit VR an OB/OW/UN VR with its reserved bytes,
 * in implicit VR (no VR to check) an undefined length or the native size the header implies.
 */
function pixelDataElement(bytes: Uint8Array, implicitVr: boolean, nativeLength: number): { valueAt: number; length: number } | undefined {
  const atEnd = nativePixelDataAtEnd(bytes, implicitVr, nativeLength);
  if (atEnd) return atEnd;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const at of occurrences(buf, PIXEL_DATA_TAG, 132).reverse()) {
    if (implicitVr) {
      if (at + 8 > buf.length) continue;
      const length = buf.readUInt32LE(at + 4);
      if (length === UNDEFINED_LENGTH || length === nativeLength || length === nativeLength + 1) return { valueAt: at + 8, length };
    } else {
      if (at + 12 > buf.length) continue;
      const vr = buf.toString('latin1', at + 4, at + 6);
      if (EXPLICIT_PIXEL_VRS.has(vr) && buf.readUInt16LE(at + 6) === 0) return { valueAt: at + 12, length: buf.readUInt32LE(at + 8) };
    }
  }
  return undefined;
}

/** The end of a JPEG or JPEG 2000 code stream: EOI / EOC (FFD9), then at most padding. */
function endsWithEoi(frame: Uint8Array): boolean {
  let end = frame.length;
  while (end > 0 && frame[end - 1] === 0) end--;
  return end >= 2 && frame[end - 2] === 0xff && frame[end - 1] === 0xd9;
}

/** RLE header (PS3.5 G.5): 1-15 segments, offsets increasing and inside the frame. */
function rleProblem(frame: Uint8Array): string | undefined {
  if (frame.length < 64) return `an RLE frame of ${frame.length} bytes is shorter than its 64-byte header`;
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const segments = view.getUint32(0, true);
  if (segments < 1 || segments > 15) return `the RLE header declares ${segments} segments (1 to 15 allowed)`;
  let previous = 63;
  for (let i = 0; i < segments; i++) {
    const offset = view.getUint32(4 + 4 * i, true);
    if (offset <= previous || offset >= frame.length) {
      return `RLE segment ${i + 1} starts at byte ${offset}, outside the frame of ${frame.length} bytes or before the previous segment`;
    }
    previous = offset;
  }
  return undefined;
}

function frames(ds: NaturalDataset): Uint8Array[] {
  const value = ds.PixelData;
  const list: unknown[] = Array.isArray(value) ? value : value ? [value] : [];
  return list.map((v) => {
    const parts = (Array.isArray(v) ? v : [v]).map((f) => (f instanceof ArrayBuffer ? new Uint8Array(f) : new Uint8Array((f as ArrayBufferView).buffer, (f as ArrayBufferView).byteOffset, (f as ArrayBufferView).byteLength)));
    if (parts.length === 1) return parts[0];
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  });
}

/** Throws PixelDataIntegrityError naming the problem; `bytes` is the whole Part 10 file. */
export function checkPixelDataIntegrity(bytes: Uint8Array, ds: NaturalDataset, transferSyntaxUid: string): void {
  const element = pixelDataElement(bytes, transferSyntaxUid === TransferSyntax.ImplicitVRLittleEndian, nativePixelDataLength(ds));
  if (!element) return; // no Pixel Data element found: the decoder names what is wrong
  if (element.length !== UNDEFINED_LENGTH) {
    const end = element.valueAt + element.length;
    if (end > bytes.length) {
      throw new PixelDataIntegrityError(
        `Pixel Data (7FE0,0010) declares ${element.length} bytes but the file ends ${end - bytes.length} bytes before them: the object was cut off in transfer; send it again`,
      );
    }
    return;
  }
  const tail = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).subarray(element.valueAt);
  if (tail.indexOf(SEQUENCE_DELIMITER) < 0) {
    throw new PixelDataIntegrityError('encapsulated Pixel Data (7FE0,0010) has no sequence delimiter: the object was cut off in transfer; send it again');
  }
  for (const [i, frame] of frames(ds).entries()) {
    const where = `frame ${i + 1} of the encapsulated Pixel Data (7FE0,0010)`;
    if (frame.length === 0) throw new PixelDataIntegrityError(`${where} is empty`);
    if ((JPEG_FAMILY.has(transferSyntaxUid) || J2K_FAMILY.has(transferSyntaxUid)) && !endsWithEoi(frame)) {
      throw new PixelDataIntegrityError(`${where} does not end with the code stream's end marker (FFD9): cut off or corrupt; send it again`);
    }
    if (transferSyntaxUid === TransferSyntax.RleLossless) {
      const problem = rleProblem(frame);
      if (problem) throw new PixelDataIntegrityError(`${where}: ${problem}`);
    }
  }
}
