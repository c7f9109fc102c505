#!/usr/bin/env node
// Which joints two runs of the node call mild or severe, joint by joint: the change lists in
// docs/evaluation.md (a new grader against the last, on real-check's films). Reads two
// `jointscore analyze --json` outputs of the same films (a file holding one analysis or an
// array), made with two models folders; a joint counts as called as real-check counts it
// (src/eval/reference.ts calledMildOrSevere: JSN >= 1, erosion >= 1 or KL >= 2). Prints each side's graded and called joints, then the
// joints called on one side only, by film UID, hand and site, with both sides' grades.
//   node bin/jointscore.js analyze FILMS --json > before.json    # with the earlier models in models/
//   node bin/jointscore.js analyze FILMS --json > after.json
//   node scripts/calls-diff.mjs before.json after.json
import { readFileSync } from 'node:fs';
import { calledMildOrSevere } from '../dist/eval/reference.js';

const SCORES = ['jsn', 'erosion', 'kl'];

/** film UID / hand / site -> joint, for every joint with a grade. */
function gradedJoints(path) {
  const out = new Map();
  for (const a of [JSON.parse(readFileSync(path, 'utf8'))].flat()) {
    for (const h of a.hands ?? []) {
      for (const j of h.joints) {
        if (SCORES.some((s) => j[s]?.grade !== undefined)) out.set(`${a.source.sopInstanceUID} ${h.laterality}-${j.site}`, j);
      }
    }
  }
  return out;
}

const isCalled = (j) => (j ? calledMildOrSevere(j) : false);
const shown = (j) => (j ? SCORES.filter((s) => j[s]?.grade !== undefined).map((s) => `${s} ${j[s].grade}`).join(', ') : 'not graded');

const [beforePath, afterPath] = process.argv.slice(2);
if (!afterPath) {
  console.error('usage: node scripts/calls-diff.mjs before.json after.json');
  process.exit(2);
}
const before = gradedJoints(beforePath);
const after = gradedJoints(afterPath);
for (const [name, side] of [['before', before], ['after', after]]) {
  const called = [...side.values()].filter(isCalled).length;
  console.log(`${name}: ${side.size} graded joints, ${called} called mild or severe (${((100 * called) / Math.max(side.size, 1)).toFixed(1)} %)`);
}
for (const key of [...new Set([...before.keys(), ...after.keys()])].sort()) {
  const [b, a] = [before.get(key), after.get(key)];
  if (isCalled(b) !== isCalled(a)) console.log(`${isCalled(a) ? '+' : '-'} ${key}: ${shown(b)} -> ${shown(a)}`);
}
