import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobQueue } from '../src/store/queue.js';
import { BIN, runAsync, spawnServe, writeFixtures, writeServeConfig, type ServeProcess } from './helpers/node.js';
import { freePorts } from './helpers/orthanc.js';

/**
 * `jointscore serve` and `jointscore queue` as an operator runs them: a real process with a
 * configuration file, its HTTP endpoints, its refusal of a wrong setting, and the queue
 * commands on the database it leaves. Run through scripts/test.sh.
 */
let work: string;
let serve: ServeProcess | undefined;
let httpPort: number;
let files: Record<string, string>;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'jointscore-serve-'));
  files = await writeFixtures(join(work, 'in'), ['hand-left-m2-explicit', 'chest-not-a-hand']);
  [httpPort] = await freePorts(1);
  serve = await spawnServe(writeServeConfig(join(work, 'node.yaml'), join(work, 'data'), { http: { host: '127.0.0.1', port: httpPort } }));
}, 120_000);

afterAll(async () => {
  serve?.proc.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

const http = (path: string) => fetch(`http://127.0.0.1:${httpPort}${path}`);

async function until<T>(fn: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 250));
  }
}

const queue = (...args: string[]) => runAsync(process.execPath, [BIN, 'queue', '--data-dir', join(work, 'data'), ...args]);

describe('jointscore serve', () => {
  it('is healthy and ready, and counts what it receives in /metrics', async () => {
    expect((await http('/healthz')).status).toBe(200);
    const ready = await (await http('/readyz')).json();
    expect(ready).toMatchObject({ status: 'ok', port: serve!.port });
    const sent = await runAsync('storescu', ['-aec', 'JOINTSCORE', '127.0.0.1', String(serve!.port), files['hand-left-m2-explicit'], files['chest-not-a-hand']]);
    expect(sent.status, sent.stderr).toBe(0);
    const text = await until(async () => {
      const t = await (await http('/metrics')).text();
      return /jointscore_results_delivered_total\{destination="folder"\} 3/.test(t) ? t : undefined;
    });
    expect(text).toMatch(/jointscore_objects_received_total\{outcome="stored"\} 2/);
    expect(text).toMatch(/jointscore_objects_skipped_total\{rule="body-part"\} 1/);
    expect(text).toMatch(/jointscore_queue_depth\{state="done"\} 1/);
    expect(text).toMatch(/jointscore_end_to_end_seconds_count 1/);
    expect(text).toMatch(/^jointscore_associations_open 0$/m);
    expect(text).toMatch(/^process_open_fds \d+$/m);
  }, 120_000);

  it('writes JSON log lines only, with UIDs and no patient name', () => {
    const lines = serve!.output().split('\n').filter((l) => l.trim());
    const bad = lines.filter((l) => {
      try {
        JSON.parse(l);
        return false;
      } catch {
        return true;
      }
    });
    expect(bad).toEqual([]);
    expect(lines.some((l) => l.includes('"sopInstanceUid"'))).toBe(true);
    expect(serve!.output()).not.toMatch(/PHANTOM\^HAND|JS-PH-/);
  });

  it('stops at start-up on a wrong setting, naming the key, the value and what is allowed', async () => {
    const file = join(work, 'bad.yaml');
    writeFileSync(file, 'dimse:\n  prot: 104\n');
    const r = await runAsync(process.execPath, [BIN, 'serve', '--config', file]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/dimse\.prot/);
    const env = await runAsync('env', ['JOINTSCORE_DIMSE_PORT=70000', process.execPath, BIN, 'serve']);
    expect(env.status).toBe(2);
    expect(env.stderr).toMatch(/dimse\.port = "70000" is not valid: .*1.*65535/);
  });
});

describe('jointscore queue', () => {
  it('lists jobs with their states and reasons, filters by state, and shows one with its deliveries', async () => {
    const list = await queue('list');
    expect(list.status, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/done/);
    expect(list.stdout).toMatch(/skipped .*body-part: Body Part Examined \(0018,0015\) "CHEST"/);
    const skipped = JSON.parse((await queue('list', '--state', 'skipped', '--json')).stdout);
    expect(skipped.jobs).toHaveLength(1);
    expect(skipped.counts).toMatchObject({ done: 1, skipped: 1 });
    const done = JSON.parse((await queue('list', '--state', 'done', '--json')).stdout).jobs[0];
    const shown = JSON.parse((await queue('show', String(done.id))).stdout);
    expect(shown.deliveries.map((d: { state: string }) => d.state)).toEqual(['delivered', 'delivered', 'delivered']);
    const bad = await queue('list', '--state', 'finished');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/--state "finished": expected one of received, analysing/);
  });

  it('retries failed jobs and purges finished ones only when asked precisely', async () => {
    // a failed job, as the delivery loop leaves one, written through the queue itself
    const q = new JobQueue(join(work, 'data', 'queue.sqlite'));
    const { job } = q.enqueue({
      sopInstanceUid: '1.2.826.0.1.3680043.9.7433.99',
      modelVersion: 'test',
      sopClassUid: '1.2.840.10008.5.1.4.1.1.1.1',
      transferSyntaxUid: '1.2.840.10008.1.2.1',
      callingAe: 'TEST',
      spoolPath: join(work, 'nowhere.dcm'),
    });
    q.setState(job.id, 'failed', 'test');
    q.close();
    const retried = await queue('retry', '--id', String(job.id));
    expect(retried.stdout).toBe('1 job(s) queued again\n');
    // the running node picks it up; its file is gone, so it ends quarantined with that reason
    const after = await until(async () => {
      const j = JSON.parse((await queue('show', String(job.id))).stdout);
      return j.state === 'quarantined' ? j : undefined;
    });
    expect(after.reason).toMatch(/the spooled file is gone/);
    expect((await queue('purge')).stderr).toMatch(/purge needs --state or --older-than/);
    const purged = await queue('purge', '--state', 'quarantined');
    expect(purged.stdout).toBe('1 job(s) purged\n');
    // purging the skipped chest removes its spooled file too
    const chest = JSON.parse((await queue('list', '--state', 'skipped', '--json')).stdout).jobs[0];
    expect(existsSync(chest.spoolPath)).toBe(true);
    expect((await queue('purge', '--state', 'skipped')).stdout).toBe('1 job(s) purged\n');
    expect(existsSync(chest.spoolPath)).toBe(false);
  }, 60_000);
});
