import { mkdir, open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { notGradedText, type HandAnalysis } from '../analysis/hand-analysis.js';
import { checkLaterality } from '../analysis/laterality.js';
import type { AnalysisConfig, SelectionConfig } from '../config/types.js';
import { isValidUid } from '../dicom/uid.js';
import { lastOccurrence } from '../dicom/search.js';
import { part10Pieces, readPart10, type NaturalDataset } from '../dicom/part10.js';
import { ImageFileError } from '../imaging/decode.js';
import { modelList, type Models } from '../inference/models.js';
import { scrubQuotedValues, type Logger } from '../observability/logger.js';
import type { Job, JobQueue } from '../store/queue.js';
import { analyseObject, type AnalysisPolicy } from './analyse-object.js';
import { select } from './select.js';
import { labelledSide } from './declared.js';
import { JointscoreError } from '../errors.js';
import { VERSION } from '../version.js';

/**
 * The worker: takes one received job at a time through
 *   read spool file -> check it -> select -> decode -> detect + grade -> build SR / SC / PR
 *   -> write them beside the job -> outbox (job `sending`).
 * An image without a hand gets no results (job `done`, "no hand found: no results written"),
 * or with analysis.reportNoHand an SR saying so, sent like any result (job `done` once
 * delivered, "no hand found: reported").
 * Each outcome that is not a result names its reason in the queue: `quarantined` for input
 * the node cannot or must not read (the sender has to fix it), `skipped` for objects the
 * selection rules leave alone, `failed` for the node's own errors (an operator retries).
 */
export interface WorkerEvents {
  analysed?(seconds: number): void;
  skipped?(rule: string): void;
  quarantined?(): void;
  failed?(stage: string): void;
  /** the side found disagrees with the header's label or the film's lead marker (src/analysis/laterality.ts) */
  lateralityConflict?(by: 'header' | 'marker'): void;
}

export interface WorkerDeps {
  queue: JobQueue;
  models: Models;
  selection: SelectionConfig;
  policy: AnalysisPolicy;
  limits: Pick<AnalysisConfig, 'maxObjectMb' | 'maxPixels' | 'maxSequenceItems'>;
  /** destination names results go to (the folder destination's name when no archive) */
  destinations: string[];
  resultsDir: string;
  log: Logger;
  events?: WorkerEvents;
  /** a job that ended done here, with nothing to deliver: its files can go */
  finished?(job: Job): Promise<void>;
}

/** Raised for input the sender must fix: the job is quarantined with this message. */
export class BadInputError extends JointscoreError {
  readonly kind = 'input' as const;
  override name = 'BadInputError';
}

export const MODEL_VERSION_SEPARATOR = '+';

/** Reasons a job without a hand ends `done` with: analysis.reportNoHand false / true. */
export const NO_HAND_UNREPORTED = 'no hand found: no results written';
export const NO_HAND_REPORTED = 'no hand found: reported';

interface ResultFile {
  kind: string;
  path: string;
  sopInstanceUid: string;
}

/**
 * The analysis half of a job's key, the release and the models: a new release or a new model
 * reads every image again (its results have new UIDs, src/reports/common.ts resultUidVersion).
 */
export function analysisVersionOf(models: Models): string {
  const parts = [`jointscore@${VERSION}`, ...modelList(models).map(({ info: m }) => `${m.name}@${m.version}`)];
  return parts.join(MODEL_VERSION_SEPARATOR);
}

/** Written and synced before the job moves on; a file in pieces goes out in one vectored write. */
async function writeDurably(path: string, bytes: Uint8Array[] | string): Promise<void> {
  const fh = await open(path, 'w');
  try {
    if (typeof bytes === 'string') await fh.writeFile(bytes);
    else {
      const total = bytes.reduce((n, b) => n + b.byteLength, 0);
      let written = 0;
      // writev may write less than asked (a signal, a full pipe): carry on from where it stopped
      while (written < total) written += (await fh.writev(remainder(bytes, written))).bytesWritten;
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** The pieces after the first `skip` bytes. */
function remainder(pieces: Uint8Array[], skip: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const p of pieces) {
    if (skip >= p.byteLength) skip -= p.byteLength;
    else {
      out.push(skip > 0 ? p.subarray(skip) : p);
      skip = 0;
    }
  }
  return out;
}

/**
 * Sequence items before the pixel data, counted up to `max` + 1: too many make an object too
 * deep or too wide to parse, since dcmjs parses recursively on the event loop, and 64 000
 * nested levels (2.8 MB) hold it for a minute while the node answers no one.
 */
function countSequenceItems(bytes: Buffer, max: number): number {
  const item = Buffer.from([0xfe, 0xff, 0x00, 0xe0]);
  const pixelData = lastOccurrence(bytes, Buffer.from([0xe0, 0x7f, 0x10, 0x00]));
  const end = pixelData > 0 ? pixelData : bytes.length;
  let n = 0;
  for (let at = bytes.indexOf(item, 132); at >= 0 && at < end && n <= max; at = bytes.indexOf(item, at + 4)) n++;
  return n;
}

/**
 * Values the results copy from the source, with their VR's maximum (per PN component group):
 * an over-long one cannot be written into the SR, so the object is refused with the
 * attribute named, never the value (a patient's name).
 */
const COPIED_LIMITS: [keyword: string, what: string, vr: string, max: number][] = [
  ['PatientName', "Patient's Name (0010,0010)", 'PN', 64],
  ['PatientID', 'Patient ID (0010,0020)', 'LO', 64],
  ['ReferringPhysicianName', "Referring Physician's Name (0008,0090)", 'PN', 64],
  ['AccessionNumber', 'Accession Number (0008,0050)', 'SH', 16],
  ['StudyID', 'Study ID (0020,0010)', 'SH', 16],
  ['StudyDescription', 'Study Description (0008,1030)', 'LO', 64],
];

function overLong(ds: NaturalDataset): string | undefined {
  for (const [keyword, what, vr, max] of COPIED_LIMITS) {
    const raw = ds[keyword];
    const values = (Array.isArray(raw) ? raw : [raw]).flatMap((v) =>
      v && typeof v === 'object' ? Object.values(v as Record<string, unknown>).map(String) : v === undefined || v === null ? [] : [String(v)],
    );
    const parts = vr === 'PN' ? values.flatMap((v) => v.split('=')) : values;
    const longest = Math.max(0, ...parts.map((p) => p.length));
    if (longest > max) return `${what} has a value of ${longest} characters; ${vr} allows ${max}${vr === 'PN' ? ' per component group' : ''}: the sender must fix it`;
  }
  return undefined;
}

function readHeader(bytes: Buffer, job: Job, maxSequenceItems: number): NaturalDataset {
  if (countSequenceItems(bytes, maxSequenceItems) > maxSequenceItems) {
    throw new BadInputError(`more than analysis.maxSequenceItems (${maxSequenceItems}) sequence items before the pixel data: not parsed (a radiograph's header has a few dozen)`);
  }
  let ds: NaturalDataset;
  try {
    ds = readPart10(bytes, { untilPixelData: true }).dataset;
  } catch (err) {
    throw new BadInputError(`not a readable DICOM data set: ${(err as Error).message}`);
  }
  const uid = String(ds.SOPInstanceUID ?? '');
  if (uid !== job.sopInstanceUid) {
    throw new BadInputError(
      `SOP Instance UID (0008,0018) "${uid}" differs from the C-STORE's Affected SOP Instance UID ${job.sopInstanceUid}: the sender must send them equal`,
    );
  }
  if (!ds.StudyInstanceUID) throw new BadInputError('Study Instance UID (0020,000D) is missing: results could not be filed with the study');
  const tooLong = overLong(ds);
  if (tooLong) throw new BadInputError(tooLong);
  for (const [keyword, tag] of [['StudyInstanceUID', '(0020,000D)'], ['SeriesInstanceUID', '(0020,000E)']] as const) {
    const value = String(ds[keyword] ?? '');
    if (value && !isValidUid(value)) throw new BadInputError(`${keyword} ${tag} "${value}" is not a valid UID (digits and dots, at most 64): the sender must fix it`);
  }
  return ds;
}

/** The disk is full (results could not be written, or the queue database could not record). */
function isOutOfSpace(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL';
}

export class Worker {
  /** A job claimed when the disk filled: put back to `received` once the queue can record it. */
  private stranded: Job | undefined;

  constructor(private readonly d: WorkerDeps) {}

  /**
   * Processes the oldest received job; false when there was none. Throws when the disk is
   * full: the job is not failed for it (the object is fine) but put back, here or, while the
   * queue itself cannot write, on a later call.
   */
  async processNext(): Promise<boolean> {
    if (this.stranded) {
      this.d.queue.putBack(this.stranded.id, 'waiting for disk space');
      this.d.log.info('job put back after the disk was full', { job: this.stranded.id, sopInstanceUid: this.stranded.sopInstanceUid });
      this.stranded = undefined;
    }
    const job = this.d.queue.claimNext();
    if (!job) return false;
    try {
      await this.process(job);
    } catch (err) {
      this.stranded = job;
      throw err;
    }
    return true;
  }

  private async process(job: Job): Promise<void> {
    const { log, queue } = this.d;
    const ids = { job: job.id, sopInstanceUid: job.sopInstanceUid };
    let stage = 'read';
    try {
      const size = (await stat(job.spoolPath).catch((err: Error) => {
        throw new BadInputError(`the spooled file is gone (${err.message})`);
      })).size;
      const { maxObjectMb, maxPixels, maxSequenceItems } = this.d.limits;
      if (size > maxObjectMb * 1_048_576) {
        throw new BadInputError(`the object is ${(size / 1_048_576).toFixed(0)} MB, more than analysis.maxObjectMb (${maxObjectMb}): not read`);
      }
      const bytes = await readFile(job.spoolPath).catch((err: Error) => {
        throw new BadInputError(`the spooled file is gone (${err.message})`);
      });
      const header = readHeader(bytes, job, maxSequenceItems);
      const pixels = Number(header.Rows ?? 0) * Number(header.Columns ?? 0) * (Number(header.NumberOfFrames ?? 1) || 1);
      if (pixels > maxPixels) {
        throw new BadInputError(`Rows (0028,0010) x Columns (0028,0011) x frames is ${pixels} pixels, more than analysis.maxPixels (${maxPixels}): not decoded`);
      }
      queue.setStudy(job.id, String(header.StudyInstanceUID));
      const selection = select(header, this.d.selection);
      if (!selection.analyse) {
        queue.setState(job.id, 'skipped', `${selection.rule}: ${selection.reason}`);
        this.d.events?.skipped?.(selection.rule);
        log.info('skipped', { ...ids, rule: selection.rule, reason: selection.reason });
        return;
      }
      stage = 'analyse';
      const started = Date.now();
      const { analysis, files } = await this.analyse(bytes, job);
      this.d.events?.analysed?.((Date.now() - started) / 1000);
      stage = 'deliver';
      const side = checkLaterality(analysis, labelledSide(header));
      for (const by of side.conflicts) this.d.events?.lateralityConflict?.(by);
      this.finish(job, analysis, files, side.message);
    } catch (err) {
      if (isOutOfSpace(err)) throw err;
      this.fail(job, stage, err as Error);
    }
  }

  private async analyse(bytes: Buffer, job: Job): Promise<{ analysis: HandAnalysis; files: ResultFile[] }> {
    const { analysis, objects } = await analyseObject(bytes, job.spoolPath, this.d.models, this.d.policy, this.d.log).catch((err: Error) => {
      throw err instanceof ImageFileError ? new BadInputError(err.message) : err;
    });
    this.d.queue.setState(job.id, 'reporting');
    const dir = join(this.d.resultsDir, String(job.id));
    await mkdir(dir, { recursive: true });
    await writeDurably(join(dir, 'analysis.json'), JSON.stringify(analysis, null, 2) + '\n');
    const files: ResultFile[] = [];
    for (const { kind, dataset, transferSyntax } of objects) {
      const ds = await dataset;
      const path = join(dir, `${kind}.dcm`);
      await writeDurably(path, part10Pieces(ds, transferSyntax));
      files.push({ kind, path, sopInstanceUid: String(ds.SOPInstanceUID) });
    }
    return { analysis, files };
  }

  /** `warning` (a laterality conflict) stays with the job as its reason once done. */
  private finish(job: Job, analysis: HandAnalysis, files: ResultFile[], warning?: string): void {
    const joints = analysis.hands.reduce((n, h) => n + h.joints.length, 0);
    const ids = { job: job.id, sopInstanceUid: job.sopInstanceUid, hands: analysis.hands.length, joints };
    const why = analysis.notGraded?.map(notGradedText).join('; ');
    if (files.length === 0) {
      this.d.queue.setState(job.id, 'done', why ? `${NO_HAND_UNREPORTED} (${why})` : NO_HAND_UNREPORTED);
      this.d.log.warn(NO_HAND_UNREPORTED, { ...ids, ...(why ? { notGraded: why } : {}) });
      void this.d.finished?.(job).catch((err: Error) => this.d.log.warn(`could not remove the files of a finished job: ${err.message}`, ids));
      return;
    }
    const items = this.d.destinations.flatMap((destination) => files.map((f) => ({ destination, ...f })));
    const noHand = analysis.hands.length === 0;
    this.d.queue.startSending(job.id, items, noHand ? (why ? `${NO_HAND_REPORTED} (${why})` : NO_HAND_REPORTED) : (warning ?? null));
    if (noHand) this.d.log.warn(why ? 'no hand graded: sending an SR that says why' : 'no hand found: sending an SR that says so', { ...ids, results: files.length, ...(why ? { notGraded: why } : {}) });
    else if (warning) this.d.log.warn(warning, { ...ids, results: files.length });
    else this.d.log.info('analysed', { ...ids, results: files.length });
  }

  /** The reason stays in the queue, where `queue list` shows it: no quoted data element values (patient names) in it. */
  private fail(job: Job, stage: string, err: Error): void {
    const ids = { job: job.id, sopInstanceUid: job.sopInstanceUid, file: job.spoolPath };
    const message = scrubQuotedValues(err.message);
    if (err instanceof BadInputError) {
      this.d.queue.setState(job.id, 'quarantined', message);
      this.d.events?.quarantined?.();
      this.d.log.error(`quarantined: ${message}`, ids);
      return;
    }
    this.d.queue.setState(job.id, 'failed', `${stage}: ${message}`);
    this.d.events?.failed?.(stage);
    this.d.log.error(`failed at ${stage}: ${message}`, { ...ids, stack: err.stack && scrubQuotedValues(err.stack) });
  }
}
