/**
 * A small Prometheus registry (text exposition format 0.0.4) with no dependency: the node
 * exposes a handful of counters, gauges and histograms and needs nothing more.
 */
import { readdirSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';

export type MetricType = 'counter' | 'gauge' | 'histogram';
/** Label values by label name; every declared label must be given. */
export type Labels<L extends string = string> = Readonly<Record<L, string>>;
/** An unlabelled metric may omit its labels; a labelled one must give them all. */
type LabelsArg<L extends string> = [L] extends [never] ? [labels?: Labels<L>] : [labels: Labels<L>];
type IncArgs<L extends string> = [L] extends [never]
  ? [labels?: Labels<L>, by?: number]
  : [labels: Labels<L>, by?: number];

export interface MetricOptions<L extends string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
}

export interface Metric {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  /** The sample lines (no # HELP / # TYPE), each ending in a newline. */
  renderSamples(): string;
}

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Label values may hold anything; the format escapes backslash, quote and newline. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function renderLabels(names: readonly string[], values: readonly string[]): string {
  if (names.length === 0) return '';
  return `{${names.map((n, i) => `${n}="${escapeLabelValue(values[i])}"`).join(',')}}`;
}

abstract class BaseMetric<L extends string, S> implements Metric {
  abstract readonly type: MetricType;
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  /** Series by their label values (JSON of the ordered values), in first-use order. */
  protected readonly series = new Map<string, { values: string[]; state: S }>();

  constructor(opts: MetricOptions<L>, reserved: readonly string[] = []) {
    if (!NAME_RE.test(opts.name)) throw new Error(`metric name ${JSON.stringify(opts.name)} is not valid`);
    const labelNames = opts.labelNames ?? [];
    for (const l of labelNames) {
      if (!LABEL_RE.test(l) || l.startsWith('__') || reserved.includes(l)) {
        throw new Error(`${opts.name}: label name ${JSON.stringify(l)} is not valid`);
      }
    }
    this.name = opts.name;
    this.help = opts.help;
    this.labelNames = labelNames;
  }

  protected abstract initial(): S;
  abstract renderSamples(): string;

  /** The series for a label set, created on first use; a wrong label set is a programming error. */
  protected get(labels: Partial<Record<string, string>>): { values: string[]; state: S } {
    const given = Object.keys(labels);
    const extra = given.filter((k) => !(this.labelNames as readonly string[]).includes(k));
    const missing = this.labelNames.filter((k) => typeof labels[k] !== 'string');
    if (extra.length || missing.length) {
      throw new Error(`${this.name}: labels must be exactly [${this.labelNames.join(', ')}]; got [${given.join(', ')}]`);
    }
    const values = this.labelNames.map((k) => labels[k] as string);
    const key = JSON.stringify(values);
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = { values, state: this.initial() }));
    return s;
  }

  protected line(suffix: string, values: readonly string[], v: number, extra?: [string, string]): string {
    const names: string[] = [...this.labelNames];
    const vals = [...values];
    if (extra) {
      names.push(extra[0]);
      vals.push(extra[1]);
    }
    return `${this.name}${suffix}${renderLabels(names, vals)} ${formatValue(v)}\n`;
  }
}

export class Counter<L extends string = never> extends BaseMetric<L, { value: number }> {
  readonly type = 'counter' as const;

  protected initial(): { value: number } {
    return { value: 0 };
  }

  inc(...args: IncArgs<L>): void {
    const [labels = {} as Labels<L>, by = 1] = args as [Labels<L>?, number?];
    if (!(by >= 0)) throw new Error(`${this.name}: a counter only goes up (inc by ${by})`);
    this.get(labels).state.value += by;
  }

  value(...[labels = {} as Labels<L>]: LabelsArg<L>): number {
    return this.get(labels).state.value;
  }

  renderSamples(): string {
    // An unlabelled counter shows 0 before its first event, so that rate() has a start point.
    if (this.labelNames.length === 0) this.get({});
    return [...this.series.values()].map((s) => this.line('', s.values, s.state.value)).join('');
  }
}

