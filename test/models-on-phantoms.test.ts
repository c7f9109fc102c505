import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { HandAnalysis } from '../src/analysis/hand-analysis.js';
import { JOINT_SITES, type JointSite } from '../src/analysis/joints.js';
import { analyzeImage } from '../src/inference/analyze.js';
import { keepWholeHands, type Candidate } from '../src/inference/detector.js';
import { loadModels } from '../src/inference/models.js';
import { quantisePhantomImage } from '../src/phantom/dicom-dx.js';
import type { JointGrades } from '../src/phantom/disease.js';
import { renderPhantom } from '../src/phantom/render.js';
import type { PhantomSpec } from '../src/phantom/types.js';

/**
 * The shipped models on phantoms they never saw (seeds outside training and validation,
 * the current renderer): they find the joints, and they grade clear cases right.
 */
const MODELS = fileURLToPath(new URL('../models/', import.meta.url));
const present = existsSync(`${MODELS}/jointscore-detector/manifest.json`);

async function analyse(spec: PhantomSpec, forceGrades?: Partial<Record<JointSite, JointGrades>>) {
  const rendered = renderPhantom(spec, { forceGrades });
  const values = quantisePhantomImage(rendered.image, 12, 'MONOCHROME2');
  const models = await loadModels(MODELS, { provider: 'cpu' });
  const prediction = await analyzeImage(
    { rows: rendered.rows, columns: rendered.columns, values, photometric: 'MONOCHROME2', pixelSpacingMm: [spec.pixelSpacingMm, spec.pixelSpacingMm], sopInstanceUID: `1.2.3.${spec.seed}` },
    models,
  );
  return { truth: rendered.hands, prediction };
}

function found(truth: HandAnalysis['hands'], prediction: HandAnalysis): number {
  let hit = 0;
  let total = 0;
  for (const hand of truth) {
    const at = (s: JointSite) => hand.joints.find((j) => j.site === s)!;
    const ref = Math.hypot(at('MCP2').x - at('MCP5').x, at('MCP2').y - at('MCP5').y);
    const predicted = prediction.hands.find((h) => h.laterality === hand.laterality);
    for (const t of hand.joints) {
      total++;
      const p = predicted?.joints.find((j) => j.site === t.site);
      if (p && Math.hypot(p.x - t.x, p.y - t.y) <= 0.1 * ref) hit++;
    }
  }
  return hit / total;
}

const base = { profile: 'mixed', layout: 'one', rows: 2000, columns: 1600, pixelSpacingMm: 0.15 } as const;

describe.skipIf(!present)('the shipped models on unseen phantoms', () => {
  it('find the joints of one hand, either laterality, and of both hands on one film', async () => {
    for (const spec of [
      { ...base, seed: 3_000_001, laterality: 'L' },
      { ...base, seed: 3_000_002, laterality: 'R' },
      { ...base, seed: 3_000_003, laterality: 'L', layout: 'both', rows: 1600, columns: 2400 },
    ] satisfies PhantomSpec[]) {
      const { truth, prediction } = await analyse(spec);
      expect(prediction.hands.map((h) => h.laterality).sort()).toEqual(truth.map((h) => h.laterality).sort());
      expect(found(truth, prediction), `seed ${spec.seed}`).toBeGreaterThanOrEqual(0.9);
      // read as PA views, every joint graded (none at the edge, none unsure)
      for (const h of prediction.hands) {
        expect(h.view).toEqual({ kind: 'PA', layoutResidual: expect.any(Number), maxResidual: 0.3 });
        expect(h.view!.layoutResidual).toBeLessThan(0.3);
        expect(h.joints.filter((j) => j.notGraded)).toEqual([]);
      }
    }
  });

  it('grade clear cases right: healthy joints healthy, destroyed joints severe', async () => {
    const all = (g: JointGrades) => Object.fromEntries(JOINT_SITES.map((s) => [s, g])) as Record<JointSite, JointGrades>;
    const healthy = await analyse({ ...base, seed: 3_000_010, laterality: 'L', profile: 'healthy' }, all({ jsn: 0, erosion: 0, kl: 0 }));
    const severe = await analyse({ ...base, seed: 3_000_011, laterality: 'R' }, all({ jsn: 4, erosion: 5, kl: 4 }));
    const share = (a: HandAnalysis, score: 'ra' | 'oa', cls: string) => {
      const graded = a.hands.flatMap((h) => h.joints).filter((j) => j.severity[score]);
      return graded.filter((j) => j.severity[score] === cls).length / graded.length;
    };
    expect(share(healthy.prediction, 'ra', 'healthy')).toBeGreaterThanOrEqual(0.8);
    expect(share(healthy.prediction, 'oa', 'healthy')).toBeGreaterThanOrEqual(0.8);
    expect(share(severe.prediction, 'ra', 'severe')).toBeGreaterThanOrEqual(0.8);
    expect(share(severe.prediction, 'oa', 'severe')).toBeGreaterThanOrEqual(0.8);
  });
});

describe('whole hands only', () => {
  const c = (laterality: 'L' | 'R', site: JointSite): Candidate => ({ laterality, site, x: 0, y: 0, confidence: 0.9 });
  it('drops a laterality with fewer than six joints found (stray peaks are no second hand)', () => {
    const left = JOINT_SITES.slice(0, 10).map((s) => c('L', s));
    const stray = [c('R', 'MCP2'), c('R', 'PIP3')];
    expect(keepWholeHands([...left, ...stray])).toEqual(left);
    expect(keepWholeHands(left.slice(0, 5))).toEqual([]);
  });
});
