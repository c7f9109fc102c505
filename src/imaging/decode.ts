import { readFile } from 'node:fs/promises';
import { readPart10, valuesOf, type NaturalDataset } from '../dicom/part10.js';
import { readNativePixels } from '../dicom/transcode.js';
import { transferSyntax } from '../dicom/transfer-syntax.js';
import { logger, type Logger } from '../observability/logger.js';
import { JointscoreError } from '../errors.js';
import { displayShutter } from './shutter.js';
import { toneOf } from './tone.js';
import { greyFromColour, type ColourPixels } from './colour.js';
import { MAX_PIXEL_ASPECT, plausibleAspect } from './preprocess.js';

/**
 * A DICOM file (any transfer syntax dcmjs-codecs decodes) to the stored values and the few
 * attributes the analysis needs. Greyscale single-frame images, and grey films stored in colour
 * (src/imaging/colour.ts: read as their luminance). Rescale Slope and
 * Intercept are not applied: the display window comes from percentiles of the stored
 * values, which a linear rescale does not change (a negative slope aside, which no DX/CR
 * image uses).
 */
export interface DecodedImage {
  rows: number;
  columns: number;
  /** stored values, row-major, masked to Bits Stored (sign-extended when signed); a film stored in colour: its luminance */
  values: Uint16Array | Int16Array | Uint8Array | Int8Array;
  photometric: 'MONOCHROME1' | 'MONOCHROME2';
  /** [between rows, between columns] mm */
  pixelSpacingMm: [number, number];
  /** stored values that are no image (Pixel Padding Value, up to Pixel Padding Range Limit): shown as air, left out of the window */
  padding?: { lo: number; hi: number };
  /** pixels the Display Shutter hides (1), row-major (src/imaging/shutter.ts): shown as air, left out of the window */
  hidden?: Uint8Array;
  /** the film's tone curve where it is not a straight line (src/imaging/tone.ts): stored value to shown value */
  tone?: (stored: number) => number;
  /** 'given': by the user, for a picture without a header (src/imaging/picture.ts) */
  pixelSpacingSource: 'PixelSpacing' | 'ImagerPixelSpacing' | 'NominalScannedPixelSpacing' | 'given' | 'default';
  sopInstanceUID: string;
  transferSyntaxUID: string;
  /** the whole dataset (naturalized, pixel data as read): for the writers that copy from it */
  dataset: NaturalDataset;
}

/** The attribute each spacing came from, as messages name it. */
export const SPACING_NAMES: Readonly<Record<DecodedImage['pixelSpacingSource'], string>> = {
  PixelSpacing: 'Pixel Spacing (0028,0030)',
  ImagerPixelSpacing: 'Imager Pixel Spacing (0018,1164)',
  NominalScannedPixelSpacing: 'Nominal Scanned Pixel Spacing (0018,2010)',
  given: 'the spacing given',
  default: 'Pixel Aspect Ratio (0028,0034) with the assumed spacing',
};

/** When none of Pixel Spacing, Imager Pixel Spacing and Nominal Scanned Pixel Spacing is present. */
export const DEFAULT_PIXEL_SPACING_MM = 0.15;

/**
 * Imager Pixel Spacing is measured at the detector; the hand lies above it, magnified by the
 * beam's divergence. Estimated Radiographic Magnification Factor (0018,1114), where given,
 * brings it to the patient (PS3.3 C.8.11.1.1.1); a factor outside 1-2 is ignored as implausible.
 */
export function atPatient(imager: [number, number] | undefined, factor: unknown): [number, number] | undefined {
  const f = Number(Array.isArray(factor) ? factor[0] : factor);
  if (!imager || !(f >= 1 && f <= 2)) return imager;
  return [imager[0] / f, imager[1] / f];
}

export class ImageFileError extends JointscoreError {
  readonly kind = 'input' as const;
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'ImageFileError';
  }
}

function spacing(v: unknown): [number, number] | undefined {
  const nums = valuesOf(v).map((x) => Number(x));
  if (nums.length === 1) nums.push(nums[0]);
  if (nums.length < 2 || !nums.slice(0, 2).every((n) => Number.isFinite(n) && n > 0)) return undefined;
  return [nums[0], nums[1]];
}

export async function readDicomImage(file: string, log: Logger = logger()): Promise<DecodedImage> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new ImageFileError(file, `cannot read the file (${(err as Error).message})`);
  }
  return decodeDicomImage(bytes, file, log);
}

