// Real-film check of the orientation step at angles between the quarter turns: each PA hand of
// a by-eye list (docs/eval/real-films/), turned by each angle, is analysed again, and its joints
// are compared with the joints the node names on the film as stored, carried into the turned
// frame: the share found within 10 % of that hand's MCP2-MCP5 distance (PCK@0.1 against the
// node's own upright reading: labelled joints are few, and the upright reading of these films is
// the one the view and coverage tables judge), the PA hands graded, and those graded with fewer
// than 90 % of their joints in place (joints named wrongly, then graded: worse than no reading).
// Films arrive as acquired, and a hand laid on the plate at an angle is common; the synthetic
// turned test (docs/evaluation.md) draws hands within 60 degrees of a quarter turn on phantoms.
// Not a test: the real films are not part of the project. Build first (`npx tsc -p .`), then
//   node scripts/any-angle.mjs <folder of films> <list.csv> [models] [--films] [--angles=0,30,...]
//     [--partial] [--inscribed] [--unlevelled]
// --partial: the films listed as PA wrist or finger films and their partial PA views (PCK scale:
//   MCP2-MCP5 where both are named, else 60 mm at the film's pixel spacing).
// --inscribed: the turned film cut to the largest upright rectangle inside it (no black corners,
//   which a partial view's edge check would take for film); joints cut off are not counted.
// --unlevelled: partial views not read again levelled where they lie at a slant (the analysis option
//   `levelled: false`: the node before that reading, for a comparison in one build).
// --tilts: also each turned film's slant as edgeTilt measures it, less the film's own slant as stored
//   and the turn (degrees, from the nearest quarter turn): how well the slant is found.
import { join } from 'node:path';
import sharp from 'sharp';
import { analyzeImage } from '../dist/inference/analyze.js';
import { loadModels } from '../dist/inference/models.js';
import { edgeTilt } from '../dist/inference/orientation.js';
import { letterbox, toDisplay } from '../dist/imaging/preprocess.js';
import { filmListArgs, showsPaHand, showsPaPartial } from './film-list.mjs';

const { dir, rows, modelsDir, perFilm } = filmListArgs('any-angle.mjs');
const flag = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const angles = (flag('angles') ?? '0,30,45,60,90,135,180,225,270,315').split(',').map(Number);
const partial = process.argv.includes('--partial');
const inscribed = process.argv.includes('--inscribed');
const levelled = !process.argv.includes('--unlevelled');
const tilts = process.argv.includes('--tilts');
const models = await loadModels(modelsDir, { provider: 'cpu' });
const PCK = 0.1;
const MISPLACED_BELOW = 0.9;
const KIND = partial ? 'PA-partial' : 'PA';
const listed = partial ? showsPaPartial : showsPaHand;

/** The largest upright rectangle inside a w x h film turned by t radians (its size). */
function inscribedSize(w, h, t) {
  const [sin, cos] = [Math.abs(Math.sin(t)), Math.abs(Math.cos(t))];
  const [long, short] = [Math.max(w, h), Math.min(w, h)];
  if (short <= 2 * sin * cos * long || Math.abs(sin - cos) < 1e-10) {
    const x = 0.5 * short;
    return w >= h ? [x / sin, x / cos] : [x / cos, x / sin];
  }
  const c2 = cos * cos - sin * sin;
  return [(w * cos - h * sin) / c2, (h * cos - w * sin) / c2];
}

/**
 * The film turned clockwise by `angle` degrees (the canvas grown to hold it, corners black, or
 * with --inscribed cut to the rectangle inside), analysed as a research picture (spacing
 * estimated); `crop` is where the picture analysed lies on the grown canvas.
 */
async function analyseTurned(file, angle) {
  const canvas = await sharp(file).greyscale().rotate(angle, { background: { r: 0, g: 0, b: 0 } }).raw().toBuffer({ resolveWithObject: true });
  const { width, height, channels } = canvas.info;
  let crop = { left: 0, top: 0, width, height };
  if (inscribed && angle % 90 !== 0) {
    const { width: w, height: h } = await sharp(file).metadata();
    const [wr, hr] = inscribedSize(w, h, (angle * Math.PI) / 180);
    crop = { left: Math.floor((width - wr) / 2) + 2, top: Math.floor((height - hr) / 2) + 2, width: Math.floor(wr) - 4, height: Math.floor(hr) - 4 };
  }
  const values = new Uint16Array(crop.width * crop.height);
  for (let r = 0; r < crop.height; r++) {
    for (let c = 0; c < crop.width; c++) values[r * crop.width + c] = canvas.data[((r + crop.top) * width + c + crop.left) * channels];
  }
  const input = { rows: crop.height, columns: crop.width, values, photometric: 'MONOCHROME2', pixelSpacingMm: [0.2, 0.2], sopInstanceUID: file };
  // the slant the levelled reading would measure (orientation.ts edgeTilt), in degrees clockwise
  const slant = (edgeTilt(letterbox(toDisplay(input), models.detector.manifest.input.size)) * 180) / Math.PI;
  return { analysis: await analyzeImage(input, models, undefined, { spacingFrom: 'default', levelled }), canvas: { width, height }, crop, slant };
}

/** Where a point of the stored film lies on the analysed picture of the film turned by `angle` (sharp turns about the centre). */
const turnPoint = (angle, from, to) => {
  const t = (angle * Math.PI) / 180;
  return (x, y) => {
    const [dx, dy] = [x - from.canvas.width / 2, y - from.canvas.height / 2];
    return [dx * Math.cos(t) - dy * Math.sin(t) + to.canvas.width / 2 - to.crop.left, dx * Math.sin(t) + dy * Math.cos(t) + to.canvas.height / 2 - to.crop.top];
  };
};

