import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, runAsync, spawnServe, startStorescpArchive, writeFixtures, type ServeProcess, type StorescpArchive } from './helpers/node.js';
import { freePorts } from './helpers/orthanc.js';

/**
 * `serve --destination` through the real command line: commander names the repeatable flag
 * `destination`, the loader reads `destinations`, and a test that called the loader directly
 * never saw results go to the folder instead of the archive. Run through scripts/test.sh
 * (storescp binds every interface).
 */
let work: string;
let archive: StorescpArchive;
let serve: ServeProcess | undefined;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'jointscore-serve-dest-'));
  archive = await startStorescpArchive(join(work, 'archive'));
  writeFileSync(
    join(work, 'node.yaml'),
    [`dataDir: ${join(work, 'data')}`, 'dimse:', '  bindAddress: 127.0.0.1', 'http:', '  enabled: false', 'logging:', '  file: ""'].join('\n') + '\n',
  );
}, 60_000);

afterAll(async () => {
  serve?.proc.kill('SIGKILL');
  archive?.proc.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

describe('jointscore serve --destination', () => {
  it('sends the results to the archive named on the command line, not to the folder', async () => {
    serve = await spawnServe(join(work, 'node.yaml'), {}, ['--destination', `ARCHIVE@127.0.0.1:${archive.port}`]);
    const files = await writeFixtures(join(work, 'in'), ['hand-left-m2-explicit']);
    const sent = await runAsync('storescu', ['-aec', 'JOINTSCORE', '127.0.0.1', String(serve.port), files['hand-left-m2-explicit']]);
    expect(sent.status, sent.stderr).toBe(0);
    const end = Date.now() + 90_000;
    while (readdirSync(archive.out).length < 3 && Date.now() < end) await new Promise((r) => setTimeout(r, 250));
    expect(readdirSync(archive.out).map((f) => f.slice(0, 2)).sort()).toEqual(['PS', 'SC', 'SR']);
    expect(readdirSync(join(work, 'data')).includes('results')).toBe(false);
    expect(serve.output()).toMatch(/"destinations":\["ARCHIVE@127\.0\.0\.1:\d+"\]/);
  }, 120_000);

  it('takes --http-port, so that a second node on one host does not collide on 8080', async () => {
    const [httpPort] = await freePorts(1);
    writeFileSync(join(work, 'http.yaml'), [`dataDir: ${join(work, 'data2')}`, 'dimse:', '  bindAddress: 127.0.0.1', 'http:', '  host: 127.0.0.1', 'logging:', '  file: ""'].join('\n') + '\n');
    const second = await spawnServe(join(work, 'http.yaml'), {}, ['--http-port', String(httpPort)]);
    try {
      let status = 0;
      for (let i = 0; i < 50 && status !== 200; i++) {
        status = await fetch(`http://127.0.0.1:${httpPort}/healthz`).then((r) => r.status, () => 0);
        if (status !== 200) await new Promise((r) => setTimeout(r, 200));
      }
      expect(status).toBe(200);
    } finally {
      second.proc.kill('SIGKILL');
    }
    const bad = await runAsync(process.execPath, [BIN, 'serve', '--config', join(work, 'http.yaml'), '--http-port', '99999']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--http-port: http\.port = "99999" is not valid/);
  }, 60_000);

  it('refuses a destination without a port, naming the flag (exit 2)', async () => {
    const r = await runAsync(process.execPath, [BIN, 'serve', '--config', join(work, 'node.yaml'), '--destination', 'ARCHIVE@host']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--destination.*ARCHIVE@host.*no ":port"/);
  });
});
