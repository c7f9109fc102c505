// Phantom check of the thumb step (src/inference/thumb-gap.ts) without its confidence bound:
// on the held-out `--wider` phantoms, the step applied to every MCP1 from the points the node
// reported (docs/eval/synthetic-wider/predictions), counted by the joint's true JSN where it
// lands more than 2 mm from the true joint: a narrowed or ankylosed joint has little or no gap,
// and the step must not move it onto another dark band. Also prints the detector's MCP1
// confidence on these films (the bound is set below most of it). Not a test: out/test-wider is
// made by the command in docs/evaluation.md. Build first (`npx tsc -p .`), then
//   node scripts/thumb-gap-phantom.mjs [--min-ratio R]   (R overrides THUMB_GAP.minRatio)
import { readdirSync, readFileSync } from 'node:fs';
import { decodeDicomImage } from '../dist/imaging/decode.js';
import { toDisplay } from '../dist/imaging/preprocess.js';
import { THUMB_GAP, thumbGap } from '../dist/inference/thumb-gap.js';

const TRUTH = 'out/test-wider/';
const PRED = 'docs/eval/synthetic-wider/predictions/';
const i = process.argv.indexOf('--min-ratio');
if (i > 0) THUMB_GAP.minRatio = Number(process.argv[i + 1]); // a plain object at run time: the one knob compared
const byJsn = {};
const confidences = [];
for (const f of readdirSync(PRED).filter((f) => f.endsWith('.json')).sort()) {
  const truth = JSON.parse(readFileSync(TRUTH + f, 'utf8'));
  const pred = JSON.parse(readFileSync(PRED + f, 'utf8'));
  let img;
  for (const hand of truth.hands) {
    const t = hand.joints.find((j) => j.site === 'MCP1');
    const p = Object.fromEntries((pred.hands.find((h) => h.laterality === hand.laterality)?.joints ?? []).map((j) => [j.site, j]));
    if (!t || !p.MCP1) continue;
    confidences.push(p.MCP1.confidence);
    if (!p.CMC1 || !p.IP1) continue;
    img ??= toDisplay(await decodeDicomImage(readFileSync(TRUTH + f.replace(/\.json$/, '.dcm')), f));
    const at = thumbGap(img, p.MCP1, p.CMC1, p.IP1) ?? p.MCP1;
    const offMm = Math.hypot(at.x - t.x, at.y - t.y) * img.pixelSpacingMm[0];
    const k = (byJsn[t.jsn.grade] ??= { thumbs: 0, off: 0 });
    k.thumbs++;
    if (offMm > 2) k.off++;
  }
}
confidences.sort((a, b) => a - b);
const q = (p) => confidences[Math.floor(p * (confidences.length - 1))].toFixed(2);
console.log(`minRatio ${THUMB_GAP.minRatio}; MCP1 more than 2 mm off the true joint after the step, by true JSN:`, JSON.stringify(byJsn));
console.log(`detector MCP1 confidence on ${confidences.length} phantom thumbs: 1st / 5th / 10th / 50th percentile ${q(0.01)} / ${q(0.05)} / ${q(0.1)} / ${q(0.5)}`);
