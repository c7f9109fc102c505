import type { OverlaySyntaxName } from '../config/types.js';
import { TransferSyntax, type NaturalDataset } from '../dicom/part10.js';
import { transcodeDataset } from '../dicom/transcode.js';

/**
 * The overlay's transfer syntax. The Secondary Capture is an RGB copy of the radiograph, about
 * 14 MB uncompressed at 2048 pixels, in every analysed study; a site whose archive takes a
 * lossless compression for Secondary Capture can store it at a third to two fifths of that. Lossless
 * only: the overlay shows the radiograph the joints were graded on.
 */
export const OVERLAY_SYNTAXES: Record<OverlaySyntaxName, string> = {
  explicit: TransferSyntax.ExplicitVRLittleEndian,
  rle: TransferSyntax.RleLossless,
  'jpeg-ls': TransferSyntax.JpegLsLossless,
  'jpeg-lossless': TransferSyntax.JpegLossless,
};

/** The overlay as built (Explicit VR Little Endian), or its pixels compressed losslessly into `name`'s syntax. */
export async function inOverlaySyntax(sc: NaturalDataset, name: OverlaySyntaxName): Promise<NaturalDataset> {
  const syntax = OVERLAY_SYNTAXES[name];
  return syntax === TransferSyntax.ExplicitVRLittleEndian ? sc : transcodeDataset(sc, TransferSyntax.ExplicitVRLittleEndian, syntax);
}
