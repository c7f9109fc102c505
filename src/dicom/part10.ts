import dcmjs from 'dcmjs';
import { VERSION } from '../version.js';
import { encodePart10ExplicitLePieces } from './encode.js';
import { keepUidsAsSent } from './uid-fidelity.js';

/**
 * DICOM Part 10 files from and to dcmjs "naturalized" datasets (keyword -> value), the
 * form the rest of the program builds and reads.
 */
export type NaturalDataset = Record<string, any>;

/**
 * An attribute's values as a list, however dcmjs gave them: an array (several values), a string
 * still holding the backslash between values, one value, or none.
 */
export function valuesOf(v: unknown): unknown[] {
  return Array.isArray(v) ? v : typeof v === 'string' ? v.split('\\') : v === undefined || v === null ? [] : [v];
}

/** An attribute's first value as a finite number, however dcmjs gave it (a number, a decimal string, a list); undefined otherwise. */
export function firstNumber(v: unknown): number | undefined {
  const values = valuesOf(v);
  const x = values.length > 0 ? Number(values[0]) : NaN;
  return Number.isFinite(x) && !(typeof values[0] === 'string' && values[0].trim() === '') ? x : undefined;
}

export const TransferSyntax = {
  ImplicitVRLittleEndian: '1.2.840.10008.1.2',
  ExplicitVRLittleEndian: '1.2.840.10008.1.2.1',
  RleLossless: '1.2.840.10008.1.2.5',
  JpegBaseline: '1.2.840.10008.1.2.4.50',
  JpegLossless: '1.2.840.10008.1.2.4.70',
  JpegLsLossless: '1.2.840.10008.1.2.4.80',
  Jpeg2000Lossless: '1.2.840.10008.1.2.4.90',
} as const;

/** Our implementation identity in every file meta header we write. */
export const IMPLEMENTATION_CLASS_UID = '2.25.160449214929658216496209453262316446537';
export const IMPLEMENTATION_VERSION_NAME = `JOINTSCORE_${VERSION}`.slice(0, 16);

dcmjs.log.setLevel?.('error');
keepUidsAsSent(dcmjs as unknown as Parameters<typeof keepUidsAsSent>[0]);

export function writePart10(
  dataset: NaturalDataset,
  transferSyntaxUID: string = TransferSyntax.ExplicitVRLittleEndian,
): Buffer {
  const pieces = part10Pieces(dataset, transferSyntaxUID);
  return pieces.length === 1 ? Buffer.from(pieces[0].buffer, pieces[0].byteOffset, pieces[0].byteLength) : Buffer.concat(pieces);
}

/**
 * The file's bytes in pieces, for a vectored write (`FileHandle.writev`): large values are
 * not copied into one buffer. Explicit VR little endian is encoded by src/dicom/encode.ts
 * (the bytes dcmjs writes, faster), anything else by dcmjs.
 */
export function part10Pieces(
  dataset: NaturalDataset,
  transferSyntaxUID: string = TransferSyntax.ExplicitVRLittleEndian,
): Uint8Array[] {
  if (transferSyntaxUID === TransferSyntax.ExplicitVRLittleEndian) {
    const { DicomMetaDictionary } = dcmjs.data;
    const fast = encodePart10ExplicitLePieces(
      DicomMetaDictionary.denaturalizeDataset(fileMeta(dataset, transferSyntaxUID)),
      DicomMetaDictionary.denaturalizeDataset(dataset),
    );
    if (fast) return fast;
  }
  return [writePart10WithDcmjs(dataset, transferSyntaxUID)];
}

function fileMeta(dataset: NaturalDataset, transferSyntaxUID: string): NaturalDataset {
  return {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: dataset.SOPClassUID,
    MediaStorageSOPInstanceUID: dataset.SOPInstanceUID,
    TransferSyntaxUID: transferSyntaxUID,
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
    ImplementationVersionName: IMPLEMENTATION_VERSION_NAME,
  };
}

