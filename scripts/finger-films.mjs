// Finger films read by the finger their header names (src/inference/finger.ts): on phantom films
// that show one whole finger (the held-out partial-view style, `phantom --partial`), each film is
// analysed as it is and again with its header naming the finger (Series Description "PA 3RD
// FINGER", Body Part Examined FINGER; the phantom writes Image Laterality). Counts the films read
// without the name (by the detectors: a partial view), those read by the name, and of those the
// ones whose DIP, PIP and MCP lie within 3 mm of the truth. Build first (`npx tsc -p .`), then
//   npx jointscore phantom --count 200 --seed 9100001 --partial --wide --no-preview --out /tmp/fp
//   node scripts/finger-films.mjs /tmp/fp [models folder] [--films]
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import winston from 'winston';
import { analyseObject, analysisPolicy } from '../dist/pipeline/analyse-object.js';
import { loadModels } from '../dist/inference/models.js';
import { readPart10, writePart10 } from '../dist/dicom/part10.js';
import { DEFAULT_CONFIG } from '../dist/config/defaults.js';

const [dir, modelsDir = 'models'] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
if (!dir) {
  console.error('usage: node scripts/finger-films.mjs <folder of phantom films and truths> [models] [--films]');
  process.exit(2);
}
const perFilm = process.argv.includes('--films');
const models = await loadModels(modelsDir, { provider: 'cpu' });
const policy = analysisPolicy({ ...DEFAULT_CONFIG.analysis, outputs: { sr: false, pr: false, sc: false } });
const log = winston.createLogger({ silent: true });
const ORDINAL = { 2: '2ND', 3: '3RD', 4: '4TH', 5: '5TH' };
const MAX_MM = 3;

/** The one digit of 2-5 whose DIP, PIP and MCP are all on the film, else undefined. */
function wholeFinger(hand) {
  const digits = [2, 3, 4, 5].filter((d) => ['DIP', 'PIP', 'MCP'].every((k) => hand.joints.some((j) => j.site === `${k}${d}`)));
  const wrist = hand.joints.some((j) => ['RC', 'CSL', 'STT'].includes(j.site));
  return digits.length === 1 && !wrist ? digits[0] : undefined;
}

const n = { films: 0, readAsIs: 0, seenAsIs: 0, readByName: 0, onTruth: 0, furtherOff: 0 };
for (const f of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
  const truth = JSON.parse(readFileSync(join(dir, f), 'utf8'));
  if (truth.hands?.length !== 1) continue;
  const digit = wholeFinger(truth.hands[0]);
  if (!digit) continue;
  n.films++;
  const bytes = readFileSync(join(dir, f.replace(/\.json$/, '.dcm')));
  const asIs = await analyseObject(bytes, f, models, policy, log);
  if (asIs.analysis.hands.length > 0) {
    n.readAsIs++;
    if (perFilm) console.log(`${f}\tdigit ${digit}\tread without the name (${asIs.analysis.hands[0].joints.length} joints)`);
    continue;
  }
  // without the name, a finger film seen as one from its pixels (analyze.ts `fingerSeen`: not graded)
  const seen = asIs.analysis.notGraded?.some((g) => g.view === 'finger');
  if (seen) n.seenAsIs++;
  const { dataset } = readPart10(bytes);
  const named = writePart10({ ...dataset, SeriesDescription: `PA ${ORDINAL[digit]} FINGER`, BodyPartExamined: 'FINGER' });
  const { analysis } = await analyseObject(named, f, models, policy, log);
  const hand = analysis.hands[0];
  if (!hand) {
    if (perFilm) console.log(`${f}\tdigit ${digit}\tnot read${seen ? ' (seen as a finger film without the name)' : ''}`);
    continue;
  }
  n.readByName++;
  const mm = analysis.source.pixelSpacingMm[0];
  const errors = hand.joints.map((j) => {
    const t = truth.hands[0].joints.find((q) => q.site === j.site);
    return Math.hypot(j.x - t.x, j.y - t.y) * mm;
  });
  if (errors.every((e) => e <= MAX_MM)) n.onTruth++;
  else n.furtherOff++;
  if (perFilm) console.log(`${f}\tdigit ${digit}\t${seen ? 'seen as a finger film without the name, ' : ''}read by name, ${hand.laterality}, turned ${analysis.source.turnedDeg ?? 0}\terrors ${errors.map((e) => e.toFixed(1)).join(' ')} mm`);
}
console.log(`films showing one whole finger: ${n.films}; read without the finger named: ${n.readAsIs}; of the others, seen as a finger film without the name (not graded): ${n.seenAsIs}, read by the name: ${n.readByName}, their joints within ${MAX_MM} mm of the truth: ${n.onTruth} (a joint further off: ${n.furtherOff})`);
