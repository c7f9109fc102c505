// Rheumatoid hands drift: established disease turns the fingers toward the ulna at the MCPs,
// 20-40 degrees, far past the few degrees either way the phantom draws (src/phantom/pose.ts) and
// the detector learnt. This renders RA phantom hands with their fingers drifted by each angle
// (`jointscore phantom --ulnar-drift`; the same hands at each angle, seeds 9100000 on) and
// analyses them as the node does: hands graded as PA views, joints within 10 % of the MCP2-MCP5
// distance of their true place, joints graded, and each hand's layout residual (the view check
// grades a hand at 0.3 or less, src/inference/view.ts MAX_PA_RESIDUAL), and how the JSN grades of
// the joints graded agree with the phantom's (exact; synthetic truth, so a check of the reading
// of a drifted finger, not of real narrowing).
// Build first (`npx tsc -p .`), then
//   node scripts/ulnar-drift.mjs [models] [--angles=0,20,30,40] [--count=10]
import { renderPhantom } from '../dist/phantom/render.js';
import { encodePhantomDx } from '../dist/phantom/dicom-dx.js';
import { decodeDicomImage } from '../dist/imaging/decode.js';
import { analyzeImage } from '../dist/inference/analyze.js';
import { loadModels } from '../dist/inference/models.js';

const args = process.argv.slice(2);
const flag = (name, d) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? d;
const models = await loadModels(args.find((a) => !a.startsWith('--')) ?? 'models', { provider: 'cpu' });
const angles = flag('angles', '0,20,30,40').split(',').map(Number);
const count = Number(flag('count', '10'));

console.log('| ulnar drift (degrees) | hands graded as PA | joints within 10 % | of them graded | JSN exact | layout residual |');
console.log('|---:|---:|---:|---:|---:|---|');
for (const drift of angles) {
  let pa = 0, placed = 0, graded = 0, total = 0, jsnScored = 0, jsnExact = 0;
  const residuals = [];
  for (let s = 0; s < count; s++) {
    const spec = { seed: 9100000 + s, profile: 'ra', layout: 'one', laterality: s % 2 ? 'L' : 'R', rows: 2200, columns: 1800, pixelSpacingMm: 0.15, ulnarDriftDeg: drift };
    const rendered = renderPhantom(spec);
    const dx = await encodePhantomDx(rendered, { bitsStored: 12, photometric: 'MONOCHROME2' });
    const a = await analyzeImage(await decodeDicomImage(dx.bytes, `drift-${drift}-${s}`), models);
    const truth = rendered.hands[0];
    const at = Object.fromEntries(truth.joints.map((j) => [j.site, j]));
    const span = Math.hypot(at.MCP2.x - at.MCP5.x, at.MCP2.y - at.MCP5.y);
    const hand = a.hands.find((h) => h.laterality === truth.laterality);
    if (hand?.view?.kind === 'PA') pa++;
    if (hand?.view) residuals.push(hand.view.layoutResidual);
    for (const t of truth.joints) {
      total++;
      const j = hand?.joints.find((x) => x.site === t.site);
      if (!j || Math.hypot(j.x - t.x, j.y - t.y) > 0.1 * span) continue;
      placed++;
      if (j.notGraded) continue;
      graded++;
      if (j.jsn && t.jsn) {
        jsnScored++;
        if (j.jsn.grade === t.jsn.grade) jsnExact++;
      }
    }
  }
  const range = residuals.length ? `${Math.min(...residuals).toFixed(2)}-${Math.max(...residuals).toFixed(2)}` : '-';
  console.log(`| ${drift} | ${pa} of ${count} | ${placed} of ${total} | ${graded} | ${jsnExact} of ${jsnScored} | ${range} |`);
}
