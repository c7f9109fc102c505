import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { Command, Option } from 'commander';
import { loadAnalysisDir, pairByInstance } from '../eval/dataset.js';
import { evaluate } from '../eval/metrics.js';
import { renderJson, renderMarkdown, renderPlots, type PlotName, type ReportContext } from '../eval/report.js';
import { readDicomImage } from '../imaging/decode.js';
import { analyzeImage } from '../inference/analyze.js';
import { loadModels } from '../inference/models.js';
import { PROVIDER_CHOICES, type ProviderChoice } from '../inference/session.js';
import { logger } from '../observability/logger.js';
import { labelAgreement, readFilmLabels, type LabelAgreement } from '../eval/film-labels.js';
import { localisationAgreement, readJointPoints, type LocalisationAgreement } from '../eval/points.js';
import { pairFilms, readReference, referenceAgreement, referenceJointCsv, referenceJointRows, stem, type FilmPairing, type ReferenceAgreement } from '../eval/reference.js';
import type { HandAnalysis } from '../analysis/hand-analysis.js';
import { NEVER_ANALYSED_RULES } from '../pipeline/select.js';
import { DEFAULT_MODELS_DIR, runAnalyze } from './analyze.js';

export interface EvalCommandOptions {
  data?: string;
  /** real graded films: a CSV in the RA2-DREAM or the plain layout (src/eval/reference.ts) */
  reference?: string;
  /** the films the reference scores: DICOM, PNG or JPEG, named as the reference names them */
  images?: string;
  /** mm per pixel of PNG / JPEG films; else measured from each hand */
  spacing?: number;
  /** joint points a site's readers placed: a CSV (file,site,x,y) or labelme JSON, or a folder of them (src/eval/points.ts) */
  points?: string;
  /** per-film labels: a CSV, file then 0/1 columns (src/eval/film-labels.ts) */
  labels?: string;
  /** with --reference: the node's configuration, whose selection and analysis sections apply (else the embedded defaults) */
  config?: string;
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
  if (!opts.data) throw new Error('--data (ground truth) or --reference with --images is needed');
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

const pct = (x: number | null) => (x === null ? '-' : `${(100 * x).toFixed(1)} %`);
const num = (x: number | null, d = 3) => (x === null ? '-' : x.toFixed(d));

export function referenceMarkdown(a: ReferenceReport, reference: string, images: string): string {
  const rows = (['jsn', 'erosion', 'kl'] as const)
    .filter((s) => a.scores[s].n > 0)
    .map((s) => {
      const g = a.scores[s];
      return `| ${s} | ${g.n} | ${pct(g.accuracy)} | ${pct(g.withinOne)} | ${num(g.mae, 2)} | ${num(g.kappa)} | ${pct(g.allZero.accuracy)} / ${pct(g.allZero.withinOne)} |`;
    });
  const confusion = (['jsn', 'erosion', 'kl'] as const)
    .filter((s) => a.scores[s].n > 0)
    .map((s) => `${s} (rows: reference grade, columns: predicted)\n\n${a.scores[s].confusion.map((r, i) => `    ${i}: ${r.join(' ')}`).join('\n')}`);
  return [
    '# Agreement with a real-film reference',
    '',
    `Reference \`${reference}\`, films \`${images}\`: ${a.films} films, ${a.analysed} analysed. Machine-made grades; the reference is the site's readers.`,
    ...pairingLines(a.pairing),
    '',
    '| score | joints graded by both | exact | within one grade | mean abs. error | quadratic kappa | grade 0 on every one of them: exact / within one |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    `Coverage: ${a.coverage.graded} of ${a.coverage.referenced} referenced joint scores graded (${pct(a.coverage.share)}). Joint by joint, with why a score has no prediction: reference-joints.csv.`,
    ...(a.notSelected.length
      ? [
          '',
          `Films the node's selection skips (not analysed here either; their joints count against coverage): ${a.notSelected.length}`,
          '',
          ...a.notSelected.map((n) => `- ${n.file}: ${n.rule}: ${n.reason}`),
          '',
        ]
      : []),
    `Films the reference scores all zero: ${a.allZeroFilms.films}; of their ${a.allZeroFilms.joints} joints found, ${a.allZeroFilms.calledMildOrSevere} called mild or severe (${pct(a.allZeroFilms.share)}).`,
    ...(a.width
      ? [`Joint space width (the reference's jsw_mm): ${a.width.n} joints measured by both, mean absolute error ${num(a.width.maeMm, 2)} mm, bias (measured - reference) ${num(a.width.biasMm, 2)} mm, correlation ${num(a.width.correlation, 2)}.`]
      : []),
    ...patternLines(a.pattern),
    ...groupLines(a.byGroup),
    '',
    ...confusion,
    '',
  ].join('\n');
}

/** Agreement by joint group (reference.ts `groupAgreement`): which joints the models read higher or lower than the site's readers. */
function groupLines(groups: ReferenceReport['byGroup']): string[] {
  if (groups.length === 0) return [];
  return [
    '',
    'By joint group (joints graded by both; bias: mean predicted - reference grade, above 0 where the models read higher):',
    '',
    '| score | joints | joints graded by both | exact | within one grade | mean abs. error | bias |',
    '|---|---|---:|---:|---:|---:|---:|',
    ...groups.map((g) => `| ${g.score} | ${g.group} | ${g.n} | ${pct(g.accuracy)} | ${pct(g.withinOne)} | ${num(g.mae, 2)} | ${g.bias >= 0 ? '+' : ''}${num(g.bias, 2)} |`),
  ];
}

/** The hand's pattern against the reference's, on the joint scores both give (reference.ts `PatternAgreement`). */
function patternLines(p: ReferenceReport['pattern']): string[] {
  if (p.hands === 0) return [];
  const rows = Object.entries(p.confusion).map(([r, row]) => `    ${r}: ${Object.entries(row).map(([q, n]) => `${q} ${n}`).join(', ')}`);
  return [
    '',
    `Hand pattern (RA-like, OA-like, mixed, normal), judged on the joint scores both give: ${p.agreed} of ${p.hands} hands agree (${pct(p.share)}); ` +
      `on films the reference scores all zero, ${p.allZero.notNormal} of ${p.allZero.hands} hands given a pattern other than normal. Reference pattern: predicted patterns`,
    '',
    ...rows,
  ];
}

/** `jointscore eval --reference scores.csv --images films/`: the models on the films, against the site's grades. */
export async function runReferenceEval(
  opts: EvalCommandOptions,
): Promise<{ json: string; markdown: string; agreement?: ReferenceReport; localisation?: LocalisationAgreement; labels?: LabelAgreement[] }> {
  if (!opts.images) throw new Error('--reference, --points and --labels score the films under --images: give the folder of the films');
  const reference = opts.reference ? readReference(readFileSync(opts.reference, 'utf8'), opts.reference) : undefined;
  const points = opts.points ? readJointPoints(pointFiles(opts.points)) : undefined;
  const labels = opts.labels ? readFilmLabels(readFileSync(opts.labels, 'utf8'), opts.labels) : undefined;
  if (!reference && !points && !labels) throw new Error('give what to score the films against: --reference (per-joint grades), --points (joint points) or --labels (per-film labels)');
  const log = logger();
  // the node's own selection: a DICOM film it would skip (body part, declared view, ...) is not graded here either
  const run = await runAnalyze(
    opts.images,
    { models: opts.models, provider: opts.provider ?? 'auto', spacing: opts.spacing, config: opts.config, applySelection: true },
    { log, stdout: () => undefined, stderr: { write: () => true } },
  );
  // a film is named by its file name or, a DICOM film exported under any name, by its SOP Instance UID
  const films = [...new Set([...(reference?.films ?? []), ...(points?.films ?? []), ...(labels?.films ?? [])].map((f) => f.film))].map((film) => ({ film }));
  const named = new Set(films.map((f) => f.film));
  const nameOf = (r: { file: string; analysis: HandAnalysis }) => (named.has(r.analysis.source.sopInstanceUID) ? r.analysis.source.sopInstanceUID : stem(r.file));
  const predictions = new Map<string, HandAnalysis>(run.results.map((r) => [nameOf(r), r.analysis]));
  // a DICOMDIR, a report or one of the node's own results in the folder is no film the reference could name
  const skippedFilms = [...run.notSelected.filter((n) => !NEVER_ANALYSED_RULES.has(n.rule)), ...run.failures].map((r) => r.file);
  const pairing = pairFilms(films, [...run.results.map(nameOf), ...skippedFilms]);
  const notSelected = run.notSelected.map((n) => ({ ...n, file: relative(opts.images!, n.file) || basename(n.file) }));
  const agreement = reference ? { ...referenceAgreement(reference.films, predictions), notSelected, pairing } : undefined;
  const localisation = points ? localisationAgreement(points.films, predictions) : undefined;
  const labelled = labels ? labelAgreement(labels, predictions) : undefined;
  mkdirSync(opts.out, { recursive: true });
  const json = join(opts.out, 'reference-eval.json');
  const markdown = join(opts.out, 'reference-report.md');
  writeFileSync(
    json,
    JSON.stringify(
      {
        reference: opts.reference, format: reference?.format, points: opts.points, labels: opts.labels, images: opts.images, failures: run.failures,
        ...(agreement ?? { films: films.length, analysed: films.filter((f) => predictions.has(f.film)).length, notSelected, pairing }),
        ...(localisation ? { localisation, pointLabelsIgnored: points!.ignored } : {}),
        ...(labelled ? { labelAgreement: labelled } : {}),
      },
      null,
      2,
    ) + '\n',
  );
  writeFileSync(
    markdown,
    [
      agreement ? referenceMarkdown(agreement, opts.reference!, opts.images) : filmsHeader(films.length, predictions, pairing, opts.images),
      ...(localisation ? localisationLines(localisation, points!.ignored) : []),
      ...(labelled ? labelLines(labelled) : []),
      '',
    ].join('\n'),
  );
  if (reference) {
    const notAnalysed = new Map<string, string>([
      ...pairing.missing.map((f) => [f, 'no image'] as const),
      ...run.notSelected.map((n) => [stem(n.file), `skipped: ${n.rule}`] as const),
      ...run.failures.map((f) => [stem(f.file), 'could not be read'] as const),
    ]);
    writeFileSync(join(opts.out, 'reference-joints.csv'), referenceJointCsv(referenceJointRows(reference.films, predictions, notAnalysed)));
  }
  // counts only: film names may carry patient identifiers; the report (the site's own file) lists them
  if (pairing.missing.length) {
    log.warn('reference films without an image: their joints count against coverage; name each image as the reference names its film (the report lists them)', {
      missing: pairing.missing.length, films: films.length, images: opts.images, report: markdown,
    });
  }
  if (pairing.sharedNames.length) log.warn('images sharing one name: only one of each is scored (the report lists them)', { names: pairing.sharedNames.length, report: markdown });
  log.info('reference evaluation written', { out: opts.out, films: films.length, analysed: films.filter((f) => predictions.has(f.film)).length });
  return { json, markdown, ...(agreement ? { agreement } : {}), ...(localisation ? { localisation } : {}), ...(labelled ? { labels: labelled } : {}) };
}

/** A points file (CSV or labelme JSON), or a folder of them. */
function pointFiles(path: string): { name: string; text: string }[] {
  const files = statSync(path).isDirectory()
    ? readdirSync(path).filter((f) => /\.(json|csv)$/i.test(f)).sort().map((f) => join(path, f))
    : [path];
  if (files.length === 0) throw new Error(`${path}: no labelme .json or .csv files of joint points here`);
  return files.map((f) => ({ name: f, text: readFileSync(f, 'utf8') }));
}

/** The report's head where there are no per-joint grades: the films, and how they paired with images. */
function filmsHeader(films: number, predictions: ReadonlyMap<string, HandAnalysis>, pairing: FilmPairing, images: string): string {
  const analysed = [...predictions.keys()].length;
  return [
    '# Agreement with a real-film reference',
    '',
    `Films \`${images}\`: ${films} named by the points or labels, ${analysed} images analysed. Machine-made results; the reference is the site's readers.`,
    ...pairingLines(pairing),
  ].join('\n');
}

/** Joint points (src/eval/points.ts): PCK@0.1 of the labelled MCP2-MCP5 distance, overall and by joint group. */
function localisationLines(l: LocalisationAgreement, ignored: Record<string, number>): string[] {
  const skipped = Object.entries(ignored).map(([label, n]) => `${label} (${n})`);
  return [
    '',
    '## Where the joints are (your joint points)',
    '',
    `${l.joints} labelled joints on ${l.films} analysed films; ${l.scaled} on films with MCP2 and MCP5 labelled (the scale). ` +
      `Found within a tenth of the labelled MCP2-MCP5 distance (PCK@0.1): ${l.withinTenth} of ${l.scaled} (${pct(l.pck)}); no joint of that site found: ${l.notFound}.`,
    ...(skipped.length ? ['', `Labels that name no joint site (left out): ${skipped.join(', ')}.`] : []),
    '',
    '| joints | labelled (scaled) | within a tenth | PCK@0.1 |',
    '|---|---:|---:|---:|',
    ...l.byGroup.map((g) => `| ${g.group} | ${g.scaled} | ${g.withinTenth} | ${pct(g.pck)} |`),
  ];
}

/** Per-film labels (src/eval/film-labels.ts): each film score's AUC against each label. */
function labelLines(labels: LabelAgreement[]): string[] {
  return [
    '',
    '## Per-film labels',
    '',
    'Each film scored by its largest expected grade (sum k x p_k) over its graded joints, 0 where none is graded; AUC: a labelled film (1) scoring above an unlabelled one (0), ties half.',
    '',
    '| label | films 1 / 0 | read (a joint graded) | AUC: erosion | AUC: narrowing (JSN) | AUC: KL |',
    '|---|---:|---:|---:|---:|---:|',
    ...labels.map((l) => `| ${l.label} | ${l.positives} / ${l.negatives} | ${l.read} | ${num(l.auc.erosion)} | ${num(l.auc.jsn)} | ${num(l.auc.kl)} |`),
  ];
}

/** What the reference evaluation reports: the agreement, the films the node's selection skips, and how films and images paired. */
export type ReferenceReport = ReferenceAgreement & { notSelected: { file: string; rule: string; reason: string }[]; pairing: FilmPairing };

const LISTED = 20;
/** A section listing names (the first LISTED), or nothing when there are none. */
function nameList(title: string, names: readonly string[]): string[] {
  if (!names.length) return [];
  const more = names.length > LISTED ? [`- ... and ${names.length - LISTED} more (reference-eval.json lists all)`] : [];
  return ['', `${title}: ${names.length}`, '', ...names.slice(0, LISTED).map((n) => `- ${n}`), ...more];
}

function pairingLines(p: FilmPairing): string[] {
  return [
    ...nameList(
      'Reference films without an image (not analysed; their joints count against coverage). Each image is matched by its name without folder and extension (.dcm, .png, .jpg, .jpeg); the RA2-DREAM layout names a hand\'s film `<Patient_ID>-LH` or `<Patient_ID>-RH`',
      p.missing,
    ),
    ...nameList('Images sharing one name (only one of each is scored: rename or remove the others)', p.sharedNames),
    ...nameList('Images the reference does not name (analysed, not scored)', p.unreferenced),
  ];
}

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description(
      "Score predictions against ground truth (HandAnalysis JSON): the reference study's PR-AUC per severity class, detection recall, localisation error, grading kappa; writes eval.json, report.md and plots/",
    )
    .option('--data <dir>', 'folder of ground-truth <name>.json files (as `jointscore phantom` writes them)')
    .option('--reference <csv>', 'real graded films instead: per-joint scores, RA2-DREAM layout (Patient_ID, LH_mcp_J__2, ...) or plain (file, site, jsn, erosion, kl); see docs/validation.md')
    .option('--points <path>', 'real films: joint points your readers placed, a CSV (file,site,x,y) or labelme JSON files, or a folder of them; reports PCK@0.1 of MCP2-MCP5; see docs/validation.md')
    .option('--labels <csv>', 'real films: per-film labels (file, then one 0/1 column per label, e.g. erosive); reports the AUC of each film score; see docs/validation.md')
    .option('--images <dir>', 'with --reference, --points or --labels: the films (DICOM, PNG or JPEG) named as they name them (a DICOM film may be named by its SOP Instance UID instead)')
    .option('--spacing <mm>', 'with --reference: pixel spacing of PNG / JPEG films (default: measured from each hand)', Number)
    .option('--config <file>', "with --reference: the node's YAML configuration; its selection rules skip DICOM films as the node would (default: the embedded defaults) and its analysis section applies")
    .requiredOption('--out <dir>', 'output folder for eval.json, report.md and plots/*.png')
    .option('--predictions <dir>', 'folder of predicted <name>.json files (as `jointscore analyze --out` writes them), paired by source.sopInstanceUID; without it the models run on each <name>.dcm beside its ground truth')
    .option('--models <dir>', "models folder (default: the package's models/)")
    .addOption(new Option('--provider <p>', 'execution provider').choices([...PROVIDER_CHOICES]).default('auto'))
    .action(async (opts: EvalCommandOptions) => {
      if (opts.reference || opts.points || opts.labels) {
        const out = await runReferenceEval(opts);
        process.stdout.write(readFileSync(out.markdown, 'utf8'));
        return;
      }
      const out = await runEval(opts);
      process.stdout.write(`${out.markdown}\n`);
    });
}