/** What a gauge's collector returns: one value (no labels) or one sample per label set. */
export type GaugeSamples<L extends string> = number | ReadonlyArray<{ labels: Labels<L>; value: number }>;

export class Gauge<L extends string = never> extends BaseMetric<L, { value: number }> {
  readonly type = 'gauge' as const;
  private collector?: () => GaugeSamples<L>;

  protected initial(): { value: number } {
    return { value: 0 };
  }

  set(value: number, ...[labels = {} as Labels<L>]: LabelsArg<L>): void {
    this.get(labels).state.value = value;
  }

  inc(by = 1, ...[labels = {} as Labels<L>]: LabelsArg<L>): void {
    this.get(labels).state.value += by;
  }

  dec(by = 1, ...[labels = {} as Labels<L>]: LabelsArg<L>): void {
    this.get(labels).state.value -= by;
  }

  value(...[labels = {} as Labels<L>]: LabelsArg<L>): number {
    return this.get(labels).state.value;
  }

  /**
   * Reads the values at scrape time (queue depth lives in the database, not in memory).
   * While a collector is set, its samples replace whatever set/inc/dec recorded.
   */
  setCollector(fn: (() => GaugeSamples<L>) | undefined): void {
    this.collector = fn;
  }

  renderSamples(): string {
    if (this.collector) this.collect(this.collector);
    else if (this.labelNames.length === 0) this.get({});
    return [...this.series.values()].map((s) => this.line('', s.values, s.state.value)).join('');
  }

  private collect(fn: () => GaugeSamples<L>): void {
    this.series.clear();
    let samples: GaugeSamples<L>;
    try {
      samples = fn();
    } catch {
      // A busy or closed database must not fail the whole scrape: the gauge is left out,
      // and the health endpoints are where a broken database is reported.
      return;
    }
    if (typeof samples === 'number') this.get({}).state.value = samples;
    else for (const s of samples) this.get(s.labels).state.value = s.value;
  }
}

export interface HistogramOptions<L extends string> extends MetricOptions<L> {
  /** upper bounds, in the unit observed (seconds); +Inf is added */
  buckets: readonly number[];
}

interface HistogramState {
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram<L extends string = never> extends BaseMetric<L, HistogramState> {
  readonly type = 'histogram' as const;
  readonly buckets: readonly number[];

  constructor(opts: HistogramOptions<L>) {
    super(opts, ['le']);
    const b = [...opts.buckets].filter((x) => x !== Infinity).sort((x, y) => x - y);
    if (b.length === 0 || b.some((x, i) => !Number.isFinite(x) || (i > 0 && x === b[i - 1]))) {
      throw new Error(`${opts.name}: buckets must be distinct finite numbers, got [${opts.buckets.join(', ')}]`);
    }
    this.buckets = b;
  }

  protected initial(): HistogramState {
    return { counts: this.buckets.map(() => 0), sum: 0, count: 0 };
  }

  observe(seconds: number, ...[labels = {} as Labels<L>]: LabelsArg<L>): void {
    this.observeIn(this.get(labels).state, seconds);
  }

  private observeIn(s: HistogramState, seconds: number): void {
    const i = this.buckets.findIndex((b) => seconds <= b);
    if (i >= 0) s.counts[i] += 1;
    s.sum += seconds;
    s.count += 1;
  }

  /** Starts a clock; calling the result observes the elapsed seconds and returns them. */
  startTimer(...[labels = {} as Labels<L>]: LabelsArg<L>): () => number {
    const t0 = process.hrtime.bigint();
    return () => {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      this.observeIn(this.get(labels).state, seconds);
      return seconds;
    };
  }

  renderSamples(): string {
    if (this.labelNames.length === 0) this.get({});
    return [...this.series.values()].map((s) => this.renderSeries(s.values, s.state)).join('');
  }

  private renderSeries(values: string[], s: HistogramState): string {
    let cumulative = 0;
    const lines = this.buckets.map((b, i) => {
      cumulative += s.counts[i];
      return this.line('_bucket', values, cumulative, ['le', formatValue(b)]);
    });
    lines.push(this.line('_bucket', values, s.count, ['le', '+Inf']));
    lines.push(this.line('_sum', values, s.sum), this.line('_count', values, s.count));
    return lines.join('');
  }
}

export class Registry {
  private readonly metrics = new Map<string, Metric>();

