import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Command } from 'commander';
import { loadAnalysisDir, pairByInstance } from '../eval/dataset.js';
import { evaluate } from '../eval/metrics.js';
import { renderJson, renderMarkdown, renderPlots, type PlotName, type ReportContext } from '../eval/report.js';
import { logger } from '../observability/logger.js';

export interface EvalCommandOptions {
  data: string;
  out: string;
  predictions?: string;
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
  if (!opts.predictions) {
    // The models will run here (src/inference analyzeFile(path, models) on each <name>.dcm of
    // --data, then evaluate() as below) once that exists; until then, no stand-in.
    throw new Error(
      'jointscore eval: --predictions is required until eval can run the models itself (src/inference is not wired in yet); ' +
        'write predictions with `jointscore analyze --out DIR` and pass that folder as --predictions DIR',
    );
  }
  const truths = loadAnalysisDir(opts.data, 'ground truth');
  const predictions = loadAnalysisDir(opts.predictions, 'prediction');
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
    predictions: opts.predictions,
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
    .option('--predictions <dir>', 'folder of predicted <name>.json files (as `jointscore analyze --out` writes them), paired by source.sopInstanceUID')
    .action(async (opts: EvalCommandOptions) => {
      const out = await runEval(opts);
      process.stdout.write(`${out.markdown}\n`);
    });
}
