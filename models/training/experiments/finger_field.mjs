// Experiment: finger films framed as the upper-limb set frames them (a narrow collimated field in a wide
// black frame). On films where the node grades no hand, the best central finger chain without the extent
// bound (finger.ts seeFinger with FINGER_READING.minExtent 0), against the film and against its exposed
// field (panels.ts fieldOf): the chain's length over the longer side of each, and the field's width across
// the finger over the chain's length.
//   npx tsc -p . && node models/training/experiments/finger_field.mjs <folder> <list.csv> [models]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import winston from 'winston';
import { analyseObject, analysisPolicy } from '../../../dist/pipeline/analyse-object.js';
import { loadModels } from '../../../dist/inference/models.js';
import { FINGER_READING, seeFinger } from '../../../dist/inference/finger.js';
import { fieldOf } from '../../../dist/inference/panels.js';
import { DEFAULT_CONFIG } from '../../../dist/config/defaults.js';
import { filmListArgs } from '../../../scripts/film-list.mjs';
const { dir, rows, modelsDir } = filmListArgs('finger_field');
const models = await loadModels(modelsDir, { provider: 'cpu' });
const policy = analysisPolicy({ ...DEFAULT_CONFIG.analysis, outputs: { sr: false, pr: false, sc: false } });
const log = winston.createLogger({ silent: true });
FINGER_READING.minExtent = 0;
for (const { file, shows } of rows) {
  const { analysis, display } = await analyseObject(readFileSync(join(dir, file)), file, models, policy, log);
  if (analysis.hands.length) continue;
  const det = models.partialDetector;
  const s = await seeFinger(display, det.manifest, det.runner);
  if (!s) { console.log(`${file}\t${shows}\tnone`); continue; }
  const { DIP: d, PIP: p, MCP: m } = s.joints;
  const len = Math.hypot(p.x - d.x, p.y - d.y) + Math.hypot(m.x - p.x, m.y - p.y);
  const f = fieldOf(display) ?? { x0: 0, y0: 0, columns: display.columns, rows: display.rows };
  const along = Math.abs(m.x - d.x) > Math.abs(m.y - d.y) ? 'x' : 'y';
  const across = along === 'x' ? f.rows : f.columns;
  console.log(`${file.slice(0, 40)}\t${shows}\tscore ${s.score.toFixed(2)}\tfilm ${(len / Math.max(display.rows, display.columns)).toFixed(2)}\tfield ${(len / Math.max(f.rows, f.columns)).toFixed(2)}\tacross/len ${(across / len).toFixed(2)}\t${fieldOf(display) ? 'field' : 'whole'}`);
}
