import sharp from 'sharp';
import { HAND_PATTERNS, type SeverityClass } from '../analysis/hand-analysis.js';
import { MAX_GRADE, type Score } from '../analysis/joints.js';
import {
  SEVERITY_CLASSES,
  type EvalResult,
  type GradingAgreement,
  type PrCurve,
  type RecallFigure,
  type Scheme,
  type SchemeAp,
  type Stats,
} from './metrics.js';

/**
 * Rendering an EvalResult: JSON (machine-readable), Markdown (the human report) and plots.
 * Plots are pure functions returning SVG strings; `renderPlots` turns them into PNGs with
 * sharp. No file I/O here: the CLI decides where things go.
 */

/** The reference study's PR-AUC figures (docs/design.md), as fractions. */
export const STUDY_AP: Record<Scheme, Record<SeverityClass | 'mean', number>> = {
  ra: { healthy: 0.907, mild: 0.763, severe: 0.766, mean: 0.812 },
  oa: { healthy: 0.945, mild: 0.938, severe: 0.869, mean: 0.917 },
};

/** Where the inputs came from, for the report's header (file names stay out of EvalResult). */
export interface ReportContext {
  data?: string;
  predictions?: string;
  /** ground-truth files without a prediction */
  missedFiles?: string[];
  /** prediction files without ground truth */
  unexpectedFiles?: string[];
  /** plot files relative to the Markdown file, by plot name (see renderPlots) */
  plots?: Partial<Record<PlotName, string>>;
}

export function renderJson(result: EvalResult, context: ReportContext = {}): string {
  const { plots: _plots, ...ctx } = context;
  const ap = { ra: decimateScheme(result.ap.ra), oa: decimateScheme(result.ap.oa) };
  return JSON.stringify({ format: 'jointscore-eval/1', context: ctx, ...result, ap }, null, 2) + '\n';
}

/** Most points a PR curve keeps in eval.json (a full curve has one per distinct score, thousands). */
export const JSON_CURVE_POINTS = 200;

/**
 * A PR curve thinned for eval.json: at most `max` points, evenly spaced by index, the first
 * and the last always kept; `points` is then the full curve's length. The AP figures are
 * computed from the full curves before this, and the plots drawn from them too.
 */
export function decimateCurve(curve: PrCurve, max = JSON_CURVE_POINTS): PrCurve & { points?: number } {
  const n = curve.recall.length;
  if (n <= max) return curve;
  const idx: number[] = [];
  for (let i = 0; i < max; i++) {
    const k = Math.round((i * (n - 1)) / (max - 1));
    if (k !== idx[idx.length - 1]) idx.push(k);
  }
  const pick = (a: number[]) => idx.map((k) => a[k]);
  return { recall: pick(curve.recall), precision: pick(curve.precision), score: pick(curve.score), points: n };
}

function decimateScheme(s: SchemeAp): SchemeAp {
  const classes = Object.fromEntries(
    Object.entries(s.classes).map(([k, c]) => [k, { ...c, curve: decimateCurve(c.curve) }]),
  ) as SchemeAp['classes'];
  return { ...s, classes };
}

// ---------------------------------------------------------------------------------------
// Markdown

