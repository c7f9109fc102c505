#!/usr/bin/env node
// How close the finger joints the node grades lie to the nearest other finger joint of their
// hand, in mm: the evidence for abstention.ts's `overlapMm` (docs/evaluation.md, "Real film:
// what kind of film is this"). Reads HandAnalysis JSON: `jointscore analyze --json` output (a
// file holding one analysis or an array), or a folder of per-image JSON (`eval`'s predictions).
//   npx tsc -p . && node scripts/nearest-joints.mjs docs/eval/synthetic-wider/predictions
//   N=25 node scripts/nearest-joints.mjs rp.json      # the 25 closest, with their files' UIDs
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
// the finger joints abstention.ts compares: those with a joint space width
import { JSW_SITES } from '../dist/analysis/joints.js';

function analysesIn(path) {
  const files = statSync(path).isDirectory() ? readdirSync(path).filter((f) => f.endsWith('.json')).map((f) => join(path, f)) : [path];
  return files.flatMap((file) => [JSON.parse(readFileSync(file, 'utf8'))].flat().map((a) => ({ file, a })));
}

/** Each graded finger joint with the distance (mm) to its hand's nearest other finger joint, graded or not. */
function nearest({ file, a }) {
  const [sr, sc] = a.source.pixelSpacingMm;
  return a.hands.flatMap((h) => {
    const fingers = h.joints.filter((j) => JSW_SITES.includes(j.site));
    return fingers
      .filter((j) => j.jsn || j.erosion || j.kl)
      .map((j) => {
        const others = fingers.filter((k) => k !== j).map((k) => ({ site: k.site, mm: Math.hypot((j.x - k.x) * sc, (j.y - k.y) * sr) }));
        const near = others.reduce((m, o) => (o.mm < m.mm ? o : m), { site: '-', mm: Infinity });
        return { mm: near.mm, to: near.site, site: `${h.laterality}-${j.site}`, uid: a.source.sopInstanceUID, file };
      });
  });
}

const rows = process.argv.slice(2).flatMap(analysesIn).flatMap(nearest).sort((x, y) => x.mm - y.mm);
if (!rows.length) throw new Error('no graded finger joints in the files given');
const at = (q) => rows[Math.floor(q * (rows.length - 1))].mm.toFixed(1);
console.log(`${rows.length} graded finger joints; nearest other finger joint, mm: least ${at(0)}, 1st percentile ${at(0.01)}, 5th ${at(0.05)}, median ${at(0.5)}`);
for (const r of rows.slice(0, Number(process.env.N ?? 10))) console.log(`${r.mm.toFixed(1)} mm  ${r.site} <-> ${r.to}  ${r.uid}  ${r.file}`);
