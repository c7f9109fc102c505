// Real-film check of the metal rule (src/inference/metal.ts, abstention.ts `isMetal`): every
// joint the node finds on a folder of films (DICOM, PNG or JPEG), a grader crop cut at the joint's
// reported centre (the grader's refined point, within about a millimetre of the detector's point
// that serving cuts at), and the thick top plateau near its centre: area (mm^2), step, long
// axis from the joint line (degrees) and elongation. Prints the joints with the largest
// plateaus, and those the node itself left ungraded for metal. Not a test: the films are not
// part of the project. Build first (`npx tsc -p .`), then
//   node scripts/metal-scan.mjs <folder of films> [models folder] [--top N]
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyseObject, analysisPolicy } from '../dist/pipeline/analyse-object.js';
import { loadModels } from '../dist/inference/models.js';
import { buildGraderBatch } from '../dist/inference/grader.js';
import { metalEvidence } from '../dist/inference/metal.js';
import { DEFAULT_CONFIG } from '../dist/config/defaults.js';
import { logger } from '../dist/observability/logger.js';

const args = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && all[i - 1] !== '--top');
const [dir, modelsDir = 'models'] = args;
const topN = Number(process.argv[process.argv.indexOf('--top') + 1] ?? 25) || 25;
const models = await loadModels(modelsDir, { provider: 'cpu' });
const { cropPx, cropMmPerPx } = models.grader.manifest.input;
const policy = analysisPolicy(DEFAULT_CONFIG.analysis);
const rows = [];
for (const file of readdirSync(dir).filter((f) => /\.(dcm|png|jpe?g)$/i.test(f)).sort()) {
  const { analysis, display } = await analyseObject(readFileSync(join(dir, file)), file, models, policy, logger());
  const joints = analysis.hands.flatMap((h) => h.joints.map((j) => ({ laterality: h.laterality, joint: j })));
  const cands = joints.map(({ laterality, joint: j }) => ({ laterality, site: j.site, x: j.x, y: j.y, confidence: j.confidence ?? 1 }));
  if (!cands.length) continue;
  const batch = buildGraderBatch(display, cands, cropPx, cropMmPerPx);
  cands.forEach((c, i) => {
    const e = metalEvidence(batch.crop.subarray(i * cropPx * cropPx, (i + 1) * cropPx * cropPx), cropPx, cropMmPerPx);
    rows.push({ file, site: `${c.laterality}-${c.site}`, metal: joints[i].joint.notGraded?.cause === 'metal', ...e });
  });
}
rows.sort((a, b) => b.areaMm2 * b.step - a.areaMm2 * a.step);
for (const r of rows.slice(0, topN)) console.log(r.areaMm2.toFixed(2).padStart(7), r.step.toFixed(3), r.fromJointLineDeg.toFixed(0).padStart(3), r.elongation.toFixed(1), r.site.padEnd(7), r.file);
const withArea = rows.filter((r) => r.areaMm2 > 0).length;
const metal = rows.filter((r) => r.metal).map((r) => `${r.file} ${r.site}`);
console.log(`${rows.length} joints on ${new Set(rows.map((r) => r.file)).size} films; ${withArea} with a thick top plateau within 5 mm; metal: ${metal.length} (${metal.join(', ') || 'none'})`);
