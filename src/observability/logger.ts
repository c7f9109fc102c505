import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import winston from 'winston';
import type { LoggingConfig } from '../config/types.js';

/**
 * One JSON logger for the whole program. Log UIDs, never patient names or IDs: the
 * callers pass identifiers through `meta`, and nothing here looks into datasets.
 */
export type Logger = winston.Logger;

let root: winston.Logger | undefined;

export const REDACTED = '[redacted]';

// Attribute keywords (any case, with or without _ or -) and their tags (00100010, x00100010,
// (0010,0010)) that carry patient identity.
const IDENTITY_KEYS = new Set([
  'patientname', 'patientid', 'patientbirthdate', 'otherpatientids', 'otherpatientidssequence',
  '00100010', '00100020', '00100030', '00101000', '00101002',
]);

function isIdentityKey(key: string): boolean {
  const k = key.toLowerCase().replace(/[^a-z0-9]/g, '');
  return IDENTITY_KEYS.has(k) || (k.startsWith('x') && IDENTITY_KEYS.has(k.slice(1)));
}

function isPlain(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Copies, never mutates: nested meta objects belong to the caller. */
function redactValue(v: unknown, depth: number): unknown {
  if (depth > 8) return v;
  if (Array.isArray(v)) return v.map((x) => redactValue(x, depth + 1));
  if (!isPlain(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = isIdentityKey(k) ? REDACTED : scrubStrings(redactValue(x, depth + 1));
  return out;
}

/**
 * Library error texts that quote a data element's value (dcmjs: "Value exceeds max length,
 * vr: PN, value: DOE^JANE, length: 70") would carry a patient's name into a log line or a
 * job reason. The value is cut out; the VR and length, which say what to fix, stay.
 */
const QUOTED_VALUE = /(\bvalue:\s*)([\s\S]*?)(,\s*length:|$)/gi;

export function scrubQuotedValues(text: string): string {
  return text.replace(QUOTED_VALUE, (_m, head: string, _value: string, tail: string) => `${head}${REDACTED}${tail}`);
}

function scrubStrings(v: unknown): unknown {
  return typeof v === 'string' ? scrubQuotedValues(v) : v;
}

/**
 * Masks patient identity in log meta (defence in depth: callers should pass UIDs only).
 * The top-level info object is winston's own copy, so its keys are replaced in place.
 */
export const redactPatientIdentity = winston.format((info) => {
  for (const k of Object.keys(info)) {
    if (k === 'level') continue;
    info[k] = isIdentityKey(k) ? REDACTED : scrubStrings(redactValue(info[k], 1));
  }
  return info;
});

function jsonFormat(includePatientIdentifiers: boolean): winston.Logform.Format {
  const base = [winston.format.timestamp(), winston.format.json()];
  return includePatientIdentifiers ? winston.format.combine(...base) : winston.format.combine(redactPatientIdentity(), ...base);
}

function consoleTransport(): winston.transport {
  // stderr, so that commands that print results (JSON) on stdout stay parseable.
  return new winston.transports.Console({ stderrLevels: Object.keys(winston.config.npm.levels) });
}

export function createLogger(level = process.env.JOINTSCORE_LOG_LEVEL ?? 'info'): winston.Logger {
  return winston.createLogger({ level, format: jsonFormat(false), transports: [consoleTransport()] });
}

export function logger(): winston.Logger {
  root ??= createLogger();
  return root;
}

/** The rotating file transport for `cfg`, or undefined for console only. */
function fileTransport(cfg: LoggingConfig, dataDir: string): winston.transport | undefined {
  if (!cfg.file) return undefined;
  const filename = resolve(dataDir, cfg.file);
  mkdirSync(dirname(filename), { recursive: true });
  return new winston.transports.File({
    filename,
    // Fractions of a MB are allowed (tests rotate at a few bytes); winston wants whole bytes.
    maxsize: Math.max(1, Math.round(cfg.maxFileMb * 1024 * 1024)),
    maxFiles: Math.max(1, Math.floor(cfg.maxFiles)),
    // The newest lines always stay in `filename`; older files are numbered 1, 2, ...
    tailable: true,
  });
}

/**
 * Sets the root logger up for `serve`: stderr JSON plus, when `cfg.file` is set, a
 * size-rotating JSON file under `dataDir`. The root is reconfigured in place, so loggers
 * that modules already hold from `logger()` follow. Returns the root logger.
 * To configure again, `await closeLogFile()` first: replacing a file transport that is
 * rotating at that moment can crash the process (see endFileTransport).
 */
export function configureLogger(cfg: LoggingConfig, dataDir: string): winston.Logger {
  const file = fileTransport(cfg, dataDir);
  const log = logger();
  log.configure({
    level: cfg.level,
    format: jsonFormat(cfg.includePatientIdentifiers),
    transports: file ? [consoleTransport(), file] : [consoleTransport()],
  });
  return log;
}

function fileTransports(log: winston.Logger): winston.transport[] {
  return log.transports.filter((t) => t instanceof winston.transports.File);
}

/** The File transport's own state, private in winston 3.19.0 (the pinned version). */
interface FileTransportState {
  _opening?: boolean;
  _rotate?: boolean;
  _drain?: boolean;
  _pendingSize?: number;
  _stream?: NodeJS.EventEmitter;
  _dest?: NodeJS.EventEmitter & { writableEnded: boolean; writableFinished: boolean; pending?: boolean };
}

/**
 * No rotation under way and nothing queued. The flags alone are not enough: lines queued
 * behind a rotation reset `_rotate` while the next rotation is already ending the file,
 * so the destination and the queued 'rotate'/'drain' listeners are checked as well.
 */
function isIdle(log: winston.Logger, t: winston.transport): boolean {
  const s = t as unknown as FileTransportState;
  if (log.readableLength > 0 || t.writableLength > 0) return false;
  if (s._opening || s._rotate || s._drain || s._pendingSize) return false;
  if (!s._dest || s._dest.writableEnded || s._dest.pending) return false;
  return !s._stream || (s._stream.listenerCount('rotate') === 0 && s._stream.listenerCount('drain') === 0);
}

/** Resolves true once `t` has opened its file and passed on all it was given; false after `ms`. */
async function waitIdle(log: winston.Logger, t: winston.transport, ms = 5000): Promise<boolean> {
  const deadline = Date.now() + ms;
  let calm = 0; // idle on consecutive polls, so that a rotation about to start is seen
  while (calm < 3) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 5));
    calm = isIdle(log, t) ? calm + 1 : 0;
  }
  return true;
}

