/**
 * Explicit VR little endian encoding of a dcmjs data dictionary (tag -> { vr, Value }), the
 * same bytes dcmjs's DicomDict.write produces for the values the report writers build, about
 * twenty times faster: dcmjs allocates a stream object per element, which made a 0.2 MB
 * TID 1500 SR (some 5 000 elements) slow to serialise (`npm run bench`, "results").
 *
 * It covers the VRs and value forms our writers use. For anything else (an unknown VR, a
 * value form dcmjs would coerce in its own way, a short-length value too long for its
 * field) it returns undefined and the caller writes with dcmjs, so a file is never written
 * differently from dcmjs, only faster. test/part10-encode.test.ts holds the two to the same
 * bytes on every kind of result object.
 */

export interface DictElement {
  vr: string;
  Value?: unknown[];
  _rawValue?: unknown;
}

export type DataDict = Record<string, DictElement>;

/** Text VRs dcmjs writes one byte per UTF-16 code unit, padded with a space (UI: a NUL). */
const ASCII_VRS = new Set(['AE', 'AS', 'CS', 'DA', 'DT', 'TM', 'UI', 'UR']);
/** Text VRs dcmjs writes as UTF-8, padded with a space. */
const UTF8_VRS = new Set(['LO', 'LT', 'PN', 'SH', 'ST', 'UC', 'UT']);
const NUMERIC_STRING_VRS = new Set(['DS', 'IS']);
/** Binary numbers: bytes per value. */
const BINARY_VRS: Record<string, number> = { US: 2, SS: 2, UL: 4, SL: 4, FL: 4, FD: 8 };
/** VRs with a 2-byte reserved field and a 4-byte length in explicit VR. */
const LENGTH32_VRS = new Set(['OB', 'OW', 'OF', 'SQ', 'UC', 'UR', 'UT', 'UN', 'OD', 'UV']);

const UNDEFINED_LENGTH = 0xffffffff;
const DS_MAX = 16;

/** Raised inside the encoder for a form it leaves to dcmjs; never escapes {@link encodePart10ExplicitLePieces}. */
class Unsupported extends Error {}

/** A growing little-endian byte buffer; large binary values are kept as their own chunks, uncopied. */
class Writer {
  private chunks: Uint8Array[] = [];
  private buf = Buffer.allocUnsafe(64 * 1024);
  private at = 0;
  size = 0;

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    this.flush();
    if (n > this.buf.length) this.buf = Buffer.allocUnsafe(n);
  }

  /** The bytes so far become a chunk; writing goes on in a fresh buffer (none after the last). */
  private flush(last = false): void {
    if (this.at > 0) this.chunks.push(this.buf.subarray(0, this.at));
    if (!last) this.buf = Buffer.allocUnsafe(this.buf.length);
    this.at = 0;
  }

  u16(v: number): void {
    this.room(2);
    this.buf.writeUInt16LE(v, this.at);
    this.at += 2;
    this.size += 2;
  }

  u32(v: number): void {
    this.room(4);
    this.buf.writeUInt32LE(v, this.at);
    this.at += 4;
    this.size += 4;
  }

  bytes(b: Uint8Array): void {
    if (b.length > 4096) {
      this.flush();
      this.chunks.push(b);
    } else {
      this.room(b.length);
      this.buf.set(b, this.at);
      this.at += b.length;
    }
    this.size += b.length;
  }

  /** A 4-byte slot filled in later (a group length). */
  reserveU32(): (v: number) => void {
    this.room(4);
    const buf = this.buf;
    const at = this.at;
    this.at += 4;
    this.size += 4;
    return (v) => buf.writeUInt32LE(v, at);
  }

  /** The bytes as written, in pieces: a large value stays the caller's buffer. */
  finish(): Uint8Array[] {
    this.flush(true);
    return this.chunks;
  }
}

/** dcmjs's DecimalString.convertToString: a number longer than 16 characters is shortened to fit. */
function decimalString(value: unknown): string {
  if (value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value !== 'number') throw new Unsupported();
  const str = String(value);
  if (str.length <= DS_MAX) return str;
  const sign = value < 0 ? 1 : 0;
  const log = Math.log10(Math.abs(value));
  const scientific = log < -4 || log >= 14 - sign;
  const first = scientific ? value.toExponential(DS_MAX - sign) : value.toFixed(DS_MAX - sign);
  if (first.length <= DS_MAX) return first;
  const digits = DS_MAX - sign - (first.length - DS_MAX);
  return scientific ? value.toExponential(digits) : value.toFixed(digits);
}

function integerString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null) return '';
  if (typeof value !== 'number') throw new Unsupported();
  return String(value);
}

/** dcmjs's pnObjectToString for one value: components joined by '=', trailing '=' dropped. */
function personName(value: unknown): string {
  if (typeof value === 'string') return value;
  // dcmjs boxes a name given as a string (new String) to hang its JSON accessors on it
  if (value instanceof String) return value.valueOf();
  if (!value || typeof value !== 'object') throw new Unsupported();
  const v = value as { Alphabetic?: string; Ideographic?: string; Phonetic?: string };
  return [v.Alphabetic ?? '', v.Ideographic ?? '', v.Phonetic ?? ''].join('=').replace(/=*$/, '');
}