/**
 * The mapping checked against sharp itself before any film is read: a dot on a small picture,
 * turned by each angle, must land within 1.5 pixels of where turnPoint puts it (sharp rounds the grown canvas).
 */
async function checkTurnPoint() {
  const [w, h, px, py] = [400, 600, 100, 150];
  const dot = Buffer.alloc(w * h);
  for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) dot[(py + dy) * w + px + dx] = 255;
  for (const angle of angles) {
    const { data, info } = await sharp(dot, { raw: { width: w, height: h, channels: 1 } }).rotate(angle, { background: { r: 0, g: 0, b: 0 } }).greyscale().raw().toBuffer({ resolveWithObject: true });
    let [sx, sy, n] = [0, 0, 0];
    for (let i = 0; i < info.width * info.height; i++) {
      const v = data[i * info.channels];
      if (v > 60) [sx, sy, n] = [sx + (i % info.width) * v, sy + Math.floor(i / info.width) * v, n + v];
    }
    const whole = (width, height) => ({ canvas: { width, height }, crop: { left: 0, top: 0 } });
    // pixel centres at +0.5 on both sides
    const [x, y] = turnPoint(angle, whole(w, h), whole(info.width, info.height))(px + 0.5, py + 0.5);
    const off = Math.hypot(sx / n + 0.5 - x, sy / n + 0.5 - y);
    if (!(off <= 1.5)) throw new Error(`turnPoint is ${off.toFixed(1)} pixels off sharp's turn at ${angle} degrees`);
  }
}
await checkTurnPoint();

const graded = (analysis) => analysis.hands.filter((h) => h.view?.kind === KIND);
const slantErrors = [];
/** Degrees taken to the nearest quarter turn: -45 to 45. */
const fromQuarter = (deg) => deg - 90 * Math.round(deg / 90);
const by = new Map(angles.map((a) => [a, { found: 0, joints: 0, graded: 0, misplaced: 0, misnamed: 0 }]));
let hands = 0;
for (const { file, shows } of rows.filter((r) => listed(r.shows))) {
  const path = join(dir, file);
  const upright = await analyseTurned(path, 0);
  const reference = graded(upright.analysis).filter((h) => partial || ['MCP2', 'MCP5'].every((s) => h.joints.some((j) => j.site === s)));
  if (!reference.length) {
    if (perFilm) console.log(`${file}\t${shows}\tno ${KIND} reading${partial ? '' : ' with MCP2 and MCP5'} as stored: not measured`);
    continue;
  }
  hands += reference.length;
  const mm = upright.analysis.source.pixelSpacingMm[0];
  const line = [];
  for (const angle of angles) {
    const turned = angle === 0 ? upright : await analyseTurned(path, angle);
    if (tilts && angle % 90 !== 0) slantErrors.push(fromQuarter(turned.slant - upright.slant - angle));
    const move = turnPoint(angle, upright, turned);
    const s = by.get(angle);
    for (const hand of reference) {
      const at = Object.fromEntries(hand.joints.map((j) => [j.site, j]));
      const scale = at.MCP2 && at.MCP5 ? Math.hypot(at.MCP2.x - at.MCP5.x, at.MCP2.y - at.MCP5.y) : 60 / mm;
      const again = graded(turned.analysis).find((h) => h.laterality === hand.laterality);
      let [found, inView, away] = [0, 0, 0];
      for (const j of hand.joints) {
        const [x, y] = move(j.x, j.y);
        if (x < 0 || y < 0 || x >= turned.crop.width || y >= turned.crop.height) continue;
        inView++;
        const o = again?.joints.find((k) => k.site === j.site);
        if (o && Math.hypot(o.x - x, o.y - y) <= PCK * scale) found++;
        else if (o) away++;
      }
      s.found += found;
      s.joints += inView;
      if (again) {
        s.graded++;
        if (found < MISPLACED_BELOW * inView) s.misplaced++;
        // a joint of the upright reading graded elsewhere (not only missed): its grades are another place's
        if (away > 0) s.misnamed++;
      }
      line.push(`${angle}:${(found / Math.max(inView, 1)).toFixed(2)}${again ? '' : ' (not graded)'}`);
    }
  }
  if (perFilm) console.log(`${file}\t${line.join('\t')}`);
}
console.log(`\n| turned (degrees clockwise) | joints found again (PCK@${PCK}) | ${KIND} views graded (of ${hands}) | of those, fewer than ${MISPLACED_BELOW * 100} % of joints in place | with a joint named more than ${PCK} of the scale from its place |`);
console.log('|---:|---:|---:|---:|---:|');
for (const [angle, s] of by) console.log(`| ${angle} | ${s.found} / ${s.joints} (${((100 * s.found) / s.joints).toFixed(1)} %) | ${s.graded} | ${s.misplaced} | ${s.misnamed} |`);
if (tilts) {
  const within = (d) => slantErrors.filter((e) => Math.abs(e) <= d).length;
  console.log(`\nslant found (edgeTilt) on ${slantErrors.length} turned films, off the turn by: at most 3 degrees ${within(3)}, at most 5 ${within(5)}, at most 10 ${within(10)}; worst ${Math.max(...slantErrors.map(Math.abs)).toFixed(1)}`);
}
