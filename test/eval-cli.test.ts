import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GradeResult, HandAnalysis } from '../src/analysis/hand-analysis.js';
import { buildProgram } from '../src/cli/main.js';
import type { EvalResult } from '../src/eval/metrics.js';
import { TINY_MODELS } from './helpers/inference.js';

async function cli(args: string[]): Promise<void> {
  await buildProgram().exitOverride().parseAsync(['node', 'jointscore', ...args]);
}

type EvalJson = EvalResult & { context: { missedFiles: string[]; unexpectedFiles: string[] } };

describe('jointscore eval', () => {
  let dir: string;
  let truthDir: string;
  let names: string[];
  const truths = new Map<string, HandAnalysis>();

  /** Writes predictions made from the ground truth by `change` into a new folder. */
  function predictions(label: string, change: (a: HandAnalysis, name: string) => HandAnalysis | null): string {
    const out = join(dir, `pred-${label}`);
    mkdirSync(out, { recursive: true });
    for (const name of names) {
      const copy = JSON.parse(JSON.stringify(truths.get(name))) as HandAnalysis;
      delete copy.groundTruth;
      copy.models = [{ name: 'test-perturbation', version: label, sha256: '0'.repeat(64) }];
      const changed = change(copy, name);
      if (changed) writeFileSync(join(out, `${name}.json`), JSON.stringify(changed));
    }
    return out;
  }

  async function runEval(label: string, predDir: string): Promise<{ out: string; json: EvalJson; md: string }> {
    const out = join(dir, `eval-${label}`);
    await cli(['eval', '--data', truthDir, '--predictions', predDir, '--out', out]);
    return {
      out,
      json: JSON.parse(readFileSync(join(out, 'eval.json'), 'utf8')) as EvalJson,
      md: readFileSync(join(out, 'report.md'), 'utf8'),
    };
  }

  let perfect: Awaited<ReturnType<typeof runEval>>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'js-eval-cli-'));
    truthDir = join(dir, 'truth');
    await cli(['phantom', '--count', '3', '--seed', '11', '--profile', 'mixed', '--out', truthDir,
      '--rows', '1024', '--columns', '832', '--spacing', '0.25', '--no-preview']);
    names = readdirSync(truthDir).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, '')).sort();
    for (const n of names) truths.set(n, JSON.parse(readFileSync(join(truthDir, `${n}.json`), 'utf8')) as HandAnalysis);
    perfect = await runEval('perfect', predictions('perfect', (a) => a));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('scores ground truth against itself as perfect', () => {
    const r = perfect.json;
    expect(names).toHaveLength(3);
    expect(r.meta.images).toEqual({ truth: 3, predicted: 3, evaluated: 3 });
    expect(r.meta.synthetic).toBe(true);
    expect(r.ap.ra.mean).toBe(1);
    expect(r.ap.oa.mean).toBe(1);
    expect(r.detection.iouRecall.recall).toBe(1);
    expect(r.detection.distanceRecall.recall).toBe(1);
    expect(r.localisation.errorMm!.max).toBe(0);
    for (const k of ['jsn', 'erosion', 'kl'] as const) {
      expect(r.grading[k].accuracy).toBe(1);
      expect([1, null]).toContain(r.grading[k].kappa);
    }
  });

  it('writes a Markdown report that says the data are synthetic, with the study figures beside ours', () => {
    const md = perfect.md;
    expect(md).toContain('synthetic (jointscore phantom)');
    expect(md).toMatch(/Ground truth: 3 images, \d+ hands, \d+ joints/);
    for (const ref of ['90.7', '76.3', '76.6', '81.2', '94.5', '93.8', '86.9', '91.7']) expect(md).toContain(ref);
    expect(md).toContain('quadratic-weighted kappa');
    expect(md).toContain('| true \\ predicted |');
    expect(md).toContain('![RA-JSN precision-recall curves](plots/pr-ra.png)');
  });

  it('writes PNG plots that are not blank', async () => {
    const plots = readdirSync(join(perfect.out, 'plots')).sort();
    expect(plots).toEqual(['confusion-erosion.png', 'confusion-jsn.png', 'confusion-kl.png', 'localisation.png', 'pr-oa.png', 'pr-ra.png']);
    for (const p of plots) {
      const img = sharp(readFileSync(join(perfect.out, 'plots', p)));
      const meta = await img.metadata();
      expect(meta.format).toBe('png');
      expect(meta.width).toBeGreaterThan(300);
      const stats = await img.stats();
      // white background with drawn lines and text: some spread and some dark pixels
      expect(stats.channels[0].stdev).toBeGreaterThan(5);
      expect(stats.channels[0].min).toBeLessThan(100);
    }
  });

  it('shifted boxes lower the detection recall and the AP, and raise the localisation error', async () => {
    const { json: r } = await runEval(
      'shifted',
      predictions('shifted', (a) => {
        a.hands.forEach((h) =>
          h.joints.forEach((j, i) => {
            if (i % 2 !== 0) return;
            const dx = 0.6 * (j.box[2] - j.box[0]); // IoU 0.4 / 1.6 = 0.25
            j.x += dx;
            j.box = [j.box[0] + dx, j.box[1], j.box[2] + dx, j.box[3]];
          }),
        );
        return a;
      }),
    );
    expect(r.detection.iouRecall.recall).toBeLessThan(0.7);
    expect(r.detection.iouRecall.recall).toBeGreaterThan(0.3);
    expect(r.localisation.errorMm!.p95).toBeGreaterThan(1);
    expect(r.localisation.errorMm!.median).toBeGreaterThanOrEqual(0);
    expect(r.ap.ra.mean!).toBeLessThan(0.8);
    expect(r.ap.oa.mean!).toBeLessThan(0.8);
    // the joints still matched keep their grades
    expect(r.grading.jsn.accuracy).toBe(1);
  });

  /** Every third joint graded one grade off (probabilities 0.6 wrong, 0.3 right); the rest stay one-hot and right. */
  function regrade(a: HandAnalysis, confidence: (regraded: boolean) => number = () => 1): HandAnalysis {
    const soften = (g: GradeResult | undefined, max: number) => {
      if (!g) return;
      const wrong = g.grade === max ? max - 1 : g.grade + 1;
      g.probabilities = g.probabilities.map((_, i) => (i === wrong ? 0.6 : i === g.grade ? 0.3 : 0.1 / (g.probabilities.length - 2)));
      g.grade = wrong;
    };
    a.hands.forEach((h) =>
      h.joints.forEach((j, i) => {
        const regraded = i % 3 === 0;
        if (regraded) {
          soften(j.jsn, 4);
          soften(j.erosion, 5);
          soften(j.kl, 4);
        }
        j.confidence *= confidence(regraded);
      }),
    );
    return a;
  }

  it('changed grades lower kappa and accuracy and the AP but not the detection recall', async () => {
    const { json: r } = await runEval('regraded', predictions('regraded', (a) => regrade(a)));
    expect(r.detection.iouRecall.recall).toBe(1);
    for (const k of ['jsn', 'kl'] as const) {
      expect(r.grading[k].kappa!).toBeLessThan(1);
      expect(r.grading[k].kappa!).toBeGreaterThan(0.3);
      expect(r.grading[k].accuracy!).toBeLessThan(1);
      expect(r.grading[k].withinOne).toBe(1);
    }
    expect(r.localisation.errorMm!.max).toBe(0);
  });

  it('swapped class probabilities rank wrong joints first and lower the AP', async () => {
    let swaps = 0;
    const { json: r } = await runEval(
      'swapped',
      predictions('swapped', (a) => {
        for (const h of a.hands) {
          for (const score of ['jsn', 'kl'] as const) {
            const graded = h.joints.filter((j) => j[score]).sort((x, y) => x[score]!.grade - y[score]!.grade);
            const lo = graded[0], hi = graded[graded.length - 1];
            if (!lo || !hi || hi[score]!.grade - lo[score]!.grade < 3) continue;
            [lo[score], hi[score]] = [hi[score], lo[score]];
            swaps++;
          }
        }
        return a;
      }),
    );
    expect(swaps).toBeGreaterThan(0);
    expect(r.ap.ra.mean! + r.ap.oa.mean!).toBeLessThan(2);
    expect(Math.min(r.grading.jsn.kappa ?? 1, r.grading.kl.kappa ?? 1)).toBeLessThan(1);
  });

  it('lowered confidence: the same factor everywhere keeps the AP; on the right joints only, it lowers the AP', async () => {
    const base = (await runEval('regraded2', predictions('regraded2', (a) => regrade(a)))).json;
    const all = (await runEval('lowconf-all', predictions('lowconf-all', (a) => regrade(a, () => 0.4)))).json;
    const right = (await runEval('lowconf-right', predictions('lowconf-right', (a) => regrade(a, (rg) => (rg ? 1 : 0.4))))).json;
    for (const s of ['ra', 'oa'] as const) {
      expect(all.ap[s].mean!).toBeCloseTo(base.ap[s].mean!, 12);
      // right joints (score 0.4) now rank below wrongly graded ones (score 0.6 in the wrong class)
      expect(right.ap[s].mean!).toBeLessThan(base.ap[s].mean! - 0.01);
    }
    // kappa and recall do not look at confidence
    expect(right.grading.jsn.kappa).toBeCloseTo(base.grading.jsn.kappa!, 12);
    expect(right.detection.iouRecall.recall).toBe(1);
  });

  it('reports ground truth without a prediction as missed, and predictions without ground truth', async () => {
    const predDir = predictions('partial', (a, name) => (name === names[0] ? null : a));
    const stray = JSON.parse(readFileSync(join(predDir, `${names[1]}.json`), 'utf8')) as HandAnalysis;
    stray.source.sopInstanceUID = '2.25.1';
    writeFileSync(join(predDir, 'stray.json'), JSON.stringify(stray));
    const { json: r, md } = await runEval('partial', predDir);
    expect(r.meta.missedImages).toEqual([truths.get(names[0])!.source.sopInstanceUID]);
    expect(r.meta.unexpectedImages).toEqual(['2.25.1']);
    expect(r.context.missedFiles).toEqual([`${names[0]}.json`]);
    expect(r.context.unexpectedFiles).toEqual(['stray.json']);
    expect(r.meta.images.evaluated).toBe(2);
    expect(r.detection.iouRecall.recall!).toBeLessThan(0.7);
    expect(md).toContain(`Missed images (ground truth without a prediction; their joints count as not found): 1 (${names[0]}.json)`);
  });

  it('without --predictions runs the models on the DICOM file beside each ground truth', async () => {
    const out = join(dir, 'run-models');
    await cli(['eval', '--data', truthDir, '--out', out, '--models', TINY_MODELS, '--provider', 'cpu']);
    const predicted = readdirSync(join(out, 'predictions')).sort();
    expect(predicted).toEqual(names.map((n) => `${n}.json`).sort());
    const result = JSON.parse(readFileSync(join(out, 'eval.json'), 'utf8')) as EvalResult;
    expect(result.meta.images).toEqual({ truth: names.length, predicted: names.length, evaluated: names.length });
  });

  it('names the file and the field when a prediction is broken', async () => {
    const bad = join(dir, 'pred-bad');
    mkdirSync(bad);
    copyFileSync(join(truthDir, `${names[0]}.json`), join(bad, `${names[0]}.json`));
    writeFileSync(join(bad, 'broken.json'), '{"source": {"sopInstanceUID": "1", "rows": 10}');
    await expect(cli(['eval', '--data', truthDir, '--predictions', bad, '--out', join(dir, 'x')])).rejects.toThrow(
      /broken\.json: not valid JSON/,
    );
    writeFileSync(join(bad, 'broken.json'), '{"source": {"sopInstanceUID": "1", "rows": 10}, "hands": []}');
    await expect(cli(['eval', '--data', truthDir, '--predictions', bad, '--out', join(dir, 'x')])).rejects.toThrow(
      /broken\.json: source\.columns: expected a positive number, it is missing/,
    );
    await expect(cli(['eval', '--data', join(dir, 'nowhere'), '--predictions', bad, '--out', join(dir, 'x')])).rejects.toThrow(
      /nowhere: cannot read the ground truth folder/,
    );
  });
});
