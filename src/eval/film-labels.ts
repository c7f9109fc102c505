import type { HandAnalysis } from '../analysis/hand-analysis.js';
import type { Score } from '../analysis/joints.js';
import { cells, stem } from './reference.js';

/**
 * Labels a site holds per film rather than per joint ("erosive", "RA", "hand OA"), and how well
 * the models' film scores separate them: the AUC of each score (the largest expected grade,
 * sum k x p_k, over the film's graded joints; 0 where none is graded) against each label. The
 * real-check's RA wrists (erosive against not) are read so. A CSV: `file`, then one column per
 * label, 1 (yes) or 0 (no), an empty cell not labelled.
 */
export interface FilmLabels {
  labels: string[];
  films: { film: string; values: Record<string, 0 | 1> }[];
}

export function readFilmLabels(text: string, name = 'labels'): FilmLabels {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = cells(lines[0] ?? '');
  if (header[0] !== 'file' || header.length < 2) throw new Error(`${name}: expected the columns file,<label>,...; got ${header.join(',')}`);
  const labels = header.slice(1);
  const films = lines.slice(1).map((line, r) => {
    const row = cells(line);
    const values: Record<string, 0 | 1> = {};
    for (const [k, label] of labels.entries()) {
      const v = row[k + 1] ?? '';
      if (v === '') continue;
      if (v !== '0' && v !== '1') throw new Error(`${name} row ${r + 2}, ${label}: "${v}" is not 0 or 1`);
      values[label] = Number(v) as 0 | 1;
    }
    return { film: stem(row[0]), values };
  });
  return { labels, films };
}

/** The film's score for one grade: the largest expected grade over its graded joints (0 where none). */
export function filmScore(analysis: HandAnalysis, score: Score): number {
  let best = 0;
  for (const j of analysis.hands.flatMap((h) => h.joints)) {
    const p = j.notGraded ? undefined : j[score]?.probabilities;
    if (p) best = Math.max(best, p.reduce((s, q, k) => s + k * q, 0));
  }
  return best;
}

export interface LabelAgreement {
  label: string;
  positives: number;
  negatives: number;
  /** labelled films with at least one graded joint */
  read: number;
  /** AUC of each film score: P(a positive film scores above a negative one), ties half */
  auc: Record<Score, number | null>;
}

export function labelAgreement(labels: FilmLabels, predictions: ReadonlyMap<string, HandAnalysis>): LabelAgreement[] {
  return labels.labels.map((label) => {
    const films = labels.films.filter((f) => f.values[label] !== undefined && predictions.has(f.film));
    const scored = (s: Score) => films.map((f) => ({ y: f.values[label], v: filmScore(predictions.get(f.film)!, s) }));
    const read = films.filter((f) => predictions.get(f.film)!.hands.some((h) => h.joints.some((j) => !j.notGraded))).length;
    return {
      label,
      positives: films.filter((f) => f.values[label] === 1).length,
      negatives: films.filter((f) => f.values[label] === 0).length,
      read,
      auc: { jsn: auc(scored('jsn')), erosion: auc(scored('erosion')), kl: auc(scored('kl')) },
    };
  });
}

function auc(xs: { y: 0 | 1; v: number }[]): number | null {
  const pos = xs.filter((x) => x.y === 1).map((x) => x.v);
  const neg = xs.filter((x) => x.y === 0).map((x) => x.v);
  if (!pos.length || !neg.length) return null;
  let s = 0;
  for (const a of pos) for (const b of neg) s += a > b ? 1 : a === b ? 0.5 : 0;
  return s / (pos.length * neg.length);
}