const pct = (v: number | null | undefined, digits = 1) => (v === null || v === undefined ? 'n/a' : `${(v * 100).toFixed(digits)}`);
const num = (v: number | null | undefined, digits = 2) => (v === null || v === undefined || Number.isNaN(v) ? 'n/a' : v.toFixed(digits));
const recall = (r: RecallFigure) => `${pct(r.recall)} % (${r.matched}/${r.total})`;
const md = (s: string) => s.replace(/[|\\`*_[\]<>]/g, (c) => `\\${c}`);

function classRange(cls: SeverityClass, t: { mild: number; severe: number }, max: number): string {
  const [lo, hi] = cls === 'healthy' ? [0, t.mild - 1] : cls === 'mild' ? [t.mild, t.severe - 1] : [t.severe, max];
  return lo === hi ? `${lo}` : lo > hi ? '(none)' : `${lo}-${hi}`;
}

function statsRow(label: string, s: Stats | null, digits: number): string {
  if (!s) return `| ${label} | 0 | n/a | n/a | n/a | n/a |`;
  return `| ${label} | ${s.n} | ${num(s.median, digits)} | ${num(s.mean, digits)} | ${num(s.p95, digits)} | ${num(s.max, digits)} |`;
}

function confusionTable(g: GradingAgreement): string[] {
  const head = `| true \\ predicted | ${Array.from({ length: g.grades }, (_, i) => String(i)).join(' | ')} | total |`;
  const sep = `|---|${'---:|'.repeat(g.grades)}---:|`;
  const rows = g.confusion.map((row, i) => `| **${i}** | ${row.join(' | ')} | ${row.reduce((a, b) => a + b, 0)} |`);
  return [head, sep, ...rows];
}

const SCORE_TITLE: Record<Score, string> = {
  jsn: 'JSN (SvH, 0-4)',
  erosion: 'Erosion (SvH, 0-5)',
  kl: 'KL (0-4)',
};

export function renderMarkdown(result: EvalResult, context: ReportContext = {}): string {
  return [
    ...dataSection(result, context),
    ...apSection(result, context),
    ...detectionSection(result),
    ...localisationSection(result, context),
    ...gradingSection(result, context),
    ...widthSection(result.width),
    ...patternSection(result.pattern),
  ].join('\n') + '\n';
}

/** What was evaluated: synthetic or labelled images, how many, what was missed, how joints match. */
function dataSection(result: EvalResult, context: ReportContext): string[] {
  const m = result.meta;
  const L: string[] = [];
  const nonPhantom = m.images.truth - m.syntheticImages;
  const dataKind = m.synthetic
    ? 'synthetic (jointscore phantom)'
    : m.syntheticImages > 0
      ? `mixed: ${m.syntheticImages} of ${m.images.truth} images synthetic (jointscore phantom), ${nonPhantom} from ${m.generators.filter((g) => g !== 'jointscore-phantom').map((g) => g || 'unnamed labels').join(', ')}`
      : `labelled images (${m.generators.map((g) => g || 'unnamed labels').join(', ')})`;
  L.push('# jointscore evaluation', '');
  L.push(`**Data: ${dataKind}.**`);
  if (m.synthetic) {
    L.push('', '> The ground truth is synthetic: these figures say how the models do on phantom radiographs, not on patients. They are not a clinical validation.');
  }
  L.push('');
  L.push(`- Ground truth: ${m.images.truth} images, ${m.hands} hands, ${m.joints} joints${context.data ? ` (\`${context.data}\`)` : ''}`);
  L.push(`- Predictions: ${m.images.predicted} images${context.predictions ? ` (\`${context.predictions}\`)` : ''}; evaluated: ${m.images.evaluated} images`);
  const missed = context.missedFiles ?? m.missedImages;
  const unexpected = context.unexpectedFiles ?? m.unexpectedImages;
  const names = (xs: string[]) => (xs.length > 20 ? [...xs.slice(0, 20).map(md), `and ${xs.length - 20} more (eval.json lists them all)`] : xs.map(md)).join(', ');
  L.push(`- Missed images (ground truth without a prediction; their joints count as not found): ${missed.length}${missed.length ? ` (${names(missed)})` : ''}`);
  L.push(`- Predictions without ground truth (ignored): ${unexpected.length}${unexpected.length ? ` (${names(unexpected)})` : ''}`);
  L.push(`- Matching: a predicted joint matches only a true joint of the same image, hand laterality and site; IoU >= ${m.iouThreshold}`);
  L.push('');
  return L;
}

/** The reference study's metric: PR-AUC per severity class, RA and OA, beside the study's. */
function apSection(result: EvalResult, context: ReportContext): string[] {
  const m = result.meta;
  const L: string[] = [];
  L.push('## PR-AUC per severity class (the reference study\'s metric)', '');
  L.push(
    'Average precision, all-point interpolation, over the whole test set. Detections: every predicted joint with the score, ' +
      'score = detector confidence x P(class); positives: true joints whose true grade is in the class; greedy one-to-one ' +
      `matching by descending score at IoU >= ${m.iouThreshold}. "All joints" is the mean of the classes. Figures in %.`,
  );
  for (const scheme of ['ra', 'oa'] as const) {
    const s: SchemeAp = result.ap[scheme];
    const t = m.thresholds[s.score];
    const max = MAX_GRADE[s.score];
    L.push('', `### ${scheme === 'ra' ? 'RA: joint space narrowing (SvH JSN)' : 'OA: Kellgren-Lawrence (KL)'}`, '');
    L.push('| class | grades | positives | true positives | AP (this run) | AP (reference study) |');
    L.push('|---|---|---:|---:|---:|---:|');
    for (const c of SEVERITY_CLASSES) {
      const a = s.classes[c];
      L.push(`| ${c} | ${classRange(c, t, max)} | ${a.positives} | ${a.truePositives} | ${pct(a.ap)} | ${pct(STUDY_AP[scheme][c])} |`);
    }
    const note = s.classesInMean.length < 3 ? ` (mean of ${s.classesInMean.join(', ') || 'no class'})` : '';
    L.push(`| **all joints (mean)** | | | | **${pct(s.mean)}**${note} | **${pct(STUDY_AP[scheme].mean)}** |`);
    const plot = context.plots?.[scheme === 'ra' ? 'pr-ra' : 'pr-oa'];
    if (plot) L.push('', `![${s.label} precision-recall curves](${plot})`);
  }
  L.push('');
  return L;
}

