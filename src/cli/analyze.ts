import { Command, Option } from 'commander';
import { open, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join, relative } from 'node:path';
import { namedFingerOf, notGradedText, type HandAnalysis } from '../analysis/hand-analysis.js';
import { markerCheck } from '../analysis/laterality.js';
import { JointscoreError } from '../errors.js';
import { endCommand } from './failure.js';
import { PACKAGE_MODELS_DIR } from '../config/defaults.js';
import { loadConfig } from '../config/load.js';
import { readPart10, writePart10 } from '../dicom/part10.js';
import type { SelectionConfig } from '../config/types.js';
import { neverAnalysed, select } from '../pipeline/select.js';
import { ImageFileError } from '../imaging/decode.js';
import { pictureKind } from '../imaging/picture.js';
import { analyseObject, analysisPolicy, type AnalysisPolicy, type ObjectResults } from '../pipeline/analyse-object.js';
import { loadModels, type Models } from '../inference/models.js';
import type { NamedFinger } from '../inference/finger.js';
import { PROVIDER_CHOICES, type ProviderChoice } from '../inference/session.js';
import { logger, type Logger } from '../observability/logger.js';

/**
 * `jointscore analyze <file or folder>`: offline analysis of DICOM files, through the same
 * function as the node (`analyseObject`) with the same configuration (`--config`, else the
 * embedded defaults). Results as HandAnalysis JSON on stdout (`--json`: one object for a
 * file, an array for a folder in sorted path order) and/or one set of files per image under
 * `--out`. One file failing in a folder is reported (file, reason) and the others still run;
 * the exit code is 1 if any failed.
 */

/** The package's own models/ folder (next to src/ and dist/). */
export const DEFAULT_MODELS_DIR = PACKAGE_MODELS_DIR;

/**
 * What `--out` writes per image: `<name>.json` (the HandAnalysis), then the result objects
 * the node would send to the archive, as `<name>.sr.dcm`, `.pr.dcm`, `.sc.dcm` (or the
 * no-hand SR alone, when the configuration asks for it).
 */
async function writeResults(results: ObjectResults, outDir: string, baseName: string): Promise<string[]> {
  const written = [join(outDir, `${baseName}.json`)];
  await writeFile(written[0], JSON.stringify(results.analysis, null, 2) + '\n');
  for (const { kind, dataset, transferSyntax } of results.objects) {
    const path = join(outDir, `${baseName}.${kind}.dcm`);
    await writeFile(path, writePart10(await dataset, transferSyntax));
    written.push(path);
  }
  return written;
}

export interface AnalyzeOptions {
  json?: boolean;
  out?: string;
  /** default: the configuration's analysis.modelsDir */
  models?: string;
  provider: ProviderChoice;
  threads?: number;
  /** the node's configuration file, for its analysis section (outputs, reportNoHand, uidRoot, srClass, overlaySyntax, series number and description) */
  config?: string;
  /** the policy itself (tests, a caller that has one); else from `config` */
  policy?: AnalysisPolicy;
  /** mm per pixel of PNG and JPEG inputs (they carry none); else estimated from each hand */
  spacing?: number;
  /** the finger PNG and JPEG inputs show, as a DICOM finger film's header would name it (src/inference/finger.ts); needs `spacing` */
  finger?: NamedFinger;
  /**
   * apply the configuration's selection rules to DICOM inputs before any analysis, as the
   * node does (body part, declared view, ...): a file they refuse is listed in
   * `notSelected`, not analysed. Pictures have no header and are not subject to them.
   */
  applySelection?: boolean;
}

export interface AnalyzeRun {
  /** successful images, in processing (sorted) order */
  results: { file: string; analysis: HandAnalysis; written: string[] }[];
  failures: { file: string; reason: string }[];
  /** files in the folder that are not DICOM (skipped, not failures) */
  skipped: string[];
  /** DICOM files not analysed, with the rule and why: never (no pixels, the node's own results), or by the node's selection (AnalyzeOptions.applySelection) */
  notSelected: { file: string; rule: string; reason: string }[];
  folder: boolean;
}

export interface AnalyzeIo {
  stdout: (text: string) => void;
  stderr: NodeJS.WriteStream | { isTTY?: boolean; write: (text: string) => unknown };
  log: Logger;
  /** already-loaded models (tests, a long-running caller); loaded from options.models otherwise */
  models?: Models;
}

const defaultIo = (): AnalyzeIo => ({ stdout: (t) => process.stdout.write(t), stderr: process.stderr, log: logger() });

