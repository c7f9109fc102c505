// How a frame of Pixel Padding moves the grades (src/imaging/decode.ts paddingRange): phantom films
// rescaled into a narrow part of 12 bits (600-2600, as a film stored with headroom) are analysed
// as they are and again framed by `--frame` pixels of padding at 4095 with Pixel Padding Value set;
// the joints whose JSN and KL grades are the same both times are counted. Run it from a build with
// and without the padding rule to see what the rule keeps (the joints that still move do so with
// the detector's points on the larger matrix). With `--shutter` the frame is unexposed detector
// around a collimated field that a rectangular Display Shutter names instead (src/imaging/shutter.ts).
// Build first (`npx tsc -p .`), then
//   node scripts/padded-films.mjs out/test-wider [--count 6] [--frame 150] [--shutter] [models]
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readPart10, writePart10 } from '../dist/dicom/part10.js';
import { decodeDicomImage } from '../dist/imaging/decode.js';
import { analyzeImage } from '../dist/inference/analyze.js';
import { loadModels } from '../dist/inference/models.js';

const [dir, ...rest] = process.argv.slice(2);
const opt = (name, d) => Number(rest[rest.indexOf(`--${name}`) + 1] ?? d) || d;
const count = rest.includes('--count') ? opt('count', 6) : 6;
const frame = rest.includes('--frame') ? opt('frame', 150) : 150;
const shutter = rest.includes('--shutter');
const modelsDir = rest.find((a, i) => !a.startsWith('--') && !['--count', '--frame'].includes(rest[i - 1])) ?? 'models';
const models = await loadModels(modelsDir, { provider: 'cpu' });
const PAD = 4095;

/** The film's pixels moved into 600-2600 and framed by `m` pixels at PAD (Pixel Padding Value PAD, or a shutter around the film). */
function framed(bytes, m) {
  const { meta, dataset } = readPart10(bytes);
  const [R, C] = [dataset.Rows, dataset.Columns];
  const px = new Uint16Array(dataset.PixelData[0] ?? dataset.PixelData);
  const out = new Uint16Array((R + 2 * m) * (C + 2 * m)).fill(PAD);
  for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) out[(r + m) * (C + 2 * m) + c + m] = 600 + Math.round((px[r * C + c] * 2000) / 4095);
  const marks = shutter
    ? { ShutterShape: 'RECTANGULAR', ShutterLeftVerticalEdge: m + 1, ShutterRightVerticalEdge: m + C, ShutterUpperHorizontalEdge: m + 1, ShutterLowerHorizontalEdge: m + R }
    : { PixelPaddingValue: PAD, _vrMap: { PixelPaddingValue: 'US' } };
  const ds = { ...dataset, Rows: R + 2 * m, Columns: C + 2 * m, PixelData: [out.buffer], ...(m ? marks : {}) };
  return writePart10(ds, meta.TransferSyntaxUID);
}

const grades = async (bytes) => {
  const a = await analyzeImage(await decodeDicomImage(bytes, 'film'), models);
  return new Map(a.hands.flatMap((h) => h.joints.map((j) => [`${h.laterality}-${j.site}`, `${j.jsn?.grade}/${j.kl?.grade}`])));
};

let [joints, same] = [0, 0];
for (const f of readdirSync(dir).filter((n) => n.endsWith('.dcm')).sort().slice(0, count)) {
  const bytes = readFileSync(join(dir, f));
  const [plain, padded] = [await grades(framed(bytes, 0)), await grades(framed(bytes, frame))];
  const kept = [...plain].filter(([k, g]) => padded.get(k) === g).length;
  console.log(`${f}: ${kept} of ${plain.size} joints graded the same`);
  [joints, same] = [joints + plain.size, same + kept];
}
console.log(`framed by ${frame} px of ${shutter ? 'unexposed detector outside a shutter' : 'padding'}: ${same} of ${joints} joints keep their JSN and KL grades`);
