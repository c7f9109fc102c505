// Real-film check of the joint detector: the share of labelled joints found within 10 % of
// that hand's MCP2-MCP5 distance (PCK@0.1), on real radiographs with joint coordinates, with
// each film as it is, turned 90, 180 and 270 degrees clockwise and mirrored (films arrive as
// acquired). Not a test: the real films are not part of the project. Build first
// (`npx tsc -p .`), then
//   node scripts/real-films.mjs <folder with joints-shsnet.csv and its PNGs> [out folder] [models folder]
// The CSV: img_id (or image), then <joint>_x, <joint>_y columns in the PNG's pixels.
// Pixel spacing of these PNG crops is unknown; 0.2 mm is assumed (it scales only the crops
// the grader sees, not the detector's input).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { analyzeImage } from '../dist/inference/analyze.js';
import { loadModels } from '../dist/inference/models.js';

const [dir, out = 'out/real-films', modelsDir = 'models'] = process.argv.slice(2);
if (!dir) {
  console.error('usage: node scripts/real-films.mjs <folder with joints-shsnet.csv> [out] [models]');
  process.exit(2);
}
const SPACING = Number(process.env.REAL_SPACING_MM ?? 0.2);
// the CSV's names -> our vocabulary
const NAMES = { IP: 'IP1', MP: 'MCP1', PIP2: 'PIP2', PIP3: 'PIP3', PIP4: 'PIP4', PIP5: 'PIP5', MCP2: 'MCP2', MCP3: 'MCP3', MCP4: 'MCP4', MCP5: 'MCP5' };

const lines = readFileSync(join(dir, 'joints-shsnet.csv'), 'utf8').trim().split('\n');
const header = lines[0].split(',');
const rows = lines.slice(1).map((l) => Object.fromEntries(l.split(',').map((v, i) => [header[i], v])));
const models = await loadModels(modelsDir, { provider: 'cpu' });
mkdirSync(out, { recursive: true });

// clockwise turns and a left-right mirror, as sharp applies them, and where a point goes
const ORIENTATIONS = {
  upright: { apply: (s) => s, point: (x, y) => [x, y] },
  turned90: { apply: (s) => s.rotate(90), point: (x, y, w, h) => [h - y, x] },
  turned180: { apply: (s) => s.rotate(180), point: (x, y, w, h) => [w - x, h - y] },
  turned270: { apply: (s) => s.rotate(270), point: (x, y, w, h) => [y, w - x] },
  mirrored: { apply: (s) => s.flop(), point: (x, y, w) => [w - x, y] },
};

let found = 0;
let total = 0;
const perImage = [];
const byOrientation = Object.fromEntries(Object.keys(ORIENTATIONS).map((k) => [k, { found: 0, total: 0, errors: [] }]));
for (const row of rows) for (const [orientation, o] of Object.entries(ORIENTATIONS)) {
  const file = row.img_id ?? row.image ?? Object.values(row)[0];
  const mirrored = orientation === 'mirrored';
  const laterality = (/_R\.png$/.test(file) ? 'R' : 'L') === 'R' !== mirrored ? 'R' : 'L';
  const meta = await sharp(join(dir, file)).metadata();
  const { data, info } = await o.apply(sharp(join(dir, file)).greyscale()).raw().toBuffer({ resolveWithObject: true });
  const values = new Uint16Array(info.width * info.height);
  for (let i = 0; i < values.length; i++) values[i] = data[i * info.channels];
  const analysis = await analyzeImage(
    { rows: info.height, columns: info.width, values, photometric: 'MONOCHROME2', pixelSpacingMm: [SPACING, SPACING], sopInstanceUID: file },
    models,
  );
  const truth = Object.fromEntries(
    Object.entries(NAMES).map(([csv, site]) => {
      const [x, y] = o.point(Number(row[`${csv}_x`]), Number(row[`${csv}_y`]), meta.width, meta.height);
      return [site, { x, y }];
    }),
  );
  const ref = Math.hypot(truth.MCP2.x - truth.MCP5.x, truth.MCP2.y - truth.MCP5.y);
  // the labelled hand's joints, whichever laterality the model gave it (laterality is scored apart)
  const predicted = new Map();
  for (const hand of analysis.hands) for (const j of hand.joints) if (!predicted.has(j.site) || hand.laterality === laterality) predicted.set(j.site, { ...j, laterality: hand.laterality });
  let ok = 0;
  const marks = [];
  for (const [site, t] of Object.entries(truth)) {
    const p = predicted.get(site);
    const hit = p && Math.hypot(p.x - t.x, p.y - t.y) <= 0.1 * ref;
    if (hit) ok++;
    // localisation error of each labelled joint found, in MCP2-MCP5 distances (finer than PCK)
    if (p) byOrientation[orientation].errors.push(Math.hypot(p.x - t.x, p.y - t.y) / ref);
    marks.push(`<circle cx="${t.x}" cy="${t.y}" r="${0.1 * ref}" fill="none" stroke="#3c3" stroke-width="2"/>`);
    if (p) marks.push(`<circle cx="${p.x}" cy="${p.y}" r="4" fill="${hit ? '#3c3' : '#e33'}"/><text x="${p.x + 6}" y="${p.y - 6}" font-family="DejaVu Sans" font-size="14" fill="${hit ? '#3c3' : '#e33'}">${site}</text>`);
  }
  found += ok;
  total += Object.keys(truth).length;
  byOrientation[orientation].found += ok;
  byOrientation[orientation].total += Object.keys(truth).length;
  const lats = analysis.hands.map((h) => h.laterality).join('');
  perImage.push({ file, orientation, laterality, predictedHands: lats, found: ok, of: Object.keys(truth).length });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${info.width}" height="${info.height}">${marks.join('')}</svg>`;
  await o.apply(sharp(join(dir, file))).greyscale().toColourspace('srgb').composite([{ input: Buffer.from(svg) }]).png().toFile(join(out, file.replace(/\.png$/, `-${orientation}-overlay.png`)));
}
const medianOf = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const v of Object.values(byOrientation)) {
  v.pck10 = v.found / v.total;
  v.medianError = Math.round(medianOf(v.errors) * 1e4) / 1e4;
  v.meanError = Math.round((v.errors.reduce((a, b) => a + b, 0) / v.errors.length) * 1e4) / 1e4;
  delete v.errors;
}
const result = { pck10: found / total, found, total, byOrientation, assumedSpacingMm: SPACING, models: modelsDir, images: perImage };
writeFileSync(join(out, 'real-films.json'), JSON.stringify(result, null, 2) + '\n');
console.log(JSON.stringify(result, null, 2));
