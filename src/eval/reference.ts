import type { HandAnalysis, HandResult } from '../analysis/hand-analysis.js';
import { JOINT_SITES, JSW_SITES, scoresFor, type JointSite, type Score } from '../analysis/joints.js';
import { gradingAgreement, predictedGrade, widthAgreement, type GradingAgreement, type WidthAgreement } from './metrics.js';
import { patternAgreement, type PatternAgreement, type ReferenceGrades } from './pattern.js';

/**
 * Real graded films as sites hold them, and how the models agree with them: the local
 * validation a site runs before go-live (docs/validation.md). Two layouts are read:
 *
 * - RA2-DREAM: one row per patient, `Patient_ID` then one column per hand joint and score,
 *   `LH_mcp_J__2` (left hand, MCP2, joint space narrowing), `RH_pip_E__3` (right PIP3,
 *   erosion), `LH_wrist_J__radcar` (radiocarpal narrowing), ...; the films are
 *   `<Patient_ID>-LH.<ext>` and `<Patient_ID>-RH.<ext>`. Foot columns are left out; the wrist
 *   erosion bones fall on the carpal site that shows them (multangulum STT, navicular and
 *   lunate CSL, radius and ulna RC), the worse of two bones counting.
 * - Plain: `file,site,jsn,erosion,kl`, one row per joint; `file` is the film's name (with or
 *   without extension, or a DICOM film's SOP Instance UID: cli/eval.ts pairs them), `site` is `MCP2` or `L-MCP2`, an empty cell is "not scored"; an
 *   optional `jsw_mm` column holds a measured joint space width (finger joints).
 */
export interface ReferenceJoint {
  jsn?: number;
  erosion?: number;
  kl?: number;
  jswMm?: number;
}

export interface ReferenceFilm {
  /** the film's name without folder and extension */
  film: string;
  laterality?: 'L' | 'R';
  joints: Map<JointSite, ReferenceJoint>;
}

export type ReferenceFormat = 'ra2-dream' | 'plain';

/** RA2-DREAM joint names -> our sites; narrowing (J) and erosion (E) columns. */
const RA2_SITES: Record<string, JointSite> = {
  pip_J__2: 'PIP2', pip_J__3: 'PIP3', pip_J__4: 'PIP4', pip_J__5: 'PIP5',
  mcp_J__1: 'MCP1', mcp_J__2: 'MCP2', mcp_J__3: 'MCP3', mcp_J__4: 'MCP4', mcp_J__5: 'MCP5',
  wrist_J__cmc3: 'CMC3', wrist_J__cmc4: 'CMC4', wrist_J__cmc5: 'CMC5',
  wrist_J__mna: 'STT', wrist_J__capnlun: 'CSL', wrist_J__radcar: 'RC',
  mcp_E__ip: 'IP1', pip_E__2: 'PIP2', pip_E__3: 'PIP3', pip_E__4: 'PIP4', pip_E__5: 'PIP5',
  mcp_E__1: 'MCP1', mcp_E__2: 'MCP2', mcp_E__3: 'MCP3', mcp_E__4: 'MCP4', mcp_E__5: 'MCP5',
  wrist_E__mc1: 'CMC1', wrist_E__mul: 'STT', wrist_E__nav: 'CSL', wrist_E__lunate: 'CSL',
  wrist_E__radius: 'RC', wrist_E__ulna: 'RC',
};

