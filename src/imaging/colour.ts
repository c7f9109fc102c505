/**
 * A radiograph stored in colour. Films imported from a CD or a referring site, a digitised
 * outside film, a capture from a workstation: a PACS holds these as Secondary Capture (or CR
 * and DX) in RGB or YCbCr, often JPEG-compressed, though the picture is grey. Where the three
 * samples agree on nearly every pixel the image is a grey film in a colour container, and its
 * luminance is the film (Rec. 601 weights, as YBR_FULL defines luminance, PS3.3 C.7.6.3.1.2).
 * Where they do not, it is a photograph or a colour rendering: no radiograph the models read.
 * Pure: no I/O.
 */

/** Photometric Interpretations of decoded three-sample pixels this module reads. */
const READ = new Set(['RGB', 'YBR_FULL']);

/**
 * Samples further apart than this (RGB) or chroma further from neutral than this (YBR_FULL),
 * in 8-bit levels, make a pixel coloured. Lossy JPEG leaves a few levels of chroma noise on a
 * grey picture; a coloured annotation or a photograph is tens of levels away.
 */
export const GREY_TOLERANCE_8BIT = 12;

/**
 * Coloured pixels a grey film may carry: burnt-in annotations (a red arrow, a yellow ruler, a
 * coloured marker) cover a small part of a film. More than this, the picture is a colour one.
 */
export const MAX_COLOURED_SHARE = 0.02;

export type ColourReading =
  | { grey: true; values: Uint8Array | Uint16Array; colouredShare: number }
  | { grey: false; reason: string };

export interface ColourPixels {
  /** native pixel data, Rows x Columns x 3 samples */
  data: Uint8Array;
  rows: number;
  columns: number;
  /** after decoding: a JPEG's YBR_FULL_422 comes back RGB from the codec */
  photometric: string;
  /** 0: R G B R G B ...; 1: all R, then all G, then all B */
  planarConfiguration: number;
  bitsAllocated: number;
  bitsStored: number;
}

/** The grey film a colour-stored image holds, or why it holds none. */
export function greyFromColour(px: ColourPixels): ColourReading {
  if (!READ.has(px.photometric)) {
    return { grey: false, reason: `three samples as "${px.photometric}" are not read (RGB and YBR_FULL are)` };
  }
  if (px.bitsAllocated !== 8 && px.bitsAllocated !== 16) {
    return { grey: false, reason: `Bits Allocated ${px.bitsAllocated} with three samples: expected 8 or 16` };
  }
  const n = px.rows * px.columns;
  const sample = sampler(px);
  const mask = px.bitsStored >= 16 ? 0xffff : (1 << px.bitsStored) - 1;
  const tolerance = GREY_TOLERANCE_8BIT * ((mask + 1) / 256);
  const mid = (mask + 1) / 2;
  const values = px.bitsAllocated === 8 ? new Uint8Array(n) : new Uint16Array(n);
  let coloured = 0;
  const ybr = px.photometric === 'YBR_FULL';
  for (let i = 0; i < n; i++) {
    const a = sample(i, 0) & mask;
    const b = sample(i, 1) & mask;
    const c = sample(i, 2) & mask;
    if (ybr) {
      if (Math.abs(b - mid) > tolerance || Math.abs(c - mid) > tolerance) coloured++;
      values[i] = a;
    } else {
      if (Math.max(a, b, c) - Math.min(a, b, c) > tolerance) coloured++;
      values[i] = Math.min(mask, Math.round(0.299 * a + 0.587 * b + 0.114 * c));
    }
  }
  const colouredShare = n > 0 ? coloured / n : 0;
  if (colouredShare > MAX_COLOURED_SHARE) {
    return {
      grey: false,
      reason: `${(100 * colouredShare).toFixed(1)} % of its pixels are coloured (a grey film in colour holds at most ${100 * MAX_COLOURED_SHARE} %, its annotations): a photograph or a colour rendering, not a radiograph`,
    };
  }
  return { grey: true, values, colouredShare };
}

/** sample(i, k): the k-th sample of pixel i, whatever the planar configuration and width. */
function sampler(px: ColourPixels): (i: number, k: number) => number {
  const n = px.rows * px.columns;
  const index = px.planarConfiguration === 1 ? (i: number, k: number) => k * n + i : (i: number, k: number) => 3 * i + k;
  if (px.bitsAllocated === 8) return (i, k) => px.data[index(i, k)];
  const view = new DataView(px.data.buffer, px.data.byteOffset, px.data.byteLength);
  return (i, k) => view.getUint16(2 * index(i, k), true);
}
