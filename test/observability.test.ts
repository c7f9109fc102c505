import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LoggingConfig } from '../src/config/types.js';
import { startHttpServer, type HealthReport, type RunningHttpServer } from '../src/observability/http.js';
import { closeLogFile, configureLogger, flushLogFile, logger } from '../src/observability/logger.js';
import { Registry, createNodeMetrics } from '../src/observability/metrics.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface Family {
  name: string;
  type: string;
  help: string;
  samples: Sample[];
}

// prometheus_client's own parser is the independent judge of the exposition text
// (test/python/requirements.txt pins it). Non-finite values travel as strings.
const PARSE_PY = `
import json, math, sys
from prometheus_client.parser import text_string_to_metric_families
def num(v):
    return v if math.isfinite(v) else repr(v)
out = [{"name": f.name, "type": f.type, "help": f.documentation,
        "samples": [{"name": s.name, "labels": s.labels, "value": num(s.value)} for s in f.samples]}
       for f in text_string_to_metric_families(sys.stdin.read())]
print(json.dumps(out))
`;

function parseWithPrometheusClient(text: string): Map<string, Family> {
  const r = spawnSync('python3', ['-c', PARSE_PY], { input: text, encoding: 'utf8' });
  if (r.error) throw new Error(`python3 could not run: ${r.error.message}`);
  if (r.status !== 0) {
    throw new Error(`prometheus_client rejected the text (pip install -r test/python/requirements.txt?):\n${r.stderr}`);
  }
  const families = JSON.parse(r.stdout) as Family[];
  return new Map(families.map((f) => [f.name, f]));
}

function sample(f: Family | undefined, name: string, labels: Record<string, string> = {}): number | undefined {
  return f?.samples.find((s) => s.name === name && JSON.stringify(s.labels) === JSON.stringify(labels))?.value;
}

