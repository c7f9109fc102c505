// Real-film check of how the grades hold as a film gets coarser: each PA hand of a by-eye list
// (docs/eval/real-films/, one view on the film) analysed as stored and made 2, 3, 4 and 6 times
// smaller (sharp, Lanczos), as a thumbnail or a screenshot shrunk for a key image would be. Per
// scale: the spacing the joints were graded at (the films carry none: it is estimated from the
// hand), the joints found with a grade and those called mild or severe among them, and the joints
// left ungraded as the film is too coarse (abstention.ts ABSTENTION.maxSpacingMm). `--no-floor`
// reads them all, to see what the floor guards against. Not a test: the real films are not part of
// the project. Build first (`npx tsc -p .`), then
//   node scripts/coarser-films.mjs <folder of films> <list.csv> [models] [--no-floor]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { analyseObject, analysisPolicy } from '../dist/pipeline/analyse-object.js';
import { ABSTENTION } from '../dist/inference/abstention.js';
import { loadModels } from '../dist/inference/models.js';
import { calledMildOrSevere } from '../dist/eval/reference.js';
import { DEFAULT_CONFIG } from '../dist/config/defaults.js';
import { logger } from '../dist/observability/logger.js';
import { filmListArgs, showsPaHand } from './film-list.mjs';

const { dir, rows, modelsDir } = filmListArgs('coarser-films.mjs');
// the floor is a constant of the release; lifted here only to measure what it changes
if (process.argv.includes('--no-floor')) ABSTENTION.maxSpacingMm = Infinity;
const models = await loadModels(modelsDir, { provider: 'cpu' });
const policy = analysisPolicy(DEFAULT_CONFIG.analysis);
const log = logger({ level: 'error' });
const SCORES = ['jsn', 'erosion', 'kl'];
const FACTORS = [1, 2, 3, 4, 6];

const totals = new Map(FACTORS.map((f) => [f, { films: 0, graded: 0, called: 0, coarse: 0, spacing: [] }]));
for (const { file } of rows.filter((r) => showsPaHand(r.shows) && !/two|three/.test(r.shows))) {
  const bytes = readFileSync(join(dir, file));
  const { width } = await sharp(bytes).metadata();
  for (const f of FACTORS) {
    const picture = f === 1 ? bytes : await sharp(bytes).resize({ width: Math.round(width / f) }).png().toBuffer();
    const { analysis } = await analyseObject(picture, file, models, policy, log);
    const joints = analysis.hands.flatMap((h) => h.joints);
    const graded = joints.filter((j) => SCORES.some((s) => j[s]));
    const t = totals.get(f);
    t.films++;
    t.graded += graded.length;
    t.called += graded.filter((j) => calledMildOrSevere(j)).length;
    t.coarse += joints.filter((j) => j.notGraded?.cause === 'resolution').length;
    if (analysis.source.pixelSpacingMm) t.spacing.push(Math.max(...analysis.source.pixelSpacingMm));
  }
}
console.log('| made smaller | films | graded at (mm a pixel, median; largest) | joints graded | called mild or severe | not graded: too coarse |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const [f, t] of totals) {
  const s = t.spacing.sort((a, b) => a - b);
  const pct = t.graded ? ((100 * t.called) / t.graded).toFixed(1) : '-';
  console.log(`| ${f === 1 ? 'as stored' : `1/${f}`} | ${t.films} | ${s[s.length >> 1]?.toFixed(2)}; ${s.at(-1)?.toFixed(2)} | ${t.graded} | ${t.called} (${pct} %) | ${t.coarse} |`);
}