/** A DICOM Part 10 file, or a PNG or JPEG picture (a research set). */
async function isReadable(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(132);
    const { bytesRead } = await fh.read(buf, 0, 132, 0);
    return (bytesRead === 132 && buf.toString('latin1', 128, 132) === 'DICM') || pictureKind(buf.subarray(0, bytesRead)) !== undefined;
  } finally {
    await fh.close();
  }
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The files to analyse: the file itself, or the DICOM files under the folder, sorted by path. */
export async function listInputs(target: string): Promise<{ files: string[]; skipped: string[]; folder: boolean }> {
  let st;
  try {
    st = await stat(target);
  } catch (err) {
    throw new Error(`${target}: no such file or folder (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (!st.isDirectory()) return { files: [target], skipped: [], folder: false };
  const all = (await walk(target)).sort((a, b) => compare(relative(target, a), relative(target, b)));
  const files: string[] = [];
  const skipped: string[] = [];
  for (const f of all) ((await isReadable(f).catch(() => false)) ? files : skipped).push(f);
  return { files, skipped, folder: true };
}

function progressBar(stream: AnalyzeIo['stderr'], total: number) {
  const width = 30;
  const start = Date.now();
  return {
    update(done: number, label: string) {
      const filled = Math.round((done / Math.max(1, total)) * width);
      const s = ((Date.now() - start) / 1000).toFixed(1);
      const name = label.length > 40 ? `...${label.slice(-37)}` : label;
      stream.write(`\r[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${done}/${total} ${s}s ${name}\u001b[K`);
    },
    end() {
      stream.write('\n');
    },
  };
}

/** One line per image: each graded hand's totals, then whatever was found and not graded, and why, and a lead marker that disputes the side. */
export function summaryLine(file: string, a: HandAnalysis): string {
  const hands = a.hands.map((h) => {
    const skipped = h.joints.filter((j) => j.notGraded).length;
    const joints = skipped ? `${h.joints.length} joints (${skipped} not graded)` : `${h.joints.length} joints`;
    const finger = namedFingerOf(h);
    const view = finger ? `, ${finger} finger (per header)` : h.view?.kind === 'PA-partial' ? ' (partial view)' : '';
    const s = h.summary;
    if ('notGraded' in s) return `${h.laterality} hand${view}: ${h.joints.length} joints, none graded (${s.notGraded.join(', ')})`;
    return `${h.laterality} hand${view}: ${joints}, SvH JSN ${s.svhJsn}, erosion ${s.svhErosion}, KL sum ${s.klSum}, ${s.pattern}`;
  });
  const notGraded = (a.notGraded ?? []).map(notGradedText);
  const marker = markerCheck(a);
  const parts = [...hands, ...notGraded, ...(marker && !marker.agrees ? [`laterality check: ${marker.text}`] : [])];
  return `${file}: ${parts.length ? parts.join('; ') : 'no joints found'}`;
}

export async function runAnalyze(target: string, o: AnalyzeOptions, io: AnalyzeIo = defaultIo()): Promise<AnalyzeRun> {
  const { log } = io;
  const { files, skipped, folder } = await listInputs(target);
  if (folder && skipped.length) log.info('skipping files that are neither DICOM nor PNG or JPEG', { count: skipped.length, first: skipped[0] });
  if (folder && files.length === 0) throw new Error(`${target}: no DICOM, PNG or JPEG files in this folder`);
  const { analysis: analysisConfig, selection } = loadConfig({ file: o.config, overrides: {} });
  const policy = o.policy ?? analysisPolicy(analysisConfig);
  const models = io.models ?? (await loadModels(o.models ?? analysisConfig.modelsDir, { provider: o.provider, intraOpThreads: o.threads, log }));
  const run: AnalyzeRun = { results: [], failures: [], skipped, notSelected: [], folder };
  const bar = folder && io.stderr.isTTY ? progressBar(io.stderr, files.length) : undefined;
  if (o.out) await mkdir(o.out, { recursive: true });
  for (const [i, file] of files.entries()) {
    bar?.update(i, file);
    const started = Date.now();
    try {
      const bytes = await readFile(file).catch((err: Error) => {
        throw new ImageFileError(file, `cannot read the file (${err.message})`);
      });
      const refused = refusedBeforeAnalysis(bytes, o.applySelection ? selection : undefined);
      if (refused) {
        run.notSelected.push({ file, ...refused });
        log.info('skipped', { file, rule: refused.rule, reason: refused.reason });
        continue;
      }
      const results = await analyseObject(bytes, file, models, policy, log, o.spacing, o.finger);
      const { analysis } = results;
      let written: string[] = [];
      if (o.out) {
        const rel = folder ? relative(target, file) : basename(file);
        const outDir = join(o.out, dirname(rel));
        await mkdir(outDir, { recursive: true });
        written = await writeResults(results, outDir, basename(rel, extname(rel)) || basename(rel));
      }
      run.results.push({ file, analysis, written });
      const joints = analysis.hands.reduce((n, h) => n + h.joints.length, 0);
      if (!bar) log.info('analysed', { file, sopInstanceUID: analysis.source.sopInstanceUID, hands: analysis.hands.length, joints, ms: Date.now() - started });
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      run.failures.push({ file, reason });
      if (bar) io.stderr.write('\n');
      log.error(`analysis failed: ${reason}`, { file, reason });
    }
  }
  if (bar) {
    bar.update(files.length, 'done');
    bar.end();
  }
  if (o.json) {
    const payload = folder ? run.results.map((r) => r.analysis) : run.results[0]?.analysis;
    if (payload !== undefined) io.stdout(JSON.stringify(payload, null, 2) + '\n');
  } else if (!o.out) {
    for (const r of run.results) io.stdout(summaryLine(r.file, r.analysis) + '\n');
    for (const n of run.notSelected) io.stdout(`${n.file}: not analysed (${n.rule}): ${n.reason}\n`);
  }
  if (folder) {
    log.info('analyze finished', { files: files.length, ok: run.results.length, failed: run.failures.length, skipped: skipped.length, notAnalysed: run.notSelected.length });
  }
  if (run.failures.length) {
    // a decoding error names its file already
    const list = run.failures.map((f) => `  ${f.reason.startsWith(`${f.file}: `) ? f.reason : `${f.file}: ${f.reason}`}`).join('\n');
    io.stderr.write(`${run.failures.length} of ${files.length} file(s) failed:\n${list}\n`);
  }
  return run;
}

/**
 * The rule that refuses a DICOM file, read from its header as the node reads it: what is never
 * analysed (no pixels, the node's own results), then the site's selection where given;
 * undefined for pictures and files it takes.
 */
function refusedBeforeAnalysis(bytes: Buffer, selection: SelectionConfig | undefined): { rule: string; reason: string } | undefined {
  if (pictureKind(bytes)) return undefined;
  const header = headerOf(bytes);
  // a file whose header cannot be read fails in the analysis, with the error that names what is wrong
  if (!header) return undefined;
  const { meta, dataset } = header;
  const never = neverAnalysed(dataset, meta);
  const chosen = never.analyse && selection ? select(dataset, selection) : never;
  return chosen.analyse ? undefined : { rule: chosen.rule, reason: chosen.reason };
}

function headerOf(bytes: Buffer): ReturnType<typeof readPart10> | undefined {
  try {
    return readPart10(bytes, { untilPixelData: true });
  } catch {
    return undefined;
  }
}

function spacingMm(v: string): number {
  const n = Number(v);
  if (!(n >= 0.01 && n <= 2)) throw new Error(`--spacing "${v}": expected a pixel spacing in mm from 0.01 to 2 (e.g. 0.15)`);
  return n;
}

function positiveInt(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > 256) throw new Error(`--${name} "${v}": expected an integer from 1 to 256`);
    return n;
  };
}

/** `--finger R5`: the finger of a picture, named as a finger film's header names it. */
export function fingerNamed(v: string): NamedFinger {
  const m = /^([LR])([2-5])$/i.exec(v.trim());
  if (!m) throw new Error(`--finger "${v}": expected the side and the digit, L or R then 2 (index) to 5 (little), e.g. R5`);
  return { laterality: m[1].toUpperCase() as NamedFinger['laterality'], digit: Number(m[2]) as NamedFinger['digit'], says: `--finger ${m[1].toUpperCase()}${m[2]}` };
}

export function registerAnalyze(program: Command): void {
  program
    .command('analyze')
    .description('Find and grade the joints of hand radiographs offline: a DICOM, PNG or JPEG file, or every such file under a folder')
    .argument('<path>', 'a DICOM, PNG or JPEG file, or a folder')
    .option('--json', 'print HandAnalysis JSON on stdout (an object for a file, an array for a folder)')
    .option('--out <dir>', 'write per image <name>.json and the DICOM results the node would send (<name>.sr.dcm, .pr.dcm, .sc.dcm) into this folder')
    .option('--config <file>', "the node's YAML configuration: its analysis section (outputs, reportNoHand, uidRoot, srClass, overlaySyntax, seriesNumber, seriesDescription, modelsDir) applies")
    .option('--models <dir>', 'folder holding jointscore-detector/ and jointscore-grader/ (default: analysis.modelsDir, the package\'s models)')
    .addOption(new Option('--provider <p>', 'onnxruntime execution provider').choices([...PROVIDER_CHOICES]).default('auto'))
    .option('--spacing <mm>', 'pixel spacing of PNG and JPEG inputs in mm (default: estimated from the hand; DICOM files use their own)', spacingMm)
    .option('--threads <n>', 'onnxruntime intra-op threads (default: one per core)', positiveInt('threads'))
    .option('--finger <side-digit>', 'PNG and JPEG inputs show one finger: its side and digit as a finger film\'s header would name them (R5: right little finger; L2: left index), read along it (needs --spacing; DICOM files use their own header)', fingerNamed)
    .action(async (path: string, o: AnalyzeOptions) => {
      let run;
      try {
        run = await runAnalyze(path, o);
      } catch (err) {
        if (!(err instanceof JointscoreError)) throw err;
        endCommand('analyze', err);
        return;
      }
      if (run.failures.length) process.exitCode = 1;
    });
}
