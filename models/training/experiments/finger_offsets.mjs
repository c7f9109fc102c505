// Experiment behind FINGER_READING.maxOffCentre (src/inference/finger.ts): on phantom films showing one
// whole finger (as scripts/finger-films.mjs picks them), every finger chain the summed partial-view maps
// give at each quarter turn, with its weakest joint and how far its line passes the film's middle, as a
// share of the film's width across the finger. The chains read right lay within 0.31, the one neighbour
// taken (phantom-9100128, seed set 9100001) at 0.42.
//   npx tsc -p . && node models/training/experiments/finger_offsets.mjs /tmp/fp /tmp/fp2
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import winston from 'winston';
import { loadModels } from '../../../dist/inference/models.js';
import { decodeImage } from '../../../dist/imaging/picture.js';
import { toDisplay } from '../../../dist/imaging/preprocess.js';
import { fingerChains, summedPeaks } from '../../../dist/inference/finger.js';
import { letterboxOnce, turnLetterbox } from '../../../dist/inference/orientation.js';

const log = winston.createLogger({ silent: true });
const models = await loadModels('models', { provider: 'cpu' });
const { manifest, runner } = models.partialDetector;
const { size } = manifest.input;
const { stride } = manifest.output;

/** The one digit 2-5 whose DIP, PIP and MCP are on the film (and no wrist), else undefined. */
function wholeFinger(hand) {
  const digits = [2, 3, 4, 5].filter((d) => ['DIP', 'PIP', 'MCP'].every((k) => hand.joints.some((j) => j.site === `${k}${d}`)));
  return digits.length === 1 && !hand.joints.some((j) => ['RC', 'CSL', 'STT'].includes(j.site)) ? digits[0] : undefined;
}

for (const dir of process.argv.slice(2)) {
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const truth = JSON.parse(readFileSync(join(dir, f), 'utf8'));
    const digit = truth.hands?.length === 1 ? wholeFinger(truth.hands[0]) : undefined;
    if (!digit) continue;
    const img = toDisplay(await decodeImage(readFileSync(join(dir, f.replace(/\.json$/, '.dcm'))), f, { log }));
    const lb = letterboxOnce(img, size);
    const mmPerCell = (stride / lb.scale) * Math.sqrt(img.pixelSpacingMm[0] * img.pixelSpacingMm[1]);
    const turns = [];
    for (const k of [0, 1, 2, 3]) {
      const out = (await runner.run({ [manifest.input.name]: { data: turnLetterbox(lb, k), dims: [1, 1, size, size] } }))[manifest.output.name];
      const [h, w] = k % 2 === 0 ? [lb.contentRows / stride, lb.contentColumns / stride] : [lb.contentColumns / stride, lb.contentRows / stride];
      const shares = fingerChains(summedPeaks(out, manifest.channels), mmPerCell).map(({ joints: { DIP: d, MCP: m }, score }) => {
        const [ax, ay] = [m.x - d.x, m.y - d.y];
        const across = Math.abs(ax) > Math.abs(ay) ? h : w;
        const off = Math.abs(((w / 2 - d.x) * ay - (h / 2 - d.y) * ax) / Math.hypot(ax, ay)) / across;
        return `${score.toFixed(2)}@${off.toFixed(2)}`;
      });
      if (shares.length) turns.push(`turn ${k}: ${shares.join(' ')}`);
    }
    console.log(`${f}\tdigit ${digit}\t${turns.join(' | ')}`);
  }
}
