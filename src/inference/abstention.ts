import type { JointNotGraded } from '../analysis/hand-analysis.js';
import { JSW_SITES } from '../analysis/joints.js';
import type { Candidate } from './detector.js';
import { METAL, metalEvidence, type MetalEvidence } from './metal.js';
import { DisplayHistogram } from '../imaging/display-histogram.js';

/**
 * When a joint found is not graded: the grader would answer, but its answer would not be
 * about a whole, visible, recognised joint. Reported as not graded, with the reason, rather
 * than guessed (a radiologist distrusts a series that grades what it cannot see).
 *
 * - `resolution`: the film is graded at pixels coarser than `maxSpacingMm`: a joint space of 1-2
 *   mm spans a pixel or two. The Radiopaedia PA hands made smaller (docs/evaluation.md, "A film
 *   too coarse to grade"; scripts/coarser-films.mjs) keep every hand found and graded, but the
 *   normal joints called climb from 5.5 % as stored (graded at 0.23 mm, median) to 9.0 % at 0.68
 *   mm, 13.9 % at 0.91 and 18.3 % at 1.36 mm; the coarsest real film graded here as stored, an
 *   upper-limb hand of 512 pixels, is read at 0.71 mm.
 * - `out-of-view`: the joint's centre lies closer to the film's edge than half a joint's width,
 *   so part of the joint (and of the grader's crop) is off the film: partial views, collimated films.
 *   Judged at the detector's point here and again at the grader's refined centre (grader.ts).
 * - `exposure`: the joint's region has almost no contrast (burnt out, or blank: a 5th-95th
 *   percentile spread under 6 % of the display range), so the space and the bone margins
 *   cannot be seen.
 * - `metal`: metal lies over or beside the joint (a plate, a screw, a wire, a metal implant): a
 *   plateau at the top of the display range, at least 0.7 mm thick, 5 mm2 of it within 5 mm of
 *   its centre, that steps down sharply to what surrounds it and is no band along the joint line
 *   (metal.ts; `isMetal`). Bone that the window clips to white steps down by 0.29 at most on the
 *   real films of docs/evaluation.md (scripts/metal-scan.mjs); the one plate there beside a
 *   graded joint (a radius plate's screws 2-4 mm from RC) by 0.53.
 * - `overlapped`: another finger joint of the same hand was found within `overlapMm` (fingers
 *   crossed or overlapping, as on an oblique film, or one joint named twice): one joint
 *   space cannot be two joints' grades. Otherwise graded finger joints lie 5.9 mm or more
 *   from the nearest other on the real films of docs/evaluation.md, 6.6 on the phantoms
 *   (scripts/nearest-joints.mjs); the carpal sites are left out, their centres lie closer by nature.
 * - `uncertain`: the detector itself is unsure this is the site it names (below the detector
 *   calibration's jointMinConfidence). With the shipped detector's 0.4, 16 of the 483 joints
 *   of the hands graded on the Radiopaedia films (3 %) fall below (scripts/film-kinds.mjs).
 */
export const ABSTENTION = {
  maxSpacingMm: 0.8,
  edgeMm: 4.5,
  minContrast: 0.06,
  overlapMm: 4,
  metal: { minAreaMm2: 5, minStep: 0.4, bandMaxDeg: 30, bandMinElongation: 2 },
} as const;

export interface JointEvidence {
  candidate: Pick<Candidate, 'x' | 'y' | 'confidence' | 'site'>;
  /** the grader's crop, display values in [0, 1], square */
  crop: Float32Array;
  /** the crop's scale */
  cropMmPerPx: number;
}

/** Why this joint should not be graded, or undefined when it should. Pure. */
export function jointNotGraded(
  e: JointEvidence,
  image: FilmExtent,
  minConfidence: number,
  overlap?: JointNotGraded,
): JointNotGraded | undefined {
  const { x, y, confidence, site } = e.candidate;
  const [sr, sc] = image.pixelSpacingMm;
  if (Math.max(sr, sc) > ABSTENTION.maxSpacingMm) {
    return { cause: 'resolution', reason: `the film is graded at ${Math.max(sr, sc).toFixed(2)} mm a pixel, coarser than ${ABSTENTION.maxSpacingMm} mm: a joint space of 1-2 mm spans a pixel or two` };
  }
  const cut = outOfView(site, x, y, image);
  if (cut) return cut;
  const spread = percentileSpread(e.crop, 0.05, 0.95);
  if (spread < ABSTENTION.minContrast) {
    return { cause: 'exposure', reason: `the region of ${site} has almost no contrast (5th-95th percentile spread ${spread.toFixed(3)} of the display range): burnt out or blank` };
  }
  const metal = metalEvidence(e.crop, Math.round(Math.sqrt(e.crop.length)), e.cropMmPerPx);
  if (isMetal(metal)) {
    return {
      cause: 'metal',
      reason:
        `metal lies within ${METAL.radiusMm} mm of ${site} (${metal.areaMm2.toFixed(1)} mm2 at the top of the display range, ` +
        `stepping down by ${metal.step.toFixed(2)}): a plate, screw, wire or implant, not graded`,
    };
  }
  if (overlap) return overlap;
  if (confidence < minConfidence) {
    return { cause: 'uncertain', reason: `the detector is unsure this is ${site} (confidence ${confidence.toFixed(2)} < ${minConfidence})` };
  }
  return undefined;
}

/** The film as the abstention rules see it: its size, scale and, where known, the pixels that are no film. */
export interface FilmExtent {
  rows: number;
  columns: number;
  pixelSpacingMm: [number, number];
  /** pixels that are not the exposed film (padding, a Display Shutter's hidden part), row-major, 1 = not film */
  offFilm?: Uint8Array;
}

