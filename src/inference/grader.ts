import type { GradeResult, HandResult, JointNotGraded, JointResult } from '../analysis/hand-analysis.js';
import { jointsNotGraded, outOfView, type FilmExtent } from './abstention.js';
import { JOINT_SITES, JSW_SITES, scoresFor, type JointSite, type Laterality, type Score } from '../analysis/joints.js';
import { jointSeverity, withSummary } from '../analysis/severity.js';
import type { Candidate } from './detector.js';
import { DEFAULT_CALIBRATION, GRADER_OUTPUT_WIDTH, META_WIDTH, type GraderManifest } from './manifest.js';
import { distalDirection, sampleCrop, type DisplayImage } from '../imaging/preprocess.js';
import type { ModelRunner, TensorData } from './session.js';
import { filmMmPerReadMm } from './spacing.js';

/**
 * The grader (docs/model-contract.md): one crop per detected joint at a fixed physical scale,
 * turned so that the joint's distal direction (from the centres found on the same hand)
 * points up, plus meta (one-hot site, cos and sin of that direction's angle). Its outputs
 * become the joints of HandAnalysis.
 */
export interface GraderBatch {
  /** [N, 1, C, C] */
  crop: Float32Array;
  /** [N, 23] */
  meta: Float32Array;
  n: number;
  /** the candidate each row belongs to, in row order */
  rows: Candidate[];
  /** distal direction angle per row, radians (x right, y down) */
  angles: number[];
}

export function buildGraderBatch(img: DisplayImage, candidates: readonly Candidate[], cropPx: number, cropMmPerPx: number): GraderBatch {
  const n = candidates.length;
  const crop = new Float32Array(n * cropPx * cropPx);
  const meta = new Float32Array(n * META_WIDTH);
  const angles: number[] = [];
  const centresOf = new Map<Laterality, Partial<Record<JointSite, { x: number; y: number }>>>();
  for (const c of candidates) {
    const m = centresOf.get(c.laterality) ?? {};
    m[c.site] = { x: c.x, y: c.y };
    centresOf.set(c.laterality, m);
  }
  candidates.forEach((c, i) => {
    const d = distalDirection(c.site, centresOf.get(c.laterality) ?? {});
    crop.set(sampleCrop(img, { x: c.x, y: c.y, distal: d }, cropPx, cropMmPerPx), i * cropPx * cropPx);
    const angle = Math.atan2(d.y, d.x);
    angles.push(angle);
    meta[i * META_WIDTH + JOINT_SITES.indexOf(c.site)] = 1;
    meta[i * META_WIDTH + JOINT_SITES.length] = Math.cos(angle);
    meta[i * META_WIDTH + JOINT_SITES.length + 1] = Math.sin(angle);
  });
  return { crop, meta, n, rows: [...candidates], angles };
}

export type GraderOutputs = Record<Score | 'geometry', TensorData> & { jsw?: TensorData };

/** Every row of the width output is a width in mm, 0 or more (the contract), whatever its site. */
function checkWidths(t: TensorData, n: number): void {
  if (t.data.length !== n) throw new Error(`grader output "jsw" has ${t.data.length} values, expected ${n} (${n} x 1)`);
  t.data.forEach((v, row) => {
    if (!(v >= 0) || !Number.isFinite(v)) throw new Error(`grader output "jsw" row ${row} is ${v}: the contract wants a width in mm, 0 or more`);
  });
}

/**
 * The width in the film's mm (the grader gives it in the mm of the scale it read the crop at), to a
 * hundredth: more digits than a film at 0.1 mm a pixel can carry would be noise.
 */
const widthOf = (t: TensorData, row: number, filmMmPerReadMm: number) => Math.round(Number(t.data[row]) * filmMmPerReadMm * 100) / 100;

/** Probabilities of one output row as float64, renormalised to sum to exactly 1; the argmax is the grade. */
function gradeOf(t: TensorData, row: number, width: number, what: string): GradeResult {
  const p = Array.from(t.data.subarray(row * width, (row + 1) * width), Number);
  const sum = p.reduce((a, b) => a + b, 0);
  if (p.some((v) => !(v >= 0)) || !(Math.abs(sum - 1) < 1e-3)) {
    throw new Error(`grader output "${what}" row ${row} is not a probability vector (${p.map((v) => v.toPrecision(4)).join(', ')}): the contract wants softmax in the graph`);
  }
  const probabilities = p.map((v) => v / sum);
  let grade = 0;
  for (let g = 1; g < width; g++) if (probabilities[g] > probabilities[grade]) grade = g;
  return { grade, probabilities };
}

/**
 * The grader's outputs for a batch turned into hands: geometry refines the centre
 * (crop centre + (dx, dy) mm) and gives the box (refined centre +- (w, h) / 2 mm), both in the mm
 * of `readAtMm`, the spacing the crops were cut at; only the scores the site has are kept;
 * severity per joint, totals per hand. Hands L then R, joints in vocabulary order. With `film`
 * (the film graded: its size, spacing and pixels that are no film), a joint whose refined centre
 * lies at its edge is not graded (`outOfView`), and widths are in the film's mm.
 */
