// Tried, not shipped (docs/evaluation.md "Children from the pixels"): a lucent line across the distal
// radius 1.5-14 mm proximal of RC (an open physis) against the same measure 16-28 mm proximal, on the
// hands the node finds. Build first; from the project root:
//   node models/training/experiments/radius_physis.mjs <folder of films> <list.csv: file,shows> [models]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyseObject, analysisPolicy } from '../../../dist/pipeline/analyse-object.js';
import { loadModels } from '../../../dist/inference/models.js';
import { sampleCrop, distalDirection } from '../../../dist/imaging/preprocess.js';
import { valleyDepth } from '../../../dist/imaging/profile.js';
import { DEFAULT_CONFIG } from '../../../dist/config/defaults.js';
import { logger } from '../../../dist/observability/logger.js';

const [dir, list] = process.argv.slice(2);
const rows = readFileSync(list, 'utf8').trim().split('\n').slice(1).map((l) => { const i = l.indexOf(','); return { file: l.slice(0, i), shows: l.slice(i + 1).replace(/"/g, '') }; });
const models = await loadModels(process.argv[4] ?? 'models', { provider: 'cpu' });
const policy = analysisPolicy({ ...DEFAULT_CONFIG.analysis, minGradingAgeYears: 0, outputs: { sr: false, sc: false, pr: false } });
const log = logger();
const MM = 0.16, N = 220; // 35 mm
const BAND = [-3, 0, 3], HALF = 1.0, FLANK = 1.0;
function profile(crop, off) {
  const half = Math.round(HALF / MM), c0 = Math.round(N / 2 + off / MM), out = new Float32Array(N);
  for (let r = 0; r < N; r++) { let s = 0; for (let c = c0 - half; c <= c0 + half; c++) s += crop[r * N + c]; out[r] = s / (2 * half + 1); }
  return out;
}
function lineValley(ps, a, b, w) {
  let best = 0, at = -1;
  for (let r = Math.max(1, a); r < Math.min(ps[0].length - 1, b); r++) {
    const v = Math.min(...ps.map((p) => Math.max(valleyDepth(p, r - 1, w), valleyDepth(p, r, w), valleyDepth(p, r + 1, w))));
    if (v > best) { best = v; at = r; }
  }
  return [best, at];
}
for (const { file, shows } of rows) {
  let res;
  try { res = await analyseObject(readFileSync(join(dir, file)), file, models, policy, log); } catch (e) { console.log(file, shows, 'ERR', e.message); continue; }
  const { analysis, display } = res;
  const sp = analysis.source.jointsReadAtMm ?? analysis.source.pixelSpacingMm;
  const img = { ...display, pixelSpacingMm: sp };
  const out = [];
  for (const h of analysis.hands) {
    const at = Object.fromEntries(h.joints.map((j) => [j.site, j]));
    const rc = at.RC; if (!rc) continue;
    const d = distalDirection('RC', at);
    // centre the crop 12 mm proximal of RC: rows from 5 mm distal to 29 mm proximal
    const n = Math.hypot(d.x, d.y), ux = d.x / n, uy = d.y / n;
    const shift = 12;
    const cx = rc.x - (ux * shift) / sp[1], cy = rc.y - (uy * shift) / sp[0];
    const crop = sampleCrop(img, { x: cx, y: cy, distal: d }, N, MM);
    const ps = BAND.map((o) => profile(crop, o));
    const row = (mmProx) => Math.round(N / 2 + (mmProx - shift) / MM); // row of a point mmProx proximal of RC
    const w = Math.round(FLANK / MM);
    const [near, nr] = lineValley(ps, row(1.5), row(14), w);
    const [far] = lineValley(ps, row(16), row(28), w);
    out.push(`${h.laterality}${h.view?.kind === 'PA-partial' ? 'p' : ''}: ${near.toFixed(3)} @${((nr - N / 2) * MM + shift).toFixed(1)}mm base ${far.toFixed(3)} diff ${(near - far).toFixed(3)}`);
  }
  console.log(`${file}\t${shows}\t${out.join('; ') || '-'}`);
}
