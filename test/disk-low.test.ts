import { mkdirSync, mkdtempSync, readdirSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobQueue } from '../src/store/queue.js';
import { runAsync, spawnServe, writeFixtures, writeServeConfig, type ServeProcess } from './helpers/node.js';
import { freePorts } from './helpers/orthanc.js';

/**
 * dimse.minFreeDiskMb: a real `jointscore serve` whose disk has less free space than the
 * configured low-water mark (the mark is set above what this machine's disk has free, so the
 * node's own statfs finds it low) answers C-STOREs A700, stores nothing, says why in its log
 * and /readyz, shows the free space in /metrics, and still answers C-ECHO.
 */
let work: string;
let serve: ServeProcess | undefined;
let httpPort: number;
let hand: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'jointscore-disklow-'));
  hand = (await writeFixtures(join(work, 'in'), ['hand-left-m2-explicit']))['hand-left-m2-explicit'];
  [httpPort] = await freePorts(1);
  const dataDir = join(work, 'data');
  mkdirSync(dataDir);
  const fs = statfsSync(dataDir);
  const freeMb = Math.floor((fs.bavail * fs.bsize) / 1_048_576);
  serve = await spawnServe(writeServeConfig(join(work, 'node.yaml'), dataDir, { dimse: { minFreeDiskMb: freeMb + 4096 }, http: { host: '127.0.0.1', port: httpPort } }));
}, 120_000);

afterAll(async () => {
  serve?.proc.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

const http = (path: string) => fetch(`http://127.0.0.1:${httpPort}${path}`);

describe('a disk below dimse.minFreeDiskMb', () => {
  it('gets C-STOREs answered A700 with nothing stored, and says so in the log, /readyz and /metrics', async () => {
    const sent = await runAsync('storescu', ['-v', '-aec', 'JOINTSCORE', '127.0.0.1', String(serve!.port), hand]);
    expect(sent.stderr + sent.stdout).toMatch(/Store Response \(Refused: OutOfResources\)/);

    const log = serve!.output();
    expect(log).toMatch(/C-STORE refused \(status A700\): the disk holding .* MB free, less than dimse.minFreeDiskMb/);
    const dataDir = join(work, 'data');
    expect(readdirSync(join(dataDir, 'spool', 'objects'))).toEqual([]);
    expect(readdirSync(join(dataDir, 'spool', 'incoming'))).toEqual([]);
    const q = new JobQueue(join(dataDir, 'queue.sqlite'));
    expect(q.list({})).toEqual([]);
    q.close();

    const ready = await http('/readyz');
    expect(ready.status).toBe(503);
    expect(JSON.stringify(await ready.json())).toMatch(/disk low: \d+ MB free, less than dimse.minFreeDiskMb/);
    expect(await (await http('/metrics')).text()).toMatch(/^jointscore_disk_free_bytes \d+$/m);

    const echo = await runAsync('echoscu', ['-aec', 'JOINTSCORE', '127.0.0.1', String(serve!.port)]);
    expect(echo.status, echo.stderr).toBe(0);
  }, 120_000);
});