/**
 * Removing a File transport from its logger ends its stream at once (winston-transport
 * closes on unpipe). In winston 3.19, if that happens while the transport opens or rotates
 * a file, lines queued behind the rotation are written after the end: an uncaught "write
 * after end" that ends the process. So the transport is removed only once idle, and left
 * attached if it never gets there (a logging storm), rather than crash.
 */
async function endFileTransport(log: winston.Logger, t: winston.transport): Promise<void> {
  if (!(await waitIdle(log, t)) || !isIdle(log, t)) return;
  const dest = (t as unknown as FileTransportState)._dest;
  log.remove(t);
  if (!dest || dest.writableFinished) return;
  await new Promise<void>((done) => {
    const timer = setTimeout(done, 5000);
    dest.once('close', () => {
      clearTimeout(timer);
      done();
    });
  });
}

/**
 * Resolves once the log file is open and every line logged so far is passed to it. Also
 * for a burst at start-up: winston drops lines that overflow maxsize before the file opens.
 */
export async function flushLogFile(): Promise<void> {
  const log = root;
  if (log) await Promise.all(fileTransports(log).map((t) => waitIdle(log, t)));
}

/** Writes out and closes the root logger's log file (at shutdown); console logging goes on. */
export async function closeLogFile(): Promise<void> {
  const log = root;
  if (log) await Promise.all(fileTransports(log).map((t) => endFileTransport(log, t)));
}
