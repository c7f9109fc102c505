// Real-film check of the orientation step at angles between the quarter turns: each PA hand of
// a by-eye list (docs/eval/real-films/), turned by each angle (the canvas grown to hold it, the
// corners black as a collimated field's), is analysed again, and its joints are compared with
// the joints the node names on the film as stored, carried into the turned frame: the share
// found within 10 % of that hand's MCP2-MCP5 distance (PCK@0.1 against the node's own upright
// reading: labelled joints are few, and the upright reading of these films is the one the view
// and coverage tables judge), the PA hands graded, and those graded with fewer than 90 % of
// their joints in place (joints named wrongly, then graded: worse than no reading). Films arrive
// as acquired, and a hand laid on the plate at an angle is common; the synthetic turned test
// (docs/evaluation.md) draws hands within 60 degrees of a quarter turn on phantoms. Not a test:
// the real films are not part of the project. Build first (`npx tsc -p .`), then
//   node scripts/any-angle.mjs <folder of films> <list.csv> [angles, default 0,30,45,60,90,135,180,225,270,315] [--films]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { analyzeImage } from '../dist/inference/analyze.js';
import { loadModels } from '../dist/inference/models.js';
import { filmListArgs } from './film-list.mjs';

const { dir, rows, perFilm } = filmListArgs('any-angle.mjs');
const anglesArg = process.argv.slice(2).filter((a) => !a.startsWith('--'))[2] ?? '0,30,45,60,90,135,180,225,270,315';
const angles = anglesArg.split(',').map(Number);
const models = await loadModels('models', { provider: 'cpu' });
const PCK = 0.1;
const MISPLACED_BELOW = 0.9;

/** The film turned clockwise by `angle` degrees, analysed as a research picture (spacing estimated). */
async function analyseTurned(file, angle) {
  const { data, info } = await sharp(file).greyscale().rotate(angle, { background: { r: 0, g: 0, b: 0 } }).raw().toBuffer({ resolveWithObject: true });
  const values = new Uint16Array(info.width * info.height);
  for (let i = 0; i < values.length; i++) values[i] = data[i * info.channels];
  const input = { rows: info.height, columns: info.width, values, photometric: 'MONOCHROME2', pixelSpacingMm: [0.2, 0.2], sopInstanceUID: file };
  return { analysis: await analyzeImage(input, models, undefined, { spacingFrom: 'default' }), width: info.width, height: info.height };
}

/** Where a point of the stored film lies on the film turned by `angle` (sharp turns about the centre and grows the canvas). */
const turnPoint = (angle, from, to) => {
  const t = (angle * Math.PI) / 180;
  return (x, y) => {
    const [dx, dy] = [x - from.width / 2, y - from.height / 2];
    return [dx * Math.cos(t) - dy * Math.sin(t) + to.width / 2, dx * Math.sin(t) + dy * Math.cos(t) + to.height / 2];
  };
};

const pa = (analysis) => analysis.hands.filter((h) => h.view?.kind === 'PA');
const by = new Map(angles.map((a) => [a, { found: 0, joints: 0, films: 0, graded: 0, misplaced: 0 }]));
for (const { file, shows } of rows.filter((r) => /hand, PA|one a PA hand/.test(r.shows))) {
  const path = join(dir, file);
  const upright = await analyseTurned(path, 0);
  const reference = pa(upright.analysis).filter((h) => ['MCP2', 'MCP5'].every((s) => h.joints.some((j) => j.site === s)));
  if (!reference.length) {
    if (perFilm) console.log(`${file}\t${shows}\tno PA hand with MCP2 and MCP5 as stored: not measured`);
    continue;
  }
  const line = [];
  for (const angle of angles) {
    const turned = angle === 0 ? upright : await analyseTurned(path, angle);
    const move = turnPoint(angle, upright, turned);
    const s = by.get(angle);
    s.films++;
    for (const hand of reference) {
      const at = Object.fromEntries(hand.joints.map((j) => [j.site, j]));
      const span = Math.hypot(at.MCP2.x - at.MCP5.x, at.MCP2.y - at.MCP5.y);
      const again = pa(turned.analysis).find((h) => h.laterality === hand.laterality);
      let found = 0;
      for (const j of hand.joints) {
        const [x, y] = move(j.x, j.y);
        const o = again?.joints.find((k) => k.site === j.site);
        if (o && Math.hypot(o.x - x, o.y - y) <= PCK * span) found++;
      }
      s.found += found;
      s.joints += hand.joints.length;
      if (again) {
        s.graded++;
        if (found / hand.joints.length < MISPLACED_BELOW) s.misplaced++;
      }
      line.push(`${angle}:${(found / hand.joints.length).toFixed(2)}${again ? '' : ' (not graded)'}`);
    }
  }
  if (perFilm) console.log(`${file}\t${line.join('\t')}`);
}
const hands = by.get(angles[0]).graded;
console.log(`\n| turned (degrees clockwise) | joints found again (PCK@${PCK}) | PA hands graded (of ${hands}) | of those, fewer than ${MISPLACED_BELOW * 100} % of joints in place |`);
console.log('|---:|---:|---:|---:|');
for (const [angle, s] of by) console.log(`| ${angle} | ${s.found} / ${s.joints} (${((100 * s.found) / s.joints).toFixed(1)} %) | ${s.graded} | ${s.misplaced} |`);
