// CPU time of one image through the node: DICOM decode, display window, detector, grader.
// Build first (`npx tsc -p .`), then:
//   node bench/analyze.mjs [models-dir] [count]
// models-dir defaults to test/fixtures/models (the tiny test models: the time is then decode
// and preprocessing); pass models/ for the real ones. A 2048 x 2560 phantom at 0.15 mm,
// 12 bits, each transfer syntax in turn.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeDicomImage } from '../dist/imaging/decode.js';
import { readPart10, writePart10 } from '../dist/dicom/part10.js';
import { analyzeDisplay, analyzeImage } from '../dist/inference/analyze.js';
import { loadModels } from '../dist/inference/models.js';
import { encodePhantomDx } from '../dist/phantom/dicom-dx.js';
import { renderChest } from '../dist/phantom/chest.js';
import { slantPhantom, turnPhantom } from '../dist/phantom/orient.js';
import { fieldOf, panelsOf } from '../dist/inference/panels.js';
import { toDisplay } from '../dist/imaging/preprocess.js';
import { benchHand, median } from './common.mjs';

const modelsDir = process.argv[2] ?? 'test/fixtures/models';
const N = Number(process.argv[3] ?? 5);
const threads = Number(process.env.THREADS ?? 0) || undefined;
const models = await loadModels(modelsDir, { provider: 'cpu', intraOpThreads: threads });
const rendered = benchHand();
/** Milliseconds `run` takes. */
const timed = async (run) => {
  const t = performance.now();
  await run();
  return performance.now() - t;
};
/**
 * The median of `measure(true)` and of `measure(false)` over `rounds` rounds, the two alternated
 * in each (the first round a warm-up, not counted): a step's cost against the same analysis
 * without it, in the same run.
 */
async function withAndWithout(rounds, measure) {
  const runs = { with: [], without: [] };
  for (let i = 0; i <= rounds; i++) {
    for (const on of [true, false]) {
      const ms = await measure(on);
      if (i > 0) runs[on ? 'with' : 'without'].push(ms);
    }
  }
  return [median(runs.with), median(runs.without)];
}
// a film without a hand: the detectors find none, so every turn, the partial-view detector and the panel check run
const chest = renderChest({ seed: 11, rows: 2560, columns: 2048, pixelSpacingMm: 0.15 });
const syntaxes = {
  explicit: '1.2.840.10008.1.2.1',
  'jpeg-lossless': '1.2.840.10008.1.2.4.70',
  'jpeg-ls': '1.2.840.10008.1.2.4.80',
  j2k: '1.2.840.10008.1.2.4.90',
  rle: '1.2.840.10008.1.2.5',
};
// The reference in the same run: DCMTK decompressing the same file to native (a separate
// process that also writes the result; JPEG 2000 has no DCMTK decoder).
const DCMTK = { 'jpeg-lossless': 'dcmdjpeg', 'jpeg-ls': 'dcmdjpls', rle: 'dcmdrle' };
const work = mkdtempSync(join(tmpdir(), 'js-bench-'));
function dcmtkMs(label, bytes) {
  const tool = DCMTK[label];
  if (!tool) return undefined;
  const src = join(work, `${label}.dcm`);
  writeFileSync(src, bytes);
  const times = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    const r = spawnSync(tool, [src, join(work, `${label}-native.dcm`)]);
    if (r.status !== 0) return undefined;
    times.push(performance.now() - t);
  }
  return median(times);
}
console.log(`analyze 2048x2560, models ${modelsDir} (${models.detector.manifest.name} ${models.detector.manifest.input.size}px, ${models.grader.manifest.name} ${models.grader.manifest.input.cropPx}px), ${N} runs each, median ms`);
const totals = [];
/**
 * High-Throughput JPEG 2000, where OpenJPH's tools are installed (Debian's openjph-tools): the
 * film encoded losslessly by ojph_compress, and ojph_expand's decode of the same codestream
 * (to a PGM file, a separate process) timed as the reference.
 */
