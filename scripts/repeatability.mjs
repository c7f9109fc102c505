// Real-film check of how repeatable the node's grades are: each film of a by-eye list
// (docs/eval/real-films/) is analysed as stored and again after a change no reader would
// notice: the picture moved by one pixel (a row and a column of its edge put before it), made
// 2 % smaller, or saved again as a JPEG at quality 90. Per change: the joints graded both times
// (paired by hand and site), those called mild or severe one time and not the other, and those
// whose JSN, erosion or KL grade differs. A film is read again as it might be sent again, after
// another export or from another modality: a call that moves with one pixel is a call a reader
// cannot lean on. Not a test: the real films are not part of the project. Build first
// (`npx tsc -p .`), then
//   node scripts/repeatability.mjs <folder of films> <list.csv> [models] [--films]
// The research films carry no spacing: each reading estimates it from the hand (as `jointscore
// analyze` does for a PNG or JPEG).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { analyseObject, analysisPolicy } from '../dist/pipeline/analyse-object.js';
import { loadModels } from '../dist/inference/models.js';
import { calledMildOrSevere } from '../dist/eval/reference.js';
import { DEFAULT_CONFIG } from '../dist/config/defaults.js';
import { logger } from '../dist/observability/logger.js';
import { filmListArgs, showsPaHand, showsPaPartial } from './film-list.mjs';

const { dir, rows, modelsDir, perFilm } = filmListArgs('repeatability.mjs');
const models = await loadModels(modelsDir, { provider: 'cpu' });
const policy = analysisPolicy(DEFAULT_CONFIG.analysis);
const log = logger();
const SCORES = ['jsn', 'erosion', 'kl'];

/** The node's analysis of a picture's bytes, as `jointscore analyze` makes it. */
const analysed = async (bytes, file) => (await analyseObject(bytes, file, models, policy, log)).analysis;

/** Each change: the picture's bytes in, the changed picture's bytes out (PNG, lossless, but for the JPEG). */
const CHANGES = {
  'moved one pixel': (bytes) => sharp(bytes).extend({ top: 1, left: 1, extendWith: 'copy' }).png().toBuffer(),
  '2 % smaller': async (bytes) => sharp(bytes).resize({ width: Math.round((await sharp(bytes).metadata()).width * 0.98) }).png().toBuffer(),
  'saved again as JPEG 90': (bytes) => sharp(bytes).greyscale().jpeg({ quality: 90 }).toBuffer(),
};

/** hand / site -> joint, for the joints with a grade. */
const graded = (analysis) =>
  new Map(analysis.hands.flatMap((h) => h.joints.filter((j) => SCORES.some((s) => j[s])).map((j) => [`${h.laterality}-${j.site}`, j])));

const totals = Object.fromEntries(Object.keys(CHANGES).map((c) => [c, { films: 0, both: 0, flipped: 0, jsn: 0, erosion: 0, kl: 0, calledBefore: 0 }]));
for (const { file, shows } of rows.filter((r) => showsPaHand(r.shows) || showsPaPartial(r.shows))) {
  const bytes = readFileSync(join(dir, file));
  const before = graded(await analysed(bytes, file));
  if (before.size === 0) continue;
  const line = [];
  for (const [name, change] of Object.entries(CHANGES)) {
    const after = graded(await analysed(await change(bytes), file));
    const t = totals[name];
    t.films++;
    let flipped = 0;
    for (const [key, b] of before) {
      const a = after.get(key);
      if (!a) continue;
      t.both++;
      if (calledMildOrSevere(b)) t.calledBefore++;
      if (calledMildOrSevere(a) !== calledMildOrSevere(b)) flipped++;
      for (const s of SCORES) if (a[s] && b[s] && a[s].grade !== b[s].grade) t[s]++;
    }
    t.flipped += flipped;
    line.push(`${name}: ${flipped} of ${before.size} flipped`);
  }
  if (perFilm) console.log(`${file}\t${shows}\t${line.join('\t')}`);
}
console.log('| change | films | joints graded both times | called before | call changed | JSN grade changed | erosion | KL |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
const pct = (n, d) => `${n} (${((100 * n) / Math.max(d, 1)).toFixed(1)} %)`;
for (const [name, t] of Object.entries(totals)) {
  console.log(`| ${name} | ${t.films} | ${t.both} | ${t.calledBefore} | ${pct(t.flipped, t.both)} | ${pct(t.jsn, t.both)} | ${pct(t.erosion, t.both)} | ${pct(t.kl, t.both)} |`);
}