/** Cells split on commas outside double quotes. */
export function cells(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (const ch of line) {
    if (ch === '"') quoted = !quoted;
    else if (ch === ',' && !quoted) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  out.push(cur.trim());
  return out;
}

function grade(raw: string | undefined, where: string): number | undefined {
  if (raw === undefined || raw === '' || /^(na|nan|null|-)$/i.test(raw)) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${where}: "${raw}" is not a grade (a number from 0, or empty for not scored)`);
  return n;
}

export function detectFormat(header: string[]): ReferenceFormat {
  if (header.includes('Patient_ID') && header.some((h) => /^[LR]H_/.test(h))) return 'ra2-dream';
  if (['file', 'site'].every((k) => header.includes(k))) return 'plain';
  throw new Error(
    `unknown reference layout (header: ${header.slice(0, 6).join(', ')}...): expected RA2-DREAM (Patient_ID, LH_mcp_J__2, ...) or plain (file, site, jsn, erosion, kl)`,
  );
}

export function readReference(text: string, name = 'reference'): { format: ReferenceFormat; films: ReferenceFilm[] } {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) throw new Error(`${name}: empty`);
  const header = cells(lines[0]);
  const format = detectFormat(header);
  const rows = lines.slice(1).map(cells);
  return { format, films: format === 'ra2-dream' ? readRa2(header, rows, name) : readPlain(header, rows, name) };
}

function readRa2(header: string[], rows: string[][], name: string): ReferenceFilm[] {
  const films: ReferenceFilm[] = [];
  for (const [r, row] of rows.entries()) {
    const id = row[header.indexOf('Patient_ID')];
    for (const side of ['L', 'R'] as const) {
      const joints = new Map<JointSite, ReferenceJoint>();
      header.forEach((h, c) => {
        const m = new RegExp(`^${side}H_(.+)$`).exec(h);
        const site = m ? RA2_SITES[m[1]] : undefined;
        if (!site) return;
        const g = grade(row[c], `${name} row ${r + 2}, ${h}`);
        if (g === undefined) return;
        const j = joints.get(site) ?? {};
        if (m![1].includes('_J__')) j.jsn = g;
        else j.erosion = Math.max(j.erosion ?? 0, g);
        joints.set(site, j);
      });
      if (joints.size) films.push({ film: `${id}-${side}H`, laterality: side, joints });
    }
  }
  return films;
}

function readPlain(header: string[], rows: string[][], name: string): ReferenceFilm[] {
  const col = (k: string) => header.indexOf(k);
  const byFilm = new Map<string, ReferenceFilm>();
  for (const [r, row] of rows.entries()) {
    const where = `${name} row ${r + 2}`;
    const film = stem(row[col('file')] ?? '');
    const m = /^(?:([LR])-)?([A-Z0-9]+)$/i.exec(row[col('site')] ?? '');
    const site = m?.[2].toUpperCase() as JointSite | undefined;
    if (!film || !site || !JOINT_SITES.includes(site)) throw new Error(`${where}: site "${row[col('site')]}" is not one of ${JOINT_SITES.join(', ')} (optionally L- or R-)`);
    const entry = byFilm.get(film) ?? { film, joints: new Map(), ...(m?.[1] ? { laterality: m[1].toUpperCase() as 'L' | 'R' } : {}) };
    const j: ReferenceJoint = {};
    for (const score of ['jsn', 'erosion', 'kl'] as const) {
      if (col(score) < 0) continue;
      const g = grade(row[col(score)], `${where}, ${score}`);
      if (g !== undefined && scoresFor(site).includes(score)) j[score] = g;
    }
    const width = col('jsw_mm') < 0 ? '' : (row[col('jsw_mm')] ?? '').trim();
    if (width !== '') {
      const mm = Number(width);
      if (!(mm >= 0 && mm < 10)) throw new Error(`${where}, jsw_mm: "${width}" is not a joint space width in mm (0 to 10)`);
      if (!JSW_SITES.includes(site)) throw new Error(`${where}, jsw_mm: a joint space width is read at the finger joints only (${JSW_SITES.join(', ')}), not ${site}`);
      j.jswMm = mm;
    }
    entry.joints.set(site, j);
    byFilm.set(film, entry);
  }
  return [...byFilm.values()];
}

/** A file name without its folder and extension: how films and predictions are matched. */
export function stem(file: string): string {
  const base = file.split(/[\\/]/).pop() ?? file;
  return base.replace(/\.(dcm|png|jpe?g|json)$/i, '');
}

/**
 * How the reference's films pair with the image files found (by name without folder and
 * extension): reference films no image is named for (their joints count against coverage),
 * images the reference does not name (analysed, not scored), and names two images share (one
 * of them would be scored, which one by chance). A site whose films are named otherwise than
 * its reference sees every film "not analysed" and nothing else; this says which and why.
 */
export interface FilmPairing {
  missing: string[];
  unreferenced: string[];
  sharedNames: string[];
}

export function pairFilms(films: readonly Pick<ReferenceFilm, 'film'>[], files: readonly string[]): FilmPairing {
  const byStem = new Map<string, number>();
  for (const f of files) byStem.set(stem(f), (byStem.get(stem(f)) ?? 0) + 1);
  const named = new Set(films.map((f) => f.film));
  return {
    missing: films.map((f) => f.film).filter((f) => !byStem.has(f)),
    unreferenced: [...byStem.keys()].filter((s) => !named.has(s)).sort(),
    sharedNames: [...byStem].filter(([, n]) => n > 1).map(([s]) => s).sort(),
  };
}

export interface ReferenceAgreement {
  films: number;
  /** films with a prediction */
  analysed: number;
  /**
   * per score: agreement on joints graded by both, plus MAE, and what grade 0 called on every
   * one of those joints would agree (on films of mostly normal joints, exact agreement means
   * little until it beats that)
   */
  scores: Record<Score, GradingAgreement & { mae: number | null; allZero: { accuracy: number | null; withinOne: number | null } }>;
  /** referenced joint-scores that the models graded / all referenced joint-scores */
  coverage: { graded: number; referenced: number; share: number | null };
  /** on films the reference scores all zero: joints the models called mild or severe */
  allZeroFilms: { films: number; joints: number; calledMildOrSevere: number; share: number | null };
  /** the measured joint space width against the reference's `jsw_mm`; null where none pair */
  width: WidthAgreement | null;
  /** the hand's pattern against the one the reference's grades give (pattern.ts) */
  pattern: PatternAgreement;
  /** per score and joint group, on joints graded by both: where the models and the reference part */
  byGroup: GroupAgreement[];
}

/** The joints a site's readers look at together: where a model's reading departs tends to be one of these. */
export const JOINT_GROUPS = ['MCP2-5', 'PIP', 'DIP', 'thumb', 'CMC3-5', 'wrist'] as const;
export type JointGroup = (typeof JOINT_GROUPS)[number];

export function jointGroupOf(site: JointSite): JointGroup {
  if (site === 'IP1' || site === 'MCP1' || site === 'CMC1') return 'thumb';
  if (site.startsWith('MCP')) return 'MCP2-5';
  if (site.startsWith('PIP')) return 'PIP';
  if (site.startsWith('DIP')) return 'DIP';
  if (site.startsWith('CMC')) return 'CMC3-5';
  return 'wrist';
}

export interface GroupAgreement {
  score: Score;
  group: JointGroup;
  n: number;
  accuracy: number;
  withinOne: number;
  mae: number;
  /** mean (predicted - reference): above 0, the models read this group higher than the site's readers */
  bias: number;
}

/** Agreement per score and joint group over the rows graded by both, in JOINT_GROUPS order. */
export function groupAgreement(rows: readonly ReferenceJointRow[]): GroupAgreement[] {
  const out: GroupAgreement[] = [];
  for (const score of ['jsn', 'erosion', 'kl'] as const) {
    for (const group of JOINT_GROUPS) {
      const p = rows.filter((r) => r.score === score && r.predicted !== undefined && jointGroupOf(r.site.replace(/^[LR]-/, '') as JointSite) === group);
      if (p.length === 0) continue;
      const d = p.map((r) => r.predicted! - r.reference);
      out.push({
        score,
        group,
        n: p.length,
        accuracy: d.filter((x) => x === 0).length / p.length,
        withinOne: d.filter((x) => Math.abs(x) <= 1).length / p.length,
        mae: d.reduce((a, x) => a + Math.abs(x), 0) / p.length,
        bias: d.reduce((a, x) => a + x, 0) / p.length,
      });
    }
  }
  return out;
}

/** The predicted hand for a film: the one of the film's side, else the only one. */
function handFor(film: ReferenceFilm, analysis: HandAnalysis | undefined): HandResult | undefined {
  const hands = analysis?.hands ?? [];
  return hands.find((h) => h.laterality === film.laterality) ?? (hands.length === 1 ? hands[0] : undefined);
}

/**
 * One referenced joint score beside what the models made of it: the list a site reviews before
 * go-live (the joints two grades apart, say), film by film. `outcome` says why a score has no
 * prediction: the film was not analysed, no hand was graded on it (with the hand's cause where
 * one was found), the joint was not found, or it was found and not graded (with its cause).
 */
export interface ReferenceJointRow {
  film: string;
  site: string;
  score: Score;
  reference: number;
  predicted?: number;
  outcome: string;
}

export function referenceJointRows(
  films: readonly ReferenceFilm[],
  predictions: ReadonlyMap<string, HandAnalysis>,
  /** why a film has no analysis (no image, the selection rule that skipped it, a read failure), by film name */
  notAnalysed: ReadonlyMap<string, string> = new Map(),
): ReferenceJointRow[] {
  const rows: ReferenceJointRow[] = [];
  for (const film of films) {
    const analysis = predictions.get(film.film);
    const hand = handFor(film, analysis);
    const handCause = analysis?.notGraded?.find((n) => !film.laterality || n.laterality === film.laterality)?.cause;
    const found = new Map((hand?.joints ?? []).map((j) => [j.site, j]));
    for (const [site, ref] of film.joints) {
      for (const score of ['jsn', 'erosion', 'kl'] as const) {
        if (ref[score] === undefined) continue;
        const joint = found.get(site);
        const g = joint?.notGraded ? undefined : joint?.[score];
        const outcome = g
          ? 'graded'
          : !analysis
            ? `film not analysed${notAnalysed.has(film.film) ? ` (${notAnalysed.get(film.film)})` : ''}`
            : !hand
              ? `no hand graded${handCause ? ` (${handCause})` : ''}`
              : whyJointUngraded(joint, score, site);
        const name = film.laterality ? `${film.laterality}-${site}` : site;
        rows.push({ film: film.film, site: name, score, reference: ref[score]!, ...(g ? { predicted: predictedGrade(g) } : {}), outcome });
      }
    }
  }
  return rows;
}

/** Why a joint of a graded hand has no grade for `score`: not found, not graded (its cause), or not scored there. */
function whyJointUngraded(joint: HandResult['joints'][number] | undefined, score: Score, site: JointSite): string {
  if (!joint) return 'joint not found';
  if (joint.notGraded) return `not graded (${joint.notGraded.cause})`;
  return `not graded for ${score} at ${site}`;
}

/** The rows as CSV, a header line first (film names quoted where they hold a comma or a quote). */
export function referenceJointCsv(rows: readonly ReferenceJointRow[]): string {
  const cell = (v: string | number | undefined) => (v === undefined ? '' : /[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
  const lines = rows.map((r) => [r.film, r.site, r.score, r.reference, r.predicted, r.outcome].map(cell).join(','));
  return ['film,site,score,reference,predicted,outcome', ...lines].join('\n') + '\n';
}

/** A joint called mild or severe: JSN >= 1, erosion >= 1 or KL >= 2 (real-check counts the same). */
export const calledMildOrSevere = (j: HandResult['joints'][number]) =>
  (j.jsn ? predictedGrade(j.jsn) >= 1 : false) || (j.erosion ? predictedGrade(j.erosion) >= 1 : false) || (j.kl ? predictedGrade(j.kl) >= 2 : false);

export function referenceAgreement(films: readonly ReferenceFilm[], predictions: ReadonlyMap<string, HandAnalysis>): ReferenceAgreement {
  // the joint scores both give, from the same rows a site reviews (referenceJointRows)
  const rows = referenceJointRows(films, predictions);
  const pairs = Object.fromEntries(
    (['jsn', 'erosion', 'kl'] as const).map((s) => [s, rows.flatMap((r) => (r.score === s && r.predicted !== undefined ? [{ truth: r.reference, predicted: r.predicted }] : []))]),
  ) as Record<Score, { truth: number; predicted: number }[]>;
  const referenced = rows.length;
  const graded = rows.filter((r) => r.predicted !== undefined).length;
  const widths: { truth: number; predicted: number }[] = [];
  const zero = { films: 0, joints: 0, calledMildOrSevere: 0 };
  const patternPairs: { reference: ReferenceGrades; hand: HandResult }[] = [];
  let analysed = 0;
  for (const film of films) {
    const analysis = predictions.get(film.film);
    if (analysis) analysed++;
    const hand = handFor(film, analysis);
    const found = new Map((hand?.joints ?? []).map((j) => [j.site, j]));
    for (const [site, ref] of film.joints) {
      const measured = found.get(site)?.jswMm;
      if (ref.jswMm !== undefined && measured !== undefined) widths.push({ truth: ref.jswMm, predicted: measured });
    }
    const allZero = [...film.joints.values()].every((j) => (j.jsn ?? 0) === 0 && (j.erosion ?? 0) === 0 && (j.kl ?? 0) === 0);
    if (hand) patternPairs.push({ reference: film.joints, hand });
    if (allZero && hand) {
      zero.films++;
      const graded = hand.joints.filter((j) => !j.notGraded);
      zero.joints += graded.length;
      zero.calledMildOrSevere += graded.filter(calledMildOrSevere).length;
    }
  }
  const scores = Object.fromEntries(
    (['jsn', 'erosion', 'kl'] as const).map((s) => {
      const p = pairs[s];
      const mae = p.length ? p.reduce((a, x) => a + Math.abs(x.truth - x.predicted), 0) / p.length : null;
      const zero = gradingAgreement(s, p.map(({ truth }) => ({ truth, predicted: 0 })));
      return [s, { ...gradingAgreement(s, p), mae, allZero: { accuracy: zero.accuracy, withinOne: zero.withinOne } }];
    }),
  ) as ReferenceAgreement['scores'];
  return {
    films: films.length,
    analysed,
    scores,
    coverage: { graded, referenced, share: referenced ? graded / referenced : null },
    allZeroFilms: { ...zero, share: zero.joints ? zero.calledMildOrSevere / zero.joints : null },
    width: widthAgreement(widths),
    pattern: patternAgreement(patternPairs),
    byGroup: groupAgreement(rows),
  };
}
