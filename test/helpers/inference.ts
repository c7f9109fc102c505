import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { onTestFinished } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import winston from 'winston';
import { Writable } from 'node:stream';
import type { HandAnalysis } from '../../src/analysis/hand-analysis.js';
import { JOINT_SITES, MAX_GRADE, scoresFor } from '../../src/analysis/joints.js';
import type { AnalyzeInput } from '../../src/inference/analyze.js';
import { JOINT_NOT_GRADED_CAUSES } from '../../src/analysis/hand-analysis.js';

/** The tiny hand-set models of test/fixtures/make_tiny_models.py. */
export const TINY_MODELS = fileURLToPath(new URL('../fixtures/models/', import.meta.url));
export const tinyModel = (name: 'jointscore-detector' | 'jointscore-grader' | 'yolo-detector') => join(TINY_MODELS, name);

/** A copy of a tiny model folder in a temp dir, to corrupt or re-describe; removed when the test file ends. */
export function copyModel(name: Parameters<typeof tinyModel>[0]): string {
  const parent = mkdtempSync(join(tmpdir(), 'js-model-'));
  onTestFinished(() => rmSync(parent, { recursive: true, force: true }));
  const dir = join(parent, name);
  cpSync(tinyModel(name), dir, { recursive: true });
  return dir;
}

/**
 * A synthetic radiograph for the tiny detectors: uniform background (stored 1000), a dark
 * band along the bottom rows (stored 0, more than 0.5 % of the pixels, so the low percentile
 * is 0) and one bright rectangle (stored 4000, the high percentile when it covers more than
 * 0.5 %): display values 0.25 / 0 / 1.
 */
export function spotImage(
  rows: number,
  columns: number,
  spot: { r0: number; r1: number; c0: number; c1: number },
  pixelSpacingMm: [number, number] = [0.2, 0.2],
  photometric: 'MONOCHROME1' | 'MONOCHROME2' = 'MONOCHROME2',
): AnalyzeInput {
  const values = new Uint16Array(rows * columns);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      // a fine checker on the flat field: the joint crops have contrast, as on film (a blank crop is not graded)
      let v = r >= rows - 24 ? 0 : 1000 + (((r >> 2) + (c >> 2)) & 1) * 300;
      if (r >= spot.r0 && r < spot.r1 && c >= spot.c0 && c < spot.c1) v = 4000;
      values[r * columns + c] = photometric === 'MONOCHROME1' ? 4000 - v : v;
    }
  }
  return { rows, columns, values, photometric, pixelSpacingMm, sopInstanceUID: '1.2.826.0.1.3680043.10.1234.77.1' };
}

/** A winston logger that keeps what it is given. */
export function captureLogger(): { log: winston.Logger; lines: { level: string; message: string; [k: string]: unknown }[] } {
  const lines: { level: string; message: string }[] = [];
  const stream = new Writable({
    objectMode: true,
    write(info: { level: string; message: string }, _enc, next) {
      lines.push(info);
      next();
    },
  });
  return { log: winston.createLogger({ level: 'debug', transports: [new winston.transports.Stream({ stream })] }), lines };
}

/** Structural check of a HandAnalysis as the node writes it; returns the problems found. */
export function handAnalysisProblems(a: HandAnalysis): string[] {
  const p: string[] = [];
  if (typeof a.source?.sopInstanceUID !== 'string' || !a.source.sopInstanceUID) p.push('source.sopInstanceUID');
  if (!(a.source?.rows > 0 && a.source?.columns > 0)) p.push('source rows/columns');
  if (!Array.isArray(a.models) || a.models.length !== 2) p.push('models');
  for (const [hi, h] of a.hands.entries()) {
    if (h.laterality !== 'L' && h.laterality !== 'R') p.push(`hands[${hi}].laterality`);
    if (!h.summary || !('notGraded' in h.summary ? Array.isArray(h.summary.notGraded) : typeof h.summary.svhJsn === 'number')) p.push(`hands[${hi}].summary`);
    for (const j of h.joints) {
      const at = `${h.laterality}-${j.site}`;
      if (!JOINT_SITES.includes(j.site)) p.push(`${at}: site`);
      if (![j.x, j.y, ...j.box, j.confidence].every(Number.isFinite)) p.push(`${at}: numbers`);
      if (!(j.box[0] <= j.x && j.x <= j.box[2] && j.box[1] <= j.y && j.y <= j.box[3])) p.push(`${at}: centre outside box`);
      if (j.notGraded) {
        if (!JOINT_NOT_GRADED_CAUSES.includes(j.notGraded.cause) || !j.notGraded.reason) p.push(`${at}: notGraded`);
        if (j.jsn || j.erosion || j.kl || j.severity.ra || j.severity.oa) p.push(`${at}: grades on a joint not graded`);
        continue;
      }
      for (const s of ['jsn', 'erosion', 'kl'] as const) {
        const g = j[s];
        const should = scoresFor(j.site).includes(s);
        if (!!g !== should) p.push(`${at}: ${s} ${should ? 'missing' : 'present'}`);
        if (!g) continue;
        if (g.probabilities.length !== MAX_GRADE[s] + 1) p.push(`${at}: ${s} length`);
        if (Math.abs(g.probabilities.reduce((x, y) => x + y, 0) - 1) > 1e-9) p.push(`${at}: ${s} sum`);
        if (g.probabilities[g.grade] !== Math.max(...g.probabilities)) p.push(`${at}: ${s} grade is not the argmax`);
      }
    }
  }
  return p;
}
