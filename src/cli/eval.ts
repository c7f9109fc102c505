import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Command, Option } from 'commander';
import { loadAnalysisDir, pairByInstance } from '../eval/dataset.js';
import { evaluate } from '../eval/metrics.js';
import { renderJson, renderMarkdown, renderPlots, type PlotName, type ReportContext } from '../eval/report.js';
import { readDicomImage } from '../imaging/decode.js';
import { analyzeImage } from '../inference/analyze.js';
import { loadModels } from '../inference/models.js';
import { PROVIDER_CHOICES, type ProviderChoice } from '../inference/session.js';
import { logger } from '../observability/logger.js';
import { DEFAULT_MODELS_DIR } from './analyze.js';

export interface EvalCommandOptions {
  data: string;
  out: string;
  predictions?: string;
  /** used when there is no --predictions: the models run on each <name>.dcm beside its ground truth */
  models?: string;
  provider?: ProviderChoice;
}

/** Runs the models on the DICOM file beside each ground truth; writes the predictions under out/predictions. */
async function predict(truthFiles: string[], opts: EvalCommandOptions): Promise<string> {
  const models = await loadModels(opts.models ?? DEFAULT_MODELS_DIR, { provider: opts.provider ?? 'auto' });
  const dir = join(opts.out, 'predictions');
  mkdirSync(dir, { recursive: true });
  const log = logger();
  for (const [i, truthFile] of truthFiles.entries()) {
    const dcm = truthFile.replace(/\.json$/, '.dcm');
    const image = await readDicomImage(dcm, log);
    const analysis = await analyzeImage(image, models);
    writeFileSync(join(dir, basename(truthFile)), JSON.stringify(analysis, null, 2) + '\n');
    if ((i + 1) % 25 === 0) log.info('eval: images analysed', { done: i + 1, of: truthFiles.length });
  }
  return dir;
}

/** What `jointscore eval` wrote. */
export interface EvalOutputs {
  json: string;
  markdown: string;
  plots: string[];
}

/**
 * `jointscore eval`: ground truth from --data, predictions from --predictions (paired by
 * source.sopInstanceUID), metrics by evaluate(), and the report written to --out:
 * eval.json, report.md and plots/*.png.
 */
export async function runEval(opts: EvalCommandOptions): Promise<EvalOutputs> {
  const truths = loadAnalysisDir(opts.data, 'ground truth');
  const predictionDir = opts.predictions ?? (await predict(truths.map((t) => t.file), opts));
  const predictions = loadAnalysisDir(predictionDir, 'prediction');
  const pairing = pairByInstance(truths, predictions);
  const result = evaluate(
    truths.map((t) => t.analysis),
    predictions.map((p) => p.analysis),
  );

  mkdirSync(join(opts.out, 'plots'), { recursive: true });
  const plots = await renderPlots(result);
  const plotFiles: Partial<Record<PlotName, string>> = {};
  const written: string[] = [];
  for (const p of plots) {
    const rel = `plots/${p.name}.png`;
    writeFileSync(join(opts.out, rel), p.png);
    plotFiles[p.name] = rel;
    written.push(join(opts.out, rel));
  }
  const context: ReportContext = {
    data: opts.data,
    predictions: predictionDir,
    missedFiles: pairing.missed.map((m) => basename(m.file)),
    unexpectedFiles: pairing.unexpected.map((u) => basename(u.file)),
    plots: plotFiles,
  };
  const json = join(opts.out, 'eval.json');
  const markdown = join(opts.out, 'report.md');
  writeFileSync(json, renderJson(result, context));
  writeFileSync(markdown, renderMarkdown(result, context));

  const log = logger();
  for (const m of pairing.missed) log.warn('ground truth without a prediction (missed image)', { file: m.file, sopInstanceUID: m.analysis.source.sopInstanceUID });
  for (const u of pairing.unexpected) log.warn('prediction without ground truth (ignored)', { file: u.file, sopInstanceUID: u.analysis.source.sopInstanceUID });
  log.info('evaluation written', {
    out: opts.out,
    images: result.meta.images,
    raMeanAp: result.ap.ra.mean,
    oaMeanAp: result.ap.oa.mean,
    iouRecall: result.detection.iouRecall.recall,
  });
  return { json, markdown, plots: written };
}

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description(
      "Score predictions against ground truth (HandAnalysis JSON): the reference study's PR-AUC per severity class, detection recall, localisation error, grading kappa; writes eval.json, report.md and plots/",
    )
    .requiredOption('--data <dir>', 'folder of ground-truth <name>.json files (as `jointscore phantom` writes them)')
    .requiredOption('--out <dir>', 'output folder for eval.json, report.md and plots/*.png')
    .option('--predictions <dir>', 'folder of predicted <name>.json files (as `jointscore analyze --out` writes them), paired by source.sopInstanceUID; without it the models run on each <name>.dcm beside its ground truth')
    .option('--models <dir>', "models folder (default: the package's models/)")
    .addOption(new Option('--provider <p>', 'execution provider').choices([...PROVIDER_CHOICES]).default('auto'))
    .action(async (opts: EvalCommandOptions) => {
      const out = await runEval(opts);
      process.stdout.write(`${out.markdown}\n`);
    });
}
