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

/** Grey values (a colour picture is converted as luminance), MONOCHROME2, bone bright as film shows it. */
export async function decodePicture(bytes: Uint8Array, name: string, spacingMm?: number): Promise<DecodedImage> {
  let raw: { data: Buffer; info: sharp.OutputInfo };
  try {
    raw = await sharp(bytes).greyscale().raw().toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new ImageFileError(name, `cannot decode the picture: ${(err as Error).message}`);
  }
  const { data, info } = raw;
  const values = new Uint8Array(info.width * info.height);
  for (let i = 0; i < values.length; i++) values[i] = data[i * info.channels];
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

/**
 * A DICOM file or a PNG / JPEG picture, whichever the bytes are: the one reader for callers
 * that take both (`analyze`, the training and evaluation scripts). `pictureSpacingMm` applies
 * to a picture only; `log` to DICOM decoding.
 */
export async function decodeImage(bytes: Uint8Array, name: string, options: { pictureSpacingMm?: number; log?: Logger } = {}): Promise<DecodedImage> {
  return pictureKind(bytes) ? decodePicture(bytes, name, options.pictureSpacingMm) : decodeDicomImage(bytes, name, options.log);
}
