#!/usr/bin/env node
// Which joints two runs of the node call mild or severe, joint by joint: the change lists in
// docs/evaluation.md (a new grader against the last, on real-check's films). Reads two
// `jointscore analyze --json` outputs of the same films (a file holding one analysis or an
// array), made with two models folders; a joint counts as called as real-check counts it
// (JSN >= 1, erosion >= 1 or KL >= 2). Prints each side's graded and called joints, then the
// joints called on one side only, by film UID, hand and site, with both sides' grades.
//   node bin/jointscore.js analyze FILMS --json > before.json    # with the earlier models in models/
//   node bin/jointscore.js analyze FILMS --json > after.json
//   node scripts/calls-diff.mjs before.json after.json
import { readFileSync } from 'node:fs';

const SCORES = ['jsn', 'erosion', 'kl'];
const calledAt = { jsn: 1, erosion: 1, kl: 2 };

/** film UID / hand / site -> grades, for every joint with a grade. */
function gradedJoints(path) {
  const out = new Map();
  for (const a of [JSON.parse(readFileSync(path, 'utf8'))].flat()) {
    for (const h of a.hands ?? []) {
      for (const j of h.joints) {
        const grades = Object.fromEntries(SCORES.filter((s) => j[s]?.grade !== undefined).map((s) => [s, j[s].grade]));
        if (Object.keys(grades).length) out.set(`${a.source.sopInstanceUID} ${h.laterality}-${j.site}`, grades);
      }
    }
  }
  return out;
}

const isCalled = (g) => SCORES.some((s) => (g?.[s] ?? 0) >= calledAt[s]);
const shown = (g) => (g ? SCORES.filter((s) => g[s] !== undefined).map((s) => `${s} ${g[s]}`).join(', ') : 'not graded');

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
