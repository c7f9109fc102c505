import { checkPixelDataIntegrity, nativePixelDataAtEnd, nativePixelDataLength } from './integrity.js';
import { TRANSFER_SYNTAX_NAMES, TRANSFER_SYNTAX_REGISTRY, transferSyntaxName } from './transfer-syntax.js';
import dcmjsCodecs from 'dcmjs-codecs';
import { readPart10, TransferSyntax, writePart10, type NaturalDataset } from './part10.js';

/**
 * Pixel data compression and decompression: a thin wrapper around dcmjs-codecs (its WASM
 * build of libjpeg-turbo, CharLS, OpenJPEG and an RLE codec).
 *
 * What dcmjs-codecs does by itself, and why this wrapper does not use its Part 10 output
 * (measured on dcmjs-codecs 0.0.8, which bundles its own dcmjs 0.50.3):
 *
 * - `Transcoder.getDicomPart10()` writes encapsulated Pixel Data with VR OW; PS3.5 A.4
 *   requires OB (DCMTK warns "Length of element (7fe0,0010) is not a multiple of 2 (VR=OW)").
 * - It adds Planar Configuration (0028,0006) = 0 to monochrome images, where the attribute
 *   may only be present when Samples per Pixel > 1 (dciodvfy reports it).
 * - It replaces the file meta header (its own Implementation Class UID and version name).
 * - For lossless targets it neither sets nor clears Lossy Image Compression (0028,2110).
 * - It reads and rewrites every attribute with a second, older dcmjs.
 *
 * So this wrapper hands dcmjs-codecs only the Image Pixel attributes and Pixel Data (as a
 * naturalized element object, no Part 10 round trip), takes back only the pixel data (and,
 * for a colour target, the Photometric Interpretation), and writes the file with the
 * project's dcmjs through `writePart10`: Pixel Data OB, one fragment per frame, a Basic
 * Offset Table item holding each frame's offset (a single `0` for a single frame).
 *
 * Lossless targets only. Lossless means exact for unsigned 8-bit and 16-bit-allocated data
 * with any Bits Stored (verified 10/12/14/16 in test/transcode.test.ts). Notes on the codecs:
 * - JPEG Lossless (libjpeg-turbo) writes a sample precision P of 8, 12 or 16 (the next one
 *   up from Bits Stored: Bits Stored 10 gives P = 12; libjpeg has no other precisions).
 * - JPEG-LS: dcmjs-codecs' own path writes P = 16 for any 16-bit-allocated data; this
 *   wrapper calls CharLS itself with P = Bits Stored (see `encodeJpegLsAtBitsStored`).
 * - JPEG 2000 (OpenJPEG) writes the exact Bits Stored, unsigned.
 * - All decode exactly, in DCMTK and pydicom as well as here (test/transcode.test.ts).
 * - Signed data (Pixel Representation 1) is not accepted: the phantom never makes it and
 *   the codecs' sign handling is not verified here (`transcodeDataset` refuses it).
 */

const { Context, NativeCodecs, Transcoder } = dcmjsCodecs;

export type LosslessCompressedSyntax =
  | typeof TransferSyntax.JpegLossless
  | typeof TransferSyntax.JpegLsLossless
  | typeof TransferSyntax.Jpeg2000Lossless
  | typeof TransferSyntax.RleLossless;

/** The compressed syntaxes this wrapper encodes to: all lossless. */
export const LOSSLESS_COMPRESSED_SYNTAXES: readonly LosslessCompressedSyntax[] = [
  TransferSyntax.JpegLossless,
  TransferSyntax.JpegLsLossless,
  TransferSyntax.Jpeg2000Lossless,
  TransferSyntax.RleLossless,
];

/** Native (uncompressed) syntaxes this wrapper reads and writes. */
export const NATIVE_SYNTAXES: readonly string[] = [
  TransferSyntax.ImplicitVRLittleEndian,
  TransferSyntax.ExplicitVRLittleEndian,
];