/** `name` is used in messages (usually the file's path). */
export async function decodeDicomImage(bytes: Uint8Array, name: string, log: Logger = logger()): Promise<DecodedImage> {
  if (bytes.length < 132 || Buffer.from(bytes.subarray(128, 132)).toString('latin1') !== 'DICM') {
    throw new ImageFileError(name, 'not a DICOM Part 10 file (no "DICM" after the 128-byte preamble)');
  }
  let ds: NaturalDataset;
  let pixelData: Uint8Array;
  let transferSyntaxUID: string;
  let decodedAs: string;
  try {
    const native = await readNativePixels(bytes);
    ds = native.dataset;
    pixelData = native.pixelData;
    transferSyntaxUID = native.transferSyntaxUID;
    decodedAs = native.photometricInterpretation;
  } catch (err) {
    // a colour or multi-frame image the codecs refuse: say that rather than the codec's words
    let header: NaturalDataset | undefined;
    try {
      header = readPart10(bytes).dataset;
    } catch {
      /* unreadable: the codec's message below */
    }
    if (header) checkImageKind(header, name);
    throw new ImageFileError(name, `cannot decode the pixel data: ${(err as Error).message}`);
  }
  checkImageKind(ds, name);
  const colour = Number(ds.SamplesPerPixel ?? 1) === 3;
  const photometric = colour ? 'MONOCHROME2' : (String(ds.PhotometricInterpretation).trim() as DecodedImage['photometric']);
  const rows = Number(ds.Rows);
  const columns = Number(ds.Columns);
  const bitsAllocated = Number(ds.BitsAllocated);
  const bitsStored = Number(ds.BitsStored ?? bitsAllocated);
  const signed = Number(ds.PixelRepresentation ?? 0) === 1;
  if (!(rows > 0 && columns > 0)) throw new ImageFileError(name, `Rows (0028,0010) ${ds.Rows} and Columns (0028,0011) ${ds.Columns}: expected positive numbers`);
  if (bitsAllocated !== 8 && bitsAllocated !== 16) {
    throw new ImageFileError(name, `Bits Allocated (0028,0100) is ${bitsAllocated}: expected 8 or 16`);
  }
  if (!(bitsStored >= 1 && bitsStored <= bitsAllocated)) {
    throw new ImageFileError(name, `Bits Stored (0028,0101) is ${bitsStored}: expected 1 to Bits Allocated (${bitsAllocated})`);
  }
  const n = rows * columns;
  const samples = colour ? 3 : 1;
  if (pixelData.byteLength < n * samples * (bitsAllocated / 8)) {
    throw new ImageFileError(name, `Pixel Data (7FE0,0010) holds ${pixelData.byteLength} bytes, ${rows} x ${columns}${colour ? ' x 3' : ''} x ${bitsAllocated / 8} expected`);
  }
  const grey = colour ? undefined : storedValues(pixelData, n, bitsAllocated, bitsStored, signed, transferSyntax(transferSyntaxUID)?.lossless === false);
  if (grey?.above) warnBitsAboveStored(ds, grey.above, n, bitsStored, name, log);
  if (!colour) warnPresentationLutShape(ds, photometric, name, log);
  const values = grey
    ? grey.values
    : greyOfColourFilm(ds, { data: pixelData, rows, columns, photometric: decodedAs, planarConfiguration: Number(ds.PlanarConfiguration ?? 0), bitsAllocated, bitsStored }, name, log);
  // Pixel Padding Value is defined for grey pixels only (PS3.3 C.7.5.1.1.2)
  const padding = colour ? undefined : paddingRange(ds, bitsStored, signed);
  const tone = colour ? undefined : filmTone(ds, signed, name, log);
  const hidden = displayShutter(ds, rows, columns);
  if (!hidden && ds.ShutterShape !== undefined && ds.ShutterShape !== '') {
    log.warn(
      `${name}: Shutter Shape (0018,1600) "${valuesOf(ds.ShutterShape).join('\\')}" with no usable shutter (its edges, centre and radius, or vertices missing or malformed, or hiding the whole image): the whole image is analysed`,
      { file: name, sopInstanceUID: String(ds.SOPInstanceUID ?? '') },
    );
  }

  const sopInstanceUID = String(ds.SOPInstanceUID ?? '');
  if (!sopInstanceUID) throw new ImageFileError(name, 'SOP Instance UID (0008,0018) is missing');
  const { pixelSpacingMm, pixelSpacingSource } = headerSpacing(ds, name, sopInstanceUID, log);
  return {
    rows,
    columns,
    values,
    photometric,
    pixelSpacingMm,
    ...(padding ? { padding } : {}),
    ...(hidden ? { hidden } : {}),
    ...(tone ? { tone } : {}),
    pixelSpacingSource,
    sopInstanceUID,
    transferSyntaxUID,
    dataset: ds,
  };
}

