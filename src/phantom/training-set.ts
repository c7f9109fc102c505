import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { JOINT_SITES, type JointSite } from '../analysis/joints.js';
import type { JointResult } from '../analysis/hand-analysis.js';
import { distalDirection, letterbox, sampleCrop, toDisplay, type DisplayImage } from '../imaging/preprocess.js';
import { chooseSpacing, estimateSpacing, filmMmPerReadMm, readScale } from '../inference/spacing.js';
import { quantisePhantomImage } from './dicom-dx.js';
import { cutPhantom, partialWindow, type FilmWindow, type PartialView } from './partial.js';
import { realisticFrame } from './frame.js';
import { renderPhantom } from './render.js';
import { Rng } from './rng.js';
import type { DiseaseProfile, PhantomSpec, RenderedPhantom } from './types.js';

/**
 * Training data for the detector and the grader, made with the node's own preprocessing
 * (`src/imaging/preprocess.ts`) from the stored values a DICOM file of the phantom would
 * hold, so that training and serving see the same numbers.
 *
 * Layout of a split folder (read by models/training/data.py):
 * - detector.u16: N x S x S uint16 (display value x 65535), S = `detectorSize`
 * - detector.jsonl: one line per image: seed, spec, scale, joints (channel, x, y in input px)
 * - crops.u16: M x C x C uint16, C = `cropPx`, `cropMmPerPx` mm per pixel of the scale serving
 *   reads the joint at (a whole hand's own: `readScaleOf`)
 * - crops.jsonl: one line per crop: site, laterality, grades (-1 = not scored), the crop's
 *   distal angle, and the geometry targets (true centre offset, box size and joint space width
 *   in mm of that scale, `readMmPerPx`)
 * - meta.json: the constants above and the recipe
 */
export interface TrainingSetOptions {
  count: number;
  seed: number;
  out: string;
  wideRanges: boolean;
  detectorSize: number;
  cropPx: number;
  cropMmPerPx: number;
  /** share of single-hand images cut to a wrist-only or finger-only film (detector data; such images give no grader crops) */
  partialShare?: number;
}

export const TRAINING_DEFAULTS = { detectorSize: 256, cropPx: 112, cropMmPerPx: 0.16 } as const;

/** Heatmap channel of a joint: left-hand sites first, then right-hand sites. */
export function channelOf(laterality: 'L' | 'R', site: JointSite): number {
  return (laterality === 'L' ? 0 : JOINT_SITES.length) + JOINT_SITES.indexOf(site);
}

/** A varied but realistic acquisition for training image `seed`. */
export function trainingSpec(seed: number, wideRanges: boolean): PhantomSpec & { photometric: 'MONOCHROME1' | 'MONOCHROME2'; bitsStored: number } {
  const rng = new Rng(seed ^ 0x5eed7a11);
  const pixelSpacingMm = rng.uniform(0.1, 0.2);
  const both = rng.chance(0.2);
  const { rows, columns } = realisticFrame(pixelSpacingMm, rng, both ? 'both' : 'one');
  const profiles: DiseaseProfile[] = ['mixed', 'mixed', 'mixed', 'ra', 'ra', 'oa', 'oa', 'healthy'];
  return {
    seed,
    profile: rng.pick(profiles),
    layout: both ? 'both' : 'one',
    laterality: rng.chance(0.5) ? 'L' : 'R',
    rows,
    columns,
    pixelSpacingMm,
    wideRanges,
    photometric: rng.chance(0.3) ? 'MONOCHROME1' : 'MONOCHROME2',
    bitsStored: rng.pick([10, 12, 14, 16]),
  };
}

/** A rendered training image as serving would display it: the stored values a DICOM file of it would hold, through the node's preprocessing. */
export function trainingDisplay(rendered: RenderedPhantom, spec: ReturnType<typeof trainingSpec>): DisplayImage {
  return toDisplay({
    rows: rendered.rows, columns: rendered.columns, values: quantisePhantomImage(rendered.image, spec.bitsStored, spec.photometric),
    photometric: spec.photometric, pixelSpacingMm: [spec.pixelSpacingMm, spec.pixelSpacingMm],
  });
}