/**
 * `out-of-view` where a point of the joint's (the detector's, or the grader's refined centre) lies
 * within `ABSTENTION.edgeMm` of the film's edge, or of a pixel that is no film (padding, a shutter's
 * hidden part: a collimated field cuts the joint as the image's edge does). Pure.
 */
export function outOfView(site: string, x: number, y: number, image: FilmExtent): JointNotGraded | undefined {
  const [sr, sc] = image.pixelSpacingMm;
  const edgeMm = Math.min(x * sc, y * sr, (image.columns - x) * sc, (image.rows - y) * sr);
  if (edgeMm < ABSTENTION.edgeMm) {
    return { cause: 'out-of-view', reason: `${site} lies ${Math.max(0, edgeMm).toFixed(1)} mm from the edge of the image: part of the joint is out of view` };
  }
  const fieldMm = image.offFilm ? nearestOffFilmMm(x, y, image as Required<FilmExtent>) : Infinity;
  if (fieldMm >= ABSTENTION.edgeMm) return undefined;
  return {
    cause: 'out-of-view',
    reason: `${site} lies ${fieldMm.toFixed(1)} mm from the edge of the exposed field (padding or a Display Shutter beyond it): part of the joint is out of view`,
  };
}

/** The distance (mm) from (x, y) to the nearest pixel that is no film, looked for within `ABSTENTION.edgeMm`; Infinity where none lies that near. */
function nearestOffFilmMm(x: number, y: number, image: Required<FilmExtent>): number {
  const [sr, sc] = image.pixelSpacingMm;
  const [ry, rx] = [Math.ceil(ABSTENTION.edgeMm / sr), Math.ceil(ABSTENTION.edgeMm / sc)];
  const [cx, cy] = [Math.floor(x), Math.floor(y)];
  let best = Infinity;
  for (let r = Math.max(0, cy - ry); r <= Math.min(image.rows - 1, cy + ry); r++) {
    const row = r * image.columns;
    for (let c = Math.max(0, cx - rx); c <= Math.min(image.columns - 1, cx + rx); c++) {
      // to the pixel's nearest point: the field ends at its edge, not its centre
      if (image.offFilm[row + c]) best = Math.min(best, Math.hypot(Math.max(0, Math.abs(c + 0.5 - x) - 0.5) * sc, Math.max(0, Math.abs(r + 0.5 - y) - 0.5) * sr));
    }
  }
  return best;
}

/**
 * Metal, not bone: a plateau large enough to hide the joint that steps down sharply, unless it
 * is a band along the joint line (a bone end's subchondral plate drawn white: the phantom's
 * radius; metal crossing a joint runs across that line).
 */
function isMetal(m: MetalEvidence): boolean {
  const { minAreaMm2, minStep, bandMaxDeg, bandMinElongation } = ABSTENTION.metal;
  const band = m.fromJointLineDeg < bandMaxDeg && m.elongation >= bandMinElongation;
  return m.areaMm2 >= minAreaMm2 && m.step >= minStep && !band;
}

/**
 * Why each of a film's candidates is not graded (undefined where it is), its crop given by
 * index: the one place serving decides it (grader.ts; the training scripts' crops,
 * real_crops.mjs, take grade()'s answer, so both leave out the same joints).
 */
export function jointsNotGraded(
  candidates: readonly Pick<Candidate, 'x' | 'y' | 'confidence' | 'site' | 'laterality'>[],
  cropOf: (i: number) => Float32Array,
  cropMmPerPx: number,
  image: FilmExtent,
  minConfidence: number,
): (JointNotGraded | undefined)[] {
  const overlapped = overlappedJoints(candidates, image.pixelSpacingMm);
  return candidates.map((candidate, i) => jointNotGraded({ candidate, crop: cropOf(i), cropMmPerPx }, image, minConfidence, overlapped.get(i)));
}

/**
 * The finger joints found within ABSTENTION.overlapMm of another finger joint of the same
 * hand, by index into `candidates`, each with its reason. Pure.
 */
export function overlappedJoints(
  candidates: readonly Pick<Candidate, 'x' | 'y' | 'site' | 'laterality'>[],
  pixelSpacingMm: [number, number],
): Map<number, JointNotGraded> {
  const [sr, sc] = pixelSpacingMm;
  const out = new Map<number, JointNotGraded>();
  const finger = candidates.map((c) => JSW_SITES.includes(c.site));
  for (let i = 0; i < candidates.length; i++) {
    for (let k = i + 1; k < candidates.length; k++) {
      const [a, b] = [candidates[i], candidates[k]];
      if (!finger[i] || !finger[k] || a.laterality !== b.laterality) continue;
      const mm = Math.hypot((a.x - b.x) * sc, (a.y - b.y) * sr);
      if (mm >= ABSTENTION.overlapMm) continue;
      const reason = `${a.site} and ${b.site} were found ${mm.toFixed(1)} mm apart: one joint space, not two joints (fingers overlapping, or a joint named twice)`;
      if (!out.has(i)) out.set(i, { cause: 'overlapped', reason });
      if (!out.has(k)) out.set(k, { cause: 'overlapped', reason });
    }
  }
  return out;
}

/** Difference of two percentiles of values in [0, 1]. */
function percentileSpread(values: Float32Array, lo: number, hi: number): number {
  const h = DisplayHistogram.of(values);
  return h.count ? h.quantile(hi) - h.quantile(lo) : 0;
}
