import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { derivedUid } from '../dicom/uid.js';
import { decodeDicomImage, DEFAULT_PIXEL_SPACING_MM, ImageFileError, type DecodedImage } from './decode.js';
import type { Logger } from '../observability/logger.js';

/**
 * Research sets and exports come as PNG or JPEG (RA2-DREAM, MURA, Radiopaedia): a site
 * validating the models reads them as they are. A picture has no header: no spacing (the
 * caller's, else the hand's own, see src/inference/spacing.ts), no study to file results in
 * (so it gets the HandAnalysis only), and a UID derived from its bytes so that a re-run
 * names it the same.
 */
export type PictureKind = 'png' | 'jpeg';

export function pictureKind(bytes: Uint8Array): PictureKind | undefined {
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return undefined;
}

/**
 * Grey values (a colour picture is converted as luminance), MONOCHROME2, bone bright as film
 * shows it; a 16-bit PNG keeps its 16 bits. The picture as viewers and labelling tools show it:
 * turned by its EXIF orientation, where it has one (a photographed or re-saved film), so that
 * joints found and joints labelled on it share one frame.
 */
export async function decodePicture(bytes: Uint8Array, name: string, spacingMm?: number): Promise<DecodedImage> {
  let values: Uint8Array | Uint16Array;
  let info: sharp.OutputInfo;
  try {
    const sixteen = ['ushort', 'short'].includes((await sharp(bytes).metadata()).depth ?? '');
    const shown = sharp(bytes).rotate();
    const raw = sixteen
      ? await shown.toColourspace('grey16').raw({ depth: 'ushort' }).toBuffer({ resolveWithObject: true })
      : await shown.greyscale().raw().toBuffer({ resolveWithObject: true });
    info = raw.info;
    values = sixteen ? firstChannel16(raw.data, info) : firstChannel8(raw.data, info);
  } catch (err) {
    throw new ImageFileError(name, `cannot decode the picture: ${(err as Error).message}`);
  }
  const digest = createHash('sha1').update(bytes).digest('hex');
  const mm = spacingMm ?? DEFAULT_PIXEL_SPACING_MM;
  return {
    rows: info.height,
    columns: info.width,
    values,
    photometric: 'MONOCHROME2',
    pixelSpacingMm: [mm, mm],
    pixelSpacingSource: spacingMm === undefined ? 'default' : 'given',
    sopInstanceUID: derivedUid(['jointscore-picture', digest]),
    transferSyntaxUID: '',
    dataset: {},
  };
}

function firstChannel8(data: Buffer, info: sharp.OutputInfo): Uint8Array {
  const values = new Uint8Array(info.width * info.height);
  for (let i = 0; i < values.length; i++) values[i] = data[i * info.channels];
  return values;
}

/** sharp's 16-bit raw output: native-endian samples, the grey one first (then alpha, where there is one) */
function firstChannel16(data: Buffer, info: sharp.OutputInfo): Uint16Array {
  const samples = new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2);
  const values = new Uint16Array(info.width * info.height);
  for (let i = 0; i < values.length; i++) values[i] = samples[i * info.channels];
  return values;
}

/**
 * A DICOM file or a PNG / JPEG picture, whichever the bytes are: the one reader for callers
 * that take both (`analyze`, the training and evaluation scripts). `pictureSpacingMm` applies
 * to a picture only; `log` to DICOM decoding.
 */
export async function decodeImage(bytes: Uint8Array, name: string, options: { pictureSpacingMm?: number; log?: Logger } = {}): Promise<DecodedImage> {
  return pictureKind(bytes) ? decodePicture(bytes, name, options.pictureSpacingMm) : decodeDicomImage(bytes, name, options.log);
}