function htj2kFilm(explicitBytes) {
  if (spawnSync('ojph_compress', []).error) return undefined;
  const { dataset } = readPart10(explicitBytes);
  const [rows, columns] = [dataset.Rows, dataset.Columns];
  const px = new Uint16Array(dataset.PixelData[0], 0, rows * columns);
  const body = Buffer.alloc(px.length * 2);
  for (let i = 0; i < px.length; i++) body.writeUInt16BE(px[i], 2 * i);
  const [pgm, j2c] = [join(work, 'htj2k.pgm'), join(work, 'htj2k.j2c')];
  writeFileSync(pgm, Buffer.concat([Buffer.from(`P5\n${columns} ${rows}\n4095\n`, 'latin1'), body]));
  if (spawnSync('ojph_compress', ['-i', pgm, '-o', j2c, '-reversible', 'true']).status !== 0) return undefined;
  let cs = readFileSync(j2c);
  if (cs.length % 2) cs = Buffer.concat([cs, Buffer.alloc(1)]);
  const bytes = writePart10({ ...dataset, PixelData: [cs.buffer.slice(cs.byteOffset, cs.byteOffset + cs.length)], _vrMap: { PixelData: 'OB' } }, '1.2.840.10008.1.2.4.201');
  const times = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    if (spawnSync('ojph_expand', ['-i', j2c, '-o', join(work, 'htj2k-out.pgm')]).status !== 0) return undefined;
    times.push(performance.now() - t);
  }
  return { bytes, referenceMs: median(times) };
}
const films = [];
for (const [label, ts] of Object.entries(syntaxes)) {
  const dx = await encodePhantomDx(rendered, { bitsStored: 12, photometric: 'MONOCHROME2', transferSyntax: ts });
  films.push({ label, bytes: dx.bytes, reference: () => dcmtkMs(label, dx.bytes), referenceName: `DCMTK ${DCMTK[label]}` });
  if (label === 'explicit') {
    const ht = htj2kFilm(dx.bytes);
    if (ht) films.push({ label: 'htj2k', bytes: ht.bytes, reference: () => ht.referenceMs, referenceName: 'OpenJPH ojph_expand' });
  }
}
for (const { label, bytes, reference: referenceOf, referenceName } of films) {
  const dx = { bytes };
  const rows = { decode: [], display: [], detect: [], grade: [], total: [] };
  for (let i = 0; i <= N; i++) {
    const t0 = performance.now();
    const img = await decodeDicomImage(dx.bytes, label);
    const t1 = performance.now();
    const timings = {};
    const a = await analyzeImage(img, models, timings);
    const t2 = performance.now();
    if (i === 0) continue; // warm-up
    rows.decode.push(t1 - t0);
    rows.display.push(timings.displayMs);
    rows.detect.push(timings.detectMs);
    rows.grade.push(timings.gradeMs);
    rows.total.push(t2 - t0);
    if (i === N) {
      const reference = referenceOf();
      const joints = a.hands.reduce((n, h) => n + h.joints.length, 0);
      console.log(
        `  ${label.padEnd(14)} decode ${median(rows.decode).toFixed(0).padStart(4)}  display ${median(rows.display).toFixed(0).padStart(4)}  ` +
          `detect (letterbox + run) ${median(rows.detect).toFixed(0).padStart(4)}  grade (${joints} crops + run) ${median(rows.grade).toFixed(0).padStart(4)}  ` +
          `total ${median(rows.total).toFixed(0).padStart(4)}` +
          (reference !== undefined ? `   (${referenceName}: ${reference.toFixed(0)})` : ''),
      );
      totals.push(median(rows.total));
    }
  }
}
rmSync(work, { recursive: true, force: true });

