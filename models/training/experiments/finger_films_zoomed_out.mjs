// Experiment (not kept): films placed in a canvas KS times their size before each detector reads them, the joints
// put back and judged on the film itself.   npx tsc -p . && KS=1,1.5,2,3 node models/training/experiments/finger_films_zoomed_out.mjs <films>
// experiment: zoom out (pad) a film before the detectors read it, view-check on the original film
import { readFileSync } from 'node:fs';
const D = new URL('../../../dist', import.meta.url).pathname;
const { decodePicture } = await import(`${D}/imaging/picture.js`);
const { toDisplay } = await import(`${D}/imaging/preprocess.js`);
const { loadModels } = await import(`${D}/inference/models.js`);
const { detectAnyOrientation } = await import(`${D}/inference/orientation.js`);
const { keepPaHands, recognisedHand } = await import(`${D}/inference/view.js`);
const { movedCandidate } = await import(`${D}/inference/detector.js`);
const models = await loadModels(new URL('../../../models', import.meta.url).pathname, { provider: 'cpu', intraOpThreads: 2 });
const ks = (process.env.KS ?? '1,1.5,2,3').split(',').map(Number);
for (const f of process.argv.slice(2)) {
  const dec = await decodePicture(new Uint8Array(readFileSync(f)), f);
  const img = toDisplay(dec);
  const sorted = img.data.slice().sort(); const bg = sorted[Math.floor(sorted.length * 0.05)];
  for (const k of ks) {
    const R = Math.round(img.rows * k), C = Math.round(img.columns * k), y0 = (R - img.rows) >> 1, x0 = (C - img.columns) >> 1;
    const data = new Float32Array(R * C).fill(bg);
    for (let y = 0; y < img.rows; y++) data.set(img.data.subarray(y * img.columns, (y + 1) * img.columns), (y + y0) * C + x0);
    const pad = { rows: R, columns: C, data, pixelSpacingMm: img.pixelSpacingMm };
    for (const [name, det] of [['whole', models.detector], ['partial', models.partialDetector]]) {
      const found = await detectAnyOrientation(pad, det.manifest, det.runner);
      const back = found.candidates.map((c) => movedCandidate(c, (x, y) => [x - x0, y - y0])).filter((c) => c.x >= 0 && c.y >= 0 && c.x < img.columns && c.y < img.rows);
      const v = keepPaHands(back, img, true, recognisedHand(det.manifest.calibration));
      const hands = v.candidates;
      const summary = hands.length ? `${hands.length} graded ${Object.entries(v.partial).map(([l, p]) => l + ' partial notInView ' + p.notInView.length).join(' ')} ` + hands.map((c) => `${c.laterality}${c.site}@${Math.round(c.x)},${Math.round(c.y)}:${c.confidence.toFixed(2)}`).join(' ')
        : 'none: ' + v.notGraded.map((n) => n.cause + ' ' + n.reason.slice(0, 60)).join('; ');
      console.log(f.split('/').pop(), 'k', k, name, 'turn', found.quarterTurns, 'found', found.candidates.length, summary);
    }
  }
}
