// Experiment: on films where the node grades no hand, the central finger chain the node would see
// without a name (finger.ts `seeFinger`) with its extent bound lifted (FINGER_READING.minExtent 0): at
// the node's weakest-joint bound (0.7), and with that bound lowered to the summed peaks' own (0.5).
// Each: its weakest joint, its span over the film's longer side. Prints what the bounds of 0.4 and
// 0.7 were checked against (docs/evaluation.md "Finger films seen without their name").
//   npx tsc -p . && node models/training/experiments/finger_seen.mjs <folder> <list.csv> [models]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import winston from 'winston';
import { analyseObject, analysisPolicy } from '../../../dist/pipeline/analyse-object.js';
import { loadModels } from '../../../dist/inference/models.js';
import { FINGER_READING, seeFinger } from '../../../dist/inference/finger.js';
import { DEFAULT_CONFIG } from '../../../dist/config/defaults.js';
import { filmListArgs } from '../../../scripts/film-list.mjs';
const { dir, rows, modelsDir } = filmListArgs('finger_seen');
const models = await loadModels(modelsDir, { provider: 'cpu' });
const policy = analysisPolicy({ ...DEFAULT_CONFIG.analysis, outputs: { sr: false, pr: false, sc: false } });
const log = winston.createLogger({ silent: true });
const bounds = { minExtent: FINGER_READING.minExtent, minJoint: FINGER_READING.minJoint };
/** The chain seeFinger takes with these bounds in place of the node's, then the node's back. */
async function chainWith(display, lifted) {
  Object.assign(FINGER_READING, lifted);
  const s = await seeFinger(display, models.partialDetector.manifest, models.partialDetector.runner).finally(() => Object.assign(FINGER_READING, bounds));
  return s ? `weakest ${s.score.toFixed(2)} span ${s.extent.toFixed(2)}` : 'none';
}
for (const { file, shows } of rows) {
  // the node's own reading, at its bounds
  const { analysis, display } = await analyseObject(readFileSync(join(dir, file)), file, models, policy, log);
  if (analysis.hands.length) continue;
  const outcome = analysis.notGraded?.map((n) => n.view ?? n.cause).join(',') || 'nothing';
  const atNode = await chainWith(display, { minExtent: 0 });
  const lowered = await chainWith(display, { minExtent: 0, minJoint: FINGER_READING.minPeak });
  if (atNode !== 'none' || lowered !== 'none') console.log(`${file}\t${shows}\t${outcome}\tat 0.7: ${atNode}\tat 0.5: ${lowered}`);
}