/** Recall by IoU and by centre distance, and coverage (joints found that were graded). */
function detectionSection(result: EvalResult): string[] {
  const m = result.meta;
  const d = result.detection;
  const L: string[] = [];
  L.push('## Detection', '');
  L.push('| criterion | recall |');
  L.push('|---|---:|');
  L.push(`| IoU >= ${m.iouThreshold} (one-to-one) | ${recall(d.iouRecall)} |`);
  L.push(`| centre within ${pct(m.distanceFraction, 0)} % of the hand's true MCP2-MCP5 distance | ${recall(d.distanceRecall)} |`);
  L.push('');
  const c = result.coverage;
  L.push(`Coverage: ${c.graded} of ${c.found} joints found were graded (${c.share === null ? '-' : pct(c.share)} %); the rest were reported as not graded, with the reason.`, '');
  L.push(`Predicted joints on evaluated images: ${d.predictedJoints}; not matched at IoU >= ${m.iouThreshold}: ${d.unmatchedPredictions}.` +
    (d.withoutMcpReference ? ` ${d.withoutMcpReference} true joints are left out of the distance figures (their hand lacks a true MCP2 or MCP5).` : ''));
  L.push('');
  return L;
}

/** Centre errors, overall and per site. */
function localisationSection(result: EvalResult, context: ReportContext): string[] {
  const d = result.detection;
  const loc = result.localisation;
  const L: string[] = [];
  L.push('## Localisation', '');
  L.push(`Centre error of each true joint against the predicted joint of the same key (${loc.paired} of ${d.truthJoints} true joints had one).`, '');
  L.push('| error | n | median | mean | 95th percentile | max |');
  L.push('|---|---:|---:|---:|---:|---:|');
  L.push(statsRow('mm', loc.errorMm, 2));
  L.push(statsRow('fraction of MCP2-MCP5 distance', loc.errorFraction, 3));
  if (context.plots?.['localisation']) L.push('', `![localisation error histogram](${context.plots['localisation']})`);
  L.push('', '### Per site', '');
  L.push('| site | true joints | recall IoU | recall distance | median mm | 95th pct mm | median fraction |');
  L.push('|---|---:|---:|---:|---:|---:|---:|');
  for (const s of d.perSite) {
    L.push(
      `| ${s.site} | ${s.truths} | ${pct(s.iouRecall.recall)} | ${pct(s.distanceRecall.recall)} | ${num(s.errorMm?.median)} | ${num(s.errorMm?.p95)} | ${num(s.errorFraction?.median, 3)} |`,
    );
  }
  L.push('');
  return L;
}