/** Display values in [0, 1] as the training sets store them: uint16, value x 65535. */
export function toU16(data: Float32Array): Buffer {
  const out = new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = Math.round(Math.min(1, Math.max(0, data[i])) * 65535);
  return Buffer.from(out.buffer);
}

const grade = (g: JointResult['jsn']) => (g ? g.grade : -1);

interface CropRecord {
  image: number;
  seed: number;
  site: JointSite;
  siteIndex: number;
  laterality: 'L' | 'R';
  jsn: number;
  erosion: number;
  kl: number;
  /** true joint space width, mm (-1 where not measured: analysis/joints.ts JSW_SITES) */
  jswMm: number;
  /** angle of the crop's distal direction in the image, radians (x right, y down) */
  angle: number;
  /** true centre minus crop centre, image frame, mm */
  dxMm: number;
  dyMm: number;
  /** true (axis-aligned) box size, mm */
  wMm: number;
  hMm: number;
  /** the film's spacing the crop was cut at (the scale serving reads the joint at), mm per pixel; every mm above is of this scale */
  readMmPerPx: number;
}

/**
 * The spacing serving reads a film's joints at (spacing.ts `chooseSpacing`: a whole hand's own,
 * from its bone lengths, where the header's is within the tolerance), here from the true joints:
 * the grader learns each hand at the scale it will be read at.
 */
export function readScaleOf(hands: readonly { laterality: 'L' | 'R'; joints: readonly JointResult[] }[], headerMm: [number, number]): [number, number] {
  const candidates = hands.flatMap((h) => h.joints.map((j) => ({ laterality: h.laterality, site: j.site, x: j.x, y: j.y, confidence: 1 })));
  return readScale(chooseSpacing(headerMm, 'header', estimateSpacing(candidates)));
}

/**
 * A hand's grader crops, cut from `img` at its spacing (the scale the joints are read at), with
 * offsets, boxes and joint space widths in that scale's mm, as the grader gives them.
 * `filmMmPerReadMm`: how many of the film's mm one mm of that scale spans (a true width is divided
 * by it; serving multiplies the grader's width back: spacing.ts `filmMmPerReadMm`).
 */
function cropsOf(img: DisplayImage, joints: JointResult[], laterality: 'L' | 'R', rng: Rng, o: TrainingSetOptions, image: number, seed: number, filmMmPerReadMm: number) {
  const centres: Partial<Record<JointSite, { x: number; y: number }>> = {};
  for (const j of joints) centres[j.site] = { x: j.x, y: j.y };
  const [sr, sc] = img.pixelSpacingMm;
  const out: { pixels: Float32Array; record: CropRecord }[] = [];
  for (const j of joints) {
    // Jitter the crop as a detector would miss: a little usually, more now and then.
    const sd = rng.chance(0.15) ? 2.5 : 1.0;
    const jx = Math.max(-4, Math.min(4, rng.normal(0, sd)));
    const jy = Math.max(-4, Math.min(4, rng.normal(0, sd)));
    const d = distalDirection(j.site, centres);
    const angle = Math.atan2(d.y, d.x) + (rng.normal(0, 8) * Math.PI) / 180;
    const cx = j.x + jx / sc;
    const cy = j.y + jy / sr;
    const pixels = sampleCrop(img, { x: cx, y: cy, distal: { x: Math.cos(angle), y: Math.sin(angle) } }, o.cropPx, o.cropMmPerPx);
    out.push({
      pixels,
      record: {
        image, seed, site: j.site, siteIndex: JOINT_SITES.indexOf(j.site), laterality,
        jsn: grade(j.jsn), erosion: grade(j.erosion), kl: grade(j.kl), jswMm: j.jswMm === undefined ? -1 : j.jswMm / filmMmPerReadMm, angle,
        dxMm: -jx, dyMm: -jy,
        wMm: (j.box[2] - j.box[0]) * sc,
        hMm: (j.box[3] - j.box[1]) * sr,
        readMmPerPx: sr,
      },
    });
  }
  return out;
}

