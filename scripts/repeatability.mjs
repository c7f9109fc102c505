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
import { join } from 'node:path';
import sharp from 'sharp';
import { analyzeImage } from '../dist/inference/analyze.js';
import { loadModels } from '../dist/inference/models.js';
import { calledMildOrSevere } from '../dist/eval/reference.js';
import { filmListArgs, showsPaHand, showsPaPartial } from './film-list.mjs';

const { dir, rows, modelsDir, perFilm } = filmListArgs('repeatability.mjs');
const models = await loadModels(modelsDir, { provider: 'cpu' });
const SCORES = ['jsn', 'erosion', 'kl'];

/** A picture's grey values as the node's input (a research picture: spacing estimated). */
async function inputOf(pipeline, id) {
  const { data, info } = await pipeline.greyscale().raw().toBuffer({ resolveWithObject: true });
  const values = new Uint16Array(info.width * info.height);
  for (let i = 0; i < values.length; i++) values[i] = data[i * info.channels];
  return { rows: info.height, columns: info.width, values, photometric: 'MONOCHROME2', pixelSpacingMm: [0.2, 0.2], sopInstanceUID: id };
}

const CHANGES = {
  'moved one pixel': (file) => sharp(file).extend({ top: 1, left: 1, extendWith: 'copy' }),
  '2 % smaller': async (file) => {
    const { width } = await sharp(file).metadata();
    return sharp(file).resize({ width: Math.round(width * 0.98) });
  },
  'saved again as JPEG 90': async (file) => sharp(await sharp(file).greyscale().jpeg({ quality: 90 }).toBuffer()),
};

/** hand / site -> joint, for the joints with a grade. */
const graded = (analysis) =>
  new Map(analysis.hands.flatMap((h) => h.joints.filter((j) => SCORES.some((s) => j[s])).map((j) => [`${h.laterality}-${j.site}`, j])));

const totals = Object.fromEntries(Object.keys(CHANGES).map((c) => [c, { films: 0, both: 0, flipped: 0, jsn: 0, erosion: 0, kl: 0, calledBefore: 0 }]));
for (const { file, shows } of rows.filter((r) => showsPaHand(r.shows) || showsPaPartial(r.shows))) {
  const path = join(dir, file);
  const before = graded(await analyzeImage(await inputOf(sharp(path), file), models, undefined, { spacingFrom: 'default' }));
  if (before.size === 0) continue;
  const line = [];
  for (const [name, change] of Object.entries(CHANGES)) {
    const after = graded(await analyzeImage(await inputOf(await change(path), file), models, undefined, { spacingFrom: 'default' }));
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
