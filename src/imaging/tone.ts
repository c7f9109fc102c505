import { firstNumber, valuesOf, type NaturalDataset } from '../dicom/part10.js';

/**
 * The film's tone curve as a viewer shows it, where it is not a straight line in the stored
 * values. The analysis windows every film on its own percentiles (preprocess.ts), which stands in
 * for any linear window; but a DR or CR system may hand its tone curve to the viewer instead of
 * burning it into the pixels: a VOI LUT Sequence (0028,3010), a SIGMOID VOI LUT Function
 * (0028,1056), a Modality LUT Sequence (0028,3000) or a negative Rescale Slope. Read through a
 * straight window such a film looks flatter, or inverted, beside what the radiologist sees, and
 * the models learnt films as they are shown. The VOI chosen is the one this node's presentation
 * state applies (reports/gsps.ts): the first window (with its function), else the first VOI LUT.
 * Every step is non-decreasing but a negative slope, so the percentile window taken on the stored
 * values is, carried through the curve, the window of the film as shown.
 */

/** A lookup table as DICOM describes one (LUT Descriptor: entries, first value mapped, bits per entry; LUT Data). */
export interface Lut {
  data: Uint16Array;
  firstMapped: number;
  bits: number;
  explanation?: string;
}

/**
 * A LUT item's table, or the reason it cannot be read. `signedInput`: the values it maps may be
 * negative, so a first value mapped above 32767 is the negative number its 16 bits hold (the
 * descriptor's "US or SS", which dcmjs reads as US).
 */
export function readLut(item: NaturalDataset, signedInput = false): Lut | { unreadable: string } {
  const descriptor = valuesOf(item.LUTDescriptor).map(Number);
  if (descriptor.length !== 3 || descriptor.some((v) => !Number.isInteger(v))) return { unreadable: `LUT Descriptor (0028,3002) "${valuesOf(item.LUTDescriptor).join('\\')}": expected three numbers` };
  const [entries, mapped, bits] = descriptor;
  const n = entries === 0 ? 65536 : entries;
  if (!(bits >= 8 && bits <= 16)) return { unreadable: `LUT Descriptor (0028,3002) gives ${bits} bits per entry: expected 8 to 16` };
  const raw = item.LUTData;
  const parts: unknown[] = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  let values: ArrayLike<number>;
  if (parts[0] instanceof ArrayBuffer || ArrayBuffer.isView(parts[0])) {
    const buf = Buffer.concat(parts.map((b) => (b instanceof ArrayBuffer ? Buffer.from(b) : Buffer.from((b as ArrayBufferView).buffer, (b as ArrayBufferView).byteOffset, (b as ArrayBufferView).byteLength))));
    const words = new Uint16Array(buf.length >> 1);
    for (let k = 0; k < words.length; k++) words[k] = buf.readUInt16LE(2 * k);
    values = words;
  } else {
    values = parts.map(Number);
  }
  if (values.length < n) return { unreadable: `LUT Data (0028,3006) holds ${values.length} entries, the LUT Descriptor says ${n}` };
  const data = Uint16Array.from({ length: n }, (_, k) => values[k]);
  const firstMapped = signedInput && mapped > 32767 ? mapped - 65536 : mapped;
  const explanation = valuesOf(item.LUTExplanation)[0];
  return { data, firstMapped, bits, ...(typeof explanation === 'string' && explanation ? { explanation } : {}) };
}

/** The LUT's output for input `x`: inputs before the first mapped value take the first entry, after the last the last. */
export function lutOutput(lut: Lut, x: number): number {
  const k = Math.round(x) - lut.firstMapped;
  return lut.data[k < 0 ? 0 : k >= lut.data.length ? lut.data.length - 1 : k];
}

/** The film's tone from stored value to shown value (any scale; larger is brighter before Photometric Interpretation), and what says so. */
export interface Tone {
  shown(stored: number): number;
  /** the attributes that give the curve, for the log */
  says: string;
}

/**
 * The stored-to-shown curve where it is not a straight increasing line, else undefined (the
 * percentile window alone shows the film as a viewer would). LUTs that cannot be read are left
 * out and named in `ignored`, for the log.
 */
export function toneOf(ds: NaturalDataset, signed: boolean): { tone?: Tone; ignored?: string } {
  const ignored: string[] = [];
  const says: string[] = [];
  // the modality's values: its LUT, else the rescale (a straight line, which only a VOI step or a negative slope makes matter)
  const modalityItem = valuesOf(ds.ModalityLUTSequence)[0] as NaturalDataset | undefined;
  const modalityLut = modalityItem ? readLut(modalityItem, signed) : undefined;
  if (modalityLut && !('data' in modalityLut)) ignored.push(`Modality LUT Sequence (0028,3000): ${modalityLut.unreadable}`);
  const slope = firstNumber(ds.RescaleSlope) ?? 1;
  const intercept = firstNumber(ds.RescaleIntercept) ?? 0;
  const lut = modalityLut && 'data' in modalityLut ? modalityLut : undefined;
  const modality = lut ? (v: number) => lutOutput(lut, v) : (v: number) => v * slope + intercept;
  if (lut) says.push('Modality LUT Sequence (0028,3000)');
  else if (slope < 0) says.push(`Rescale Slope (0028,1053) ${slope}`);
  const voi = voiStep(ds, signed || intercept < 0 || slope < 0, says, ignored);
  const result: { tone?: Tone; ignored?: string } = ignored.length ? { ignored: ignored.join('; ') } : {};
  if (says.length === 0) return result;
  return { ...result, tone: { shown: voi ? (v) => voi(modality(v)) : modality, says: says.join(', then ') } };
}

/** The VOI step where it is not a straight line: the first window's SIGMOID function, else (no window) the first VOI LUT. */
function voiStep(ds: NaturalDataset, signedInput: boolean, says: string[], ignored: string[]): ((v: number) => number) | undefined {
  const center = firstNumber(ds.WindowCenter);
  const width = firstNumber(ds.WindowWidth);
  if (center !== undefined && width !== undefined && width > 0) {
    if (String(valuesOf(ds.VOILUTFunction)[0] ?? '').trim().toUpperCase() !== 'SIGMOID') return undefined;
    says.push(`VOI LUT Function (0028,1056) SIGMOID at Window Center ${center}, Width ${width}`);
    return (v) => 1 / (1 + Math.exp((-4 * (v - center)) / width));
  }
  const item = valuesOf(ds.VOILUTSequence)[0] as NaturalDataset | undefined;
  if (!item) return undefined;
  const lut = readLut(item, signedInput);
  if (!('data' in lut)) {
    ignored.push(`VOI LUT Sequence (0028,3010): ${lut.unreadable}`);
    return undefined;
  }
  says.push(`VOI LUT Sequence (0028,3010)${lut.explanation ? ` "${lut.explanation}"` : ''}`);
  return (v) => lutOutput(lut, v);
}