/**
 * The film's pixel spacing from its header: Pixel Spacing (the modality's, at the patient where it
 * calibrated it), else Imager Pixel Spacing brought to the patient by its magnification factor,
 * else a digitiser's Nominal Scanned Pixel Spacing, else the default shaped by Pixel Aspect Ratio.
 * A spacing no detector makes (pixels more than MAX_PIXEL_ASPECT times taller than wide) is left
 * out as mislabelled, each with a warning naming the file and attribute.
 */
function headerSpacing(ds: NaturalDataset, name: string, sopInstanceUID: string, log: Logger): Pick<DecodedImage, 'pixelSpacingMm' | 'pixelSpacingSource'> {
  let pixelSpacingMm = spacing(ds.PixelSpacing);
  let pixelSpacingSource: DecodedImage['pixelSpacingSource'] = 'PixelSpacing';
  if (!pixelSpacingMm) {
    pixelSpacingMm = atPatient(spacing(ds.ImagerPixelSpacing), ds.EstimatedRadiographicMagnificationFactor);
    pixelSpacingSource = 'ImagerPixelSpacing';
  }
  if (!pixelSpacingMm) {
    // a digitised film (Secondary Capture, Conversion Type DF): the spacing on the film, as an imager's is on its detector
    pixelSpacingMm = spacing(ds.NominalScannedPixelSpacing);
    pixelSpacingSource = 'NominalScannedPixelSpacing';
  }
  if (!pixelSpacingMm) {
    // Pixel Aspect Ratio (vertical\horizontal) stands where no spacing is given (PS3.3 C.7.6.3.1.7): the shape without the size
    const aspect = spacing(ds.PixelAspectRatio);
    const unit = aspect ? Math.min(aspect[0], aspect[1]) : 1;
    pixelSpacingMm = aspect ? [(DEFAULT_PIXEL_SPACING_MM * aspect[0]) / unit, (DEFAULT_PIXEL_SPACING_MM * aspect[1]) / unit] : [DEFAULT_PIXEL_SPACING_MM, DEFAULT_PIXEL_SPACING_MM];
    pixelSpacingSource = 'default';
    log.warn(
      `${name}: none of Pixel Spacing (0028,0030), Imager Pixel Spacing (0018,1164) and Nominal Scanned Pixel Spacing (0018,2010) is present: assuming ${DEFAULT_PIXEL_SPACING_MM} mm${aspect && aspect[0] !== aspect[1] ? ` on the finer axis, the other by Pixel Aspect Ratio (0028,0034) ${aspect.join('\\')}` : ''}; crops and boxes in mm may be off`,
      { file: name, sopInstanceUID },
    );
  }
  if (!plausibleAspect(pixelSpacingMm[0] / pixelSpacingMm[1])) {
    // no detector makes such pixels: a mislabelled spacing, left out as if absent
    log.warn(
      `${name}: ${SPACING_NAMES[pixelSpacingSource]} ${pixelSpacingMm.join('\\')} mm makes pixels more than ${MAX_PIXEL_ASPECT} times taller than wide or wider than tall: taken as mislabelled and left out; pixels read as square, the spacing estimated from the hand (${DEFAULT_PIXEL_SPACING_MM} mm assumed where it cannot be); check the attribute at the modality`,
      { file: name, sopInstanceUID },
    );
    pixelSpacingMm = [DEFAULT_PIXEL_SPACING_MM, DEFAULT_PIXEL_SPACING_MM];
    pixelSpacingSource = 'default';
  }
  return { pixelSpacingMm, pixelSpacingSource };
}

/** The film's tone curve (tone.ts), said in an info line; a LUT that cannot be read is named in a warning and left out. */
function filmTone(ds: NaturalDataset, signed: boolean, name: string, log: Logger): ((stored: number) => number) | undefined {
  const { tone, ignored } = toneOf(ds, signed);
  const sopInstanceUID = String(ds.SOPInstanceUID ?? '');
  if (ignored) log.warn(`${name}: ${ignored}: left out, the film is shown without it`, { file: name, sopInstanceUID });
  if (tone) log.info(`${name}: shown through its ${tone.says}, as a viewer shows it`, { file: name, sopInstanceUID });
  return tone?.shown;
}

