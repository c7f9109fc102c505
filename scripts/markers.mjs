// Real-film check of the lead marker reader (src/inference/marker.ts) and of the laterality
// cross-check it feeds (src/analysis/laterality.ts `markerCheck`). A list (committed, by eye:
// docs/eval/real-films/) gives each film's marker: `L`, `R` (with `mirrored` where the letter
// reads mirrored on the film as stored) or `-` for none, then a note in brackets. Each film goes
// through the node's own analysis, which reads the marker only where it finds a hand (graded, or
// found and not graded for its view or age); the script counts the markers read right, read wrong
// (letter or mirroring), missed, not read for want of a hand, and read where the list has none; then, on the films where the check
// applies (one marker letter, hands of one side), how often the marker agrees with the side found
// by the thumb. A list may hold only the films on which the node read a marker (checked by eye):
// then it measures the reads, not what was missed. Not a test: the films are not part of the
// project. Build first (`npx tsc -p .`), then
//   node scripts/markers.mjs <folder of PNG/JPEG films> <list.csv> [models folder] [--films] [--every-film] [--spacing=<mm>]
// --every-film: the reader run on every film, a hand found or not (the reader as such: its reads
//   on elbows, forearms and shoulders count too).
// --spacing: the pictures' pixel spacing, as `analyze --spacing` gives it (else the hand's scale,
//   or the node's assumed 0.15 mm on a film without a hand).
// --whole-folder: every picture of the folder read too; a letter read on a film the list does not
//   hold is counted (a list of the films read is then shown to be whole).
// Or, on phantom films (the truth: the letter drawn, where, and the film's turn):
//   node scripts/markers.mjs --phantoms=<count> [--seed=<first>] [--turned] [models folder]
// --turned: each film stored turned and mirrored as the any-orientation test set is (`turnForSeed`).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyseObject, analysisPolicy } from '../dist/pipeline/analyse-object.js';
import { loadModels } from '../dist/inference/models.js';
import { markerCheck } from '../dist/analysis/laterality.js';
import { readMarkers } from '../dist/inference/marker.js';
import { nothingFound } from '../dist/inference/analyze.js';
import { DEFAULT_CONFIG } from '../dist/config/defaults.js';
import { logger } from '../dist/observability/logger.js';
import { filmListArgs } from './film-list.mjs';
import { parsePhantomOptions, specFor } from '../dist/phantom/options.js';
import { renderPhantom } from '../dist/phantom/render.js';
import { turnForSeed, turnPhantom } from '../dist/phantom/orient.js';
import { artefactsOf } from '../dist/phantom/generate.js';

const policy = analysisPolicy(DEFAULT_CONFIG.analysis);
const option = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
if (option('phantoms')) {
  await phantoms(Number(option('phantoms')), Number(option('seed') ?? 5100001), process.argv.includes('--turned'));
  process.exit(0);
}
const { dir, rows, modelsDir, perFilm } = filmListArgs('markers.mjs');
const models = await loadModels(modelsDir, { provider: 'cpu' });
const spacing = option('spacing') ? Number(option('spacing')) : undefined;
const log = logger();
const everyFilm = process.argv.includes('--every-film');
const wholeFolder = process.argv.includes('--whole-folder');
const count = { notListedRead: 0, films: 0, withMarker: 0, right: 0, wrong: 0, missed: 0, noHand: 0, readWhereNone: 0, checked: 0, agrees: 0, mirrored: 0, disputes: 0 };

/** The marker as the node read it (a hand found), or, with --every-film, the reader run on the film whatever was found. */
const markersOf = (analysis, display) =>
  everyFilm
    ? readMarkers({ ...display, pixelSpacingMm: analysis.source.pixelSpacingMm ?? display.pixelSpacingMm }, analysis.hands.flatMap((h) => h.joints))
    : (analysis.source.markers ?? []);

