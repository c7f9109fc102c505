#!/usr/bin/env node
// Grader crops from real films that show no arthritis, labelled healthy (JSN 0, erosion 0,
// KL 0 where the site is scored), in the training-set layout of src/phantom/training-set.ts
// (crops.u16, crops.jsonl, meta.json), so that train_grader_real.py can mix them with the
// synthetic crops. Joint centres come from the node's own detector and the crops from its own
// preprocessing at the spacing the node would use (src/inference/spacing.ts), so training
// sees exactly what serving sees; joints it would not grade (src/inference/abstention.ts: at the
// film's edge, without contrast, unsure) are left out, and so is a child's film (open growth
// plates, src/inference/physes.ts childsPhyses: serving grades none of its joints). Geometry targets are unknown on real
// film: written as null, masked in training.
//
//   npm run build
//   node models/training/real_crops.mjs --out /tmp/jsd/real-train --list train-films.txt
//     (one PNG, JPEG or DICOM path per line; every crop is labelled healthy: list only films
//      whose joints are normal, e.g. injuries away from the joints)
import { mkdirSync, openSync, readFileSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { JOINT_SITES, scoresFor } from '../../dist/analysis/joints.js';
import { decodeImage } from '../../dist/imaging/picture.js';
import { jointsToGrade } from '../../dist/inference/analyze.js';
import { grade } from '../../dist/inference/grader.js';
import { childsPhyses } from '../../dist/inference/physes.js';
import { loadModels } from '../../dist/inference/models.js';
import { readScale } from '../../dist/inference/spacing.js';
import { distalDirection, sampleCrop, toDisplay } from '../../dist/imaging/preprocess.js';
import { toU16 } from '../../dist/phantom/training-set.js';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const files = readFileSync(args.list, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean);
const models = await loadModels(args.models ?? 'models', { provider: 'cpu' });
const { cropPx, cropMmPerPx } = models.grader.manifest.input;
const JITTERS = Number(args.jitters ?? 3);
// --moved-by F: each joint's crop cut where the detectors put it on the film moved by F of a detector
// input pixel right and down (a second reading), in the same order as without: crops to pair with
// the unmoved set's (eval_real_disease.py --paired-crops); use with --jitters 1
const MOVED = args['moved-by'] === undefined ? undefined : Number(args['moved-by']);

async function stored(file) {
  const bytes = readFileSync(file);
  // the node's own readers: a picture gets no spacing (the hand's own scale is used below)
  const im = await decodeImage(bytes, file);
  return { ...im, spacingFrom: im.pixelSpacingSource === 'default' ? 'default' : 'header' };
}

/** Each joint where the film moved by `frac` of a detector input pixel puts it (moved back), or where it was. */
async function movedReading(img, spacingFrom, cands, frac) {
  const sh = Math.max(1, Math.round((frac * Math.max(img.rows, img.columns)) / models.detector.manifest.input.size));
  const data = new Float32Array(img.rows * img.columns);
  for (let r = 0; r < img.rows; r++) {
    const rs = Math.max(0, r - sh);
    for (let c = 0; c < img.columns; c++) data[r * img.columns + c] = img.data[rs * img.columns + Math.max(0, c - sh)];
  }
  const { hands } = await jointsToGrade({ ...img, data }, models, { spacingFrom });
  return cands.map((c) => {
    const o = hands.candidates.find((d) => d.laterality === c.laterality && d.site === c.site);
    return o ? { x: o.x - sh, y: o.y - sh } : c;
  });
}

// deterministic jitter (a detector's miss, as training-set.ts draws it)
let s = 12345;
const rnd = () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
const normal = () => Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd());

