// Real-film check of the colour-stored reading (src/imaging/colour.ts): each JPEG film of a folder
// wrapped as a site's import tool would (DCMTK img2dcm: a Secondary Capture holding the JPEG as
// it is, YBR_FULL_422 where the JPEG has three components), analysed as that DICOM file and as the
// picture itself. Counts the files by Photometric Interpretation, those the node reads, and those
// whose joints, grades and causes of "not graded" are the picture's (positions to the pixel).
// Not a test: the films are not part of the project. Build first (`npx tsc -p .`), then
//   node scripts/colour-stored.mjs <folder of JPEG films> [models folder] [--films]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyseObject, analysisPolicy } from '../dist/pipeline/analyse-object.js';
import { loadModels } from '../dist/inference/models.js';
import { readPart10 } from '../dist/dicom/part10.js';
import { DEFAULT_CONFIG } from '../dist/config/defaults.js';
import winston from 'winston';

const args = process.argv.slice(2);
const perFilm = args.includes('--films');
const [dir, modelsDir = 'models'] = args.filter((a) => a !== '--films');
if (!dir) throw new Error('usage: node scripts/colour-stored.mjs <folder of JPEG films> [models folder] [--films]');
const models = await loadModels(modelsDir, { provider: 'cpu' });
const policy = analysisPolicy(DEFAULT_CONFIG.analysis);
const log = winston.createLogger({ silent: true });
const work = mkdtempSync(join(tmpdir(), 'colour-stored-'));

/** What a reader compares: each joint's site, grades and pixel, and why hands were not graded. */
const outcome = ({ analysis }) =>
  JSON.stringify({
    joints: analysis.hands.flatMap((h) => h.joints.map((j) => [h.laterality, j.site, j.severity, Math.round(j.x), Math.round(j.y)])),
    notGraded: (analysis.notGraded ?? []).map((n) => n.cause),
  });

const counts = { films: 0, byPhotometric: {}, read: 0, same: 0, sameGrades: 0, failed: [] };
for (const file of readdirSync(dir).filter((f) => /\.jpe?g$/i.test(f)).sort()) {
  const dcm = join(work, `${file}.dcm`);
  const made = spawnSync('img2dcm', [join(dir, file), dcm], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`img2dcm ${file}: ${made.stderr}`);
  counts.films++;
  const bytes = readFileSync(dcm);
  const photometric = String(readPart10(bytes, { untilPixelData: true }).dataset.PhotometricInterpretation);
  counts.byPhotometric[photometric] = (counts.byPhotometric[photometric] ?? 0) + 1;
  const picture = await analyseObject(readFileSync(join(dir, file)), file, models, policy, log);
  let line;
  try {
    const wrapped = await analyseObject(bytes, dcm, models, policy, log);
    counts.read++;
    const same = outcome(wrapped) === outcome(picture);
    const grades = (r) => JSON.stringify(r.analysis.hands.flatMap((h) => h.joints.map((j) => [j.site, j.severity])));
    counts.same += same ? 1 : 0;
    counts.sameGrades += grades(wrapped) === grades(picture) ? 1 : 0;
    line = same ? 'same as the picture' : grades(wrapped) === grades(picture) ? 'same grades, joints moved' : 'differs';
  } catch (err) {
    counts.failed.push(`${file}: ${err.message.replace(`${dcm}: `, '')}`);
    line = 'not read';
  }
  if (perFilm) console.log(`${file}\t${photometric}\t${line}`);
}
rmSync(work, { recursive: true, force: true });
console.log(JSON.stringify(counts, null, 1));
