// Real-film check of the growth-plate check (src/inference/physes.ts): for each film, each
// hand the node would grade, its growth-plate evidence (median over the finger joints, and
// the share of joints past the joint bound) and the verdict, beside what a list counted by eye
// says the film shows ("child" or "adult"; docs/eval/real-films/). Counts the children found
// and the adults taken for children. Not a test: the films are not part of the project.
// Build first (`npx tsc -p .`), then
//   node scripts/growth-plates.mjs <folder of films> <list.csv: file,shows> [models folder] [--films]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyseObject, analysisPolicy } from '../dist/pipeline/analyse-object.js';
import { loadModels } from '../dist/inference/models.js';
import { isImmature, openPhysesOfHands } from '../dist/inference/physes.js';
import { DEFAULT_CONFIG } from '../dist/config/defaults.js';
import { logger } from '../dist/observability/logger.js';
import { filmListArgs } from './film-list.mjs';

const { dir, rows, modelsDir, perFilm } = filmListArgs('growth-plates.mjs');
const models = await loadModels(modelsDir, { provider: 'cpu' });
// every age graded, so that the evidence is measured on every hand the node would grade
const policy = analysisPolicy({ ...DEFAULT_CONFIG.analysis, minGradingAgeYears: 0 });
const log = logger();
const count = new Map();
const range = { child: [], adult: [] };
for (const { file, shows } of rows) {
  const { analysis, display } = await analyseObject(readFileSync(join(dir, file)), file, models, policy, log);
  // measured as serving measures it: at the scale the joints were read at
  const byHand = openPhysesOfHands({ ...display, pixelSpacingMm: analysis.source.jointsReadAtMm ?? analysis.source.pixelSpacingMm }, analysis.hands);
  if (byHand.size === 0) {
    if (perFilm) console.log(`${file}\t${shows}\tno hand to judge`);
    continue;
  }
  const immature = [...byHand.values()].some(isImmature);
  const key = `${shows}: ${immature ? 'not graded, open growth plates' : 'graded'}`;
  count.set(key, (count.get(key) ?? 0) + 1);
  for (const o of byHand.values()) range[shows]?.push(o.median);
  if (perFilm) console.log(`${file}\t${shows}\t${[...byHand].map(([side, o]) => `${side}: median ${o.median.toFixed(3)}, share ${o.share.toFixed(2)} of ${o.joints}`).join('; ')}\t${immature ? 'IMMATURE' : 'graded'}`);
}
console.log('| film shows: outcome | films |\n|---|---:|');
for (const [k, n] of [...count].sort()) console.log(`| ${k} | ${n} |`);
for (const [k, xs] of Object.entries(range)) if (xs.length) console.log(`${k} hands: median evidence ${Math.min(...xs).toFixed(3)}-${Math.max(...xs).toFixed(3)}`);
