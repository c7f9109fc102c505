import type { Logger } from './logger.js';

/**
 * Observers (metrics, tests) are told what happened; they must not change what happened.
 * A hook that throws (a metric with a wrong label) would otherwise turn an object already
 * stored and queued into an A700 answer, or a finished analysis into a failed job. Each
 * function of `events` is wrapped so that its error is logged and dropped, as pynetdicom's
 * `events.trigger` does for notification handlers.
 */
export function guardObservers<T extends object>(events: T | undefined, log: Logger, what: string): T | undefined {
  if (!events) return undefined;
  const guarded: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(events)) {
    guarded[name] =
      typeof fn !== 'function'
        ? fn
        : (...args: unknown[]) => {
            try {
              return fn.apply(events, args);
            } catch (err) {
              log.warn(`an observer of ${what}.${name} failed; the operation went on`, { error: (err as Error).message });
              return undefined;
            }
          };
  }
  return guarded as T;
}