/** Three-sample Photometric Interpretations a grey film may be stored in (the codecs decode the YBR forms of JPEG and JPEG 2000 to RGB). */
const COLOUR_STORED = new Set(['RGB', 'YBR_FULL', 'YBR_FULL_422', 'YBR_ICT', 'YBR_RCT', 'YBR_PARTIAL_420']);

/** Refuses palette colour, unknown sample layouts and multi-frame images, naming the file and the attribute. */
function checkImageKind(ds: NaturalDataset, name: string): void {
  const photometric = String(ds.PhotometricInterpretation ?? '').trim();
  const samples = Number(ds.SamplesPerPixel ?? 1);
  const grey = samples === 1 && (photometric === 'MONOCHROME1' || photometric === 'MONOCHROME2');
  if (!grey && !(samples === 3 && COLOUR_STORED.has(photometric))) {
    throw new ImageFileError(
      name,
      `Photometric Interpretation (0028,0004) is "${photometric}" with Samples per Pixel (0028,0002) ${samples}: ` +
        'only radiographs are analysed: greyscale (MONOCHROME1 or MONOCHROME2, one sample), or a grey film stored in colour (RGB or YBR, three samples)',
    );
  }
  const frames = Number(ds.NumberOfFrames ?? 1) || 1;
  if (frames !== 1) {
    throw new ImageFileError(name, `Number of Frames (0028,0008) is ${frames}: only single-frame images are analysed (send each view as its own image)`);
  }
}

/**
 * The luminance of a grey film stored in colour (src/imaging/colour.ts), or the file refused
 * with the attribute named where its pixels are coloured.
 */
function greyOfColourFilm(ds: NaturalDataset, px: ColourPixels, name: string, log: Logger): Uint8Array | Uint16Array {
  const stored = String(ds.PhotometricInterpretation ?? '').trim();
  const as = px.photometric === stored ? `"${stored}"` : `"${stored}" (decoded as ${px.photometric})`;
  const read = greyFromColour(px);
  if (!read.grey) throw new ImageFileError(name, `Photometric Interpretation (0028,0004) ${as} with three samples: ${read.reason}`);
  log.info(
    `${name}: Photometric Interpretation (0028,0004) ${as} with three samples holds a grey film (${(100 * read.colouredShare).toFixed(2)} % of pixels coloured): its luminance is analysed`,
    { file: name, sopInstanceUID: String(ds.SOPInstanceUID ?? '') },
  );
  return read.values;
}

/**
 * Pixel Padding Value (0028,0120) and Pixel Padding Range Limit (0028,0121), as stored values
 * (PS3.3 C.7.5.1.1.2): the frame some modalities put around a film cropped or turned in a
 * larger matrix, often at the top of the range. Left in, it sets the percentile window and
 * squeezes the anatomy into a sliver of it.
 */
function paddingRange(ds: NaturalDataset, bitsStored: number, signed: boolean): { lo: number; hi: number } | undefined {
  const value = (v: unknown) => {
    const x = Number(Array.isArray(v) ? v[0] : v);
    if (!Number.isInteger(x)) return undefined;
    // dcmjs reads the US-or-SS value as unsigned: back to the stored values' sign and width
    const mask = bitsStored >= 16 ? 0xffff : (1 << bitsStored) - 1;
    const u = x & mask;
    return signed && u & (1 << (bitsStored - 1)) ? u - (mask + 1) : u;
  };
  const pad = value(ds.PixelPaddingValue);
  if (pad === undefined) return undefined;
  const limit = value(ds.PixelPaddingRangeLimit) ?? pad;
  return { lo: Math.min(pad, limit), hi: Math.max(pad, limit) };
}

/**
 * Values with bits set above Bits Stored are masked (PS3.5 8.1.1: those bits may hold an overlay
 * plane); where no overlay is declared in them, a modality that writes more bits than it declares
 * is the likelier cause, and a viewer that does not mask shows another picture than the one read.
 * Said in a warning with the bits the values need.
 */
