import winston from 'winston';

/**
 * One JSON logger for the whole program. Log UIDs, never patient names or IDs: the
 * callers pass identifiers through `meta`, and nothing here looks into datasets.
 */
export type Logger = winston.Logger;

let root: winston.Logger | undefined;

export function createLogger(level = process.env.JOINTSCORE_LOG_LEVEL ?? 'info'): winston.Logger {
  return winston.createLogger({
    level,
    format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    // stderr, so that commands that print results (JSON) on stdout stay parseable.
    transports: [new winston.transports.Console({ stderrLevels: Object.keys(winston.config.npm.levels) })],
  });
}

export function logger(): winston.Logger {
  root ??= createLogger();
  return root;
}
