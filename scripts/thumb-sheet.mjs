// Real-film check of the thumb step (src/inference/thumb-gap.ts): for every MCP1 the node grades
// on a folder of films, the grader's field of view (18 mm, upright) at the detector's point and
// at the point the thumb step gives, side by side, with the central 9 mm framed; one PNG sheet
// to judge by eye whether the joint lies in the centre (docs/eval/real-films/thumb-mcp1-by-eye.csv).
// Not a test: the films are not part of the project. Build first (`npx tsc -p .`), then
//   node scripts/thumb-sheet.mjs <folder of PNG/JPEG films> <out.png> [models folder]
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { decodePicture, pictureKind } from '../dist/imaging/picture.js';
import { jointsToGrade } from '../dist/inference/analyze.js';
import { loadModels } from '../dist/inference/models.js';
import { onThumbGap } from '../dist/inference/thumb-gap.js';
import { sampleCrop, toDisplay } from '../dist/imaging/preprocess.js';

const [dir, out, modelsDir = 'models'] = process.argv.slice(2);
if (!dir || !out) {
  console.error('usage: node scripts/thumb-sheet.mjs <folder of PNG/JPEG films> <out.png> [models]');
  process.exit(2);
}
const models = await loadModels(modelsDir, { provider: 'cpu' });
const PX = 112; // 0.16 mm a pixel: the grader's crop
const tiles = [];
for (const file of readdirSync(dir).sort()) {
  const bytes = readFileSync(join(dir, file));
  if (!pictureKind(bytes)) continue;
  const img = toDisplay(await decodePicture(bytes, file));
  // the detector's points once; the thumb step on them, as jointsToGrade applies it
  const { hands, spacing } = await jointsToGrade(img, models, { spacingFrom: 'default', thumbGap: false });
  const spaced = { ...img, pixelSpacingMm: spacing.mm };
  const after = onThumbGap(spaced, hands.candidates);
  for (const c of hands.candidates.filter((c) => c.site === 'MCP1')) {
    const a = after.find((d) => d.site === 'MCP1' && d.laterality === c.laterality);
    const field = (p) => sampleCrop(spaced, { x: p.x, y: p.y, distal: { x: 0, y: -1 } }, PX, 0.16);
    const moved = Math.hypot(a.x - c.x, a.y - c.y) * spacing.mm[0];
    tiles.push({ label: `${file} ${c.laterality} conf ${c.confidence.toFixed(2)} moved ${moved.toFixed(1)} mm`, pair: [field(c), field(a)] });
    console.log(`${tiles.length - 1}\t${file}\t${c.laterality}\t${c.confidence.toFixed(3)}\t${moved.toFixed(1)}`);
  }
}
// a grid of pairs, 2 x 112 pixels wide each with a 4-pixel gap, the central 9 mm framed
const cols = 4;
const W = cols * (2 * PX + 12);
const H = Math.ceil(tiles.length / cols) * (PX + 8);
const sheet = new Uint8Array(W * H);
tiles.forEach(({ pair }, i) => {
  const x0 = (i % cols) * (2 * PX + 12);
  const y0 = Math.floor(i / cols) * (PX + 8);
  pair.forEach((crop, k) => {
    for (let r = 0; r < PX; r++) {
      for (let c = 0; c < PX; c++) {
        const frame = (r === 28 || r === 84) && c >= 28 && c <= 84 || (c === 28 || c === 84) && r >= 28 && r <= 84;
        sheet[(y0 + r) * W + x0 + k * (PX + 4) + c] = frame ? 255 : Math.round(Math.min(1, Math.max(0, crop[r * PX + c])) * 220);
      }
    }
  });
});
await sharp(Buffer.from(sheet), { raw: { width: W, height: H, channels: 1 } }).png().toFile(out);
console.log(`${tiles.length} thumbs -> ${out} (left: the detector's point, right: the thumb step's; rows as printed)`);
