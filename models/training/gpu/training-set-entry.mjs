// Entry of the self-contained training-set bundle (.gpu/training-set.mjs, built by
// models/training/gpu/build.sh) that run.sh runs on a machine without node_modules.
// Same writer and options as `jointscore training-set` (src/cli/training-set.ts; default
// acquisition ranges unless --wide), plus a wall-clock deadline: it writes chunks of
// --chunk images, each a complete split folder OUT/s<first seed>, and starts no chunk it
// would not finish by --deadline-s (estimated from the chunks so far). Without
// --deadline-s it writes --count images in one folder, exactly as the CLI does.
//   node .gpu/training-set.mjs --seed S --out DIR [--count N] [--chunk C --deadline-s T] [--wide]
import { join } from 'node:path';
import { TRAINING_DEFAULTS, writeTrainingSet } from '../../../dist/phantom/training-set.js';

const a = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = a.indexOf(`--${name}`);
  return i >= 0 ? a[i + 1] : dflt;
};
const count = Number(opt('count', '100'));
const seed = Number(opt('seed', '1'));
const chunk = Number(opt('chunk', '25'));
const deadline = opt('deadline-s') === undefined ? undefined : Number(opt('deadline-s'));
const out = opt('out');
if (!out || !Number.isInteger(count) || count < 1 || !Number.isInteger(seed) || seed < 0 || !Number.isInteger(chunk) || chunk < 1) {
  console.error('usage: training-set.mjs --seed S --out DIR [--count N] [--chunk C --deadline-s T] [--wide]');
  process.exit(2);
}
const base = {
  wideRanges: a.includes('--wide'),
  detectorSize: TRAINING_DEFAULTS.detectorSize, cropPx: TRAINING_DEFAULTS.cropPx, cropMmPerPx: TRAINING_DEFAULTS.cropMmPerPx,
};
const started = Date.now();
const secs = () => (Date.now() - started) / 1000;
if (deadline === undefined) {
  const r = writeTrainingSet({ ...base, count, seed, out }, (i) => {
    if ((i + 1) % 25 === 0) console.log(JSON.stringify({ msg: 'training images', out, done: i + 1, of: count, seconds: secs() }));
  });
  console.log(JSON.stringify({ msg: 'training set written', ...r, out, seconds: secs() }));
} else {
  let images = 0;
  let crops = 0;
  let s = seed;
  let slowest = 0;
  // count caps the images of this process in deadline mode too
  while (images < count) {
    const n = Math.min(chunk, count - images);
    if (images > 0 && secs() + slowest * (n / chunk) * 1.1 > deadline) break;
    const t0 = secs();
    const r = writeTrainingSet({ ...base, count: n, seed: s, out: join(out, `s${s}`) });
    slowest = Math.max(slowest, secs() - t0);
    images += r.images;
    crops += r.crops;
    s += n;
  }
  console.log(JSON.stringify({ msg: 'training chunks written', out, images, crops, seeds: [seed, s - 1], seconds: secs() }));
}
