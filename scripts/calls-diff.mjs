#!/usr/bin/env node
// Which joints two runs of the node call mild or severe, joint by joint: the change lists in
// docs/evaluation.md (a new grader against the last, on real-check's films). Reads two
// `jointscore analyze --json` outputs of the same films (a file holding one analysis or an
// array), made with two models folders; a joint counts as called as real-check counts it
// (src/eval/reference.ts calledMildOrSevere: JSN >= 1, erosion >= 1 or KL >= 2). Prints each side's graded and called joints
// and its hands by pattern (the summary the SR states: RA-like, OA-like, mixed, normal), then the joints called on one side
// only, by film UID, hand and site, with both sides' grades, and the hands whose pattern differs.
//   node bin/jointscore.js analyze FILMS --json > before.json    # with the earlier models in models/
//   node bin/jointscore.js analyze FILMS --json > after.json
//   node scripts/calls-diff.mjs before.json after.json
import { readFileSync } from 'node:fs';
import { calledMildOrSevere } from '../dist/eval/reference.js';

const SCORES = ['jsn', 'erosion', 'kl'];

/** The analyses of a file holding one or an array. */
const analysesIn = (path) => [JSON.parse(readFileSync(path, 'utf8'))].flat();

/** film UID / hand / site -> joint, for every joint with a grade. */
function gradedJoints(analyses) {
  const out = new Map();
  for (const a of analyses) {
    for (const h of a.hands ?? []) {
      for (const j of h.joints) {
        if (SCORES.some((s) => j[s]?.grade !== undefined)) out.set(`${a.source.sopInstanceUID} ${h.laterality}-${j.site}`, j);
      }
    }
  }
  return out;
}

/** film UID / hand -> the hand's stated pattern */
function patterns(analyses) {
  const out = new Map();
  for (const a of analyses) for (const h of a.hands ?? []) out.set(`${a.source.sopInstanceUID} ${h.laterality}`, h.summary?.pattern);
  return out;
}

const isCalled = (j) => (j ? calledMildOrSevere(j) : false);
const shown = (j) => (j ? SCORES.filter((s) => j[s]?.grade !== undefined).map((s) => `${s} ${j[s].grade}`).join(', ') : 'not graded');

const [beforePath, afterPath] = process.argv.slice(2);
if (!afterPath) {
  console.error('usage: node scripts/calls-diff.mjs before.json after.json');
  process.exit(2);
}
const [analysesBefore, analysesAfter] = [analysesIn(beforePath), analysesIn(afterPath)];
const before = gradedJoints(analysesBefore);
const after = gradedJoints(analysesAfter);
/** Joints found on a hand and reported not graded (`notGraded`, with the reason). */
const notGradedIn = (analyses) => analyses.flatMap((a) => (a.hands ?? []).flatMap((h) => h.joints)).filter((j) => j.notGraded).length;
for (const [name, side, analyses] of [['before', before, analysesBefore], ['after', after, analysesAfter]]) {
  const called = [...side.values()].filter(isCalled).length;
  console.log(`${name}: ${side.size} graded joints, ${called} called mild or severe (${((100 * called) / Math.max(side.size, 1)).toFixed(1)} %), ${notGradedIn(analyses)} found and not graded`);
}
const [patternsBefore, patternsAfter] = [patterns(analysesBefore), patterns(analysesAfter)];
for (const [name, side] of [['before', patternsBefore], ['after', patternsAfter]]) {
  const counts = {};
  for (const p of side.values()) counts[p] = (counts[p] ?? 0) + 1;
  console.log(`${name}: ${side.size} hands, by pattern ${Object.entries(counts).sort().map(([p, n]) => `${p} ${n}`).join(', ')}`);
}
for (const key of [...new Set([...before.keys(), ...after.keys()])].sort()) {
  const [b, a] = [before.get(key), after.get(key)];
  if (isCalled(b) !== isCalled(a)) console.log(`${isCalled(a) ? '+' : '-'} ${key}: ${shown(b)} -> ${shown(a)}`);
}
for (const key of [...new Set([...patternsBefore.keys(), ...patternsAfter.keys()])].sort()) {
  const [b, a] = [patternsBefore.get(key) ?? 'no hand', patternsAfter.get(key) ?? 'no hand'];
  if (b !== a) console.log(`pattern ${key}: ${b} -> ${a}`);
}
