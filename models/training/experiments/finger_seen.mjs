// Experiment: on films where the node grades no hand, the finger chain finger.ts reads for a finger
// its header names, sought without a name or a spacing (no millimetre bounds), at each quarter turn; prints
// the best central chain's weakest joint, ratio, bend, extent (DIP-MCP over the film's longer side),
// off-centre share, and how many chains the turn holds.
//   npx tsc -p . && node models/training/experiments/finger_seen.mjs <folder> <list.csv> [models] [--films]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyseObject, analysisPolicy } from '../../../dist/pipeline/analyse-object.js';
import { loadModels } from '../../../dist/inference/models.js';
import { letterboxOnce, turnLetterbox } from '../../../dist/inference/orientation.js';
import { summedPeaks } from '../../../dist/inference/finger.js';
import { DEFAULT_CONFIG } from '../../../dist/config/defaults.js';
import winston from 'winston';
import { filmListArgs } from '../../../scripts/film-list.mjs';
const { dir, rows, modelsDir, perFilm } = filmListArgs('finger_seen');
const models = await loadModels(modelsDir, { provider: 'cpu' });
const policy = analysisPolicy(DEFAULT_CONFIG.analysis);
const log = winston.createLogger({ silent: true });
const deg = (a) => (a * 180) / Math.PI;
function chains(pk) {
  const all = [];
  for (const d of pk.DIP) for (const p of pk.PIP) for (const m of pk.MCP) {
    const a = Math.hypot(d.x - p.x, d.y - p.y), b = Math.hypot(p.x - m.x, p.y - m.y);
    if (a < 1 || b < 1) continue;
    const ratio = a / b;
    const t1 = Math.atan2(p.y - d.y, p.x - d.x), t2 = Math.atan2(m.y - p.y, m.x - p.x);
    const bend = Math.abs(deg(((t2 - t1 + 3 * Math.PI) % (2 * Math.PI)) - Math.PI));
    if (ratio >= 0.4 && ratio <= 0.95 && bend <= 15) all.push({ d, p, m, ratio, bend, len: a + b, score: Math.min(d.v, p.v, m.v) });
  }
  all.sort((x, y) => y.score - x.score);
  const used = new Set();
  return all.filter((c) => { const ks = [c.d, c.p, c.m]; if (ks.some((k) => used.has(k))) return false; ks.forEach((k) => used.add(k)); return true; });
}
function offCentre(c, w, h) {
  const [ax, ay] = [c.m.x - c.d.x, c.m.y - c.d.y]; const len = Math.hypot(ax, ay);
  const across = Math.abs(ax) > Math.abs(ay) ? h : w;
  return Math.abs(((w / 2 - c.d.x) * ay - (h / 2 - c.d.y) * ax) / len) / across;
}
for (const { file, shows } of rows) {
  const r = await analyseObject(readFileSync(join(dir, file)), file, models, policy, log);
  if (r.analysis.hands.length) continue;
  const det = models.partialDetector;
  const { stride } = det.manifest.output; const size = det.manifest.input.size;
  const lb = letterboxOnce(r.display, size);
  let best;
  for (const k of [0, 1, 2, 3]) {
    const out = (await det.runner.run({ [det.manifest.input.name]: { data: turnLetterbox(lb, k), dims: [1, 1, size, size] } }))[det.manifest.output.name];
    const [nh, nw] = k % 2 === 0 ? [lb.contentRows, lb.contentColumns] : [lb.contentColumns, lb.contentRows];
    const [w, h] = [nw / stride, nh / stride];
    const cs = chains(summedPeaks(out, det.manifest.channels));
    for (const c of cs) {
      c.off = offCentre(c, w, h); c.extent = c.len / Math.max(w, h); c.k = k; c.n = cs.length;
      if (c.off <= 0.35 && (!best || c.score > best.score)) best = c;
    }
  }
  const res = best ? `score ${best.score.toFixed(2)} ratio ${best.ratio.toFixed(2)} bend ${best.bend.toFixed(0)} extent ${best.extent.toFixed(2)} off ${best.off.toFixed(2)} chains ${best.n} turn ${best.k}` : 'none';
  console.log(`${file}\t${shows}\t${r.analysis.notGraded?.map((n) => n.cause).join(',') || 'nothing'}\t${res}`);
}
