// The grader graph alone, paired: the shipped grader against a reference grader folder (the
// previous release), on the same batch of one hand's crops, the two run in turn round after
// round so that both see the same state of a shared machine. Build first (`npx tsc -p .`), then:
//   node bench/grader.mjs [reference-grader-dir] [rounds]
// Without a folder the reference is the grader release before the shipped one, taken from git
// (the last commit but one that changed models/jointscore-grader/model.onnx). The crops are
// those the node cuts for the joints it finds on a 2048 x 2560 phantom (21: every site, the six
// wrist JSN sites among them).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeDicomImage } from '../dist/imaging/decode.js';
import { toDisplay } from '../dist/imaging/preprocess.js';
import { analyzeImage } from '../dist/inference/analyze.js';
import { buildGraderBatch } from '../dist/inference/grader.js';
import { META_WIDTH } from '../dist/inference/manifest.js';
import { loadGrader, loadModels } from '../dist/inference/models.js';
import { encodePhantomDx } from '../dist/phantom/dicom-dx.js';
import { benchHand, median } from './common.mjs';

const rounds = Number(process.argv[3] ?? 30);
const referenceDir = process.argv[2] || previousRelease();

/** The grader release before the shipped one, written from git into a temporary folder. */
function previousRelease() {
  const git = (...args) => execFileSync('git', args, { maxBuffer: 1 << 28 });
  const [, before] = git('log', '-n', '2', '--format=%H', '--', 'models/jointscore-grader/model.onnx').toString().trim().split('\n');
  if (!before) throw new Error('no earlier grader release in git history: pass a reference grader folder');
  const dir = mkdtempSync(join(tmpdir(), 'js-grader-ref-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  for (const f of ['manifest.json', 'model.onnx']) writeFileSync(join(dir, f), git('show', `${before}:models/jointscore-grader/${f}`));
  return dir;
}
const config = { provider: 'cpu' };
const models = await loadModels('models', config);
const reference = await loadGrader(referenceDir, config);

const rendered = benchHand();
const stored = await decodeDicomImage((await encodePhantomDx(rendered, { bitsStored: 12, photometric: 'MONOCHROME2' })).bytes, 'phantom');
const found = await analyzeImage(stored, models);
const candidates = found.hands.flatMap((h) => h.joints.map((j) => ({ laterality: h.laterality, site: j.site, x: j.x, y: j.y, confidence: 1 })));

async function timeRun(grader) {
  const { cropPx, cropMmPerPx } = grader.manifest.input;
  const batch = buildGraderBatch(toDisplay(stored), candidates, cropPx, cropMmPerPx);
  const feeds = {
    [grader.manifest.input.crop.name]: { data: batch.crop, dims: [batch.n, 1, cropPx, cropPx] },
    [grader.manifest.input.meta.name]: { data: batch.meta, dims: [batch.n, META_WIDTH] },
  };
  const t = performance.now();
  await grader.runner.run(feeds);
  return performance.now() - t;
}
const times = { shipped: [], reference: [] };
await timeRun(models.grader);
await timeRun(reference);
for (let i = 0; i < rounds; i++) {
  times.shipped.push(await timeRun(models.grader));
  times.reference.push(await timeRun(reference));
}
const [s, r] = [median(times.shipped), median(times.reference)];
console.log(`grader graph, ${candidates.length} crops of one hand, ${rounds} rounds alternated, median ms (the run alone; cropping excluded)`);
console.log(`  shipped   ${models.grader.manifest.name} ${models.grader.manifest.version}: ${s.toFixed(1)}`);
console.log(`  reference ${reference.manifest.name} ${reference.manifest.version} (${referenceDir}): ${r.toFixed(1)}`);
console.log(`  shipped / reference: ${(s / r).toFixed(2)}`);
