import { TransferSyntax } from '../dicom/part10.js';
import type { Laterality } from '../analysis/joints.js';
import { realisticFrame } from './frame.js';
import type { DiseaseProfile, HandLayout, PhantomSpec } from './types.js';
import { JointscoreError } from '../errors.js';
import { turnForSeed } from './orient.js';
import { obliqueAngleForSeed } from './oblique.js';
import { partialViewForSeed } from './partial.js';

/**
 * What `jointscore phantom` asks for, checked and turned into one PhantomSpec per image.
 * Every error names the option, the value and what is allowed.
 */
export const PHANTOM_SYNTAXES = {
  explicit: TransferSyntax.ExplicitVRLittleEndian,
  'jpeg-lossless': TransferSyntax.JpegLossless,
  'jpeg-ls': TransferSyntax.JpegLsLossless,
  j2k: TransferSyntax.Jpeg2000Lossless,
  rle: TransferSyntax.RleLossless,
} as const;
export type PhantomSyntaxName = keyof typeof PHANTOM_SYNTAXES;
export type Photometric = 'MONOCHROME1' | 'MONOCHROME2';

export interface PhantomRunOptions {
  count: number;
  seed: number;
  out: string;
  profile: DiseaseProfile;
  layout: HandLayout;
  laterality: Laterality | 'random';
  /** 'auto': a realistic cassette or collimated crop for the spacing (realisticFrame) */
  rows: number | 'auto';
  columns: number | 'auto';
  pixelSpacingMm: number;
  photometric: Photometric;
  bitsStored: number;
  syntax: PhantomSyntaxName;
  wideRanges: boolean;
  /** level 2 of src/phantom/ranges.ts (implies wideRanges) */
  widerRanges: boolean;
  /** each film turned by a quarter turn drawn from its seed, mirrored half the time */
  anyOrientation: boolean;
  /** each single-hand film cut to a wrist-only or finger-only view drawn from its seed */
  partial: boolean;
  /** feet instead of hands (src/phantom/foot.ts) */
  foot: boolean;
  /** each hand turned into an oblique view (src/phantom/oblique.ts), the angle from its seed */
  oblique: boolean;
  /** the oblique hands' fingers fanned apart (implies `oblique`) */
  obliqueFanned: boolean;
  /** children's hands (10-14 years, joints healthy): growth plates open, films the node must not grade */
  child: boolean;
  /** metal wires across two joints of each hand: joints the node must not grade */
  metal: boolean;
  /** the fingers drifted toward the ulna at the MCPs by this many degrees, as rheumatoid hands drift; undefined: the pose's own */
  ulnarDriftDeg?: number;
  preview: boolean;
}

export class OptionError extends JointscoreError {
  readonly kind = 'config' as const;
  constructor(option: string, value: unknown, allowed: string) {
    super(`--${option} ${JSON.stringify(value)}: expected ${allowed}`);
    this.name = 'OptionError';
  }
}

function oneOf<T extends string>(option: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new OptionError(option, value, `one of ${allowed.join(', ')}`);
  return value as T;
}

function integer(option: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new OptionError(option, value, `an integer from ${min} to ${max}`);
  return n;
}

function decimal(option: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max) throw new OptionError(option, value, `a number from ${min} to ${max}`);
  return n;
}

function photometric(value: string): Photometric {
  const upper = value.toUpperCase();
  const short: Record<string, Photometric> = { M1: 'MONOCHROME1', M2: 'MONOCHROME2' };
  return short[upper] ?? oneOf('photometric', upper, ['MONOCHROME1', 'MONOCHROME2'] as const);
}

/** Raw strings as commander hands them over. */
export type RawPhantomOptions = Record<keyof PhantomRunOptions, string | boolean>;

export function parsePhantomOptions(raw: Partial<RawPhantomOptions>): PhantomRunOptions {
  const s = (k: keyof PhantomRunOptions, d: string) => String(raw[k] ?? d);
  const lat = s('laterality', 'random').toUpperCase();
  return {
    count: integer('count', s('count', '1'), 1, 1_000_000),
    seed: integer('seed', s('seed', '1'), 0, 2 ** 31 - 1),
    out: s('out', 'out/phantom'),
    profile: oneOf('profile', s('profile', 'mixed').toLowerCase(), ['healthy', 'ra', 'oa', 'mixed'] as const),
    layout: oneOf('hands', s('layout', 'one').toLowerCase(), ['one', 'both'] as const),
    laterality: lat === 'RANDOM' ? 'random' : oneOf('laterality', lat, ['L', 'R'] as const),
    rows: s('rows', 'auto') === 'auto' ? 'auto' : integer('rows', s('rows', 'auto'), 256, 8192),
    columns: s('columns', 'auto') === 'auto' ? 'auto' : integer('columns', s('columns', 'auto'), 256, 8192),
    pixelSpacingMm: decimal('spacing', s('pixelSpacingMm', '0.15'), 0.05, 0.5),
    photometric: photometric(s('photometric', 'MONOCHROME2')),
    bitsStored: integer('bits', s('bitsStored', '12'), 10, 16),
    syntax: oneOf('syntax', s('syntax', 'explicit').toLowerCase(), Object.keys(PHANTOM_SYNTAXES) as PhantomSyntaxName[]),
    wideRanges: raw.wideRanges === true || raw.widerRanges === true,
    widerRanges: raw.widerRanges === true,
    anyOrientation: raw.anyOrientation === true,
    partial: raw.partial === true,
    foot: raw.foot === true,
    oblique: raw.oblique === true || raw.obliqueFanned === true,
    obliqueFanned: raw.obliqueFanned === true,
    child: raw.child === true,
    metal: raw.metal === true,
    ...(raw.ulnarDriftDeg !== undefined ? { ulnarDriftDeg: decimal('ulnar-drift', s('ulnarDriftDeg', '0'), 0, 60) } : {}),
    preview: raw.preview !== false,
  };
}

/** Image i of a run uses seed + i, so any single image can be re-made alone. */
export function specFor(opts: PhantomRunOptions, index: number): PhantomSpec {
  const seed = opts.seed + index;
  // A random laterality still follows from the seed: same seed, same hand.
  const laterality: Laterality = opts.laterality === 'random' ? (seed % 2 === 0 ? 'L' : 'R') : opts.laterality;
  const frame = realisticFrame(opts.pixelSpacingMm, seed, opts.layout);
  return {
    seed,
    profile: opts.profile,
    layout: opts.layout,
    laterality,
    rows: opts.rows === 'auto' ? frame.rows : opts.rows,
    columns: opts.columns === 'auto' ? frame.columns : opts.columns,
    pixelSpacingMm: opts.pixelSpacingMm,
    wideRanges: opts.wideRanges,
    ...(opts.widerRanges ? { widerRanges: true } : {}),
    ...(opts.anyOrientation ? { turn: turnForSeed(seed) } : {}),
    ...(opts.partial ? { partialView: partialViewForSeed(seed) } : {}),
    ...(opts.foot ? { bodyPart: 'foot' as const } : {}),
    ...(opts.oblique ? { obliqueDeg: obliqueAngleForSeed(seed) } : {}),
    ...(opts.obliqueFanned ? { obliqueFanned: true as const } : {}),
    ...(opts.child ? { child: true as const } : {}),
    ...(opts.metal ? { metal: true as const } : {}),
    ...(opts.ulnarDriftDeg !== undefined ? { ulnarDriftDeg: opts.ulnarDriftDeg } : {}),
  };
}
