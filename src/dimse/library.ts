import dimse from 'dcmjs-dimse';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from '../dicom/part10.js';
import { logger } from '../observability/logger.js';

/**
 * dcmjs-dimse keeps its implementation identity and its largest PDU in process-wide
 * statics, used by every association it opens or accepts: set ours once, before the
 * first association of either side (an echo or a delivery can come before the SCP starts).
 */
let identified = false;

export function useOurIdentity(): void {
  if (identified) return;
  identified = true;
  dimse.Implementation.setImplementationClassUid(IMPLEMENTATION_CLASS_UID);
  dimse.Implementation.setImplementationVersion(IMPLEMENTATION_VERSION_NAME);
  routeLibraryLog();
}

/** The largest PDU we receive: the library announces the smaller of this and its own default. */
export function setMaxPduLength(bytes: number): void {
  dimse.Implementation.setMaxPduLength(bytes);
}

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
