import type { NodeMetrics } from '../observability/metrics.js';
import { JOB_STATES, type JobQueue } from '../store/queue.js';
import type { NodeHooks } from './node.js';

/** The node's events as Prometheus metrics (src/observability/metrics.ts). */
export function metricsHooks(m: NodeMetrics): NodeHooks {
  return {
    scp: {
      association: (result) => m.associations.inc({ result }),
      object: (outcome, seconds) => {
        m.objectsReceived.inc({ outcome });
        if (outcome === 'stored') m.receiveSeconds.observe(seconds);
      },
    },
    worker: {
      analysed: (seconds) => {
        m.objectsAnalysed.inc();
        m.analysisSeconds.observe(seconds);
      },
      skipped: (rule) => m.objectsSkipped.inc({ rule }),
      quarantined: () => m.objectsQuarantined.inc(),
      failed: (stage) => m.objectsFailed.inc({ stage }),
      lateralityConflict: (by) => m.lateralityConflicts.inc({ by }),
    },
    delivery: {
      delivered: (destination) => m.resultsDelivered.inc({ destination }),
      attemptFailed: (destination) => m.deliveryAttemptsFailed.inc({ destination }),
      settled: (job) => {
        if (job.state === 'done') m.endToEndSeconds.observe((Date.now() - job.receivedAt) / 1000);
        if (job.state === 'failed') m.objectsFailed.inc({ stage: 'deliver' });
      },
    },
  };
}

/** Queue depth by state, read from the database at scrape time. */
export function watchQueue(m: NodeMetrics, queue: JobQueue): void {
  m.queueDepth.setCollector(() => {
    const counts = queue.counts();
    return JOB_STATES.map((state) => ({ labels: { state }, value: counts[state] }));
  });
}
