// Detector samples of phantom feet (src/phantom/foot.ts) with no joints: negatives for a
// detector fine-tune, in the training-set layout (detector.u16, detector.jsonl, meta.json).
// Every 5th film shows two feet, every 2nd is turned and some mirrored.
//   npm run build && node models/training/foot_negatives.mjs /tmp/jsp/feet-neg 8000001 300
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { JOINT_SITES } from '../../dist/analysis/joints.js';
import { letterbox, toDisplay } from '../../dist/imaging/preprocess.js';
import { quantisePhantomImage } from '../../dist/phantom/dicom-dx.js';
import { renderPhantom } from '../../dist/phantom/render.js';
import { toU16, trainingSpec } from '../../dist/phantom/training-set.js';
import { turnPhantom } from '../../dist/phantom/orient.js';
const [out, seed0, count] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
mkdirSync(out, { recursive: true });
const fd = openSync(join(out, 'detector.u16'), 'w');
const lines = [];
for (let i = 0; i < count; i++) {
  const seed = seed0 + i;
  const spec = { ...trainingSpec(seed, true), bodyPart: 'foot', layout: i % 5 === 0 ? 'both' : 'one' };
  let r = renderPhantom(spec);
  if (i % 2) r = turnPhantom(r, { quarterTurns: (i >> 1) % 4, mirrored: i % 3 === 0 });
  const img = toDisplay({ rows: r.rows, columns: r.columns, values: quantisePhantomImage(r.image, spec.bitsStored, spec.photometric), photometric: spec.photometric, pixelSpacingMm: [spec.pixelSpacingMm, spec.pixelSpacingMm] });
  const lb = letterbox(img, 256);
  writeSync(fd, toU16(lb.data));
  lines.push(JSON.stringify({ image: i, seed, spec: { ...spec, rows: r.rows, columns: r.columns }, scale: lb.scale, joints: [] }));
}
closeSync(fd);
writeFileSync(join(out, 'detector.jsonl'), lines.join('\n') + '\n');
writeFileSync(join(out, 'crops.jsonl'), ''); writeFileSync(join(out, 'crops.u16'), '');
writeFileSync(join(out, 'meta.json'), JSON.stringify({ kind: 'phantom feet, no joints (negatives)', detectorSize: 256, cropPx: 112, cropMmPerPx: 0.16, sites: JOINT_SITES, seeds: [seed0, seed0 + count - 1], images: count, crops: 0 }, null, 1));
console.log(count, 'feet ->', out);