// A film without a hand (the chest phantom): the detector finds none, so the partial-view
// detector, where loaded, is asked too. Its cost is measured against the same models
// without it, in the same run.
if (models.partialDetector) {
  const img = await decodeDicomImage((await encodePhantomDx(chest, { bitsStored: 12, photometric: 'MONOCHROME2', transferSyntax: syntaxes.explicit })).bytes, 'chest');
  const without = { detector: models.detector, grader: models.grader };
  const detectMs = async (m) => {
    const runs = [];
    for (let i = 0; i <= N; i++) {
      const timings = {};
      await analyzeImage(img, m, timings);
      if (i > 0) runs.push(timings.detectMs);
    }
    return median(runs);
  };
  const [alone, both] = [await detectMs(without), await detectMs(models)];
  console.log(`  no hand (chest phantom): detect ${alone.toFixed(0)} ms with ${models.detector.manifest.name} alone, ${both.toFixed(0)} ms with ${models.partialDetector.manifest.name} asked too (+${(both - alone).toFixed(0)})`);
}
// A film without a hand lying at a slant (the chest turned 20 degrees): where the partial-view
// detector reads no partial view as the film lies, it reads it again levelled (orientation.ts
// detectLevelled). Its cost against the same analysis without that reading, in the same run,
// alternating the two (decode included, uncompressed).
if (models.partialDetector) {
  const bytes = (await encodePhantomDx(slantPhantom(chest, 20), { bitsStored: 12, photometric: 'MONOCHROME2', transferSyntax: syntaxes.explicit })).bytes;
  const [w, wo] = await withAndWithout(N, (levelled) => timed(async () => analyzeImage(await decodeDicomImage(bytes, 'slanted'), models, undefined, { levelled })));
  console.log(`  no hand, at a slant (chest turned 20 degrees): total ${w.toFixed(0)} ms with the levelled reading, ${wo.toFixed(0)} ms without (+${(w - wo).toFixed(0)})`);
}
// A film without a hand (the chest): where nothing else is found, the partial-view detector's
// summed finger channels are read at each quarter turn for a finger film no header names
// (analyze.ts `fingerSeen`). Its cost against the same analysis without it, in the same run,
// alternating the two (decode included, uncompressed).
if (models.partialDetector) {
  const bytes = (await encodePhantomDx(chest, { bitsStored: 12, photometric: 'MONOCHROME2', transferSyntax: syntaxes.explicit })).bytes;
  const [w, wo] = await withAndWithout(N, (fingerSeen) => timed(async () => analyzeImage(await decodeDicomImage(bytes, 'chest'), models, undefined, { fingerSeen })));
  console.log(`  no hand (chest), a finger film looked for: total ${w.toFixed(0)} ms with the look, ${wo.toFixed(0)} ms without (+${(w - wo).toFixed(0)})`);
}
// The growth-plate check (src/inference/physes.ts) runs inside the grade step on every graded
// film: its cost against the same analysis without it, in the same run, alternating the two.
{
  const dx = await encodePhantomDx(rendered, { bitsStored: 12, photometric: 'MONOCHROME2', transferSyntax: syntaxes.explicit });
  const img = await decodeDicomImage(dx.bytes, 'explicit');
  const [w, wo] = await withAndWithout(2 * N, async (openPhysesCheck) => {
    const timings = {};
    await analyzeImage(img, models, timings, { openPhysesCheck });
    return timings.gradeMs;
  });
  console.log(`  growth-plate check: grade step ${w.toFixed(1)} ms with it, ${wo.toFixed(1)} ms without (+${(w - wo).toFixed(1)})`);
}
// The lead marker (src/inference/marker.ts), read on every film where a hand is found: the same
// analysis with and without it, in the same run, alternating the two.
{
  const dx = await encodePhantomDx(rendered, { bitsStored: 12, photometric: 'MONOCHROME2', transferSyntax: syntaxes.explicit });
  const img = await decodeDicomImage(dx.bytes, 'explicit');
  const [w, wo] = await withAndWithout(2 * N, (markers) => timed(() => analyzeImage(img, models, undefined, { markers })));
  console.log(`  lead marker: total ${w.toFixed(0)} ms with it, ${wo.toFixed(0)} ms without (+${(w - wo).toFixed(1)})`);
}
// Pixels that are not square (src/imaging/preprocess.ts squarePixels): the bench's hand with
// every two columns averaged into one and its spacing said so (1024 x 2560 pixels, 0.3 mm
// across), stretched back to square pixels before the models see it, against the same hand
// stored on square pixels (2048 x 2560), alternating the two (display images made once).
{
  const [rows, columns] = [rendered.rows, rendered.columns >> 1];
  const mm = rendered.spec.pixelSpacingMm;
  const display = (values, cols, across) => toDisplay({ rows, columns: cols, photometric: 'MONOCHROME2', pixelSpacingMm: [mm, across], values });
  const films = {
    stretched: display(Uint16Array.from({ length: rows * columns }, (_, i) => Math.round(((rendered.image[2 * i] + rendered.image[2 * i + 1]) / 2) * 4095)), columns, 2 * mm),
    square: display(Uint16Array.from(rendered.image, (v) => Math.round(v * 4095)), rendered.columns, mm),
  };
  const runs = { stretched: [], square: [] };
  const joints = {};
  for (let i = 0; i <= 2 * N; i++) {
    for (const [k, film] of Object.entries(films)) {
      const t = performance.now();
      const a = await analyzeDisplay(film, '1.2.3', models);
      if (i > 0) runs[k].push(performance.now() - t);
      joints[k] = a.hands.reduce((n, h) => n + h.joints.length, 0);
    }
  }
  const [w, wo] = [median(runs.stretched), median(runs.square)];
  console.log(`  pixels not square (1024 x 2560 at 0.3 x 0.15 mm, width by height): total ${w.toFixed(0)} ms (${joints.stretched} joints), the same hand on square pixels ${wo.toFixed(0)} ms (${joints.square} joints) (+${(w - wo).toFixed(0)})`);
}
// Orientation (src/inference/orientation.ts): a film stored turned or mirrored costs the
// detector passes that find no sure upright PA hand first. The same hand stored upright, turned
// and mirrored, and the chest film (no hand: every turn, both detectors, panels), analysed in
// turn in the same run (decode included, uncompressed), against the upright film.
{
  const films = [
    ['upright', rendered],
    ['turned 90', turnPhantom(rendered, { quarterTurns: 1, mirrored: false })],
    ['turned 180', turnPhantom(rendered, { quarterTurns: 2, mirrored: false })],
    ['turned 270, mirrored', turnPhantom(rendered, { quarterTurns: 3, mirrored: true })],
    ['no hand (chest)', chest],
  ];
  const bytes = [];
  for (const [label, r] of films) bytes.push([label, (await encodePhantomDx(r, { bitsStored: 12, photometric: 'MONOCHROME2', transferSyntax: syntaxes.explicit })).bytes]);
  const runs = new Map(bytes.map(([label]) => [label, []]));
  const found = new Map();
  for (let i = 0; i <= N; i++) {
    for (const [label, b] of bytes) {
      const t = performance.now();
      const a = await analyzeImage(await decodeDicomImage(b, label), models);
      if (i > 0) runs.get(label).push(performance.now() - t);
      found.set(label, a.hands.reduce((n, h) => n + h.joints.length, 0));
    }
  }
  const upright = median(runs.get('upright'));
  for (const [label, xs] of runs) {
    const ms = median(xs);
    console.log(`  orientation: ${label.padEnd(21)} total ${ms.toFixed(0).padStart(4)} ms (${label === 'upright' ? 'the reference' : `${ms - upright >= 0 ? '+' : ''}${(ms - upright).toFixed(0)} against upright`}), ${found.get(label)} joints`);
  }
  const worst = Math.max(...[...runs.values()].map(median));
  console.log(`  target (issue 10): analysis at any orientation <= 250 ms (median, uncompressed, 2 cores): worst ${worst.toFixed(0)} ms ${worst <= 250 ? 'PASS' : 'FAIL'}`);
}
// The panel check alone (src/inference/panels.ts: every column and row of the film tested for
// one value), on the chest film, which has no border: the part of the no-hand figure above it is.
{
  const display = toDisplay(await decodeDicomImage((await encodePhantomDx(chest, { bitsStored: 12, photometric: 'MONOCHROME2', transferSyntax: syntaxes.explicit })).bytes, 'chest'));
  // each run on its own copy of the pixels: the lines scanned are kept per film (panels.ts)
  const fresh = () => ({ ...display, data: display.data.slice() });
  const [runs, both, twice] = [[], [], []];
  for (let i = 0; i <= N; i++) {
    const [a, b, c] = [fresh(), fresh(), fresh()];
    let t = performance.now();
    panelsOf(a);
    const alone = performance.now() - t;
    fieldOf(a);
    const kept = performance.now() - t;
    t = performance.now();
    panelsOf(b);
    fieldOf(c);
    const again = performance.now() - t;
    if (i > 0) [runs, both, twice].forEach((xs, k) => xs.push([alone, kept, again][k]));
  }
  console.log(`  panel check (no border, 2048 x 2560): ${median(runs).toFixed(1)} ms; with the exposed-field check after it (a film without a hand): ${median(both).toFixed(1)} ms, ${median(twice).toFixed(1)} ms with its lines scanned again`);
}
const uncompressed = totals[0];
console.log(`  target: detector + grader incl. decoding <= 400 ms (median, uncompressed): ${uncompressed.toFixed(0)} ms ${uncompressed <= 400 ? 'PASS' : 'FAIL'}`);
