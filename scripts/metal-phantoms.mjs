// Phantom check of the metal rule (src/inference/metal.ts, abstention.ts): films with a steel
// wire across two joints of the hand (`jointscore phantom --metal`, seeds from the first on),
// each through the node's own analysis; counts the wired joints found and not graded for
// metal, and the other joints not graded for metal. Build first (`npx tsc -p .`), then
//   node scripts/metal-phantoms.mjs [first seed] [count] [models folder]
import { analyseObject, analysisPolicy } from '../dist/pipeline/analyse-object.js';
import { loadModels } from '../dist/inference/models.js';
import { makePhantom } from '../dist/phantom/generate.js';
import { parsePhantomOptions, specFor } from '../dist/phantom/options.js';
import { renderPhantom } from '../dist/phantom/render.js';
import { DEFAULT_CONFIG } from '../dist/config/defaults.js';
import { logger } from '../dist/observability/logger.js';

const [first = '9200001', count = '40', modelsDir = 'models'] = process.argv.slice(2);
const models = await loadModels(modelsDir, { provider: 'cpu' });
const policy = analysisPolicy(DEFAULT_CONFIG.analysis);
let wires = 0, found = 0, flagged = 0, others = 0, otherFlagged = 0;
const missed = [], wrong = [];
for (let i = 0; i < Number(count); i++) {
  const spec = specFor(parsePhantomOptions({ seed: first, metal: true }), i);
  const truth = new Set(renderPhantom(spec).metal.map((m) => `${m.laterality}-${m.site}`));
  const { dicom } = await makePhantom(spec, {}, { preview: false });
  const { analysis } = await analyseObject(dicom, `phantom-${spec.seed}`, models, policy, logger());
  const seen = new Map(analysis.hands.flatMap((h) => h.joints.map((j) => [`${h.laterality}-${j.site}`, j])));
  wires += truth.size;
  for (const id of truth) {
    const j = seen.get(id);
    if (!j) continue;
    found++;
    if (j.notGraded?.cause === 'metal') flagged++;
    else missed.push(`${spec.seed} ${id}`);
  }
  for (const [id, j] of seen) {
    if (truth.has(id)) continue;
    others++;
    if (j.notGraded?.cause === 'metal') { otherFlagged++; wrong.push(`${spec.seed} ${id}`); }
  }
}
console.log(`${count} films: ${wires} wired joints, ${found} found, ${flagged} not graded for metal (missed: ${missed.join(', ') || 'none'})`);
console.log(`other joints: ${others}, ${otherFlagged} not graded for metal (${wrong.join(', ') || 'none'})`);