/**
 * Syntaxes dcmjs-codecs 0.0.8 refuses by name though libjpeg-turbo decodes their bitstreams on
 * the path of a sibling syntax: JPEG Lossless Process 14 with any predictor is the SOF3 stream of
 * "Selection Value 1" (the decoder reads the predictor from the scan header), and JPEG Extended and
 * JPEG Full Progression are DCT streams as JPEG Baseline's, at 12 bits or 8 (the decoder reads the
 * precision and the scans from the frame header).
 * Checked value for value against DCMTK's dcmdjpeg (test/transcode.test.ts). Decoding only.
 */
const DECODED_AS: Readonly<Record<string, string>> = {
  '1.2.840.10008.1.2.4.57': TransferSyntax.JpegLossless,
  '1.2.840.10008.1.2.4.51': TransferSyntax.JpegBaseline,
  // retired, but what DCMTK's img2dcm labels a progressive JPEG (a picture imported from a CD)
  '1.2.840.10008.1.2.4.55': TransferSyntax.JpegBaseline,
};

/** Syntaxes a file may come in that nothing here decodes, named in the message (the SCP never accepts them). */
const UNDECODED_NAMES: Readonly<Record<string, string>> = {
  '1.2.840.10008.1.2.1.99': 'Deflated Explicit VR Little Endian',
  '1.2.840.10008.1.2.2': 'Explicit VR Big Endian (retired)',
};

/** Compressed syntaxes dcmjs-codecs can decode (lossy ones included: decoding only). */
const DECODABLE_SYNTAXES: readonly string[] = TRANSFER_SYNTAX_REGISTRY.filter((t) => t.encapsulated && t.decodable).map((t) => t.uid);

export { nativePixelDataLength, TRANSFER_SYNTAX_NAMES };

export function isNativeSyntax(ts: string): boolean {
  return NATIVE_SYNTAXES.includes(ts);
}

export function isEncapsulatedSyntax(ts: string): boolean {
  return !isNativeSyntax(ts) && ts !== '1.2.840.10008.1.2.2' && ts !== '1.2.840.10008.1.2.1.99';
}

let initializing: Promise<void> | undefined;

/** Loads the codecs' WebAssembly once per process (about 80 ms); safe to call often. */
export function initializeCodecs(): Promise<void> {
  if (NativeCodecs.isInitialized()) return Promise.resolve();
  initializing ??= NativeCodecs.initializeAsync().catch((err: unknown) => {
    initializing = undefined;
    throw err;
  });
  return initializing;
}

const PIXEL_MODULE_KEYS = [
  'Rows',
  'Columns',
  'BitsAllocated',
  'BitsStored',
  'HighBit',
  'PixelRepresentation',
  'SamplesPerPixel',
  'PhotometricInterpretation',
  'PlanarConfiguration',
  'NumberOfFrames',
] as const;

export interface TranscodeOptions {
  /**
   * After compressing, decode the result again and compare it with the input, byte for
   * byte; throws if they differ. Costs one decode (tens of ms for a 2500 x 2048 image).
   */
  verifyLossless?: boolean;
}


function toArrayBuffer(data: ArrayBuffer | ArrayBufferView): ArrayBuffer {
  if (data instanceof ArrayBuffer) return data;
  return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
}

function concat(buffers: ArrayBuffer[]): ArrayBuffer {
  const total = buffers.reduce((n, b) => n + b.byteLength, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const b of buffers) {
    out.set(new Uint8Array(b), offset);
    offset += b.byteLength;
  }
  return out.buffer;
}

/** The Pixel Data value as a list of buffers: frames (encapsulated) or one native buffer. */
function pixelDataBuffers(ds: NaturalDataset): ArrayBuffer[] {
  const value = ds.PixelData;
  if (value === undefined || value === null) return [];
  const list: unknown[] = Array.isArray(value) ? value : [value];
  return list.map((v) => {
    // dcmjs may hand back a frame as a list of fragments (noCopy reads)
    if (Array.isArray(v)) return concat(v.map((f) => toArrayBuffer(f as ArrayBuffer)));
    return toArrayBuffer(v as ArrayBuffer);
  });
}

const describe = transferSyntaxName;

