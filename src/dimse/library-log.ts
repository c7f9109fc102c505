import dimse from 'dcmjs-dimse';
import { logger } from '../observability/logger.js';

/**
 * dcmjs-dimse logs through its own `loglevel` logger as plain text lines on the console,
 * which would break the node's one-JSON-object-per-line logs. Its lines go to our logger
 * instead, at debug level: every failure they describe (refused connection, abort, timeout)
 * is also reported by our own code, in the operator's terms, at the right level.
 */
let routed = false;

export function routeLibraryLog(): void {
  if (routed) return;
  routed = true;
  const log = dimse.log as unknown as {
    methodFactory: (method: string, level: unknown, name: unknown) => (...args: unknown[]) => void;
    setLevel(level: string): void;
  };
  log.methodFactory = () => (...args: unknown[]) => {
    const root = logger();
    if (root.isDebugEnabled()) root.debug(args.map(String).join(' '), { source: 'dcmjs-dimse' });
  };
  log.setLevel('debug');
}