  register<M extends Metric>(metric: M): M {
    if (this.metrics.has(metric.name)) throw new Error(`metric ${metric.name} is registered twice`);
    this.metrics.set(metric.name, metric);
    return metric;
  }

  counter<L extends string = never>(opts: MetricOptions<L>): Counter<L> {
    return this.register(new Counter<L>(opts));
  }

  gauge<L extends string = never>(opts: MetricOptions<L>): Gauge<L> {
    return this.register(new Gauge<L>(opts));
  }

  histogram<L extends string = never>(opts: HistogramOptions<L>): Histogram<L> {
    return this.register(new Histogram<L>(opts));
  }

  get(name: string): Metric | undefined {
    return this.metrics.get(name);
  }

  /** The whole registry in the text exposition format 0.0.4. */
  render(): string {
    return [...this.metrics.values()]
      .map((m) => `# HELP ${m.name} ${escapeHelp(m.help)}\n# TYPE ${m.name} ${m.type}\n${m.renderSamples()}`)
      .join('');
  }
}

/** The content type that goes with `Registry.render()`. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Everything `jointscore serve` counts, in one place, so dashboards have one list to read. */
export interface NodeMetrics {
  registry: Registry;
  objectsReceived: Counter<'outcome'>;
  associations: Counter<'result'>;
  objectsAnalysed: Counter;
  objectsSkipped: Counter<'rule'>;
  objectsFailed: Counter<'stage'>;
  objectsQuarantined: Counter;
  resultsDelivered: Counter<'destination'>;
  deliveryAttemptsFailed: Counter<'destination'>;
  lateralityConflicts: Counter<'by'>;
  /** set its collector once the queue database is open: `queueDepth.setCollector(...)` */
  queueDepth: Gauge<'state'>;
  /** set its collector once the SCP listens */
  associationsOpen: Gauge;
  /** set its collector once the spool exists */
  diskFreeBytes: Gauge;
  receiveSeconds: Histogram;
  analysisSeconds: Histogram;
  endToEndSeconds: Histogram;
  residentMemoryBytes: Gauge;
  startTimeSeconds: Gauge;
  heapSpaceBytes: Gauge<'space'>;
}

// A C-STORE is acknowledged once the object is fsynced: milliseconds to a few seconds.
const RECEIVE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
// Decode + detect + grade + report on CPU: a fraction of a second to about a minute.
const ANALYSIS_BUCKETS = [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120];
// Received to delivered includes queueing and delivery retries: seconds to hours.
const END_TO_END_BUCKETS = [1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 14400];

export function createNodeMetrics(registry: Registry = new Registry()): NodeMetrics {
  return {
    registry,
    ...createCounters(registry),
    associationsOpen: registry.gauge({ name: 'jointscore_associations_open', help: 'DICOM associations open now (at most dimse.maxAssociations).' }),
    diskFreeBytes: registry.gauge({
      name: 'jointscore_disk_free_bytes',
      help: 'Bytes free on the disk holding the spool; below dimse.minFreeDiskMb C-STOREs are answered A700.',
    }),
    queueDepth: registry.gauge({
      name: 'jointscore_queue_depth',
      help: 'Jobs in the queue database by state, read at scrape time.',
      labelNames: ['state'],
    }),
    ...createHistograms(registry),
    ...createProcessGauges(registry),
  };
}

function createCounters(r: Registry) {
  return {
    objectsReceived: r.counter({
      name: 'jointscore_objects_received_total',
      help: 'DICOM objects received by C-STORE, by outcome (stored or rejected).',
      labelNames: ['outcome'],
    }),
    associations: r.counter({
      name: 'jointscore_associations_total',
      help: 'Association requests from peers, by result (accepted or rejected).',
      labelNames: ['result'],
    }),
    objectsAnalysed: r.counter({ name: 'jointscore_objects_analysed_total', help: 'Source objects analysed.' }),
    objectsSkipped: r.counter({
      name: 'jointscore_objects_skipped_total',
      help: 'Source objects not analysed, by the selection rule that skipped them.',
      labelNames: ['rule'],
    }),
    objectsFailed: r.counter({
      name: 'jointscore_objects_failed_total',
      help: 'Failed attempts to process a source object, by pipeline stage.',
      labelNames: ['stage'],
    }),
    objectsQuarantined: r.counter({
      name: 'jointscore_objects_quarantined_total',
      help: 'Source objects given up on and moved to quarantine.',
    }),
    resultsDelivered: r.counter({
      name: 'jointscore_results_delivered_total',
      help: 'Result objects (SR, overlay) delivered, by destination.',
      labelNames: ['destination'],
    }),
    deliveryAttemptsFailed: r.counter({
      name: 'jointscore_delivery_attempts_failed_total',
      help: 'Failed attempts to deliver a result object, by destination.',
      labelNames: ['destination'],
    }),
    lateralityConflicts: r.counter({
      name: 'jointscore_laterality_conflicts_total',
      help: "Analysed objects whose hand's side disagrees with the header's label (by=header) or the film's lead marker (by=marker).",
      labelNames: ['by'],
    }),
  };
}

function createHistograms(r: Registry) {
  return {
    receiveSeconds: r.histogram({
      name: 'jointscore_receive_seconds',
      help: 'Time from the C-STORE request to its acknowledgement (object stored), in seconds.',
      buckets: RECEIVE_BUCKETS,
    }),
    analysisSeconds: r.histogram({
      name: 'jointscore_analysis_seconds',
      help: 'Time to analyse one source object and build its results, in seconds.',
      buckets: ANALYSIS_BUCKETS,
    }),
    endToEndSeconds: r.histogram({
      name: 'jointscore_end_to_end_seconds',
      help: 'Time from receiving a source object to delivering its last result object, in seconds.',
      buckets: END_TO_END_BUCKETS,
    }),
  };
}

// The standard process_* names, so that existing dashboards and alerts recognise them.
function createProcessGauges(r: Registry) {
  const residentMemoryBytes = r.gauge({ name: 'process_resident_memory_bytes', help: 'Resident memory size in bytes.' });
  residentMemoryBytes.setCollector(() => process.memoryUsage.rss());
  // leaked file handles show here long before C-STOREs start failing with EMFILE
  const openFds = r.gauge({ name: 'process_open_fds', help: 'Number of open file descriptors.' });
  openFds.setCollector(() => {
    try {
      return readdirSync('/proc/self/fd').length;
    } catch {
      return 0;
    }
  });
  const startTimeSeconds = r.gauge({
    name: 'process_start_time_seconds',
    help: 'Start time of the process since unix epoch in seconds.',
  });
  startTimeSeconds.set(Math.round((Date.now() / 1000 - process.uptime()) * 1000) / 1000);
  // prom-client's name and labels. A leak shows as an "old" space that keeps growing; "new" (V8's
  // young generation) grows in a burst of work and is given back on V8's schedule, not a leak
  const heapSpaceBytes = r.gauge({
    name: 'nodejs_heap_space_size_total_bytes',
    help: 'Size of each V8 heap space in bytes (committed), by space.',
    labelNames: ['space'],
  });
  heapSpaceBytes.setCollector(() =>
    getHeapSpaceStatistics().map((s) => ({ labels: { space: s.space_name.replace(/_space$/, '') }, value: s.space_size })),
  );
  return { residentMemoryBytes, startTimeSeconds, openFds, heapSpaceBytes };
}
