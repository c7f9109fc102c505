#!/usr/bin/env node
// View classifier crops (src/inference/hand-crop.ts) of the whole hands the node would grade:
// the node's own detector and view check (jointsToGrade) pick the hands, the PA layout fitted
// to each hand's joints (handFrame) places the crop, so training sees what serving sees.
// Hands the layout check already refuses, and partial views, give no crop; with --any-hand
// every hand the detector recognises (enough joints for a layout fit, at any turn) gives one,
// graded or not: the feet the node reads as hands, most of which its thumb check refuses.
//
//   npm run build
//   node models/training/view_crops.mjs --list films.csv --out /tmp/view/train
//     films.csv: path,label (label: 0 a PA view, 1 oblique, or 1 a foot; any text after a comma is kept)
// Writes crops.f32 (N x rows x columns float32, little-endian) and index.csv
// (n,path,label,laterality,joints).
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { decodeImage } from '../../dist/imaging/picture.js';
import { toDisplay } from '../../dist/imaging/preprocess.js';
import { jointsToGrade } from '../../dist/inference/analyze.js';
import { HAND_CROP, sampleHandCrop } from '../../dist/inference/hand-crop.js';
import { loadModels } from '../../dist/inference/models.js';
import { detectAnyOrientation } from '../../dist/inference/orientation.js';
import { handFrame, withoutStrays } from '../../dist/inference/view.js';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const rows = readFileSync(args.list, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean).map((l) => l.split(','));
const models = await loadModels(args.models ?? 'models', { provider: 'cpu' });
mkdirSync(args.out, { recursive: true });
const fd = openSync(join(args.out, 'crops.f32'), 'w');
const index = ['n,path,label,laterality,joints'];
let n = 0;
for (const [path, label] of rows) {
  const bytes = readFileSync(path);
  const image = await decodeImage(bytes, path);
  const img = toDisplay(image);
  const hands = 'any-hand' in args ? await everyHand(img) : (await jointsToGrade(img, models, { spacingFrom: image.pixelSpacingSource === 'default' ? 'default' : 'header' })).hands;
  for (const laterality of ['L', 'R']) {
    if (hands.partial[laterality]) continue;
    const joints = hands.candidates.filter((c) => c.laterality === laterality);
    const frame = joints.length ? handFrame(joints, laterality) : undefined;
    if (!frame) continue;
    const crop = sampleHandCrop(img, frame);
    writeSync(fd, Buffer.from(crop.buffer, crop.byteOffset, crop.byteLength));
    index.push(`${n++},${path},${label},${laterality},${joints.length}`);
  }
}
closeSync(fd);

/** Every hand the detector finds at any turn, strays dropped, whatever the view check would say. */
async function everyHand(img) {
  const found = await detectAnyOrientation(img, models.detector.manifest, models.detector.runner);
  const candidates = ['L', 'R'].flatMap((side) => withoutStrays(found.candidates.filter((c) => c.laterality === side), side).kept);
  return { candidates, partial: {} };
}
writeFileSync(join(args.out, 'index.csv'), index.join('\n') + '\n');
writeFileSync(join(args.out, 'meta.json'), JSON.stringify({ rows: HAND_CROP.rows, columns: HAND_CROP.columns, crops: n }, null, 2));
console.log(`${n} crops of ${rows.length} films -> ${args.out}`);