/**
 * Re-encodes the Pixel Data of a naturalized dataset from one transfer syntax to another
 * (native <-> lossless compressed, or compressed -> native). Returns a new dataset; the
 * input is not changed. Attributes other than the pixel data are kept as they are, except:
 * Planar Configuration is removed from single-sample images, `_vrMap.PixelData` is set
 * (OB when encapsulated, OW for 16-bit native), and Lossy Image Compression is left as it
 * was (the caller knows whether the image was ever lossy; the phantom encoder writes 00).
 */
export async function transcodeDataset(
  dataset: NaturalDataset,
  fromSyntax: string,
  toSyntax: string,
  options: TranscodeOptions = {},
): Promise<NaturalDataset> {
  const fromNative = isNativeSyntax(fromSyntax);
  const toNative = isNativeSyntax(toSyntax);
  if (!fromNative && !DECODABLE_SYNTAXES.includes(fromSyntax)) {
    const known = UNDECODED_NAMES[fromSyntax];
    throw new Error(
      `cannot decode pixel data in transfer syntax ${known ? `${known} (${fromSyntax})` : describe(fromSyntax)}: ` +
        'write the file as Explicit VR Little Endian first (DCMTK: dcmconv +te, or dcmdjpeg for a JPEG the codecs here refuse)',
    );
  }
  if (!toNative && !(LOSSLESS_COMPRESSED_SYNTAXES as readonly string[]).includes(toSyntax)) {
    throw new Error(
      `cannot encode to transfer syntax ${describe(toSyntax)}: only native and lossless ` +
        `(${LOSSLESS_COMPRESSED_SYNTAXES.join(', ')}) targets are supported`,
    );
  }
  const out: NaturalDataset = { ...dataset, _vrMap: { ...(dataset._vrMap ?? {}) } };
  if (Number(out.SamplesPerPixel ?? 1) === 1) delete out.PlanarConfiguration;
  if (dataset.PixelData === undefined) return out;

  const bitsAllocated = Number(dataset.BitsAllocated);
  if (bitsAllocated !== 8 && bitsAllocated !== 16) {
    throw new Error(`Bits Allocated (0028,0100) is ${dataset.BitsAllocated}: only 8 and 16 can be transcoded`);
  }
  if (!toNative && Number(dataset.PixelRepresentation ?? 0) !== 0) {
    throw new Error('Pixel Representation (0028,0103) is 1 (signed): lossless compression of signed pixels is not supported');
  }

  if (fromSyntax === toSyntax || (fromNative && toNative)) {
    out._vrMap.PixelData = toNative && bitsAllocated > 8 ? 'OW' : 'OB';
    return out;
  }

  await initializeCodecs();
  let buffers = pixelDataBuffers(dataset);
  const frames = Number(dataset.NumberOfFrames ?? 1) || 1;
  if (!fromNative && frames === 1 && buffers.length > 1) {
    // one frame split into several fragments (and no offset table): join them
    buffers = [concat(buffers)];
  }
  if (!fromNative && buffers.length !== frames) {
    throw new Error(
      `Pixel Data holds ${buffers.length} fragments for ${frames} frames: multi-fragment frames without an offset table are not supported`,
    );
  }
  if (fromNative) {
    const expected = nativePixelDataLength(dataset);
    const got = buffers.reduce((n, b) => n + b.byteLength, 0);
    if (got < expected) {
      throw new Error(`Pixel Data is ${got} bytes, but Rows x Columns x Samples x Frames calls for ${expected}`);
    }
    buffers = [concat(buffers).slice(0, expected + (expected % 2))];
  }

  const elements: Record<string, unknown> = {};
  for (const key of PIXEL_MODULE_KEYS) {
    if (dataset[key] !== undefined) elements[key] = dataset[key];
  }
  elements.PixelData = buffers;
  elements._vrMap = { PixelData: fromNative && bitsAllocated > 8 ? 'OW' : 'OB' };

  if (fromNative && toSyntax === TransferSyntax.JpegLsLossless && bitsAllocated === 16) {
    const bitsStored = Number(dataset.BitsStored);
    if (bitsStored < 16 && Number(dataset.SamplesPerPixel ?? 1) === 1) {
      out.PixelData = encodeJpegLsAtBitsStored(buffers[0], dataset, frames);
      out._vrMap.PixelData = 'OB';
      if (options.verifyLossless) await verifyLossless(dataset, buffers[0], out, toSyntax);
      return out;
    }
  }

  // dcmjs-codecs decodes to native first when going between two compressed syntaxes
  const transcoder = new Transcoder(elements, fromNative ? TransferSyntax.ExplicitVRLittleEndian : (DECODED_AS[fromSyntax] ?? fromSyntax));
  try {
    transcoder.transcode(toSyntax);
  } catch (err) {
    throw new Error(
      `dcmjs-codecs could not transcode ${describe(fromSyntax)} -> ${describe(toSyntax)} ` +
        `(${dataset.Rows}x${dataset.Columns}, ${bitsAllocated}/${dataset.BitsStored} bits, ${dataset.PhotometricInterpretation}): ${(err as Error).message}`,
    );
  }
  const result = transcoder.getElements() as NaturalDataset;
  const resultBuffers = pixelDataBuffers(result);
  if (toNative) {
    const expected = nativePixelDataLength(dataset);
    const joined = concat(resultBuffers);
    if (joined.byteLength < expected) {
      throw new Error(`decoded Pixel Data is ${joined.byteLength} bytes, expected ${expected}`);
    }
    out.PixelData = [joined.slice(0, expected + (expected % 2))];
    out._vrMap.PixelData = bitsAllocated > 8 ? 'OW' : 'OB';
  } else {
    out.PixelData = resultBuffers;
    out._vrMap.PixelData = 'OB';
  }
  if (result.PhotometricInterpretation !== undefined) out.PhotometricInterpretation = result.PhotometricInterpretation;
  if (Number(out.SamplesPerPixel ?? 1) === 1) delete out.PlanarConfiguration;
  else if (result.PlanarConfiguration !== undefined) out.PlanarConfiguration = result.PlanarConfiguration;

  if (options.verifyLossless && !toNative) {
    const native = fromNative
      ? buffers[0]
      : pixelDataBuffers(await transcodeDataset(dataset, fromSyntax, TransferSyntax.ExplicitVRLittleEndian))[0];
    await verifyLossless(dataset, native, out, toSyntax);
  }
  return out;
}