export function handsFromGrader(
  batch: GraderBatch,
  out: GraderOutputs,
  readAtMm: [number, number],
  notGraded: readonly (JointNotGraded | undefined)[] = [],
  film?: FilmExtent,
): HandResult[] {
  const [sr, sc] = readAtMm;
  for (const k of ['jsn', 'erosion', 'kl', 'geometry'] as const) {
    const want = batch.n * GRADER_OUTPUT_WIDTH[k];
    if (out[k].data.length !== want) throw new Error(`grader output "${k}" has ${out[k].data.length} values, expected ${want} (${batch.n} x ${GRADER_OUTPUT_WIDTH[k]})`);
  }
  if (out.jsw) checkWidths(out.jsw, batch.n);
  const widthFactor = film ? filmMmPerReadMm(film.pixelSpacingMm, readAtMm) : 1;
  const byHand = new Map<Laterality, JointResult[]>();
  batch.rows.forEach((c, i) => {
    const g = out.geometry.data.subarray(i * 4, i * 4 + 4);
    const x = c.x + g[0] / sc;
    const y = c.y + g[1] / sr;
    const hw = Math.abs(g[2]) / sc / 2;
    const hh = Math.abs(g[3]) / sr / 2;
    const grades: Partial<Record<Score, GradeResult>> = {};
    // judged again where the grader puts the joint: a crop centred inside the film can hold a
    // joint whose own centre lies at the edge, half of it off the film (docs/evaluation.md
    // "A joint at the film's edge")
    const abstained = notGraded[i] ?? (film ? outOfView(c.site, x, y, film) : undefined);
    if (!abstained) for (const s of scoresFor(c.site)) grades[s] = gradeOf(out[s], i, GRADER_OUTPUT_WIDTH[s], s);
    const measured = !abstained && out.jsw && JSW_SITES.includes(c.site);
    const joint: JointResult = {
      site: c.site,
      x,
      y,
      box: [x - hw, y - hh, x + hw, y + hh],
      confidence: c.confidence,
      ...grades,
      ...(measured ? { jswMm: widthOf(out.jsw!, i, widthFactor) } : {}),
      severity: jointSeverity(grades),
      ...(abstained ? { notGraded: abstained } : {}),
    };
    const list = byHand.get(c.laterality) ?? [];
    list.push(joint);
    byHand.set(c.laterality, list);
  });
  const hands: HandResult[] = [];
  for (const laterality of ['L', 'R'] as const) {
    const joints = byHand.get(laterality);
    if (!joints?.length) continue;
    joints.sort((a, b) => JOINT_SITES.indexOf(a.site) - JOINT_SITES.indexOf(b.site));
    hands.push(withSummary({ laterality, joints }));
  }
  return hands;
}

/**
 * Crops, runs the grader once for all joints, and returns the hands; joints it should not grade
 * say why instead (abstention.ts). The crops are cut at `readAtMm` (a whole hand's own scale,
 * spacing.ts `chooseSpacing`), what is measured at the film's spacing.
 */
export async function grade(
  img: DisplayImage,
  candidates: readonly Candidate[],
  manifest: GraderManifest,
  runner: ModelRunner,
  jointMinConfidence = DEFAULT_CALIBRATION.jointMinConfidence,
  readAtMm: [number, number] = img.pixelSpacingMm,
): Promise<HandResult[]> {
  if (candidates.length === 0) return [];
  const { cropPx, cropMmPerPx } = manifest.input;
  // the crops at the scale given; everything measured on the film (its edge, overlaps, widths, boxes) at the film's
  const read = { ...img, pixelSpacingMm: readAtMm };
  const batch = buildGraderBatch(read, candidates, cropPx, cropMmPerPx);
  const raw = await runner.run({
    [manifest.input.crop.name]: { data: batch.crop, dims: [batch.n, 1, cropPx, cropPx] },
    [manifest.input.meta.name]: { data: batch.meta, dims: [batch.n, META_WIDTH] },
  });
  const pick = (k: Score | 'geometry' | 'jsw'): TensorData => {
    const name = manifest.outputs[k]!.name;
    const t = raw[name];
    if (!t) throw new Error(`grader ${manifest.name} returned no output "${name}"`);
    return t;
  };
  const crop = (i: number) => batch.crop.subarray(i * cropPx * cropPx, (i + 1) * cropPx * cropPx);
  const notGraded = jointsNotGraded(batch.rows, crop, cropMmPerPx, img, jointMinConfidence);
  const outputs: GraderOutputs = { jsn: pick('jsn'), erosion: pick('erosion'), kl: pick('kl'), geometry: pick('geometry') };
  if (manifest.outputs.jsw) outputs.jsw = pick('jsw');
  return handsFromGrader(batch, outputs, read.pixelSpacingMm, notGraded, img);
}
