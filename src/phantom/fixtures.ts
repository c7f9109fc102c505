import { TransferSyntax } from '../dicom/part10.js';
import { renderChest } from './chest.js';
import type { PhantomDxOptions } from './dicom-dx.js';
import { artefactsOf, type PhantomArtefacts } from './generate.js';
import { renderPhantom } from './render.js';
import type { PhantomSpec, RenderedPhantom } from './types.js';

/**
 * The small, deterministic radiographs the rest of the project tests with: both
 * photometric interpretations, both hands on one image, each compressed transfer syntax,
 * and a radiograph that is not a hand (for the node's selection rules). They are made on
 * demand (`makeFixtures`, or `jointscore phantom --fixtures`), not committed: same code,
 * same bytes.
 */
export interface FixtureDefinition {
  name: string;
  what: string;
  spec: PhantomSpec;
  encoding: PhantomDxOptions;
  /** a chest instead of a hand */
  notAHand?: boolean;
}

// 1024 x 1280 at 0.2 mm covers a whole adult hand (205 x 256 mm) and keeps files near 2.5 MB.
const base = { rows: 1280, columns: 1024, pixelSpacingMm: 0.2, layout: 'one', profile: 'mixed' } as const;

export const FIXTURES: readonly FixtureDefinition[] = [
  {
    name: 'hand-left-m2-explicit',
    what: 'left hand, MONOCHROME2, 12 bits, Explicit VR Little Endian',
    spec: { ...base, seed: 101, laterality: 'L', profile: 'ra' },
    encoding: { bitsStored: 12, photometric: 'MONOCHROME2', transferSyntax: TransferSyntax.ExplicitVRLittleEndian },
  },
  {
    name: 'hand-right-m1-explicit',
    what: 'right hand, MONOCHROME1, 16 bits, Explicit VR Little Endian',
    spec: { ...base, seed: 102, laterality: 'R', profile: 'oa' },
    encoding: { bitsStored: 16, photometric: 'MONOCHROME1', transferSyntax: TransferSyntax.ExplicitVRLittleEndian },
  },
  {
    name: 'hands-both-m2-jpegls',
    what: 'both hands on one image, MONOCHROME2, 12 bits, JPEG-LS lossless',
    spec: { ...base, seed: 103, laterality: 'L', layout: 'both', columns: 2048, pixelSpacingMm: 0.2 },
    encoding: { bitsStored: 12, photometric: 'MONOCHROME2', transferSyntax: TransferSyntax.JpegLsLossless },
  },
  {
    name: 'hand-left-m2-jpeg-lossless',
    what: 'left hand, MONOCHROME2, 14 bits, JPEG Lossless (process 14, SV1)',
    spec: { ...base, seed: 104, laterality: 'L' },
    encoding: { bitsStored: 14, photometric: 'MONOCHROME2', transferSyntax: TransferSyntax.JpegLossless },
  },
  {
    name: 'hand-right-m1-j2k',
    what: 'right hand, MONOCHROME1, 10 bits, JPEG 2000 lossless',
    spec: { ...base, seed: 105, laterality: 'R' },
    encoding: { bitsStored: 10, photometric: 'MONOCHROME1', transferSyntax: TransferSyntax.Jpeg2000Lossless },
  },
  {
    name: 'hand-left-m2-rle',
    what: 'left hand, MONOCHROME2, 12 bits, RLE lossless',
    spec: { ...base, seed: 106, laterality: 'L', profile: 'healthy' },
    encoding: { bitsStored: 12, photometric: 'MONOCHROME2', transferSyntax: TransferSyntax.RleLossless },
  },
  {
    name: 'chest-not-a-hand',
    what: 'a PA chest radiograph (Body Part Examined CHEST): not a hand, for the selection rules',
    spec: { ...base, seed: 107, laterality: 'L', rows: 1280, columns: 1024 },
    encoding: { bitsStored: 12, photometric: 'MONOCHROME2', transferSyntax: TransferSyntax.ExplicitVRLittleEndian, bodyPart: 'CHEST' },
    notAHand: true,
  },
];

export function renderFixture(def: FixtureDefinition): RenderedPhantom {
  return def.notAHand ? renderChest(def.spec) : renderPhantom(def.spec);
}

export async function makeFixture(def: FixtureDefinition, preview = true): Promise<PhantomArtefacts> {
  return artefactsOf(renderFixture(def), def.encoding, { name: def.name, preview });
}
