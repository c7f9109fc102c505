import { Command } from 'commander';
import { JointscoreError } from '../errors.js';
import { endCommand } from './failure.js';
import { describeConfig, loadConfig, type CliOverrides } from '../config/load.js';
import { startHttpServer, type RunningHttpServer } from '../observability/http.js';
import { closeLogFile, configureLogger } from '../observability/logger.js';
import { createNodeMetrics } from '../observability/metrics.js';
import { metricsHooks, watchQueue } from '../pipeline/instrument.js';
import { startNode } from '../pipeline/node.js';

/**
 * `jointscore serve`: the DICOM node. Configuration from `--config` (or JOINTSCORE_CONFIG,
 * or the embedded defaults), then JOINTSCORE_* variables, then these flags. A wrong
 * setting stops start-up with exit code 2 and one line naming the key.
 */
const collect = (value: string, previous: string[] = []) => [...previous, value];

/** What commander hands the action: it names a repeatable `--destination` `destination`. */
interface ServeFlags extends Omit<CliOverrides, 'destinations'> {
  destination?: string[];
}

/** commander's keys -> the loader's; a flag dropped here would be silently ignored. */
export function serveOverrides({ destination, ...rest }: ServeFlags): CliOverrides {
  return destination === undefined ? rest : { ...rest, destinations: destination };
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('Run the DICOM node: receive radiographs by C-STORE, analyse them, send the results to the archive')
    .option('--config <file>', 'YAML configuration (default: conf/default.yaml values built in)')
    .option('--ae-title <ae>', "the node's AE title (dimse.aeTitle)")
    .option('--port <n>', 'DICOM port (dimse.port)')
    .option('--data-dir <dir>', 'spool, queue and results folder (dataDir)')
    .option('--http-port <n>', 'port of /healthz, /readyz and /metrics (http.port)')
    .option('--destination <AE@host:port>', 'archive to send results to (repeatable; replaces delivery.destinations)', collect)
    .action(async (flags: ServeFlags) => {
      let config;
      try {
        config = loadConfig({ overrides: serveOverrides(flags) });
      } catch (err) {
        if (!(err instanceof JointscoreError)) throw err;
        endCommand('serve', err);
        return;
      }
      const log = configureLogger(config.logging, config.dataDir);
      log.info('starting', describeConfig(config));
      const metrics = createNodeMetrics();
      const node = await startNode(config, log, metricsHooks(metrics));
      watchQueue(metrics, node.queue);
      metrics.associationsOpen.setCollector(() => node.associations());
      metrics.diskFreeBytes.setCollector(() => node.diskFreeBytes());
      let http: RunningHttpServer | undefined;
      if (config.http.enabled) {
        http = await startHttpServer(config.http, {
          registry: metrics.registry,
          health: () => {
            const reasons = node.health();
            return { ok: reasons.length === 0, reasons };
          },
          ready: () => {
            const reasons = node.notReady();
            return { ok: reasons.length === 0, reasons, details: { port: node.port, modelVersion: node.modelVersion } };
          },
        });
        log.info('health and metrics', { url: http.url });
      }
      const stop = async (signal: string) => {
        log.info('stopping', { signal });
        await http?.close();
        await node.stop();
        await closeLogFile();
        process.exit(0);
      };
      process.once('SIGTERM', () => void stop('SIGTERM'));
      process.once('SIGINT', () => void stop('SIGINT'));
    });
}