for (const { file, shows } of rows) {
  const [, letter, mirrored] = /^([LR-])( mirrored)?/.exec(shows) ?? [];
  if (!letter) throw new Error(`${file}: the list's marker "${shows}" is not L, R or -`);
  const { analysis, display } = await analyseObject(readFileSync(join(dir, file)), file, models, policy, log, spacing);
  const read = markersOf(analysis, display);
  count.films++;
  let outcome;
  if (letter === '-') {
    outcome = read.length ? 'read where none' : 'none, none read';
    if (read.length) count.readWhereNone++;
  } else if (!everyFilm && nothingFound(analysis)) {
    count.withMarker++;
    count.noHand++;
    outcome = 'no hand found: not read';
  } else {
    count.withMarker++;
    const same = read.find((m) => m.letter === letter && m.mirrored === Boolean(mirrored));
    outcome = same ? 'read right' : read.length ? 'read wrong' : 'missed';
    count[same ? 'right' : read.length ? 'wrong' : 'missed']++;
  }
  const check = markerCheck(analysis);
  if (check) {
    count.checked++;
    count[check.agrees ? 'agrees' : check.marker.mirrored ? 'mirrored' : 'disputes']++;
  }
  if (perFilm) {
    const said = read.map((m) => `${m.letter}${m.mirrored ? ' mirrored' : ''}${m.quarterTurns ? ` turned ${m.quarterTurns * 90}` : ''} (fit ${m.fit}, margin ${m.margin}, ${m.sizeMm} mm)`).join(', ') || '-';
    const sides = analysis.hands.map((h) => h.laterality).join('') || '-';
    console.log(`${file}\t${shows}\t${outcome}\tread: ${said}\thands: ${sides}${check ? `\t${check.agrees ? 'agrees' : 'disputes'} the side found` : ''}`);
  }
}

if (wholeFolder) {
  const listed = new Set(rows.map((r) => r.file));
  for (const file of readdirSync(dir).filter((f) => /\.(png|jpe?g)$/i.test(f) && !listed.has(f)).sort()) {
    const { analysis, display } = await analyseObject(readFileSync(join(dir, file)), file, models, policy, log, spacing);
    const read = markersOf(analysis, display);
    if (read.length) count.notListedRead++;
    if (read.length && perFilm) console.log(`${file}\tnot in the list\tread: ${read.map((m) => m.letter).join(', ')}`);
  }
}
const pct = (n, d) => (d ? `${((100 * n) / d).toFixed(0)} %` : '-');
console.log(`\n| films | with a marker by eye | read right | read wrong | missed | no hand found: not read | read where the list has none |`);
console.log('|---:|---:|---:|---:|---:|---:|---:|');
const reached = count.withMarker - count.noHand;
console.log(`| ${count.films} | ${count.withMarker} | ${count.right} (${pct(count.right, reached)} of ${reached}${everyFilm ? '' : ' on films with a hand'}) | ${count.wrong} | ${count.missed} | ${count.noHand} | ${count.readWhereNone} |`);
if (wholeFolder) console.log(`\nthe folder's other films: a letter read on ${count.notListedRead}`);
console.log(`\nlaterality cross-check (one marker, hands of one side): ${count.checked} films; the marker agrees with the side found on ${count.agrees}, reads mirrored on ${count.mirrored}, disputes it on ${count.disputes}`);

/**
 * Phantom films of the default set (or turned and mirrored), through the node's analysis: the
 * marker drawn (`markerAt`) read right (letter, mirroring, turn), wrong, or missed; letters read
 * where none was drawn.
 */
async function phantoms(n, first, turned) {
  const models = await loadModels(process.argv.slice(2).find((a) => !a.startsWith('--')) ?? 'models', { provider: 'cpu' });
  const opts = parsePhantomOptions({ count: String(n), seed: String(first) });
  const count = { films: n, drawn: 0, right: 0, wrong: 0, missed: 0, elsewhere: 0 };
  for (let i = 0; i < n; i++) {
    const spec = specFor(opts, i);
    const turn = turned ? turnForSeed(spec.seed) : { quarterTurns: 0, mirrored: false };
    const film = turnPhantom(renderPhantom(spec), turn);
    const { dicom } = await artefactsOf(film, { bitsStored: 12, photometric: 'MONOCHROME2', transferSyntax: '1.2.840.10008.1.2.1' }, { preview: false });
    const { analysis } = await analyseObject(dicom, String(spec.seed), models, policy, logger());
    const read = analysis.source.markers ?? [];
    const near = read.filter((m) => film.markerAt && Math.hypot(m.x - film.markerAt.x, m.y - film.markerAt.y) < 40);
    count.elsewhere += read.length - near.length;
    if (!film.markerAt) continue;
    count.drawn++;
    const m = near[0];
    const right = m && m.letter === film.marker && m.mirrored === turn.mirrored && m.quarterTurns === turn.quarterTurns;
    count[!m ? 'missed' : right ? 'right' : 'wrong']++;
  }
  console.log(`phantom films ${first}-${first + n - 1}${turned ? ', turned and mirrored' : ''}: ${count.drawn} with a marker drawn; read right ${count.right}, wrong ${count.wrong}, missed ${count.missed}; letters read elsewhere ${count.elsewhere}`);
}