/** The same file written by dcmjs alone: for what the encoder leaves to it, and the reference its tests compare with. */
export function writePart10WithDcmjs(
  dataset: NaturalDataset,
  transferSyntaxUID: string = TransferSyntax.ExplicitVRLittleEndian,
): Buffer {
  const { DicomDict, DicomMetaDictionary } = dcmjs.data;
  const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(fileMeta(dataset, transferSyntaxUID)));
  const pixels = largeNativeOb(dataset, transferSyntaxUID);
  if (pixels) {
    // dcmjs copies the pixel data several times through its growing write buffer (about
    // 100 ms for a 15 MB overlay): write the rest with dcmjs and append the last element.
    dict.dict = DicomMetaDictionary.denaturalizeDataset({ ...dataset, PixelData: undefined });
    delete dict.dict['7FE00010'];
    return Buffer.concat([Buffer.from(dict.write({ fragmentMultiframe: false })), obElementHeader(0x7fe0, 0x0010, pixels.length), pixels]);
  }
  dict.dict = DicomMetaDictionary.denaturalizeDataset(dataset);
  return Buffer.from(dict.write({ fragmentMultiframe: false }));
}

const APPEND_PIXELS_ABOVE = 1 << 20;

/** 8-bit native pixel data in explicit VR little endian, large enough to be worth appending. */
function largeNativeOb(dataset: NaturalDataset, transferSyntaxUID: string): Buffer | undefined {
  const px = dataset.PixelData;
  const frame = Array.isArray(px) && px.length === 1 ? px[0] : undefined;
  if (transferSyntaxUID !== TransferSyntax.ExplicitVRLittleEndian || Number(dataset.BitsAllocated) !== 8) return undefined;
  if (!(frame instanceof ArrayBuffer) || frame.byteLength < APPEND_PIXELS_ABOVE || frame.byteLength % 2 !== 0) return undefined;
  return Buffer.from(frame);
}

/** An explicit VR little endian OB element header with a 4-byte length. */
function obElementHeader(group: number, element: number, length: number): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16LE(group, 0);
  h.writeUInt16LE(element, 2);
  h.write('OB', 4, 'latin1');
  h.writeUInt32LE(length, 8);
  return h;
}

export interface Part10 {
  meta: NaturalDataset;
  dataset: NaturalDataset;
}

/** The bytes as an ArrayBuffer for dcmjs, without a copy when they fill their buffer (a file read whole). */
function arrayBufferOf(bytes: Uint8Array): ArrayBuffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return bytes.buffer as ArrayBuffer;
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

/**
 * Japanese objects say `\\ISO 2022 IR 87` (ASCII by default, JIS X 0208 after ESC $ B): two
 * values, which dcmjs refuses. Text in that pair is exactly ISO-2022-JP, which dcmjs can
 * decode when the set is named alone; so the value is rewritten, in a copy and at the same
 * length, to the one name before parsing. Any other combination is left to dcmjs.
 */
export function asSingleJapaneseCharset(bytes: Uint8Array): Uint8Array {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 144 || b.toString('latin1', 128, 132) !== 'DICM') return bytes;
  const metaEnd = 144 + b.readUInt32LE(140);
  // (0008,0005) comes first in a data set: look a few elements in, not through the pixels
  const near = b.subarray(metaEnd, metaEnd + 72).indexOf(Buffer.from([0x08, 0x00, 0x05, 0x00]));
  if (near < 0) return bytes;
  const at = metaEnd + near;
  const explicit = b.toString('latin1', at + 4, at + 6) === 'CS';
  const length = explicit ? b.readUInt16LE(at + 6) : b.readUInt32LE(at + 4);
  const start = at + 8;
  if (start + length > b.length) return bytes;
  const value = b.toString('latin1', start, start + length).replace(/[ \0]+$/, '');
  if (!/^(ISO 2022 IR 6)?\\ISO 2022 IR 87$/.test(value)) return bytes;
  const copy = Buffer.from(b);
  copy.write('ISO 2022 IR 87'.padEnd(length, ' '), start, 'latin1');
  return copy;
}

/**
 * `untilPixelData`: stop before (7FE0,0010), for callers that need only the attributes
 * (the node's selection rules): a fraction of the time and memory for a large image.
 */
export function readPart10(bytes: Uint8Array, options: { untilPixelData?: boolean } = {}): Part10 {
  const { DicomMessage, DicomMetaDictionary } = dcmjs.data;
  const readOptions = options.untilPixelData ? { untilTag: '7FE00010', includeUntilTagValue: false } : undefined;
  const file = DicomMessage.readFile(arrayBufferOf(asSingleJapaneseCharset(bytes)), readOptions);
  return {
    meta: DicomMetaDictionary.naturalizeDataset(file.meta),
    dataset: DicomMetaDictionary.naturalizeDataset(file.dict),
  };
}
