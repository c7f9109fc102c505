// Looked at, not shipped (docs/evaluation.md "Children from the pixels"): a young child's carpus is
// mostly cartilage, so a wrist-only film might show it where no finger growth plate is in view. Two
// measures on each hand the node finds (every age graded), printed per hand:
// - along the RC-CSL-CMC3 line (every 0.25 mm, a 2 mm band), the longest stretch and the share below
//   the midpoint of the line's darkest value and its 90th percentile;
// - the share of a 9 mm disc on the carpus (between RC and CMC3) in the brightest of three classes
//   that Otsu's rule splits a 45 mm disc around CSL into.
// Build first; from the project root:
//   node models/training/experiments/carpus_cartilage.mjs <folder of films> <list.csv: file,shows> [models]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyseObject, analysisPolicy } from '../../../dist/pipeline/analyse-object.js';
import { loadModels } from '../../../dist/inference/models.js';
import { DEFAULT_CONFIG } from '../../../dist/config/defaults.js';
import { logger } from '../../../dist/observability/logger.js';
import { filmListArgs } from '../../../scripts/film-list.mjs';

const { dir, rows, modelsDir } = filmListArgs('../models/training/experiments/carpus_cartilage.mjs');
const models = await loadModels(modelsDir, { provider: 'cpu' });
const policy = analysisPolicy({ ...DEFAULT_CONFIG.analysis, minGradingAgeYears: 0 });
const log = logger();
const at = (img, x, y) => {
  const c = Math.round(x), r = Math.round(y);
  return c < 0 || r < 0 || c >= img.columns || r >= img.rows ? NaN : img.data[r * img.columns + c];
};

/** The line through the given points, sampled every 0.25 mm, each the mean of a band 2 mm across. */
function lineProfile(img, pts, mm) {
  const out = [];
  const step = 0.25 / mm, half = 1 / mm;
  for (let s = 0; s + 1 < pts.length; s++) {
    const a = pts[s], b = pts[s + 1], len = Math.hypot(b.x - a.x, b.y - a.y);
    if (len < 1) continue;
    const ux = (b.x - a.x) / len, uy = (b.y - a.y) / len;
    for (let t = 0; t < len; t += step) {
      const vs = [];
      for (let o = -half; o <= half; o += Math.max(1, half / 4)) vs.push(at(img, a.x + ux * t - uy * o, a.y + uy * t + ux * o));
      const ok = vs.filter((v) => !Number.isNaN(v));
      if (ok.length) out.push(ok.reduce((p, q) => p + q, 0) / ok.length);
    }
  }
  return out;
}

function darkStretch(prof) {
  const sorted = [...prof].sort((p, q) => p - q);
  const t = sorted[0] + 0.5 * (sorted[Math.floor(0.9 * sorted.length)] - sorted[0]);
  let run = 0, longest = 0, below = 0;
  for (const v of prof) if (v < t) { run++; below++; longest = Math.max(longest, run); } else run = 0;
  return { longestMm: longest * 0.25, share: below / prof.length };
}

/** Otsu's two thresholds of three classes on a 256-bin histogram of values in [0, 1]. */
function otsu3(vals) {
  const h = new Float64Array(256);
  for (const v of vals) h[Math.min(255, Math.max(0, Math.floor(v * 255)))]++;
  const p = new Float64Array(257), s = new Float64Array(257);
  for (let i = 0; i < 256; i++) { p[i + 1] = p[i] + h[i] / vals.length; s[i + 1] = s[i] + (i * h[i]) / vals.length; }
  let best = -1, t = [0, 0];
  for (let a = 1; a < 254; a++) for (let b = a + 1; b < 255; b++) {
    const w = [p[a], p[b] - p[a], 1 - p[b]];
    if (w.some((x) => x <= 0)) continue;
    const m = [s[a] / w[0], (s[b] - s[a]) / w[1], (s[256] - s[b]) / w[2]];
    const v = w[0] * m[0] ** 2 + w[1] * m[1] ** 2 + w[2] * m[2] ** 2;
    if (v > best) { best = v; t = [a / 255, b / 255]; }
  }
  return t;
}

function disc(img, x0, y0, r) {
  const out = [];
  for (let y = Math.max(0, Math.floor(y0 - r)); y < Math.min(img.rows, y0 + r); y++)
    for (let x = Math.max(0, Math.floor(x0 - r)); x < Math.min(img.columns, x0 + r); x++)
      if ((x - x0) ** 2 + (y - y0) ** 2 <= r * r) out.push(img.data[y * img.columns + x]);
  return out;
}

for (const { file, shows } of rows) {
  const { analysis, display } = await analyseObject(readFileSync(join(dir, file)), file, models, policy, log);
  const mm = analysis.source.jointsReadAtMm?.[0] ?? analysis.source.pixelSpacingMm[0];
  for (const h of analysis.hands) {
    const j = Object.fromEntries(h.joints.map((x) => [x.site, x]));
    if (!j.RC || !j.CMC3 || !j.CSL) continue;
    const line = darkStretch(lineProfile(display, [j.RC, j.CSL, j.CMC3], mm));
    const [, bone] = otsu3(disc(display, j.CSL.x, j.CSL.y, 45 / mm));
    const carpus = disc(display, (j.RC.x + j.CMC3.x) / 2, (j.RC.y + j.CMC3.y) / 2, 9 / mm);
    const boneShare = carpus.filter((v) => v >= bone).length / carpus.length;
    console.log(`${file}\t${shows}\t${h.laterality} ${h.view?.kind}\tlongest ${line.longestMm.toFixed(1)} mm\tshare below ${line.share.toFixed(2)}\tbone share ${boneShare.toFixed(2)}`);
  }
}