describe('metrics registry', () => {
  const awkward = 'C:\\dicom\\"PACS" A\nB';
  let families: Map<string, Family>;
  let queueCollectorThrows = false;

  beforeAll(() => {
    const m = createNodeMetrics(new Registry());
    m.objectsReceived.inc({ outcome: 'stored' }, 3);
    m.objectsReceived.inc({ outcome: 'rejected' });
    m.associations.inc({ result: 'accepted' });
    m.objectsAnalysed.inc();
    m.objectsSkipped.inc({ rule: 'modality' }, 2);
    m.objectsFailed.inc({ stage: 'decode' });
    m.resultsDelivered.inc({ destination: awkward }, 5);
    m.deliveryAttemptsFailed.inc({ destination: 'archive' });
    m.lateralityConflicts.inc({ by: 'marker' });
    m.queueDepth.setCollector(() => {
      if (queueCollectorThrows) throw new Error('database is locked');
      return [
        { labels: { state: 'pending' }, value: 4 },
        { labels: { state: 'done' }, value: 17 },
      ];
    });
    for (const s of [0.003, 0.02, 0.02, 0.7, 45]) m.receiveSeconds.observe(s);
    m.analysisSeconds.observe(1.5);
    families = parseWithPrometheusClient(m.registry.render());
    queueCollectorThrows = true;
    // A failing collector leaves its gauge empty; the rest of the scrape still parses.
    const again = parseWithPrometheusClient(m.registry.render());
    expect(again.get('jointscore_queue_depth')?.samples).toEqual([]);
    expect(sample(again.get('jointscore_objects_analysed'), 'jointscore_objects_analysed_total')).toBe(1);
  });

  it('exposes every node metric with its type', () => {
    const expected: Record<string, string> = {
      jointscore_objects_received: 'counter',
      jointscore_associations: 'counter',
      jointscore_objects_analysed: 'counter',
      jointscore_objects_skipped: 'counter',
      jointscore_objects_failed: 'counter',
      jointscore_objects_quarantined: 'counter',
      jointscore_results_delivered: 'counter',
      jointscore_delivery_attempts_failed: 'counter',
      jointscore_laterality_conflicts: 'counter',
      jointscore_associations_open: 'gauge',
      jointscore_disk_free_bytes: 'gauge',
      jointscore_queue_depth: 'gauge',
      jointscore_receive_seconds: 'histogram',
      jointscore_analysis_seconds: 'histogram',
      jointscore_end_to_end_seconds: 'histogram',
      process_resident_memory_bytes: 'gauge',
      process_start_time_seconds: 'gauge',
      process_open_fds: 'gauge',
      nodejs_heap_space_size_total_bytes: 'gauge',
    };
    // prometheus_client names a counter family without its _total suffix.
    expect(Object.fromEntries([...families.values()].map((f) => [f.name, f.type]))).toEqual(expected);
    expect(families.get('jointscore_receive_seconds')?.help).toMatch(/C-STORE/);
  });

  it('round-trips counter values and label values, quotes, backslashes and newlines included', () => {
    const received = families.get('jointscore_objects_received');
    expect(sample(received, 'jointscore_objects_received_total', { outcome: 'stored' })).toBe(3);
    expect(sample(received, 'jointscore_objects_received_total', { outcome: 'rejected' })).toBe(1);
    const delivered = families.get('jointscore_results_delivered');
    expect(delivered?.samples).toEqual([
      { name: 'jointscore_results_delivered_total', labels: { destination: awkward }, value: 5 },
    ]);
    expect(sample(families.get('jointscore_objects_skipped'), 'jointscore_objects_skipped_total', { rule: 'modality' })).toBe(2);
    expect(sample(families.get('jointscore_laterality_conflicts'), 'jointscore_laterality_conflicts_total', { by: 'marker' })).toBe(1);
    // An unlabelled counter starts at 0 rather than being absent.
    expect(sample(families.get('jointscore_objects_quarantined'), 'jointscore_objects_quarantined_total')).toBe(0);
  });

  it('reads gauges through their collectors at scrape time', () => {
    const q = families.get('jointscore_queue_depth');
    expect(sample(q, 'jointscore_queue_depth', { state: 'pending' })).toBe(4);
    expect(sample(q, 'jointscore_queue_depth', { state: 'done' })).toBe(17);
    const rss = sample(families.get('process_resident_memory_bytes'), 'process_resident_memory_bytes');
    expect(rss).toBeGreaterThan(1e6);
    const heap = families.get('nodejs_heap_space_size_total_bytes');
    expect(sample(heap, 'nodejs_heap_space_size_total_bytes', { space: 'new' })).toBeGreaterThan(0);
    expect(sample(heap, 'nodejs_heap_space_size_total_bytes', { space: 'old' })).toBeGreaterThan(0);
    const start = sample(families.get('process_start_time_seconds'), 'process_start_time_seconds') ?? 0;
    expect(Math.abs(start - (Date.now() / 1000 - process.uptime()))).toBeLessThan(5);
  });

  it('renders cumulative histogram buckets, +Inf, _sum and _count', () => {
    const h = families.get('jointscore_receive_seconds');
    const bucket = (le: string) => sample(h, 'jointscore_receive_seconds_bucket', { le });
    expect(bucket('0.005')).toBe(1);
    expect(bucket('0.01')).toBe(1);
    expect(bucket('0.025')).toBe(3);
    expect(bucket('0.5')).toBe(3);
    expect(bucket('1')).toBe(4);
    expect(bucket('30')).toBe(4);
    expect(bucket('+Inf')).toBe(5);
    expect(sample(h, 'jointscore_receive_seconds_count')).toBe(5);
    expect(sample(h, 'jointscore_receive_seconds_sum')).toBeCloseTo(45.743, 9);
    const empty = families.get('jointscore_end_to_end_seconds');
    expect(sample(empty, 'jointscore_end_to_end_seconds_bucket', { le: '+Inf' })).toBe(0);
    expect(sample(empty, 'jointscore_end_to_end_seconds_count')).toBe(0);
  });

  it('refuses wrong label sets, names and decreasing counters', () => {
    const r = new Registry();
    const c = r.counter({ name: 'x_total', help: 'x', labelNames: ['a'] });
    expect(() => c.inc({ a: '1', b: '2' } as { a: string })).toThrow(/labels must be exactly \[a\]/);
    expect(() => c.inc({ a: '1' }, -1)).toThrow(/only goes up/);
    expect(() => r.counter({ name: 'x_total', help: 'again' })).toThrow(/registered twice/);
    expect(() => r.gauge({ name: 'bad-name', help: '' })).toThrow(/not valid/);
    expect(() => r.histogram({ name: 'h', help: '', labelNames: ['le'], buckets: [1] })).toThrow(/label name "le"/);
  });
});

