// Real-film check of the wrist-only spacing estimate (src/inference/spacing.ts WRIST_SEGMENTS_MM):
// on every whole hand the node finds on the films of the given folders, the spacing estimated
// from its carpus and CMC row alone (the joints a wrist-only view shows) against the estimate
// from its fingers and palm. Not a test: the films are not part of the project. Build first
// (`npx tsc -p .`), then
//   node scripts/wrist-spacing.mjs <folder of films> [more folders] [--films]
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyseObject, analysisPolicy } from '../dist/pipeline/analyse-object.js';
import { loadModels } from '../dist/inference/models.js';
import { estimateSpacing } from '../dist/inference/spacing.js';
import { DEFAULT_CONFIG } from '../dist/config/defaults.js';
import { logger } from '../dist/observability/logger.js';

const perFilm = process.argv.includes('--films');
const folders = process.argv.slice(2).filter((a) => a !== '--films');
const models = await loadModels('models', { provider: 'cpu' });
const policy = analysisPolicy({ ...DEFAULT_CONFIG.analysis, minGradingAgeYears: 0 });
const WRIST = /^(RC|CSL|STT|CMC)/;
const ratios = [];
for (const dir of folders) {
  for (const file of readdirSync(dir).filter((f) => /\.(png|jpe?g)$/i.test(f)).sort()) {
    const { analysis } = await analyseObject(readFileSync(join(dir, file)), file, models, policy, logger());
    for (const h of analysis.hands) {
      const joints = h.joints.map((j) => ({ laterality: h.laterality, site: j.site, x: j.x, y: j.y, confidence: j.confidence }));
      const hand = estimateSpacing(joints);
      const wrist = estimateSpacing(joints.filter((j) => WRIST.test(j.site)));
      if (hand?.measuredOn !== 'hand' || wrist?.measuredOn !== 'wrist') continue;
      ratios.push(wrist.mm / hand.mm);
      if (perFilm) console.log(`${file}\t${h.laterality}\thand ${hand.mm.toFixed(4)} (${hand.segments})\twrist ${wrist.mm.toFixed(4)} (${wrist.segments})\t${(wrist.mm / hand.mm).toFixed(3)}`);
    }
  }
}
const s = [...ratios].sort((a, b) => a - b);
const median = s.length % 2 ? s[s.length >> 1] : (s[(s.length >> 1) - 1] + s[s.length >> 1]) / 2;
console.log(`${s.length} whole hands: wrist estimate / hand estimate median ${median.toFixed(3)}, range ${s[0].toFixed(3)}-${s[s.length - 1].toFixed(3)}, within 15 % on ${s.filter((r) => Math.abs(r - 1) <= 0.15).length}`);
