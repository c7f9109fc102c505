// Experiment (the figures of docs/evaluation.md "The thumb's MCP in view"): where the PA layout fitted to
// each hand the whole-hand detector finds without a thumb joint puts the thumb's MCP and IP, in
// MCP2-MCP5 spans inside the film's nearest edge (view.ts thumbPlace; negative: off the film), for the
// DICOM films of a folder (phantom feet). The node's thumb check (thumbNotFound) reads these.
//   npx tsc -p . && node models/training/experiments/thumb_place.mjs /tmp/feet
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeDicomImage } from '../../../dist/imaging/decode.js';
import { toDisplay } from '../../../dist/imaging/preprocess.js';
import { loadModels } from '../../../dist/inference/models.js';
import { detectAnyOrientation } from '../../../dist/inference/orientation.js';
import { thumbPlace, withoutStrays } from '../../../dist/inference/view.js';
const [dir, modelsDir = 'models'] = process.argv.slice(2);
const models = await loadModels(modelsDir, { provider: 'cpu' });
for (const f of readdirSync(dir).filter((f) => f.endsWith('.dcm')).sort()) {
  const img = toDisplay(await decodeDicomImage(readFileSync(join(dir, f)), f));
  const found = await detectAnyOrientation(img, models.detector.manifest, models.detector.runner);
  for (const side of ['L', 'R']) {
    const { kept } = withoutStrays(found.candidates.filter((c) => c.laterality === side), side);
    if (kept.length < 14 || kept.some((c) => c.site === 'MCP1' || c.site === 'IP1')) continue;
    const place = thumbPlace(kept, side, img);
    if (place) console.log(`${f}\t${side}\t${kept.length} joints\tMCP1 ${place.mcp1.toFixed(2)}\tIP1 ${place.ip1.toFixed(2)} spans inside`);
  }
}