mkdirSync(args.out, { recursive: true });
const fd = openSync(join(args.out, 'crops.u16'), 'w');
const lines = [];
const used = [];
const children = [];
for (const [image, file] of files.entries()) {
  const im = await stored(file);
  const img = toDisplay(im);
  // as serving finds and keeps hands: any quarter turn, whole or partial PA views
  const { hands, spacing } = await jointsToGrade(img, models, { spacingFrom: im.spacingFrom });
  const cands = hands.candidates;
  if (cands.length === 0) continue;
  const at = { ...img, pixelSpacingMm: spacing.mm };
  // the crops at the scale serving reads the joints at: a whole hand's own (spacing.ts chooseSpacing)
  const read = { ...img, pixelSpacingMm: readScale(spacing) };
  // graded as serving grades the film: a child's film (measured at the grader's centres) has no
  // joint graded, and a joint serving does not grade (at the film's edge, without contrast, unsure,
  // on top of another joint: abstention.ts) is no graded normal joint
  const graded = await grade(at, cands, models.grader.manifest, models.grader.runner, hands.calibration.jointMinConfidence, read.pixelSpacingMm);
  if (childsPhyses(read, graded)) {
    children.push(basename(file));
    continue;
  }
  const notGraded = new Map(graded.flatMap((h) => h.joints.map((j) => [`${h.laterality}-${j.site}`, j.notGraded])));
  const skipped = cands.map((c) => notGraded.get(`${c.laterality}-${c.site}`));
  // the crop serving grades at each joint
  const centres = Object.fromEntries(['L', 'R'].map((lat) => [lat, Object.fromEntries(cands.filter((c) => c.laterality === lat).map((c) => [c.site, { x: c.x, y: c.y }]))]));
  const distal = cands.map((c) => distalDirection(c.site, centres[c.laterality]));
  const points = MOVED === undefined ? cands : await movedReading(img, im.spacingFrom, cands, MOVED);
  const served = cands.map((c, i) => sampleCrop(read, { x: points[i].x, y: points[i].y, distal: distal[i] }, cropPx, cropMmPerPx));
  // film names, not this machine's paths: the meta travels into checkpoints and manifests
  used.push({ file: basename(file), image, joints: cands.length, spacing: spacing.mm[0], from: spacing.from });
  for (const lat of ['L', 'R']) {
    for (const [i, c] of cands.entries()) {
      if (c.laterality !== lat || skipped[i]) continue;
      const d = distal[i];
      const scores = scoresFor(c.site);
      for (let k = 0; k < JITTERS; k++) {
        const jx = k === 0 ? 0 : Math.max(-3, Math.min(3, normal() * 1.0));
        const jy = k === 0 ? 0 : Math.max(-3, Math.min(3, normal() * 1.0));
        const angle = Math.atan2(d.y, d.x) + (k === 0 ? 0 : (normal() * 8 * Math.PI) / 180);
        // the first crop is the one serving grades, already cut above
        const px = k === 0 ? served[i] : sampleCrop(read, { x: c.x + jx / read.pixelSpacingMm[1], y: c.y + jy / read.pixelSpacingMm[0], distal: { x: Math.cos(angle), y: Math.sin(angle) } }, cropPx, cropMmPerPx);
        writeSync(fd, toU16(px));
        lines.push(JSON.stringify({
          image, seed: -1, site: c.site, siteIndex: JOINT_SITES.indexOf(c.site), laterality: lat,
          jsn: scores.includes('jsn') ? 0 : -1, erosion: scores.includes('erosion') ? 0 : -1, kl: scores.includes('kl') ? 0 : -1,
          angle, dxMm: null, dyMm: null, wMm: null, hMm: null,
        }));
      }
    }
  }
}
closeSync(fd);
writeFileSync(join(args.out, 'crops.jsonl'), lines.join('\n') + '\n');
writeFileSync(join(args.out, 'meta.json'), JSON.stringify({ cropPx, cropMmPerPx, sites: JOINT_SITES, real: true, labels: 'healthy', films: used, ...(children.length ? { childrenLeftOut: children } : {}) }, null, 1));
console.log(`${used.length} of ${files.length} films with a hand graded, ${lines.length} crops -> ${args.out}${children.length ? ` (a child's film left out: ${children.join(', ')})` : ''}`);
