import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { describeJob, formatJobs, printable } from '../src/cli/queue.js';
import { JobQueue, type Job, type NewJob } from '../src/store/queue.js';

/** The job queue and outbox on a real SQLite file, closed and reopened as a restart would. */
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function queueFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'jointscore-queue-'));
  dirs.push(dir);
  return join(dir, 'queue.sqlite');
}

const job = (uid: string, modelVersion = 'det@1+grd@1'): NewJob => ({
  sopInstanceUid: uid,
  modelVersion,
  sopClassUid: '1.2.840.10008.5.1.4.1.1.1.1',
  transferSyntaxUid: '1.2.840.10008.1.2.1',
  callingAe: 'PACS',
  spoolPath: `/spool/${uid}.dcm`,
});

describe('JobQueue', () => {
  it('keys jobs by (SOP Instance UID, model version): a resend is a duplicate, a new model version a new job', () => {
    const q = new JobQueue(queueFile());
    expect(q.enqueue(job('1.2.3')).outcome).toBe('new');
    expect(q.enqueue(job('1.2.3')).outcome).toBe('duplicate');
    expect(q.enqueue(job('1.2.3', 'det@2+grd@1')).outcome).toBe('new');
    expect(q.list()).toHaveLength(2);
    q.close();
  });

  it('requeues a resent failed or quarantined job, clearing its old deliveries', () => {
    const q = new JobQueue(queueFile());
    const { job: j } = q.enqueue(job('1.2.4'));
    q.claimNext();
    q.startSending(j.id, [{ destination: 'PACS', sopInstanceUid: '9.1', path: '/r/sr.dcm' }]);
    const [d] = q.deliveriesOf(j.id);
    q.markAttemptFailed(d.id, 'status A700', undefined);
    expect(q.get(j.id)!.state).toBe('failed');
    expect(q.enqueue(job('1.2.4')).outcome).toBe('requeued');
    expect(q.get(j.id)!.state).toBe('received');
    expect(q.deliveriesOf(j.id)).toEqual([]);
    q.close();
  });

  it('hands out each received job once, oldest first', () => {
    const q = new JobQueue(queueFile());
    q.enqueue(job('1.1'));
    q.enqueue(job('1.2'));
    expect(q.claimNext()!.sopInstanceUid).toBe('1.1');
    expect(q.claimNext()!.sopInstanceUid).toBe('1.2');
    expect(q.claimNext()).toBeUndefined();
    q.close();
  });

  it('after a restart, resumes jobs caught mid-analysis and keeps the outbox of sending ones', () => {
    const file = queueFile();
    let q = new JobQueue(file);
    const a = q.enqueue(job('2.1')).job;
    const b = q.enqueue(job('2.2')).job;
    q.claimNext();
    q.claimNext();
    q.startSending(b.id, [{ destination: 'PACS', sopInstanceUid: '9.2', path: '/r/sr.dcm' }]);
    q.close(); // the crash

    q = new JobQueue(file);
    expect(q.recover(3)).toBe(1);
    expect(q.get(a.id)!.state).toBe('received');
    expect(q.get(a.id)!.reason).toBe('resumed after restart');
    expect(q.get(b.id)!.state).toBe('sending');
    expect(q.dueDeliveries().map((d) => d.sopInstanceUid)).toEqual(['9.2']);
    expect(q.claimNext()!.id).toBe(a.id);
    expect(q.get(a.id)!.analyses).toBe(2);
    q.close();
  });

  it('is done only when every delivery is delivered, and failed with the reason when one gives up', () => {
    let t = 1_000;
    const q = new JobQueue(queueFile(), () => t);
    const { job: j } = q.enqueue(job('3.1'));
    q.claimNext();
    q.startSending(j.id, [
      { destination: 'A', sopInstanceUid: '9.1', path: '/r/sr.dcm' },
      { destination: 'B', sopInstanceUid: '9.1', path: '/r/sr.dcm' },
    ]);
    const [a, b] = q.deliveriesOf(j.id);
    expect(q.markDelivered(a.id)!.state).toBe('sending');
    q.markAttemptFailed(b.id, 'no association', 5_000);
    expect(q.dueDeliveries()).toEqual([]);
    expect(q.nextDeliveryAt()).toBe(5_000);
    t = 5_000;
    expect(q.dueDeliveries().map((d) => d.id)).toEqual([b.id]);
    const settled = q.markAttemptFailed(b.id, 'status A700 (out of resources)', undefined)!;
    expect(settled.state).toBe('failed');
    expect(settled.reason).toBe('1 result object(s) could not be delivered: status A700 (out of resources)');

    // the operator retries: only the failed delivery goes out again
    expect(q.retry({}).map((x) => x.state)).toEqual(['sending']);
    expect(q.dueDeliveries().map((d) => d.id)).toEqual([b.id]);
    expect(q.markDelivered(b.id)!.state).toBe('done');
    q.close();
  });

  it('retries failed and quarantined jobs only when no state is named, as `queue retry` passes an unset one', () => {
    const q = new JobQueue(queueFile());
    const job = (uid: string) => q.enqueue({ sopInstanceUid: uid, modelVersion: 'm', sopClassUid: '1.2', transferSyntaxUid: '1.2.840.10008.1.2.1', callingAe: 'A', spoolPath: `/s/${uid}` }).job;
    const [done, skipped, failed, quarantined] = ['1.1', '1.2', '1.3', '1.4'].map(job);
    q.setState(done.id, 'done', null);
    q.setState(skipped.id, 'skipped', 'body-part');
    q.setState(failed.id, 'failed', 'analyse: boom');
    q.setState(quarantined.id, 'quarantined', 'bad UID');
    expect(q.retry({ states: undefined }).map((j) => j.sopInstanceUid).sort()).toEqual(['1.3', '1.4']);
    expect(q.get(done.id)!.state).toBe('done');
    expect(q.get(skipped.id)!.state).toBe('skipped');
    q.close();
  });

  it('purges finished jobs only, by state and age', () => {
    let t = 0;
    const q = new JobQueue(queueFile(), () => t);
    const old = q.enqueue(job('4.1')).job;
    q.setState(old.id, 'done');
    t = 10 * 86_400_000;
    const fresh = q.enqueue(job('4.2')).job;
    q.setState(fresh.id, 'done');
    q.enqueue(job('4.3'));
    expect(q.purge({ olderThan: t - 86_400_000 }).map((j) => j.id)).toEqual([old.id]);
    expect(q.purge({ states: ['received'] })).toEqual([]);
    expect(q.list().map((j) => j.sopInstanceUid).sort()).toEqual(['4.2', '4.3']);
    q.close();
  });
});