function warnBitsAboveStored(ds: NaturalDataset, above: { count: number; max: number }, n: number, bitsStored: number, name: string, log: Logger): void {
  if (Object.keys(ds).some((k) => k.startsWith('OverlayBitPosition') && Number(ds[k]) > 0)) return;
  const needed = Math.ceil(Math.log2(above.max + 1));
  log.warn(
    `${name}: ${above.count} of ${n} pixels hold values above Bits Stored (0028,0101) ${bitsStored} (up to ${above.max}, ${needed} bits) and no overlay is declared in them: ` +
      `read masked to ${bitsStored} bits as PS3.5 8.1.1 says, which a viewer that does not mask shows otherwise; if the modality writes ${needed} bits, set Bits Stored and High Bit (0028,0102) to say so`,
    { file: name, sopInstanceUID: String(ds.SOPInstanceUID ?? '') },
  );
}

/**
 * A Presentation LUT Shape that contradicts the Photometric Interpretation (the DX, MG and IO
 * image modules pair INVERSE with MONOCHROME1 and IDENTITY with MONOCHROME2): viewers then
 * disagree on the film's polarity (DCMTK follows the shape; one that inverts by the Photometric
 * Interpretation alone does not). The node reads it as the Photometric Interpretation says (and reads its
 * negative where nothing is found that way); the warning names both attributes and the fix.
 */
function warnPresentationLutShape(ds: NaturalDataset, photometric: string, name: string, log: Logger): void {
  const shape = String(valuesOf(ds.PresentationLUTShape)[0] ?? '').trim().toUpperCase();
  const expected = photometric === 'MONOCHROME1' ? 'INVERSE' : 'IDENTITY';
  if (shape !== 'INVERSE' && shape !== 'IDENTITY') return;
  if (shape === expected) return;
  log.warn(
    `${name}: Presentation LUT Shape (2050,0020) ${shape} with Photometric Interpretation (0028,0004) ${photometric}: viewers disagree on whether bone is shown bright (DCMTK's dcmj2pnm follows the shape; a viewer that inverts by the Photometric Interpretation alone shows the opposite); ` +
      `read as the Photometric Interpretation says. The modality should write ${photometric} with ${expected}, or ${photometric === 'MONOCHROME1' ? 'MONOCHROME2' : 'MONOCHROME1'} with ${shape}`,
    { file: name, sopInstanceUID: String(ds.SOPInstanceUID ?? '') },
  );
}

/**
 * The stored values, masked to Bits Stored (sign-extended where signed), and for unsigned
 * 16-bit pixels stored losslessly how many had bits set above it (`above`, the largest such raw
 * value): a lossy codec's overshoot is held at the top instead.
 */
function storedValues(px: Uint8Array, n: number, bitsAllocated: number, bitsStored: number, signed: boolean, lossy: boolean): { values: DecodedImage['values']; above?: { count: number; max: number } } {
  const mask = bitsStored >= 16 ? 0xffff : (1 << bitsStored) - 1;
  // A lossy codec's reconstruction overshoots the range by a few values (JPEG 2000 at a burned-in
  // label's white gives 4096-4105 at 12 bits): held at the top, where masking would turn the
  // white black. Other pixels are masked: bits above Bits Stored may hold an overlay.
  if (lossy && !signed && bitsAllocated === 16 && bitsStored < 16) {
    const view = new DataView(px.buffer, px.byteOffset, n * 2);
    const out = new Uint16Array(n);
    for (let i = 0; i < n; i++) out[i] = Math.min(mask, view.getUint16(i * 2, true));
    return { values: out };
  }
  const signBit = 1 << (bitsStored - 1);
  if (bitsAllocated === 8) {
    const out = signed ? new Int8Array(n) : new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const v = px[i] & mask;
      out[i] = signed && v & signBit ? v - (mask + 1) : v;
    }
    return { values: out };
  }
  const view = new DataView(px.buffer, px.byteOffset, n * 2);
  if (!signed) {
    const out = new Uint16Array(n);
    let [count, max] = [0, 0];
    for (let i = 0; i < n; i++) {
      const raw = view.getUint16(i * 2, true);
      if (raw > mask) {
        count++;
        if (raw > max) max = raw;
      }
      out[i] = raw & mask;
    }
    return count ? { values: out, above: { count, max } } : { values: out };
  }
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    const v = view.getUint16(i * 2, true) & mask;
    out[i] = v & signBit ? v - (mask + 1) : v;
  }
  return { values: out };
}
