// Experiment (not kept, a design input): finger joints read without their digit. A finger-only film shows no
// thumb or wrist, so the detectors cannot tell its digit or side and split a joint's confidence over the eight
// channels of its kind (L/R x digits 2-5). Here the partial-view detector's channels of each kind (DIP, PIP,
// MCP of digits 2-5, both sides) are summed, the summed maps' peaks (>= PEAK) chained into fingers
// (DIP-PIP-MCP: middle over proximal phalanx 0.4-0.95, bent at most 25 degrees), at the best quarter turn,
// on the films where the node finds no hand. Prints each such film's chains: their weakest joint ("score"),
// ratio and extent (chain length over the film's long side).
//   npx tsc -p . && node models/training/experiments/finger_chains.mjs <folder> <list.csv> [models] [--films]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyseObject, analysisPolicy } from '../../../dist/pipeline/analyse-object.js';
import { loadModels } from '../../../dist/inference/models.js';
import { letterbox } from '../../../dist/imaging/preprocess.js';
import { turnLetterbox } from '../../../dist/inference/orientation.js';
import { DEFAULT_CONFIG } from '../../../dist/config/defaults.js';
import winston from 'winston';
import { filmListArgs } from '../../../scripts/film-list.mjs';
const { dir, rows, modelsDir, perFilm } = filmListArgs('probe');
const models = await loadModels(modelsDir, { provider: 'cpu' });
const policy = analysisPolicy(DEFAULT_CONFIG.analysis);
const log = winston.createLogger({ silent: true });
const PEAK = Number(process.env.PEAK ?? 0.5);
const KINDS = { DIP: /DIP[2-5]$/, PIP: /PIP[2-5]$/, MCP: /MCP[2-5]$/ };
const deg = (a) => (a * 180) / Math.PI;
function peaksOf(out, chans) {
  const [, , h, w] = out.dims;
  const res = {};
  for (const [k, re] of Object.entries(KINDS)) {
    const idx = chans.map((c, i) => (re.test(c) ? i : -1)).filter((i) => i >= 0);
    const sum = new Float32Array(h * w);
    for (const i of idx) for (let p = 0; p < h * w; p++) sum[p] += Math.max(0, out.data[i * h * w + p]);
    const pk = [];
    for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) {
      const v = sum[r * w + c]; if (v < PEAK) continue; let mx = true;
      for (let dr = -2; dr <= 2; dr++) for (let dc = -2; dc <= 2; dc++) { const rr = r + dr, cc = c + dc; if ((dr || dc) && rr >= 0 && cc >= 0 && rr < h && cc < w && sum[rr * w + cc] > v) mx = false; }
      if (mx) pk.push({ x: c, y: r, v });
    }
    res[k] = pk;
  }
  return res;
}
function chains(pk) {
  const out = [];
  const d2 = (a, b) => Math.hypot(a.x - b.x, a.y - b.y);
  for (const d of pk.DIP) for (const p of pk.PIP) for (const m of pk.MCP) {
    const a = d2(d, p), b = d2(p, m); if (a < 2 || b < 2) continue;
    const ratio = a / b;
    const t1 = Math.atan2(p.y - d.y, p.x - d.x), t2 = Math.atan2(m.y - p.y, m.x - p.x);
    const bend = Math.abs(deg(((t2 - t1 + 3 * Math.PI) % (2 * Math.PI)) - Math.PI));
    if (ratio >= 0.4 && ratio <= 0.95 && bend <= 25) out.push({ d, p, m, ratio, bend, len: a + b, score: Math.min(d.v, p.v, m.v) });
  }
  // greedy: best score first, no shared joints
  out.sort((x, y) => y.score - x.score);
  const used = new Set(); const kept = [];
  for (const c of out) { const ks = [c.d, c.p, c.m]; if (ks.some((k) => used.has(k))) continue; ks.forEach((k) => used.add(k)); kept.push(c); }
  return kept;
}
let n = 0;
const summary = {};
for (const { file, shows } of rows) {
  const bytes = readFileSync(join(dir, file));
  const r = await analyseObject(bytes, file, models, policy, log);
  if (r.analysis.hands.length) continue;
  const m = models.partialDetector;
  const size = m.manifest.input.size;
  const lb = letterbox(r.display, size);
  let best = { fingers: [] };
  for (const k of [0, 1, 2, 3]) {
    const input = turnLetterbox(lb, k);
    const out = (await m.runner.run({ [m.manifest.input.name]: { data: input, dims: [1, 1, size, size] } }))[m.manifest.output.name];
    const f = chains(peaksOf(out, m.manifest.channels));
    const sc = f.reduce((s, c) => s + c.score, 0);
    if (sc > (best.sc ?? 0)) best = { fingers: f, sc, k };
  }
  const key = `${shows}`;
  const res = best.fingers.length ? `fingers ${best.fingers.length} (turn ${best.k}; scores ${best.fingers.map((c) => c.score.toFixed(2)).join(',')}; ratios ${best.fingers.map((c) => c.ratio.toFixed(2)).join(',')}; extent ${best.fingers.map((c) => (c.len * 4 / Math.max(lb.contentRows, lb.contentColumns)).toFixed(2)).join(',')})` : 'none';
  summary[key] ??= { films: 0, withFingers: 0 };
  summary[key].films++; if (best.fingers.length) summary[key].withFingers++;
  if (perFilm) console.log(`${file}\t${shows}\t${res}`);
}
console.log(JSON.stringify(summary, null, 1));
