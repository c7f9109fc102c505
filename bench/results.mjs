// Building the results of one analysed 2048 x 2560 radiograph, each step against a reference
// in the same run. Build first (`npx tsc -p .`), then: node bench/results.mjs [models-dir] [count]
//   SR encode   our explicit VR little endian writer (src/dicom/encode.ts) vs dcmjs's
//               DicomDict.write on the same TID 1500 data set (the same bytes, tested)
//   overlay     renderOverlay (the panel's text and the joint marks each drawn over their own
//               rectangle) vs the way before 2026-12-03: one canvas-sized SVG composited over the
//               whole canvas (its shrink fixed; the pixels of the two are compared in the tests)
import { decodeDicomImage } from '../dist/imaging/decode.js';
import { toDisplay } from '../dist/imaging/preprocess.js';
import { analyzeDisplay } from '../dist/inference/analyze.js';
import { loadModels } from '../dist/inference/models.js';
import { encodePhantomDx } from '../dist/phantom/dicom-dx.js';
import { writePart10, writePart10WithDcmjs } from '../dist/dicom/part10.js';
import { buildSrDataset } from '../dist/reports/sr/index.js';
import { buildSecondaryCaptureDataset, overlayAsOneSvg, overlayLayout, renderOverlay, startOverlayPicture } from '../dist/reports/secondary-capture.js';
import { inOverlaySyntax, OVERLAY_SYNTAXES } from '../dist/reports/overlay-syntax.js';
import { benchHand, median } from './common.mjs';

const modelsDir = process.argv[2] ?? 'models';
const N = Number(process.argv[3] ?? 7);
async function time(f) {
  const ms = [];
  for (let i = 0; i <= N; i++) {
    const t = performance.now();
    await f();
    if (i > 0) ms.push(performance.now() - t); // the first is a warm-up
  }
  return median(ms);
}

const models = await loadModels(modelsDir, { provider: 'cpu' });
const rendered = benchHand();
const dx = await encodePhantomDx(rendered, { bitsStored: 12, photometric: 'MONOCHROME2', transferSyntax: '1.2.840.10008.1.2.1' });
const image = await decodeDicomImage(dx.bytes, 'bench');
const display = toDisplay(image);
const analysis = await analyzeDisplay(display, image.sopInstanceUID, models, undefined, { spacingFrom: 'header', paViewsOnly: true });
const names = { seriesDescription: 'bench', manufacturer: 'bench', deviceName: 'bench', algorithmName: 'bench', algorithmVersion: '0' };
const sr = buildSrDataset(analysis, image.dataset, { ...names, seriesNumber: 1, sopClass: 'comprehensive3d' });
const gray = Uint8Array.from(display.data, (v) => Math.round(v * 255));
const picture = { gray, rows: display.rows, columns: display.columns };

async function oneSvgOverlay() {
  const layout = overlayLayout(display.rows, display.columns, analysis, {});
  return overlayAsOneSvg((await startOverlayPicture(picture)).rgb, layout);
}

const joints = analysis.hands.reduce((n, h) => n + h.joints.length, 0);
console.log(`results of one 2048 x 2560 radiograph (${joints} joints), ${N} runs each after a warm-up, median ms`);
const srOurs = await time(() => writePart10(sr));
const srDcmjs = await time(() => writePart10WithDcmjs(sr));
console.log(`  SR encode (${(writePart10(sr).length / 1e6).toFixed(2)} MB)   ours ${srOurs.toFixed(0).padStart(4)}   dcmjs ${srDcmjs.toFixed(0).padStart(4)}`);
const parts = await time(() => renderOverlay(picture, analysis, {}));
const whole = await time(oneSvgOverlay);
console.log(`  overlay (SC picture)     ours ${parts.toFixed(0).padStart(4)}   one canvas-sized SVG ${whole.toFixed(0).padStart(4)}`);

// analysis.overlaySyntax: the overlay's file written uncompressed (the reference) and in each
// lossless syntax a site may choose, compression included; with its size
{
  const overlay = await renderOverlay(picture, analysis, {});
  const sc = buildSecondaryCaptureDataset(overlay, analysis, image.dataset, { ...names, seriesNumber: 2 });
  const explicit = await time(() => writePart10(sc));
  const size = (b) => `${(b.length / 1e6).toFixed(1)} MB`;
  const line = [`uncompressed ${explicit.toFixed(0)} ms, ${size(writePart10(sc))}`];
  for (const name of ['rle', 'jpeg-ls', 'jpeg-lossless']) {
    const syntax = OVERLAY_SYNTAXES[name];
    const ms = await time(async () => writePart10(await inOverlaySyntax(sc, name), syntax));
    line.push(`${name} ${ms.toFixed(0)} ms, ${size(writePart10(await inOverlaySyntax(sc, name), syntax))}`);
  }
  console.log(`  overlay syntax (the SC file written): ${line.join('; ')}`);
}
