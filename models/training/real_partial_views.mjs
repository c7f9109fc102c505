#!/usr/bin/env node
// Partial-view detector samples cut from real films: wrist-only and finger-only windows of
// real whole PA hands, the joints in view labelled by detector 0.2.0's own reading of the
// whole hand (pseudo-labels, kept only where it reads a whole PA hand surely). The partial-view
// detector learnt wrist and finger films from the phantom alone; these teach it what real
// carpal bones, soft tissue and film processing look like, with the sites named where the
// whole hand made them unambiguous. Written in the training-set layout (detector.u16,
// detector.jsonl, meta.json) of src/phantom/training-set.ts, windows drawn as the phantom's
// (src/phantom/partial.ts partialWindow), each cut film windowed on its own values as a real
// wrist film is.
//
//   npm run build
//   node models/training/real_partial_views.mjs --out /tmp/jsp/real-partial --list real-train.txt [--per-film 8]
//
// --whole: the same sure hands as whole-hand samples instead (the film, then windows around
// the hand with random margins), for the detector to learn real hands turned (train_detector.py
// --rot-deg) from labels read where it reads best, upright.
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { JOINT_SITES } from '../../dist/analysis/joints.js';
import { decodeImage } from '../../dist/imaging/picture.js';
import { jointsToGrade } from '../../dist/inference/analyze.js';
import { loadModels } from '../../dist/inference/models.js';
import { letterbox, toDisplay } from '../../dist/imaging/preprocess.js';
import { partialWindow } from '../../dist/phantom/partial.js';
import { Rng } from '../../dist/phantom/rng.js';
import { toU16 } from '../../dist/phantom/training-set.js';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const files = readFileSync(args.list, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean);
const PER_FILM = Number(args['per-film'] ?? 8);
// a pseudo-label is only as good as the reading it comes from: whole hands, every joint sure
const MIN_JOINTS = Number(args["min-joints"] ?? 20);
const MIN_JOINT_CONFIDENCE = Number(args["min-confidence"] ?? 0.5);
const SIZE = 256;
const WHOLE = process.argv.includes('--whole');
const models = await loadModels(args.models ?? 'models', { provider: 'cpu' });
// detector 0.2.0 alone labels: the partial-view detector must not learn from its own answers
const labeller = { detector: models.detector };

const channelOf = (lat, site) => (lat === 'L' ? 0 : JOINT_SITES.length) + JOINT_SITES.indexOf(site);

/** The stored film cut to the window, every other attribute as stored. */
function cut(im, w) {
  const rows = w.bottom - w.top;
  const columns = w.right - w.left;
  const values = new im.values.constructor(rows * columns);
  for (let y = 0; y < rows; y++) values.set(im.values.subarray((w.top + y) * im.columns + w.left, (w.top + y) * im.columns + w.right), y * columns);
  return { ...im, rows, columns, values };
}

/** The whole film (`fullFilm`), or the hand's joints' box widened by 15-60 % of its size on each side. */
function wholeWindow(hand, im, fullFilm, rng) {
  if (fullFilm) return { left: 0, top: 0, right: im.columns, bottom: im.rows };
  const xs = hand.map((c) => c.x);
  const ys = hand.map((c) => c.y);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const span = Math.max(x1 - x0, y1 - y0);
  const m = () => rng.uniform(0.15, 0.6) * span;
  const left = Math.max(0, Math.floor(x0 - m()));
  const top = Math.max(0, Math.floor(y0 - m()));
  return { left, top, right: Math.min(im.columns, Math.ceil(x1 + m())), bottom: Math.min(im.rows, Math.ceil(y1 + m())) };
}

mkdirSync(args.out, { recursive: true });
const fd = openSync(join(args.out, 'detector.u16'), 'w');
const lines = [];
const used = [];
try {
  for (const [f, file] of files.entries()) {
    const bytes = readFileSync(file);
    const im = await decodeImage(bytes, file);
    const img = toDisplay(im);
    const { hands, spacing } = await jointsToGrade(img, labeller, { spacingFrom: im.pixelSpacingSource === 'default' ? 'default' : 'header' });
    for (const lat of ['L', 'R']) {
      const hand = hands.candidates.filter((c) => c.laterality === lat);
      if (hands.partial[lat] || hand.length < MIN_JOINTS || hand.some((c) => c.confidence < MIN_JOINT_CONFIDENCE)) continue;
      // a window of one hand on a two-hand film could show the other hand unlabelled: skip those
      if (hands.candidates.some((c) => c.laterality !== lat)) continue;
      // film names, not this machine's paths: the meta travels into checkpoints and manifests
      used.push({ file: basename(file), laterality: lat, joints: hand.length, turnedDeg: hands.quarterTurns * 90 });
      const rng = new Rng(0x7ea1 + f * 131 + (lat === 'L' ? 0 : 7));
      for (let k = 0; k < PER_FILM; k++) {
        const view = WHOLE ? 'whole' : k % 2 === 0 ? 'wrist' : 'fingers';
        const w = WHOLE ? wholeWindow(hand, im, k === 0, rng) : partialWindow(view, hand, spacing.mm[0], im.rows, im.columns, rng);
        if (!w) continue;
        const lb = letterbox(toDisplay(cut(im, w)), SIZE);
        writeSync(fd, toU16(lb.data));
        const inView = hand.filter((c) => c.x >= w.left && c.x < w.right && c.y >= w.top && c.y < w.bottom);
        lines.push(JSON.stringify({
          image: lines.length,
          seed: 9_000_000 + lines.length,
          spec: { pixelSpacingMm: spacing.mm[0], rows: im.rows, columns: im.columns, real: basename(file) },
          scale: lb.scale,
          joints: inView.map((c) => ({ channel: channelOf(lat, c.site), x: (c.x - w.left) * lb.scale, y: (c.y - w.top) * lb.scale })),
          ...(WHOLE ? {} : { partial: view }),
          window: w,
        }));
      }
    }
  }
} finally {
  closeSync(fd);
}
writeFileSync(join(args.out, 'detector.jsonl'), lines.join('\n') + '\n');
writeFileSync(join(args.out, 'crops.jsonl'), '');
writeFileSync(join(args.out, 'crops.u16'), '');
writeFileSync(join(args.out, 'meta.json'), JSON.stringify({
  kind: `jointscore ${WHOLE ? 'whole hands' : 'partial views'} cut from real films, joints labelled by detector 0.2.0 (pseudo-labels)`,
  detectorSize: SIZE, cropPx: models.grader.manifest.input.cropPx, cropMmPerPx: models.grader.manifest.input.cropMmPerPx,
  channels: [...JOINT_SITES.map((s) => `L-${s}`), ...JOINT_SITES.map((s) => `R-${s}`)],
  sites: JOINT_SITES, real: true, images: lines.length, crops: 0, hands: used,
}, null, 1) + '\n');
console.log(`${used.length} sure whole hands on ${new Set(used.map((u) => u.file)).size} of ${files.length} films, ${lines.length} ${WHOLE ? 'whole-hand' : 'partial'} views -> ${args.out}`);