/** The value bytes of a text element, padded to even length, as dcmjs joins and pads them. */
function textValue(vr: string, values: unknown[]): Buffer {
  let strings: string[];
  if (NUMERIC_STRING_VRS.has(vr)) strings = values.map(vr === 'DS' ? decimalString : integerString);
  else if (vr === 'PN') strings = values.filter(Boolean).map(personName);
  else {
    if (!values.every((v) => typeof v === 'string')) throw new Unsupported();
    strings = values as string[];
  }
  if (vr === 'PN' && strings.length !== values.length) throw new Unsupported();
  const joined = strings.join('\\');
  let bytes: Buffer;
  if (UTF8_VRS.has(vr)) bytes = Buffer.from(joined, 'utf8');
  else {
    // dcmjs stores each UTF-16 code unit in one byte: only ASCII round-trips, the rest is left to it
    for (let i = 0; i < joined.length; i++) if (joined.charCodeAt(i) > 0x7f) throw new Unsupported();
    bytes = Buffer.from(joined, 'latin1');
  }
  if (bytes.length % 2 === 0) return bytes;
  const padded = Buffer.allocUnsafe(bytes.length + 1);
  bytes.copy(padded);
  padded[bytes.length] = vr === 'UI' ? 0x00 : 0x20;
  return padded;
}

/** As dcmjs's toFloat / toInt: a string is parsed, a number written as a DataView writes it (wrapped, truncated). */
function binaryValue(vr: string, values: unknown[]): Buffer {
  const width = BINARY_VRS[vr];
  const out = Buffer.alloc(width * values.length);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  values.forEach((raw, i) => {
    const float = vr === 'FL' || vr === 'FD';
    let v: number;
    if (typeof raw === 'number') v = raw;
    else if (typeof raw === 'string') v = float ? parseFloat(raw) : parseInt(raw);
    else throw new Unsupported();
    // dcmjs refuses NaN for the integer VRs with its own error: let it say so
    if (!float && (Number.isNaN(v) || (typeof raw === 'string' && Number.isNaN(Number(raw))))) throw new Unsupported();
    const at = i * width;
    if (vr === 'US') view.setUint16(at, v, true);
    else if (vr === 'SS') view.setInt16(at, v, true);
    else if (vr === 'UL') view.setUint32(at, v, true);
    else if (vr === 'SL') view.setInt32(at, v, true);
    else if (vr === 'FL') view.setFloat32(at, v, true);
    else view.setFloat64(at, v, true);
  });
  return out;
}

/** OB/OW not encapsulated: dcmjs writes the first frame only, padded to even length with a NUL. */
function otherBytesValue(values: unknown[]): Uint8Array {
  const frame = values[0];
  if (!(frame instanceof ArrayBuffer) || values.length !== 1) throw new Unsupported();
  const bytes = new Uint8Array(frame);
  if (bytes.length % 2 === 0) return bytes;
  const padded = new Uint8Array(bytes.length + 1);
  padded.set(bytes);
  return padded;
}

function header(w: Writer, tag: string, vr: string, length: number): void {
  w.u16(parseInt(tag.slice(0, 4), 16));
  w.u16(parseInt(tag.slice(4, 8), 16));
  w.bytes(Buffer.from(vr, 'latin1'));
  if (LENGTH32_VRS.has(vr)) {
    w.u16(0);
    w.u32(length);
  } else {
    // dcmjs would write a longer value as UN with a 4-byte length: leave that to it
    if (length > 0xffff) throw new Unsupported();
    w.u16(length);
  }
}

function writeElements(w: Writer, dict: DataDict): void {
  for (const tag of Object.keys(dict).sort()) {
    const el = dict[tag];
    if (!/^[0-9A-F]{8}$/.test(tag) || el._rawValue !== undefined) throw new Unsupported();
    const { vr } = el;
    const values = el.Value;
    if (vr === 'SQ') {
      header(w, tag, vr, UNDEFINED_LENGTH);
      for (const item of (values ?? []) as DataDict[]) {
        w.u16(0xfffe);
        w.u16(0xe000);
        w.u32(UNDEFINED_LENGTH);
        writeElements(w, item);
        w.u16(0xfffe);
        w.u16(0xe00d);
        w.u32(0);
      }
      w.u16(0xfffe);
      w.u16(0xe0dd);
      w.u32(0);
      continue;
    }
    let value: Uint8Array;
    if (vr === 'OB' || vr === 'OW') value = otherBytesValue(values ?? []);
    else if (values === undefined || values === null) value = Buffer.alloc(0);
    else if (!Array.isArray(values)) throw new Unsupported();
    else if (ASCII_VRS.has(vr) || UTF8_VRS.has(vr) || NUMERIC_STRING_VRS.has(vr)) value = textValue(vr, values);
    else if (vr in BINARY_VRS) value = binaryValue(vr, values);
    else throw new Unsupported();
    header(w, tag, vr, value.length);
    w.bytes(value);
  }
}

/**
 * A Part 10 file: preamble, "DICM", the meta group (its group length first) and the data set,
 * both explicit VR little endian, in pieces for a vectored write that copies no large value
 * (an overlay's 15 MB). Undefined when some element is left to dcmjs.
 */
export function encodePart10ExplicitLePieces(meta: DataDict, dict: DataDict): Uint8Array[] | undefined {
  try {
    const w = new Writer();
    w.bytes(Buffer.alloc(128));
    w.bytes(Buffer.from('DICM', 'latin1'));
    header(w, '00020000', 'UL', 4);
    const groupLength = w.reserveU32();
    const metaStart = w.size;
    writeElements(w, meta);
    groupLength(w.size - metaStart);
    writeElements(w, dict);
    return w.finish();
  } catch (err) {
    if (err instanceof Unsupported) return undefined;
    throw err;
  }
}
