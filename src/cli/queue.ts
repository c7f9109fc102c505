import { Command } from 'commander';
import { join } from 'node:path';
import { existsSync, rmSync } from 'node:fs';
import { loadConfig, type CliOverrides } from '../config/load.js';
import { endCommand } from './failure.js';
import { JOB_STATES, JobQueue, type Job, type JobFilter, type JobState } from '../store/queue.js';

/**
 * `jointscore queue`: what the node did with each object, for the operator. Reads and writes
 * the node's SQLite database directly (safe while the node runs: WAL, short transactions);
 * a running node picks up retried jobs within a second.
 *
 *   jointscore queue list [--state failed,quarantined] [--study UID] [--since 2h]
 *   jointscore queue show 42
 *   jointscore queue retry [--state failed] [--id 42]
 *   jointscore queue purge --state done --older-than 7d
 */
interface FilterOptions {
  state?: string;
  study?: string;
  sop?: string;
  since?: string;
  olderThan?: string;
  limit?: string;
  json?: boolean;
  config?: string;
  dataDir?: string;
}

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `15m`, `2h`, `7d` -> milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)([smhd])$/.exec(text.trim());
  if (!m) throw new Error(`${flag} "${text}": expected a number and a unit s, m, h or d (e.g. 2h, 7d)`);
  return Number(m[1]) * UNITS[m[2]];
}

export function parseStates(text: string | undefined): JobState[] | undefined {
  if (!text) return undefined;
  const states = text.split(',').map((s) => s.trim());
  for (const s of states) {
    if (!(JOB_STATES as readonly string[]).includes(s)) throw new Error(`--state "${s}": expected one of ${JOB_STATES.join(', ')}`);
  }
  return states as JobState[];
}

export function toFilter(o: FilterOptions, now = Date.now()): JobFilter {
  return {
    states: parseStates(o.state),
    studyInstanceUid: o.study,
    sopInstanceUid: o.sop,
    since: o.since ? now - parseDuration(o.since, '--since') : undefined,
    olderThan: o.olderThan ? now - parseDuration(o.olderThan, '--older-than') : undefined,
    limit: o.limit ? Number(o.limit) : undefined,
  };
}

function openQueue(o: FilterOptions): JobQueue {
  const config = loadConfig({ overrides: { config: o.config, dataDir: o.dataDir } as CliOverrides });
  const file = join(config.dataDir, 'queue.sqlite');
  if (!existsSync(file)) throw new Error(`no queue database at ${file}: has the node run with this data folder (dataDir)?`);
  return new JobQueue(file);
}

const time = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);

/**
 * Values that came from a sender (AE titles, UIDs, reasons quoting them) are shown with
 * control characters escaped: an escape sequence in a DICOM value must not drive the
 * operator's terminal.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** A job as `queue show` prints it: times in ISO 8601, and whether the spooled source still exists. */
export function describeJob(job: Job, deliveries: unknown[]): Record<string, unknown> {
  const iso = (ms: number | null | undefined) => (typeof ms === 'number' ? new Date(ms).toISOString() : ms);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(job)) out[k] = /At$/.test(k) ? iso(v as number) : v;
  out.spoolFileExists = existsSync(job.spoolPath);
  out.deliveries = deliveries.map((d) => {
    const row: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(d as Record<string, unknown>)) row[k] = /At$/.test(k) ? iso(v as number) : v;
    return row;
  });
  return out;
}

export function formatJobs(jobs: Job[]): string {
  const rows = jobs.map((j) => [String(j.id), j.state, time(j.receivedAt), j.callingAe, j.sopInstanceUid, j.reason ?? ''].map(printable));
  const head = ['id', 'state', 'received (UTC)', 'from', 'SOP Instance UID', 'reason'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (i === 5 ? 0 : r[i].length))));
  const line = (r: string[]) => r.map((c, i) => (i === 5 ? c : c.padEnd(widths[i]))).join('  ');
  return [line(head), ...rows.map(line)].join('\n') + '\n';
}

function run(action: (o: FilterOptions, ...rest: string[]) => void) {
  return (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const o = cmd.optsWithGlobals() as FilterOptions;
    try {
      action(o, ...(args.slice(0, -2) as string[]));
    } catch (err) {
      endCommand('queue', err);
    }
  };
}

function withFilters(c: Command): Command {
  return c
    .option('--state <list>', `comma-separated states: ${JOB_STATES.join(', ')}`)
    .option('--study <uid>', 'Study Instance UID')
    .option('--sop <uid>', 'source SOP Instance UID')
    .option('--since <duration>', 'received within this long (e.g. 2h)')
    .option('--older-than <duration>', 'last changed longer ago than this (e.g. 7d)')
    .option('--limit <n>', 'at most this many jobs');
}

export function registerQueue(program: Command): void {
  const queue = program
    .command('queue')
    .description("Inspect and manage the node's jobs: list, show, retry, purge")
    .option('--config <file>', 'the configuration the node runs with (for dataDir)')
    .option('--data-dir <dir>', 'the node data folder (overrides the configuration)')
    .option('--json', 'print JSON instead of a table');

  withFilters(queue.command('list').description('jobs, newest first')).action(
    run((o) => {
      const q = openQueue(o);
      const jobs = q.list(toFilter(o));
      const counts = q.counts();
      q.close();
      if (o.json) process.stdout.write(JSON.stringify({ counts, jobs }, null, 2) + '\n');
      else {
        process.stdout.write(formatJobs(jobs));
        process.stdout.write(`\n${Object.entries(counts).map(([s, n]) => `${s} ${n}`).join(', ')}\n`);
      }
    }),
  );

  queue
    .command('show')
    .description('one job with its deliveries')
    .argument('<id>', 'job id')
    .action(
      run((o, id) => {
        const q = openQueue(o);
        const job = q.get(Number(id));
        const deliveries = job ? q.deliveriesOf(job.id) : [];
        q.close();
        if (!job) throw new Error(`no job ${id}`);
        process.stdout.write(JSON.stringify(describeJob(job, deliveries), null, 2) + '\n');
      }),
    );

  withFilters(queue.command('retry').description('start failed and quarantined jobs again (or those the filters name)'))
    .option('--id <n>', 'one job')
    .action(
      run((o) => {
        const q = openQueue(o);
        const filter = toFilter(o);
        const id = (o as { id?: string }).id;
        const jobs = q.retry(id ? { ...filter, id: Number(id) } : filter);
        q.close();
        process.stdout.write(o.json ? JSON.stringify(jobs, null, 2) + '\n' : `${jobs.length} job(s) queued again\n`);
      }),
    );

  withFilters(queue.command('purge').description('delete finished jobs (never unfinished ones) from the database')).action(
    run((o) => {
      if (!o.state && !o.olderThan) throw new Error('purge needs --state or --older-than, so that nothing is removed by accident');
      const q = openQueue(o);
      const jobs = q.purge(toFilter(o));
      q.close();
      // a purged job's spooled source goes too (the sweep finds files through their jobs)
      for (const j of jobs) rmSync(j.spoolPath, { force: true });
      process.stdout.write(o.json ? JSON.stringify(jobs, null, 2) + '\n' : `${jobs.length} job(s) purged\n`);
    }),
  );
}
