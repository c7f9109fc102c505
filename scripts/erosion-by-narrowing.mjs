#!/usr/bin/env node
// Erosion called at the wrist bones of phantoms, by their true narrowing: the phantom never
// erodes the carpus, so every call there is a collapse read as erosion (docs/evaluation.md,
// "Real film: erosion at the wrist bones"). Reads `jointscore eval`'s predictions folder and the
// phantom set it was run on (truth JSON beside each DICOM).
//   node scripts/erosion-by-narrowing.mjs docs/eval/synthetic-wider/predictions out/test-wider
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WRIST_BONE_SITES } from '../dist/analysis/joints.js';

const [predDir, truthDir] = process.argv.slice(2);
const byJsn = new Map();
for (const file of readdirSync(predDir).filter((f) => f.endsWith('.json'))) {
  const predicted = [JSON.parse(readFileSync(join(predDir, file), 'utf8'))].flat()[0];
  const truth = JSON.parse(readFileSync(join(truthDir, file), 'utf8'));
  for (const h of predicted.hands) {
    const true_ = new Map(truth.hands.find((t) => t.laterality === h.laterality)?.joints.map((j) => [j.site, j]) ?? []);
    for (const j of h.joints.filter((k) => WRIST_BONE_SITES.includes(k.site) && k.erosion && true_.has(k.site))) {
      const jsn = true_.get(j.site).jsn.grade;
      const n = byJsn.get(jsn) ?? { sites: 0, called: 0 };
      byJsn.set(jsn, { sites: n.sites + 1, called: n.called + (j.erosion.grade >= 1 ? 1 : 0) });
    }
  }
}
for (const [jsn, n] of [...byJsn].sort((a, b) => a[0] - b[0])) console.log(`true JSN ${jsn}: erosion called at ${n.called} of ${n.sites} wrist-bone sites`);