async function verifyLossless(
  source: NaturalDataset,
  native: ArrayBuffer,
  compressed: NaturalDataset,
  syntax: string,
): Promise<void> {
  const n = nativePixelDataLength(source);
  const original = new Uint8Array(native, 0, n);
  const back = await transcodeDataset(compressed, syntax, TransferSyntax.ExplicitVRLittleEndian);
  const decoded = new Uint8Array(pixelDataBuffers(back)[0], 0, n);
  for (let i = 0; i < n; i++) {
    if (decoded[i] !== original[i]) {
      throw new Error(`${describe(syntax)} round trip is not lossless: first difference at byte ${i}`);
    }
  }
}

/**
 * JPEG-LS straight through CharLS, telling it the sample precision is Bits Stored.
 * dcmjs-codecs passes Bits Allocated (16) as the JPEG-LS precision P, which decodes exactly
 * but misstates the data: the coder's default thresholds then assume a 16-bit range (on a
 * rendered phantom the size hardly changes; on smooth synthetic data the stream was twice
 * as large), and a decoder that trusts P sees 16-bit data. With P = Bits Stored (as
 * DCMTK's own encoder writes) CharLS still reads 16-bit samples.
 */
function encodeJpegLsAtBitsStored(native: ArrayBuffer, ds: NaturalDataset, frames: number): ArrayBuffer[] {
  const frameBytes = nativePixelDataLength(ds) / frames;
  const out: ArrayBuffer[] = [];
  for (let f = 0; f < frames; f++) {
    const context = new Context({
      width: Number(ds.Columns),
      height: Number(ds.Rows),
      bitsAllocated: Number(ds.BitsStored),
      bitsStored: Number(ds.BitsStored),
      samplesPerPixel: 1,
      pixelRepresentation: 0,
      planarConfiguration: 0,
      photometricInterpretation: String(ds.PhotometricInterpretation),
      decodedBuffer: new Uint8Array(native, f * frameBytes, frameBytes),
    });
    const encoded = NativeCodecs.encodeJpegLs(context, { lossy: false }).getEncodedBuffer();
    if (!encoded) throw new Error('CharLS returned no JPEG-LS stream');
    out.push(encoded.buffer.slice(encoded.byteOffset, encoded.byteOffset + encoded.byteLength) as ArrayBuffer);
  }
  return out;
}

