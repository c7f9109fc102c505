import { createHash, randomUUID } from 'node:crypto';

/**
 * UIDs. Random ones come from a UUID under `2.25.` (PS3.5 B.2), never from Math.random.
 * Derived ones are a pure function of their inputs, so that re-running the same analysis
 * (or re-rendering the same phantom seed) yields the same UIDs and a retry replaces
 * rather than duplicates.
 */
const MAX_UID_LENGTH = 64;

/** 128 bits as decimal digits under 2.25: at most 44 characters. */
function uuidHexToUid(hex: string): string {
  return `2.25.${BigInt('0x' + hex).toString(10)}`;
}

export function randomUid(): string {
  return uuidHexToUid(randomUUID().replace(/-/g, ''));
}

/**
 * A UID that depends only on `parts`: a name-based (SHA-1, version 5 style) UUID under
 * `2.25.`, or under `root` when a site has its own (the digits are cut to fit 64 chars).
 */
export function derivedUid(parts: readonly (string | number)[], root?: string): string {
  const digest = createHash('sha1').update(parts.join('\u0000')).digest();
  const bytes = Buffer.from(digest.subarray(0, 16));
  bytes[6] = (bytes[6] & 0x0f) | 0x50; // version 5
  bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
  if (!root) return uuidHexToUid(bytes.toString('hex'));
  const decimal = BigInt('0x' + bytes.toString('hex')).toString(10);
  const room = MAX_UID_LENGTH - root.length - 1;
  if (room < 8) throw new Error(`UID root "${root}" is too long: leave at least 8 digits of the 64`);
  return `${root}.${decimal.slice(0, room).replace(/^0+/, '') || '0'}`;
}

const UID_PATTERN = /^(0|[1-9]\d*)(\.(0|[1-9]\d*))*$/;

export function isValidUid(uid: string): boolean {
  return uid.length <= MAX_UID_LENGTH && UID_PATTERN.test(uid);
}