describe('queue command output', () => {
  it('escapes control characters from sender values and shows times as ISO 8601 with whether the source exists', () => {
    expect(printable('EVIL\u001b[2J\u0007AE')).toBe('EVIL\\x1b[2J\\x07AE');
    const job = {
      id: 1, state: 'done', reason: null, sopInstanceUid: '1.2', modelVersion: 'm', sopClassUid: '1.2', transferSyntaxUid: '1.2',
      callingAe: 'A', spoolPath: '/nonexistent/x.dcm', receivedAt: 0, updatedAt: 1000,
    } as unknown as Job;
    const shown = describeJob(job, [{ id: 3, state: 'delivered', nextAttemptAt: 0, deliveredAt: null }]);
    expect(shown).toMatchObject({ receivedAt: '1970-01-01T00:00:00.000Z', updatedAt: '1970-01-01T00:00:01.000Z', spoolFileExists: false });
    expect(shown.deliveries).toEqual([{ id: 3, state: 'delivered', nextAttemptAt: '1970-01-01T00:00:00.000Z', deliveredAt: null }]);
    expect(formatJobs([{ ...job, callingAe: 'X\u001b]0;pwned\u0007' }])).toContain('X\\x1b]0;pwned\\x07');
  });
});

describe('a poison object', () => {
  it('fails after the node died three times analysing it, instead of crash-looping; an operator retry starts the count again', () => {
    const q = new JobQueue(':memory:');
    const { job } = q.enqueue({ sopInstanceUid: '7.7', modelVersion: 'm', sopClassUid: '1.2', transferSyntaxUid: '1.2.840.10008.1.2.1', callingAe: 'A', spoolPath: '/s/7.7' });
    for (let crash = 1; crash <= 3; crash++) {
      expect(q.claimNext()!.id).toBe(job.id); // analysing ... and the process dies
      q.recover(3);
    }
    const dead = q.get(job.id)!;
    expect(dead.state).toBe('failed');
    expect(dead.reason).toMatch(/stopped 3 times while analysing/);
    expect(q.claimNext()).toBeUndefined();
    q.retry({ states: ['failed'] });
    expect(q.claimNext()!.id).toBe(job.id);
    q.recover(3);
    expect(q.get(job.id)!.state).toBe('received');
    q.close();
  });
});
