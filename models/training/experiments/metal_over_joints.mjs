// Experiment (not kept): per graded joint, the share of pixels at the top 2 % of the stored range within BOX mm and
// how far their surroundings lie below it.   npx tsc -p . && node models/training/experiments/metal_over_joints.mjs <folders of DICOM>
// prototype: share of "metal" pixels (stored value at the film's top) around each graded joint
import { readdirSync } from 'node:fs';
const D = new URL('../../../dist', import.meta.url).pathname;
const { readDicomImage } = await import(`${D}/imaging/decode.js`);
const { analyzeImage } = await import(`${D}/inference/analyze.js`);
const { loadModels } = await import(`${D}/inference/models.js`);
const models = await loadModels(new URL('../../../models', import.meta.url).pathname, { provider: 'cpu', intraOpThreads: 2 });
const boxMm = Number(process.env.BOX ?? 6);
const rows = [];
for (const dir of process.argv.slice(2)) for (const f of readdirSync(dir).filter((x) => x.endsWith('.dcm'))) {
  const img = await readDicomImage(`${dir}/${f}`);
  const v = img.values; let max = -Infinity, min = Infinity;
  for (let i = 0; i < v.length; i++) { if (v[i] > max) max = v[i]; if (v[i] < min) min = v[i]; }
  const top = img.photometric === 'MONOCHROME1' ? min + 0.02 * (max - min) : max - 0.02 * (max - min);
  const isTop = img.photometric === 'MONOCHROME1' ? (x) => x <= top : (x) => x >= top;
  let filmTop = 0; for (let i = 0; i < v.length; i++) if (isTop(v[i])) filmTop++;
  const a = await analyzeImage({ ...img }, models, undefined, { spacingFrom: 'header' });
  for (const h of a.hands) for (const j of h.joints) {
    const r = boxMm / a.source.pixelSpacingMm[0];
    let n = 0, t = 0; const ring = [];
    const d = Math.max(2, Math.round(0.6 / a.source.pixelSpacingMm[0]));
    const at = (x, y) => v[y * img.columns + x];
    for (let y = Math.max(d, Math.round(j.y - r)); y < Math.min(img.rows - d, Math.round(j.y + r)); y++)
      for (let x = Math.max(d, Math.round(j.x - r)); x < Math.min(img.columns - d, Math.round(j.x + r)); x++) {
        n++; if (isTop(at(x, y))) { t++; continue; }
        if (isTop(at(x + d, y)) || isTop(at(x - d, y)) || isTop(at(x, y + d)) || isTop(at(x, y - d))) ring.push(at(x, y));
      }
    ring.sort((p, q) => p - q);
    const med = ring.length ? ring[ring.length >> 1] : NaN;
    const contrast = img.photometric === 'MONOCHROME1' ? (med - min) / (max - min) : (max - med) / (max - min);
    rows.push({ f, site: j.site, share: t / n, contrast, filmTop: filmTop / v.length, graded: !!j.jsn || !!j.erosion, called: (j.severity?.ra && j.severity.ra !== 'healthy') || (j.severity?.oa && j.severity.oa !== 'healthy') });
  }
}
rows.sort((a, b) => b.share - a.share);
for (const r of rows.slice(0, 40)) console.log(r.share.toFixed(3), (r.contrast ?? NaN).toFixed(3), r.filmTop.toFixed(4), r.f, r.site, r.graded ? 'graded' : '', r.called ? 'CALLED' : '');
const q = (p) => rows.map((r) => r.share).sort((a, b) => a - b)[Math.floor(p * (rows.length - 1))];
console.log('joints', rows.length, 'median', q(0.5), 'p90', q(0.9), 'p99', q(0.99));