/** Whether image `seed` becomes a partial view (single-hand images only), and its window. */
function partialCut(rendered: ReturnType<typeof renderPhantom>, spec: PhantomSpec, seed: number, share: number): { view: PartialView; window: FilmWindow } | undefined {
  if (share <= 0 || rendered.hands.length !== 1) return undefined;
  const rng = new Rng(seed ^ 0x9a7714);
  if (!rng.chance(share)) return undefined;
  const view: PartialView = rng.chance(0.5) ? 'wrist' : 'fingers';
  const window = partialWindow(view, rendered.hands[0].joints, spec.pixelSpacingMm, rendered.rows, rendered.columns, rng);
  return window && { view, window };
}

export function writeTrainingSet(o: TrainingSetOptions, onImage?: (i: number) => void): { images: number; crops: number } {
  mkdirSync(o.out, { recursive: true });
  const detFd = openSync(join(o.out, 'detector.u16'), 'w');
  const cropFd = openSync(join(o.out, 'crops.u16'), 'w');
  const detLines: string[] = [];
  const cropLines: string[] = [];
  try {
    for (let i = 0; i < o.count; i++) {
      const seed = o.seed + i;
      const spec = trainingSpec(seed, o.wideRanges);
      const whole = renderPhantom(spec);
      // cut before quantising (pixel by pixel, so the same values): the display window is
      // then the cut film's own, as a real wrist-only film's is
      const cut = partialCut(whole, spec, seed, o.partialShare ?? 0);
      const rendered = cut ? cutPhantom(whole, cut.window) : whole;
      const img = trainingDisplay(rendered, spec);
      const lb = letterbox(img, o.detectorSize);
      writeSync(detFd, toU16(lb.data));
      const joints = rendered.hands.flatMap((h) =>
        h.joints.map((j) => ({ channel: channelOf(h.laterality, j.site), x: j.x * lb.scale, y: j.y * lb.scale })),
      );
      detLines.push(JSON.stringify({ image: i, seed, spec, scale: lb.scale, joints, ...(cut ? { partial: cut.view, window: cut.window } : {}) }));
      if (cut) {
        onImage?.(i);
        continue;
      }
      const rng = new Rng(seed ^ 0x0c1a5e);
      const readAt = readScaleOf(rendered.hands, img.pixelSpacingMm);
      const read = { ...img, pixelSpacingMm: readAt };
      for (const h of rendered.hands) {
        for (const c of cropsOf(read, h.joints, h.laterality, rng, o, i, seed, filmMmPerReadMm(img.pixelSpacingMm, readAt))) {
          writeSync(cropFd, toU16(c.pixels));
          cropLines.push(JSON.stringify(c.record));
        }
      }
      onImage?.(i);
    }
  } finally {
    closeSync(detFd);
    closeSync(cropFd);
  }
  writeFileSync(join(o.out, 'detector.jsonl'), detLines.join('\n') + '\n');
  writeFileSync(join(o.out, 'crops.jsonl'), cropLines.join('\n') + '\n');
  writeFileSync(
    join(o.out, 'meta.json'),
    JSON.stringify(
      {
        kind: 'jointscore training set (synthetic phantom radiographs)',
        detectorSize: o.detectorSize, cropPx: o.cropPx, cropMmPerPx: o.cropMmPerPx,
        channels: [...JOINT_SITES.map((s) => `L-${s}`), ...JOINT_SITES.map((s) => `R-${s}`)],
        sites: JOINT_SITES,
        seeds: [o.seed, o.seed + o.count - 1], wideRanges: o.wideRanges, partialShare: o.partialShare ?? 0,
        cropsReadAt: "the scale serving reads each joint at: a whole hand's own (its bone lengths) where the header's is within the tolerance (src/inference/spacing.ts chooseSpacing); each crop's readMmPerPx",
        images: o.count, crops: cropLines.length,
      },
      null,
      2,
    ) + '\n',
  );
  return { images: o.count, crops: cropLines.length };
}
