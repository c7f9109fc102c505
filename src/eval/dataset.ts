import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { JOINT_NOT_GRADED_CAUSES, type GradeResult, type HandAnalysis, type HandResult, type JointNotGraded, type JointResult } from '../analysis/hand-analysis.js';
import { JOINT_SITES, MAX_GRADE, type JointSite, type Score } from '../analysis/joints.js';
import { summarizeHand } from '../analysis/severity.js';
import { JointscoreError } from '../errors.js';

/**
 * Reading an evaluation's inputs: folders of HandAnalysis JSON files (ground truth as
 * `jointscore phantom` writes it, `<name>.json` beside `<name>.dcm`; predictions as
 * `jointscore analyze --out` writes them), checked field by field so that every error names
 * the file, the field and what was expected.
 */
export class DatasetError extends JointscoreError {
  readonly kind = 'input' as const;
  constructor(message: string) {
    super(message);
    this.name = 'DatasetError';
  }
}

export type Role = 'ground truth' | 'prediction';

export interface LoadedAnalysis {
  file: string;
  analysis: HandAnalysis;
}

type Json = unknown;
const isObject = (v: Json): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNum = (v: Json): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * Checks a parsed JSON value against the HandAnalysis schema (the parts eval reads) and
 * returns it typed. For ground truth, a grade without probabilities gets a one-hot vector
 * (a site's own labels need not invent probabilities); a prediction must give them.
 */
export function validateHandAnalysis(value: Json, file: string, role: Role): HandAnalysis {
  const fail: Fail = (path, expected, got) => {
    const shown = got === undefined ? 'it is missing' : `got ${JSON.stringify(got)?.slice(0, 60)}`;
    throw new DatasetError(`${file}: ${path}: expected ${expected}, ${shown} (${role} file in the HandAnalysis schema, docs/design.md)`);
  };
  if (!isObject(value)) return fail('(top level)', 'a JSON object', value);
  const source = validSource(value.source, fail);
  if (value.models !== undefined && !Array.isArray(value.models)) fail('models', 'an array', value.models);
  if (!Array.isArray(value.hands)) return fail('hands', 'an array of hands', value.hands);
  const hands = value.hands.map((h: Json, hi: number) => validHand(h, `hands[${hi}]`, role, fail));
  const gt = value.groundTruth;
  if (gt !== undefined && (!isObject(gt) || typeof gt.generator !== 'string')) {
    fail('groundTruth.generator', 'a string (what made the labels)', isObject(gt) ? gt.generator : gt);
  }
  return {
    source,
    models: (value.models ?? []) as HandAnalysis['models'],
    hands,
    ...(gt !== undefined ? { groundTruth: gt as HandAnalysis['groundTruth'] } : {}),
  };
}

/** Throws a DatasetError naming the file, the path in it, what was expected and what was found. */
type Fail = (path: string, expected: string, got?: Json) => never;

function validSource(source: Json, fail: Fail): HandAnalysis['source'] {
  if (!isObject(source)) return fail('source', 'an object with sopInstanceUID, rows, columns', source);
  if (typeof source.sopInstanceUID !== 'string' || source.sopInstanceUID === '') {
    fail('source.sopInstanceUID', 'a non-empty string', source.sopInstanceUID);
  }
  for (const k of ['rows', 'columns'] as const) {
    if (!isNum(source[k]) || (source[k] as number) <= 0) fail(`source.${k}`, 'a positive number', source[k]);
  }
  if (source.pixelSpacingMm !== undefined) {
    const s = source.pixelSpacingMm;
    if (!Array.isArray(s) || s.length !== 2 || !s.every((v) => isNum(v) && v > 0)) {
      fail('source.pixelSpacingMm', '[row spacing, column spacing] in mm, two positive numbers', s);
    }
  }
  return {
    sopInstanceUID: source.sopInstanceUID as string,
    rows: source.rows as number,
    columns: source.columns as number,
    ...(source.pixelSpacingMm ? { pixelSpacingMm: source.pixelSpacingMm as [number, number] } : {}),
  };
}

function validHand(h: Json, hp: string, role: Role, fail: Fail): HandResult {
  if (!isObject(h)) return fail(hp, 'an object', h);
  if (h.laterality !== 'L' && h.laterality !== 'R') fail(`${hp}.laterality`, '"L" or "R"', h.laterality);
  if (!Array.isArray(h.joints)) return fail(`${hp}.joints`, 'an array of joints', h.joints);
  const joints = h.joints.map((j: Json, ji: number) => validJoint(j, `${hp}.joints[${ji}]`, role, fail));
  return {
    laterality: h.laterality as 'L' | 'R',
    joints,
    // from the joints, whatever the file says: the file's may be absent, or from before a hand with no joint graded said so
    summary: summarizeHand(joints),
  };
}

function validJoint(j: Json, jp: string, role: Role, fail: Fail): JointResult {
  if (!isObject(j)) return fail(jp, 'an object', j);
  if (typeof j.site !== 'string' || !(JOINT_SITES as readonly string[]).includes(j.site)) {
    fail(`${jp}.site`, `one of ${JOINT_SITES.join(', ')}`, j.site);
  }
  const site = j.site as JointSite;
  for (const k of ['x', 'y'] as const) if (!isNum(j[k])) fail(`${jp}.${k} (${site})`, 'a number', j[k]);
  const box = j.box;
  if (!Array.isArray(box) || box.length !== 4 || !box.every(isNum)) {
    fail(`${jp}.box (${site})`, '[x0, y0, x1, y1], four numbers', box);
  }
  const b = box as number[];
  if (!(b[2] > b[0] && b[3] > b[1])) fail(`${jp}.box (${site})`, 'x1 > x0 and y1 > y0', box);
  // a site's own labels may leave out the confidence: a true joint is certain
  if (j.confidence === undefined && role === 'ground truth') j.confidence = 1;
  if (!isNum(j.confidence) || j.confidence < 0 || j.confidence > 1) {
    fail(`${jp}.confidence (${site})`, 'a number from 0 to 1', j.confidence);
  }
  const [jsn, erosion, kl] = (['jsn', 'erosion', 'kl'] as const).map((score) => validGrade(j[score], `${jp}.${score} (${site})`, score, role, fail));
  if (j.jswMm !== undefined && !(typeof j.jswMm === 'number' && j.jswMm >= 0)) fail(`${jp}.jswMm (${site})`, 'a joint space width in mm, 0 or more', j.jswMm);
  return {
    site,
    x: j.x as number,
    y: j.y as number,
    box: [b[0], b[1], b[2], b[3]],
    confidence: j.confidence as number,
    ...(jsn ? { jsn } : {}),
    ...(erosion ? { erosion } : {}),
    ...(kl ? { kl } : {}),
    ...(typeof j.jswMm === 'number' ? { jswMm: j.jswMm } : {}),
    severity: isObject(j.severity) ? (j.severity as JointResult['severity']) : {},
    ...(j.notGraded === undefined ? {} : { notGraded: validNotGraded(j.notGraded, `${jp}.notGraded (${site})`, fail) }),
  };
}

/** A joint's grade of one score; ground truth may leave out the probabilities (one-hot then). */
function validGrade(g: Json, gp: string, score: Score, role: Role, fail: Fail): GradeResult | undefined {
  if (g === undefined) return undefined;
  const max = MAX_GRADE[score];
  if (!isObject(g)) return fail(gp, 'an object with grade and probabilities', g);
  if (!Number.isInteger(g.grade) || (g.grade as number) < 0 || (g.grade as number) > max) {
    fail(`${gp}.grade`, `an integer from 0 to ${max}`, g.grade);
  }
  let probabilities = g.probabilities;
  if (probabilities === undefined && role === 'ground truth') {
    probabilities = Array.from({ length: max + 1 }, (_, i) => (i === g.grade ? 1 : 0));
  }
  if (!Array.isArray(probabilities) || probabilities.length !== max + 1 || !probabilities.every((p) => isNum(p) && p >= 0 && p <= 1)) {
    fail(`${gp}.probabilities`, `${max + 1} numbers from 0 to 1, one per grade`, probabilities);
  }
  return { grade: g.grade as number, probabilities: probabilities as number[] };
}

function validNotGraded(v: Json, path: string, fail: Fail): JointNotGraded {
  const cause = JOINT_NOT_GRADED_CAUSES.find((c) => isObject(v) && v.cause === c);
  if (!isObject(v) || !cause || typeof v.reason !== 'string') {
    return fail(path, `{"cause": ${JOINT_NOT_GRADED_CAUSES.map((c) => `"${c}"`).join(' | ')}, "reason": "..."}`, v);
  }
  return { cause, reason: v.reason };
}

/** Parses and checks one file's text. */
export function parseAnalysis(text: string, file: string, role: Role): HandAnalysis {
  let value: Json;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new DatasetError(`${file}: not valid JSON (${(err as Error).message}); expected a ${role} file in the HandAnalysis schema`);
  }
  return validateHandAnalysis(value, file, role);
}