/**
 * A Part 10 file in another transfer syntax. The dataset is kept as read (by the project's
 * dcmjs); the file meta header is rewritten by `writePart10` (our implementation UID).
 */
export async function transcodePart10(
  bytes: Uint8Array,
  toSyntax: string,
  options: TranscodeOptions = {},
): Promise<Buffer> {
  const { meta, dataset } = readPart10(bytes);
  const fromSyntax = String(meta.TransferSyntaxUID);
  const out = await transcodeDataset(dataset, fromSyntax, toSyntax, options);
  return writePart10(out, toSyntax);
}

export interface NativePixels {
  dataset: NaturalDataset;
  /** the transfer syntax the file was in */
  transferSyntaxUID: string;
  /** native pixel data, all frames, exactly Rows x Columns x Samples x Frames x bytes */
  pixelData: Uint8Array;
  /**
   * what the decoded pixels are: the dataset's Photometric Interpretation, except where the
   * codec converted the colour space (a JPEG's YBR_FULL_422 or a JPEG 2000's YBR_ICT come back RGB)
   */
  photometricInterpretation: string;
}

/** Reads a Part 10 file in any supported syntax and returns its pixel data decoded. */
export async function readNativePixels(bytes: Uint8Array): Promise<NativePixels> {
  const inPlace = nativePixelsInPlace(bytes);
  if (inPlace) return inPlace;
  const { meta, dataset } = readPart10(bytes);
  const transferSyntaxUID = String(meta.TransferSyntaxUID);
  checkPixelDataIntegrity(bytes, dataset, transferSyntaxUID);
  const native = await transcodeDataset(dataset, transferSyntaxUID, TransferSyntax.ExplicitVRLittleEndian);
  const buffers = pixelDataBuffers(native);
  if (buffers.length === 0) throw new Error('the file has no Pixel Data (7FE0,0010)');
  const pixelData = new Uint8Array(concat(buffers), 0, nativePixelDataLength(dataset));
  const photometricInterpretation = String(native.PhotometricInterpretation ?? dataset.PhotometricInterpretation ?? '').trim();
  return { dataset, transferSyntaxUID, pixelData, photometricInterpretation };
}

/**
 * An uncompressed file whose Pixel Data is its last element (nearly every one): the
 * attributes parsed up to the pixels, and the pixels a view of the file's own bytes. dcmjs
 * would copy them out and the list of buffers be joined again: two copies of 10 MB for a
 * 2048 x 2560 radiograph. The dataset has no PixelData; nothing downstream reads it.
 */
function nativePixelsInPlace(bytes: Uint8Array): NativePixels | undefined {
  const { meta, dataset } = readPart10(bytes, { untilPixelData: true });
  const transferSyntaxUID = String(meta.TransferSyntaxUID);
  const implicit = transferSyntaxUID === TransferSyntax.ImplicitVRLittleEndian;
  if (!implicit && transferSyntaxUID !== TransferSyntax.ExplicitVRLittleEndian) return undefined;
  const length = nativePixelDataLength(dataset);
  const element = length > 0 ? nativePixelDataAtEnd(bytes, implicit, length) : undefined;
  if (!element) return undefined;
  const photometricInterpretation = String(dataset.PhotometricInterpretation ?? '').trim();
  return { dataset, transferSyntaxUID, pixelData: bytes.subarray(element.valueAt, element.valueAt + length), photometricInterpretation };
}

/** 16-bit stored values (little endian) from native pixel data. */
export function storedValues16(pixelData: Uint8Array): Uint16Array {
  const out = new Uint16Array(pixelData.byteLength >> 1);
  const view = new DataView(pixelData.buffer, pixelData.byteOffset, pixelData.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getUint16(i * 2, true);
  return out;
}
