// Where the thumb's joints lie along each whole hand the view check keeps, in MCP2-MCP5 spans
// from MCP2 (+ distal), the PA layout fitted to the other joints (src/inference/view.ts
// thumbAlongHand): the measurement behind BIG_TOE ("A thumb where a big toe lies",
// docs/evaluation.md). Each argument is a folder of DICOM/PNG/JPEG films or one film; one line
// per hand, then per argument the farthest distal MCP1 and IP1. Not a test: the real films are
// not part of the project. Build first (`npx tsc -p .`), then
//   node scripts/thumb-along.mjs out/feet ../shared/real/adult-hands-radiopaedia ...
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { decodeImage } from '../dist/imaging/picture.js';
import { toDisplay } from '../dist/imaging/preprocess.js';
import { loadModels } from '../dist/inference/models.js';
import { detectAnyOrientation } from '../dist/inference/orientation.js';
import { handNotGraded, keepPaHands, layoutResidual, recognisedHand, thumbAlongHand, withoutStrays } from '../dist/inference/view.js';

const models = await loadModels('models', { provider: 'cpu' });
const films = (arg) => (statSync(arg).isDirectory() ? readdirSync(arg).filter((f) => /\.(dcm|png|jpe?g)$/i.test(f)).sort().map((f) => join(arg, f)) : [arg]);

for (const arg of process.argv.slice(2)) {
  const far = { MCP1: -Infinity, IP1: -Infinity };
  let hands = 0;
  for (const file of films(arg)) {
    const bytes = readFileSync(file);
    const img = toDisplay(await decodeImage(bytes, file));
    // the hands that reach keepPaHands' thumb checks: recognised, strays dropped, in a PA layout
    const found = await detectAnyOrientation(img, models.detector.manifest, models.detector.runner);
    const recognised = recognisedHand(models.detector.manifest.calibration);
    const kept = keepPaHands(found.candidates, img, true, recognised);
    for (const side of ['L', 'R']) {
      const { kept: hand } = withoutStrays(found.candidates.filter((c) => c.laterality === side), side);
      if (hand.length === 0 || handNotGraded(hand, layoutResidual(hand, side), recognised)) continue;
      const at = thumbAlongHand(hand, side);
      if (!at) continue;
      const verdict = kept.candidates.some((c) => c.laterality === side) ? 'kept' : kept.notGraded.find((n) => n.laterality === side)?.reason.slice(0, 60);
      hands++;
      for (const site of ['MCP1', 'IP1']) if (at[site] !== undefined) far[site] = Math.max(far[site], at[site]);
      console.log([basename(file), side, hand.length, at.MCP1?.toFixed(2) ?? '-', at.IP1?.toFixed(2) ?? '-', verdict].join('\t'));
    }
  }
  console.log(`== ${arg}: ${hands} hands; farthest distal MCP1 ${far.MCP1.toFixed(2)}, IP1 ${far.IP1.toFixed(2)}`);
}
