/**
 * The transfer syntaxes jointscore knows, in one table: what each is called in messages,
 * whether its pixel data is encapsulated (compressed), whether it is lossless, whether the
 * codecs here decode it, and whether the node accepts it from a sender (dimse/negotiation.ts).
 * Deflate and big endian are left out everywhere: nothing here decodes them, and every
 * sender can fall back to explicit little endian.
 */
export interface TransferSyntaxInfo {
  uid: string;
  name: string;
  encapsulated: boolean;
  lossless: boolean;
  /** the pixel data decodes here (dcmjs-codecs, or native) */
  decodable: boolean;
  /** the SCP accepts it in a presentation context */
  received: boolean;
}

const row = (uid: string, name: string, encapsulated: boolean, lossless: boolean, received = true): TransferSyntaxInfo => ({
  uid, name, encapsulated, lossless, decodable: true, received,
});

export const TRANSFER_SYNTAX_REGISTRY: readonly TransferSyntaxInfo[] = [
  row('1.2.840.10008.1.2.1', 'Explicit VR Little Endian', false, true),
  row('1.2.840.10008.1.2', 'Implicit VR Little Endian', false, true),
  row('1.2.840.10008.1.2.4.50', 'JPEG Baseline', true, false),
  row('1.2.840.10008.1.2.4.51', 'JPEG Extended', true, false),
  row('1.2.840.10008.1.2.4.57', 'JPEG Lossless', true, true),
  row('1.2.840.10008.1.2.4.70', 'JPEG Lossless SV1', true, true),
  row('1.2.840.10008.1.2.4.80', 'JPEG-LS Lossless', true, true),
  row('1.2.840.10008.1.2.4.81', 'JPEG-LS Near-Lossless', true, false),
  row('1.2.840.10008.1.2.4.90', 'JPEG 2000 Lossless', true, true),
  row('1.2.840.10008.1.2.4.91', 'JPEG 2000', true, false),
  row('1.2.840.10008.1.2.5', 'RLE Lossless', true, true),
  // High-Throughput JPEG 2000: archives and viewers store and stream it (an archive that routes
  // what it holds sends it as stored); decoded value for value as OpenJPH encodes and decodes it
  // (test/htj2k.test.ts)
  row('1.2.840.10008.1.2.4.201', 'HTJ2K Lossless', true, true),
  row('1.2.840.10008.1.2.4.202', 'HTJ2K Lossless RPCL', true, true),
  row('1.2.840.10008.1.2.4.203', 'HTJ2K', true, false),
  // decoded when it arrives in a file (analyze), not accepted from senders: retired (a progressive
  // JPEG as DCMTK's img2dcm wraps it)
  row('1.2.840.10008.1.2.4.55', 'JPEG Full Progression (retired)', true, false, false),
];

const BY_UID = new Map(TRANSFER_SYNTAX_REGISTRY.map((t) => [t.uid, t]));

export function transferSyntax(uid: string): TransferSyntaxInfo | undefined {
  return BY_UID.get(uid);
}

/** `Name (uid)` for messages, or the bare UID when it is not one we know. */
export function transferSyntaxName(uid: string): string {
  const t = BY_UID.get(uid);
  return t ? `${t.name} (${uid})` : uid;
}

export const TRANSFER_SYNTAX_NAMES: Readonly<Record<string, string>> = Object.fromEntries(TRANSFER_SYNTAX_REGISTRY.map((t) => [t.uid, t.name]));