describe('HTTP endpoints', () => {
  let server: RunningHttpServer;
  let health: HealthReport = { ok: true, reasons: [], details: { uptimeSeconds: 1 } };
  let ready: HealthReport = { ok: false, reasons: ['models not loaded', 'SCP not listening'] };
  const metrics = createNodeMetrics(new Registry());

  beforeAll(async () => {
    metrics.objectsAnalysed.inc();
    server = await startHttpServer(
      { enabled: true, host: '127.0.0.1', port: 0 },
      { registry: metrics.registry, health: () => health, ready: () => ready },
    );
  });
  afterAll(() => server?.close());

  it('binds an ephemeral loopback port when port is 0', () => {
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
  });

  it('answers /healthz with 200 while healthy and 503 with reasons otherwise', async () => {
    let res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({ status: 'ok', uptimeSeconds: 1 });
    health = { ok: false, reasons: ['worker loop stalled for 300 s'] };
    res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ reasons: ['worker loop stalled for 300 s'] });
  });

  it('reports a health check that throws as unhealthy', async () => {
    const broken = await startHttpServer(
      { enabled: true, host: '127.0.0.1', port: 0 },
      { registry: new Registry(), health: () => { throw new Error('boom'); }, ready: () => ready },
    );
    try {
      const res = await fetch(`${broken.url}/healthz`);
      expect(res.status).toBe(503);
      expect(((await res.json()) as { reasons: string[] }).reasons[0]).toMatch(/health check failed: boom/);
    } finally {
      await broken.close();
    }
  });

  it('answers /readyz with 503 and what is not ready, then 200 once ready', async () => {
    let res = await fetch(`${server.url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: 'not ready', reasons: ['models not loaded', 'SCP not listening'] });
    ready = { ok: true, reasons: [] };
    res = await fetch(`${server.url}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('serves /metrics in the text format 0.0.4', async () => {
    const res = await fetch(`${server.url}/metrics?ignored=1`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const families = parseWithPrometheusClient(await res.text());
    expect(sample(families.get('jointscore_objects_analysed'), 'jointscore_objects_analysed_total')).toBe(1);
  });

  it('answers 404 for other paths and 405 for other methods', async () => {
    expect((await fetch(`${server.url}/`)).status).toBe(404);
    expect((await fetch(`${server.url}/metrics/extra`)).status).toBe(404);
    const post = await fetch(`${server.url}/metrics`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET');
    expect((await fetch(`${server.url}/healthz`, { method: 'DELETE' })).status).toBe(405);
  });

  it('rejects a port in use with a message naming host:port and http.port', async () => {
    const attempt = startHttpServer(
      { enabled: true, host: '127.0.0.1', port: server.port },
      { registry: new Registry(), health: () => health, ready: () => ready },
    );
    await expect(attempt).rejects.toThrow(`127.0.0.1:${server.port}`);
    await expect(attempt).rejects.toThrow(/http\.port/);
  });
});

describe('log file', () => {
  let dataDir: string;
  const base: LoggingConfig = { level: 'info', file: 'logs/jointscore.log', maxFileMb: 10, maxFiles: 3, includePatientIdentifiers: false };

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'jointscore-log-'));
  });
  afterEach(() => closeLogFile());
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  function readLines(file: string): Record<string, unknown>[] {
    return readFileSync(join(dataDir, file), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  function readLinesIfAny(file: string): Record<string, unknown>[] {
    return readFileSync(join(dataDir, file), 'utf8').trim() === '' ? [] : readLines(file);
  }
  const rank = (f: string) => Number(/(\d*)\.log$/.exec(f)?.[1] || 0);

  it('redacts patient identity in meta, nested and in DICOM keyword form too', async () => {
    const held = logger(); // a module's reference taken before configuration follows it
    configureLogger(base, dataDir);
    const dataset = { PatientID: 'MRN-0042', SOPInstanceUID: '1.2.3.4' };
    held.info('stored', { patientName: 'DOE^JANE', sopInstanceUid: '1.2.3.4', dataset, OtherPatientIDs: ['A', 'B'] });
    await closeLogFile();
    const text = readFileSync(join(dataDir, base.file!), 'utf8');
    expect(text).not.toMatch(/DOE|MRN-0042/);
    const [line] = readLines(base.file!);
    expect(line).toMatchObject({
      message: 'stored',
      patientName: '[redacted]',
      sopInstanceUid: '1.2.3.4',
      dataset: { PatientID: '[redacted]', SOPInstanceUID: '1.2.3.4' },
      OtherPatientIDs: '[redacted]',
    });
    expect(dataset.PatientID).toBe('MRN-0042'); // the caller's object is left alone
  });

  it('keeps patient identity when includePatientIdentifiers is true', async () => {
    const file = 'logs/with-identity.log';
    configureLogger({ ...base, file, includePatientIdentifiers: true }, dataDir);
    logger().info('stored', { patientName: 'DOE^JANE', patientId: 'MRN-0042' });
    await closeLogFile();
    expect(readLines(file)[0]).toMatchObject({ patientName: 'DOE^JANE', patientId: 'MRN-0042' });
  });

  it('rotates by size and keeps at most maxFiles files', async () => {
    const file = 'rotation/node.log';
    configureLogger({ ...base, file, maxFileMb: 0.001, maxFiles: 3 }, dataDir); // ~1 kB a file
    await flushLogFile(); // file open: winston drops a burst over maxsize logged before that
    for (let i = 0; i < 120; i++) {
      logger().info('line', { i, sopInstanceUid: `1.2.826.0.1.${i}` });
      await new Promise((r) => setImmediate(r)); // lines arrive over time, as in service
    }
    await closeLogFile();
    const files = readdirSync(join(dataDir, 'rotation')).sort();
    expect(files.length).toBeGreaterThan(1);
    expect(files.length).toBeLessThanOrEqual(3);
    expect(files).toContain('node.log');
    // tailable: node.log is the newest, then node1.log, ...; oldest first, the kept lines
    // are a gap-free run that ends with the last line logged
    const oldestFirst = [...files].sort((a, b) => rank(b) - rank(a));
    const kept = oldestFirst.flatMap((f) => readLinesIfAny(`rotation/${f}`)).map((l) => l.i);
    expect(kept.at(-1)).toBe(119);
    expect(kept).toEqual(kept.map((_, k) => 120 - kept.length + k));
  });
});