/** Grades against the truth: kappa, accuracy, within one, and each score's confusion matrix. */
function gradingSection(result: EvalResult, context: ReportContext): string[] {
  const L: string[] = [];
  L.push('## Grading agreement', '');
  L.push(`Over the joints matched at IoU >= ${result.meta.iouThreshold}: true grade vs predicted grade (argmax of the probabilities).`, '');
  L.push('| score | joints | quadratic-weighted kappa | accuracy | within one grade |');
  L.push('|---|---:|---:|---:|---:|');
  for (const k of ['jsn', 'erosion', 'kl'] as const) {
    const g = result.grading[k];
    L.push(`| ${SCORE_TITLE[k]} | ${g.n} | ${num(g.kappa, 3)} | ${pct(g.accuracy)} % | ${pct(g.withinOne)} % |`);
  }
  for (const k of ['jsn', 'erosion', 'kl'] as const) {
    L.push('', `### Confusion matrix: ${SCORE_TITLE[k]}`, '');
    L.push(...confusionTable(result.grading[k]));
    const plot = context.plots?.[`confusion-${k}`];
    if (plot) L.push('', `![${k} confusion matrix](${plot})`);
  }
  L.push('');
  return L;
}

/** The measured joint space width against the reference's, where both have one. */
function widthSection(w: EvalResult['width']): string[] {
  if (!w) return [];
  return [
    '## Joint space width',
    '',
    `The measured width (mm) against the reference's, over the ${w.n} matched finger joints that have both.`,
    '',
    '| joints | mean absolute error, mm | bias (measured - reference), mm | correlation |',
    '|---:|---:|---:|---:|',
    `| ${w.n} | ${num(w.maeMm, 3)} | ${num(w.biasMm, 3)} | ${num(w.correlation, 3)} |`,
    '',
  ];
}

/** The hand's pattern (src/analysis/severity.ts PATTERN) against the truth's: agreement and its confusion. */
function patternSection(p: EvalResult['pattern']): string[] {
  if (p.hands === 0) return [];
  return [
    '## Hand pattern',
    '',
    `The pattern the node states per hand (RA-like, OA-like, mixed, normal), judged on each side's grades of the joint scores both give: ` +
      `${p.agreed} of ${p.hands} hands agree (${pct(p.share)} %); of the ${p.allZero.hands} hands graded all zero by the truth, ${p.allZero.notNormal} given another pattern.`,
    '',
    `| truth \\ predicted | ${HAND_PATTERNS.join(' | ')} |`,
    `|---|${HAND_PATTERNS.map(() => '---:').join('|')}|`,
    ...HAND_PATTERNS.filter((r) => p.confusion[r]).map((r) => `| ${r} | ${HAND_PATTERNS.map((q) => p.confusion[r]?.[q] ?? 0).join(' | ')} |`),
    '',
  ];
}

// ---------------------------------------------------------------------------------------
// SVG plots (pure)

/** The severity hues darkened for curves on a white page (SEVERITY_COLOURS are made to show on a dark radiograph). */
export const CLASS_COLOURS: Record<SeverityClass, string> = { healthy: '#2e7d32', mild: '#e08a00', severe: '#c62828' };

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
const f = (v: number) => (Math.round(v * 100) / 100).toString();
const FONT = 'font-family="DejaVu Sans, sans-serif"';

