import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The job queue: one row per (source SOP Instance UID, model version), its state and the
 * reason for it, and one delivery row per result object and destination (the outbox).
 *
 * SQLite in WAL mode with synchronous=FULL: a state change returned from here is on the
 * device. Every method is one short synchronous transaction, so the SCP, the worker and
 * the delivery loop can share one connection on the event loop without interleaving.
 *
 *   received -> analysing -> reporting -> sending -> done
 *            \-> skipped (selection rule)   \-> failed (delivery gave up; retry re-sends)
 *            \-> quarantined (unreadable or inconsistent input)
 *            \-> failed (analysis error)
 */
export const JOB_STATES = ['received', 'analysing', 'reporting', 'sending', 'done', 'skipped', 'failed', 'quarantined'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** States a restart must pick up again. */
export const UNFINISHED: readonly JobState[] = ['received', 'analysing', 'reporting', 'sending'];
/** The reason an operator's retry gives a job while it runs again. */
const RETRIED = 'retried by the operator';

/** What the SCP knows of a received object when it records the job. */
export interface NewJob {
  sopInstanceUid: string;
  modelVersion: string;
  sopClassUid: string;
  transferSyntaxUid: string;
  callingAe: string;
  spoolPath: string;
}

export interface Job extends NewJob {
  id: number;
  state: JobState;
  reason: string | null;
  studyInstanceUid: string | null;
  receivedAt: number;
  updatedAt: number;
  /** times the job entered `analysing` (a crash mid-analysis shows here) */
  analyses: number;
}

export type DeliveryState = 'pending' | 'delivered' | 'failed';

export interface Delivery {
  id: number;
  jobId: number;
  destination: string;
  sopInstanceUid: string;
  path: string;
  state: DeliveryState;
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
  deliveredAt: number | null;
}

export interface JobFilter {
  id?: number;
  states?: JobState[];
  sopInstanceUid?: string;
  studyInstanceUid?: string;
  /** received at or after (ms since epoch) */
  since?: number;
  olderThan?: number;
  limit?: number;
}

/** What `enqueue` did with a receipt. */
export type EnqueueOutcome = 'new' | 'requeued' | 'duplicate';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  id INTEGER PRIMARY KEY,
  sop_instance_uid TEXT NOT NULL,
  model_version TEXT NOT NULL,
  sop_class_uid TEXT NOT NULL,
  transfer_syntax_uid TEXT NOT NULL,
  calling_ae TEXT NOT NULL,
  spool_path TEXT NOT NULL,
  state TEXT NOT NULL,
  reason TEXT,
  study_instance_uid TEXT,
  received_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  analyses INTEGER NOT NULL DEFAULT 0,
  UNIQUE (sop_instance_uid, model_version)
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state, id);
CREATE TABLE IF NOT EXISTS deliveries (
  id INTEGER PRIMARY KEY,
  job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  destination TEXT NOT NULL,
  sop_instance_uid TEXT NOT NULL,
  path TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error TEXT,
  delivered_at INTEGER,
  UNIQUE (job_id, destination, sop_instance_uid)
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (state, next_attempt_at);
`;

type Row = Record<string, unknown>;

/** A row's snake_case columns as the camelCase fields of Job and Delivery (NULL stays null). */
function camel<T>(r: Row): T {
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()), v])) as T;
}

const toJob = (r: Row) => camel<Job>(r);
const toDelivery = (r: Row) => camel<Delivery>(r);

export class JobQueue {
  private readonly db: Database.Database;

  constructor(
    readonly file: string,
    private readonly now: () => number = Date.now,
  ) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
  }

  close(): void {
    this.db.close();
  }

  /**
   * Records a receipt. A new key makes a `received` job. A resend of a key that is still
   * unfinished, done or skipped changes nothing (`duplicate`: the results exist or are on
   * their way); a resend of a failed or quarantined one starts it again (`requeued`), since
   * resending is how an operator retries from the PACS.
   */
  enqueue(j: NewJob): { job: Job; outcome: EnqueueOutcome } {
    return this.db.transaction(() => {
      const existing = this.db
        .prepare('SELECT * FROM jobs WHERE sop_instance_uid = ? AND model_version = ?')
        .get(j.sopInstanceUid, j.modelVersion) as Row | undefined;
      const t = this.now();
      if (!existing) {
        const info = this.db
          .prepare(
            `INSERT INTO jobs (sop_instance_uid, model_version, sop_class_uid, transfer_syntax_uid, calling_ae, spool_path, state, received_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, 'received', ?, ?)`,
          )
          .run(j.sopInstanceUid, j.modelVersion, j.sopClassUid, j.transferSyntaxUid, j.callingAe, j.spoolPath, t, t);
        return { job: this.get(Number(info.lastInsertRowid))!, outcome: 'new' as const };
      }
      const job = toJob(existing);
      if (job.state !== 'failed' && job.state !== 'quarantined') return { job, outcome: 'duplicate' as const };
      this.db.prepare('DELETE FROM deliveries WHERE job_id = ?').run(job.id);
      this.db
        .prepare(
          `UPDATE jobs SET state = 'received', reason = NULL, sop_class_uid = ?, transfer_syntax_uid = ?, calling_ae = ?, spool_path = ?, received_at = ?, updated_at = ? WHERE id = ?`,
        )
        .run(j.sopClassUid, j.transferSyntaxUid, j.callingAe, j.spoolPath, t, t, job.id);
      return { job: this.get(job.id)!, outcome: 'requeued' as const };
    })();
  }

  get(id: number): Job | undefined {
    const r = this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as Row | undefined;
    return r ? toJob(r) : undefined;
  }

  findBySpoolPath(path: string): Job | undefined {
    const r = this.db.prepare('SELECT * FROM jobs WHERE spool_path = ? ORDER BY id DESC LIMIT 1').get(path) as Row | undefined;
    return r ? toJob(r) : undefined;
  }

  /** Takes the oldest `received` job and marks it `analysing`, atomically. */
  claimNext(): Job | undefined {
    return this.db.transaction(() => {
      const r = this.db.prepare(`SELECT * FROM jobs WHERE state = 'received' ORDER BY id LIMIT 1`).get() as Row | undefined;
      if (!r) return undefined;
      this.db.prepare(`UPDATE jobs SET state = 'analysing', analyses = analyses + 1, updated_at = ? WHERE id = ?`).run(this.now(), r.id);
      return this.get(r.id as number);
    })();
  }

  /**
   * A claimed job that could not run for want of a resource (the disk full), not because of
   * the object: back to `received`, and the claim not counted toward analysis.maxAnalyses.
   */
  putBack(id: number, reason: string): void {
    this.db
      .prepare(`UPDATE jobs SET state = 'received', reason = ?, analyses = MAX(analyses - 1, 0), updated_at = ? WHERE id = ? AND state IN ('analysing', 'reporting')`)
      .run(reason, this.now(), id);
  }

  setState(id: number, state: JobState, reason: string | null = null): void {
    this.db.prepare('UPDATE jobs SET state = ?, reason = ?, updated_at = ? WHERE id = ?').run(state, reason, this.now(), id);
  }

  setStudy(id: number, studyInstanceUid: string): void {
    this.db.prepare('UPDATE jobs SET study_instance_uid = ? WHERE id = ?').run(studyInstanceUid, id);
  }

  /**
   * The result objects of a job go into the outbox and the job to `sending` in one
   * transaction: after a crash either both happened or neither (and the job is analysed
   * again, giving the same UIDs). `reason` stays with the job and is its reason once done
   * (e.g. "no hand found: reported").
   */
  startSending(jobId: number, items: { destination: string; sopInstanceUid: string; path: string }[], reason: string | null = null): void {
    this.db.transaction(() => {
      const t = this.now();
      const insert = this.db.prepare(
        `INSERT INTO deliveries (job_id, destination, sop_instance_uid, path, state, next_attempt_at)
         VALUES (?, ?, ?, ?, 'pending', ?)
         ON CONFLICT (job_id, destination, sop_instance_uid) DO UPDATE SET path = excluded.path, state = 'pending', attempts = 0, next_attempt_at = excluded.next_attempt_at, last_error = NULL`,
      );
      for (const it of items) insert.run(jobId, it.destination, it.sopInstanceUid, it.path, t);
      this.db.prepare(`UPDATE jobs SET state = 'sending', reason = ?, updated_at = ? WHERE id = ?`).run(reason, t, jobId);
    })();
  }

  /** Pending deliveries due now, oldest first, grouped by the caller per destination. */
  dueDeliveries(limit = 100): Delivery[] {
    return (
      this.db
        .prepare(`SELECT * FROM deliveries WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`)
        .all(this.now(), limit) as Row[]
    ).map(toDelivery);
  }

  /** The earliest time a pending delivery becomes due (to sleep until then). */
  nextDeliveryAt(): number | undefined {
    const r = this.db.prepare(`SELECT MIN(next_attempt_at) AS t FROM deliveries WHERE state = 'pending'`).get() as Row;
    return (r.t as number | null) ?? undefined;
  }

  deliveriesOf(jobId: number): Delivery[] {
    return (this.db.prepare('SELECT * FROM deliveries WHERE job_id = ? ORDER BY id').all(jobId) as Row[]).map(toDelivery);
  }

  /** Marks one delivery done; the job is `done` once all of its deliveries are. */
  markDelivered(deliveryId: number): Job | undefined {
    return this.db.transaction(() => {
      const t = this.now();
      this.db.prepare(`UPDATE deliveries SET state = 'delivered', attempts = attempts + 1, delivered_at = ?, last_error = NULL WHERE id = ?`).run(t, deliveryId);
      return this.settleJob(deliveryId);
    })();
  }

  /**
   * Records a failed attempt: retried at `retryAt`, or, with none left (`retryAt`
   * undefined), failed for good, and its job failed with the reason.
   */
  markAttemptFailed(deliveryId: number, error: string, retryAt: number | undefined): Job | undefined {
    return this.db.transaction(() => {
      if (retryAt === undefined) {
        this.db.prepare(`UPDATE deliveries SET state = 'failed', attempts = attempts + 1, last_error = ? WHERE id = ?`).run(error, deliveryId);
      } else {
        this.db
          .prepare(`UPDATE deliveries SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ?`)
          .run(error, retryAt, deliveryId);
      }
      return this.settleJob(deliveryId);
    })();
  }

  private settleJob(deliveryId: number): Job | undefined {
    const d = this.db.prepare('SELECT job_id FROM deliveries WHERE id = ?').get(deliveryId) as Row | undefined;
    if (!d) return undefined;
    const jobId = d.job_id as number;
    const counts = this.db
      .prepare(`SELECT state, COUNT(*) AS n, MAX(last_error) AS err FROM deliveries WHERE job_id = ? GROUP BY state`)
      .all(jobId) as Row[];
    const by = Object.fromEntries(counts.map((c) => [c.state as string, c]));
    if (by.pending) return this.get(jobId);
    if (by.failed) {
      const n = by.failed.n as number;
      this.setState(jobId, 'failed', `${n} result object(s) could not be delivered: ${by.failed.err as string}`);
    } else this.setState(jobId, 'done', this.doneReason(jobId));
    return this.get(jobId);
  }

  /** A delivered job keeps the reason startSending gave it; an operator's retry note is dropped. */
  private doneReason(jobId: number): string | null {
    const reason = this.get(jobId)?.reason ?? null;
    return reason === RETRIED ? null : reason;
  }

  /**
   * After a restart: jobs caught mid-analysis go back to `received` (analysis is
   * deterministic, so running it again gives the same result UIDs). `sending` jobs keep
   * their outbox and continue. A job caught mid-analysis for the `maxAnalyses`th time
   * (analysis.maxAnalyses) fails instead. Returns how many were reset.
   */
  recover(maxAnalyses: number): number {
    return this.db.transaction(() => {
      // an object that was being analysed each time the node died may be what kills it
      // (memory, a decoder crash): after maxAnalyses it fails instead of crash-looping the node
      this.db
        .prepare(`UPDATE jobs SET state = 'failed', reason = ?, updated_at = ? WHERE state IN ('analysing', 'reporting') AND analyses >= ?`)
        .run(`analyse: the node stopped ${maxAnalyses} times while analysing this object (a crash, or killed for memory: analysis.maxAnalyses); not tried again until \`jointscore queue retry\``, this.now(), maxAnalyses);
      const info = this.db
        .prepare(`UPDATE jobs SET state = 'received', reason = 'resumed after restart', updated_at = ? WHERE state IN ('analysing', 'reporting')`)
        .run(this.now());
      return info.changes;
    })();
  }

  list(f: JobFilter = {}): Job[] {
    const { where, args } = filterSql(f);
    const limit = f.limit ?? 1000;
    return (this.db.prepare(`SELECT * FROM jobs ${where} ORDER BY id DESC LIMIT ?`).all(...args, limit) as Row[]).map(toJob);
  }

  counts(): Record<JobState, number> {
    const out = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
    for (const r of this.db.prepare('SELECT state, COUNT(*) AS n FROM jobs GROUP BY state').all() as Row[]) {
      out[r.state as JobState] = r.n as number;
    }
    return out;
  }

  /**
   * Operator retry: failed and quarantined jobs (or those the filter names) start again.
   * A job whose results were built but not delivered re-sends them; anything else is
   * analysed again.
   */
  retry(f: JobFilter): Job[] {
    return this.db.transaction(() => {
      // a filter without states (`queue retry` with no --state) means the two that can be retried, never all
      const jobs = this.list({ ...f, states: f.states?.length ? f.states : ['failed', 'quarantined'] });
      const t = this.now();
      for (const job of jobs) {
        const failed = this.db.prepare(`SELECT COUNT(*) AS n FROM deliveries WHERE job_id = ? AND state = 'failed'`).get(job.id) as Row;
        if ((failed.n as number) > 0) {
          this.db.prepare(`UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ? WHERE job_id = ? AND state = 'failed'`).run(t, job.id);
          this.setState(job.id, 'sending', RETRIED);
        } else this.setState(job.id, 'received', RETRIED);
        this.db.prepare('UPDATE jobs SET analyses = 0 WHERE id = ?').run(job.id);
      }
      return jobs.map((j) => this.get(j.id)!);
    })();
  }

  /** Removes finished jobs matching the filter (never unfinished ones). Returns them. */
  purge(f: JobFilter): Job[] {
    return this.db.transaction(() => {
      const states = (f.states ?? ['done', 'skipped', 'failed', 'quarantined']).filter((s) => !UNFINISHED.includes(s));
      // an empty list would mean "any state" to list(): nothing finished was asked for
      if (states.length === 0) return [];
      const jobs = this.list({ ...f, states });
      const del = this.db.prepare('DELETE FROM jobs WHERE id = ?');
      for (const j of jobs) del.run(j.id);
      return jobs;
    })();
  }
}

function filterSql(f: JobFilter): { where: string; args: unknown[] } {
  const clauses: string[] = [];
  const args: unknown[] = [];
  if (f.id !== undefined) {
    clauses.push('id = ?');
    args.push(f.id);
  }
  if (f.states?.length) {
    clauses.push(`state IN (${f.states.map(() => '?').join(', ')})`);
    args.push(...f.states);
  }
  if (f.sopInstanceUid) {
    clauses.push('sop_instance_uid = ?');
    args.push(f.sopInstanceUid);
  }
  if (f.studyInstanceUid) {
    clauses.push('study_instance_uid = ?');
    args.push(f.studyInstanceUid);
  }
  if (f.since !== undefined) {
    clauses.push('received_at >= ?');
    args.push(f.since);
  }
  if (f.olderThan !== undefined) {
    clauses.push('updated_at < ?');
    args.push(f.olderThan);
  }
  return { where: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', args };
}
