// How far the spacing estimated from a hand's bone lengths (src/inference/spacing.ts) lies from a
// phantom's true spacing, on the phantom's own true joint positions: the spread that
// SPACING_TOLERANCE must leave room for. A folder made by `jointscore phantom` (each film's truth
// JSON beside it): hands the phantom drew shrunk to fit the film, smaller than adults', show as an
// estimate above 1. `--render`: instead, 150 healthy and 150 rheumatoid phantom hands rendered on
// a film large enough for every hand (1024 x 1280 at 0.2 mm), each at its drawn size.
// Build first (`npx tsc -p .`), then
//   node scripts/spacing-spread.mjs <phantom folder> [--films]
//   node scripts/spacing-spread.mjs --render [--films]
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { estimateSpacing, SPACING_TOLERANCE } from '../dist/inference/spacing.js';
import { renderPhantom } from '../dist/phantom/render.js';

const perFilm = process.argv.includes('--films');
const [dir] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const ratios = [];
const measure = (name, spacing, hands) => {
  const joints = hands.flatMap((h) => h.joints.map((j) => ({ laterality: h.laterality, site: j.site, x: j.x, y: j.y, confidence: 1 })));
  const est = estimateSpacing(joints);
  if (est?.measuredOn !== 'hand') return;
  const ratio = est.mm / ((spacing[0] + spacing[1]) / 2);
  ratios.push(ratio);
  if (perFilm) console.log(`${name}\t${ratio.toFixed(3)}`);
};
if (process.argv.includes('--render')) {
  for (let seed = 3000; seed < 3150; seed++) {
    for (const profile of ['healthy', 'ra']) {
      const r = renderPhantom({ seed, rows: 1280, columns: 1024, pixelSpacingMm: 0.2, layout: 'one', profile, laterality: 'L' });
      measure(`${seed} ${profile}`, [0.2, 0.2], r.hands);
    }
  }
} else {
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const truth = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    measure(file, truth.source.pixelSpacingMm, truth.hands);
  }
}
ratios.sort((a, b) => a - b);
const q = (p) => ratios[Math.floor(p * (ratios.length - 1))].toFixed(3);
const off = ratios.filter((r) => Math.max(r, 1 / r) > SPACING_TOLERANCE.hand).length;
console.log(`${ratios.length} hands: estimate / true spacing min ${q(0)}, 5th ${q(0.05)}, median ${q(0.5)}, 95th ${q(0.95)}, max ${q(1)}`);
console.log(`beyond the whole-hand tolerance (${SPACING_TOLERANCE.hand}): ${off}`);