/**
 * Every `*.json` file of a folder (not recursive), sorted by name, parsed and checked. Two
 * files describing the same source.sopInstanceUID are an error naming both.
 */
export function loadAnalysisDir(dir: string, role: Role): LoadedAnalysis[] {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new DatasetError(`${dir}: not a folder (expected a folder of ${role} JSON files)`);
    names = readdirSync(dir);
  } catch (err) {
    if (err instanceof DatasetError) throw err;
    throw new DatasetError(`${dir}: cannot read the ${role} folder (${(err as Error).message})`);
  }
  const files = names.filter((n) => n.toLowerCase().endsWith('.json')).sort();
  if (files.length === 0) throw new DatasetError(`${dir}: no .json files (expected ${role} files in the HandAnalysis schema, <name>.json)`);
  const out: LoadedAnalysis[] = [];
  const byUid = new Map<string, string>();
  for (const name of files) {
    const file = join(dir, name);
    const analysis = parseAnalysis(readFileSync(file, 'utf8'), file, role);
    const uid = analysis.source.sopInstanceUID;
    const other = byUid.get(uid);
    if (other) throw new DatasetError(`${file}: source.sopInstanceUID ${uid} is already described by ${other}; one ${role} file per image`);
    byUid.set(uid, file);
    out.push({ file, analysis });
  }
  return out;
}

export interface Pairing {
  /** ground-truth files without a prediction */
  missed: LoadedAnalysis[];
  /** prediction files without ground truth */
  unexpected: LoadedAnalysis[];
  /** pairs, in the ground truth's order */
  pairs: { truth: LoadedAnalysis; prediction: LoadedAnalysis }[];
}

/** Pairs ground truth and predictions by source.sopInstanceUID. */
export function pairByInstance(truths: readonly LoadedAnalysis[], predictions: readonly LoadedAnalysis[]): Pairing {
  const preds = new Map(predictions.map((p) => [p.analysis.source.sopInstanceUID, p]));
  const truthUids = new Set(truths.map((t) => t.analysis.source.sopInstanceUID));
  const pairs: Pairing['pairs'] = [];
  const missed: LoadedAnalysis[] = [];
  for (const t of truths) {
    const p = preds.get(t.analysis.source.sopInstanceUID);
    if (p) pairs.push({ truth: t, prediction: p });
    else missed.push(t);
  }
  const unexpected = predictions.filter((p) => !truthUids.has(p.analysis.source.sopInstanceUID));
  return { missed, unexpected, pairs };
}