function text(x: number, y: number, s: string, opts: { size?: number; anchor?: string; weight?: string; fill?: string; rotate?: boolean } = {}): string {
  const rot = opts.rotate ? ` transform="rotate(-90 ${f(x)} ${f(y)})"` : '';
  return `<text x="${f(x)}" y="${f(y)}" ${FONT} font-size="${opts.size ?? 13}" text-anchor="${opts.anchor ?? 'start'}"${opts.weight ? ` font-weight="${opts.weight}"` : ''} fill="${opts.fill ?? '#222'}"${rot}>${esc(s)}</text>`;
}

/** The precision envelope (monotone from the right) that all-point AP integrates, as steps. */
export function envelopeSteps(curve: PrCurve): { recall: number; precision: number }[] {
  const env = [...curve.precision];
  for (let i = env.length - 2; i >= 0; i--) env[i] = Math.max(env[i], env[i + 1]);
  const pts: { recall: number; precision: number }[] = [];
  let r0 = 0;
  for (let i = 0; i < env.length; i++) {
    if (curve.recall[i] === r0 && i > 0) continue;
    pts.push({ recall: r0, precision: env[i] }, { recall: curve.recall[i], precision: env[i] });
    r0 = curve.recall[i];
  }
  return pts;
}

/** Precision-recall curves of one scheme's three classes (the envelope AP integrates), one SVG. */
export function prCurveSvg(s: SchemeAp, reference: Record<SeverityClass | 'mean', number> = STUDY_AP[s.scheme]): string {
  const W = 700, H = 520, x0 = 70, y0 = 50, pw = 420, ph = 400;
  const X = (r: number) => x0 + r * pw;
  const Y = (p: number) => y0 + (1 - p) * ph;
  const parts: string[] = [`<rect width="${W}" height="${H}" fill="#ffffff"/>`];
  parts.push(text(W / 2, 30, `${s.label}: precision-recall per severity class`, { size: 16, anchor: 'middle', weight: 'bold' }));
  for (let i = 0; i <= 10; i++) {
    const v = i / 10;
    parts.push(`<line x1="${f(X(v))}" y1="${y0}" x2="${f(X(v))}" y2="${y0 + ph}" stroke="#e4e4e4"/>`);
    parts.push(`<line x1="${x0}" y1="${f(Y(v))}" x2="${x0 + pw}" y2="${f(Y(v))}" stroke="#e4e4e4"/>`);
    if (i % 2 === 0) {
      parts.push(text(X(v), y0 + ph + 18, v.toFixed(1), { size: 11, anchor: 'middle' }));
      parts.push(text(x0 - 8, Y(v) + 4, v.toFixed(1), { size: 11, anchor: 'end' }));
    }
  }
  parts.push(`<rect x="${x0}" y="${y0}" width="${pw}" height="${ph}" fill="none" stroke="#444"/>`);
  parts.push(text(x0 + pw / 2, y0 + ph + 40, 'recall', { anchor: 'middle' }));
  parts.push(text(24, y0 + ph / 2, 'precision', { anchor: 'middle', rotate: true }));
  let ly = y0 + 10;
  for (const c of SEVERITY_CLASSES) {
    const a = s.classes[c];
    const colour = CLASS_COLOURS[c];
    if (a.curve.recall.length > 0 && a.positives > 0) {
      const pts = envelopeSteps(a.curve).map((p) => `${f(X(p.recall))},${f(Y(p.precision))}`).join(' ');
      parts.push(`<polyline points="${pts}" fill="none" stroke="${colour}" stroke-width="2.5"/>`);
      // the raw (uninterpolated) points, faint
      a.curve.recall.forEach((r, i) => parts.push(`<circle cx="${f(X(r))}" cy="${f(Y(a.curve.precision[i]))}" r="1.6" fill="${colour}" fill-opacity="0.35"/>`));
    }
    parts.push(`<line x1="${x0 + pw + 16}" y1="${ly}" x2="${x0 + pw + 40}" y2="${ly}" stroke="${colour}" stroke-width="3"/>`);
    parts.push(text(x0 + pw + 46, ly + 4, c, { size: 13, weight: 'bold' }));
    parts.push(text(x0 + pw + 46, ly + 20, `AP ${pct(a.ap)} % (n=${a.positives})`, { size: 12 }));
    parts.push(text(x0 + pw + 46, ly + 35, `study ${pct(reference[c])} %`, { size: 12, fill: '#666' }));
    ly += 62;
  }
  parts.push(text(x0 + pw + 16, ly + 4, `mean ${pct(s.mean)} %`, { size: 13, weight: 'bold' }));
  parts.push(text(x0 + pw + 16, ly + 20, `study ${pct(reference.mean)} %`, { size: 12, fill: '#666' }));
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">${parts.join('')}</svg>`;
}

/** Heatmap of a confusion matrix, cells shaded by the row-normalised fraction, counts written in. */
export function confusionSvg(g: GradingAgreement, title: string): string {
  const k = g.grades;
  const cell = Math.floor(360 / k);
  const x0 = 90, y0 = 70;
  const W = x0 + k * cell + 40, H = y0 + k * cell + 70;
  const parts: string[] = [`<rect width="${W}" height="${H}" fill="#ffffff"/>`];
  parts.push(text(W / 2, 26, title, { size: 16, anchor: 'middle', weight: 'bold' }));
  parts.push(text(W / 2, 46, `n=${g.n}, kappa ${num(g.kappa, 3)}, accuracy ${pct(g.accuracy)} %`, { size: 12, anchor: 'middle', fill: '#555' }));
  for (let i = 0; i < k; i++) {
    const rowSum = g.confusion[i].reduce((a, b) => a + b, 0);
    for (let j = 0; j < k; j++) {
      const v = g.confusion[i][j];
      const frac = rowSum > 0 ? v / rowSum : 0;
      // white -> dark blue
      const r = Math.round(255 - frac * (255 - 13)), gg = Math.round(255 - frac * (255 - 71)), b = Math.round(255 - frac * (255 - 161));
      const x = x0 + j * cell, y = y0 + i * cell;
      parts.push(`<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="rgb(${r},${gg},${b})" stroke="#999"/>`);
      parts.push(text(x + cell / 2, y + cell / 2 + 5, String(v), { size: Math.min(16, cell / 3), anchor: 'middle', fill: frac > 0.5 ? '#ffffff' : '#222' }));
    }
    parts.push(text(x0 - 10, y0 + i * cell + cell / 2 + 5, String(i), { anchor: 'end' }));
    parts.push(text(x0 + i * cell + cell / 2, y0 + k * cell + 20, String(i), { anchor: 'middle' }));
  }
  parts.push(text(x0 + (k * cell) / 2, y0 + k * cell + 44, 'predicted grade', { anchor: 'middle' }));
  parts.push(text(40, y0 + (k * cell) / 2, 'true grade', { anchor: 'middle', rotate: true }));
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">${parts.join('')}</svg>`;
}

/** Histogram of values (e.g. localisation errors in mm), with the median and 95th percentile marked. */
export function histogramSvg(values: readonly number[], opts: { title: string; xLabel: string; bins?: number }): string {
  const W = 640, H = 420, x0 = 70, y0 = 50, pw = 530, ph = 300;
  const parts: string[] = [`<rect width="${W}" height="${H}" fill="#ffffff"/>`];
  parts.push(text(W / 2, 28, opts.title, { size: 16, anchor: 'middle', weight: 'bold' }));
  parts.push(`<rect x="${x0}" y="${y0}" width="${pw}" height="${ph}" fill="none" stroke="#444"/>`);
  parts.push(text(x0 + pw / 2, y0 + ph + 44, opts.xLabel, { anchor: 'middle' }));
  parts.push(text(24, y0 + ph / 2, 'joints', { anchor: 'middle', rotate: true }));
  if (values.length === 0) {
    parts.push(text(x0 + pw / 2, y0 + ph / 2, 'no values', { anchor: 'middle', fill: '#888' }));
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">${parts.join('')}</svg>`;
  }
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => {
    const pos = p * (sorted.length - 1);
    const lo = Math.floor(pos), hi = Math.ceil(pos);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
  };
  const bins = opts.bins ?? 30;
  // range: 0 .. a bit past the largest value (errors are non-negative)
  const top = Math.max(sorted[sorted.length - 1], 1e-9) * 1.02;
  const lo = Math.min(0, sorted[0]);
  const width = (top - lo) / bins;
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) counts[Math.min(bins - 1, Math.floor((v - lo) / width))]++;
  // y axis: 5 ticks of a whole step
  const step = Math.max(1, Math.ceil(Math.max(...counts) / 5));
  const maxCount = step * 5;
  const X = (v: number) => x0 + ((v - lo) / (top - lo)) * pw;
  const Y = (c: number) => y0 + ph - (c / maxCount) * ph;
  counts.forEach((c, i) => {
    if (c === 0) return;
    const x = X(lo + i * width);
    parts.push(`<rect x="${f(x)}" y="${f(Y(c))}" width="${f(pw / bins - 1)}" height="${f(y0 + ph - Y(c))}" fill="#3f6fb5"/>`);
  });
  for (let i = 0; i <= 5; i++) {
    const v = lo + ((top - lo) * i) / 5;
    parts.push(text(X(v), y0 + ph + 18, v < 10 ? v.toFixed(2) : v.toFixed(1), { size: 11, anchor: 'middle' }));
    const c = step * i;
    parts.push(text(x0 - 8, Y(c) + 4, String(c), { size: 11, anchor: 'end' }));
  }
  for (const [label, v, colour] of [['median', at(0.5), '#2e7d32'], ['p95', at(0.95), '#c62828']] as const) {
    parts.push(`<line x1="${f(X(v))}" y1="${y0}" x2="${f(X(v))}" y2="${y0 + ph}" stroke="${colour}" stroke-width="2" stroke-dasharray="6 4"/>`);
    parts.push(text(X(v) + 4, y0 + 16 + (label === 'p95' ? 16 : 0), `${label} ${v.toFixed(2)}`, { size: 12, fill: colour }));
  }
  parts.push(text(x0 + pw, H - 12, `n=${values.length}`, { size: 12, anchor: 'end', fill: '#555' }));
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">${parts.join('')}</svg>`;
}

export type PlotName = 'pr-ra' | 'pr-oa' | 'confusion-jsn' | 'confusion-erosion' | 'confusion-kl' | 'localisation';

/** Every plot of a result as SVG, by name. */
export function plotSvgs(result: EvalResult): Record<PlotName, string> {
  const loc = result.localisation;
  const useMm = loc.valuesMm.length > 0;
  return {
    'pr-ra': prCurveSvg(result.ap.ra),
    'pr-oa': prCurveSvg(result.ap.oa),
    'confusion-jsn': confusionSvg(result.grading.jsn, `Confusion matrix: ${SCORE_TITLE.jsn}`),
    'confusion-erosion': confusionSvg(result.grading.erosion, `Confusion matrix: ${SCORE_TITLE.erosion}`),
    'confusion-kl': confusionSvg(result.grading.kl, `Confusion matrix: ${SCORE_TITLE.kl}`),
    localisation: histogramSvg(useMm ? loc.valuesMm : loc.valuesFraction, {
      title: 'Localisation error (joint centre)',
      xLabel: useMm ? 'error (mm)' : 'error / MCP2-MCP5 distance',
    }),
  };
}

export async function svgToPng(svg: string): Promise<Buffer> {
  return sharp(Buffer.from(svg)).png().toBuffer();
}

/** Every plot of a result as PNG, by name. */
export async function renderPlots(result: EvalResult): Promise<{ name: PlotName; png: Buffer }[]> {
  const svgs = plotSvgs(result);
  return Promise.all((Object.keys(svgs) as PlotName[]).map(async (name) => ({ name, png: await svgToPng(svgs[name]) })));
}
