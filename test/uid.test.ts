import { describe, expect, it } from 'vitest';
import { derivedUid, isValidUid, randomUid } from '../src/dicom/uid.js';

describe('UIDs', () => {
  it('random UIDs are valid 2.25 UIDs and differ', () => {
    const a = randomUid();
    const b = randomUid();
    expect(isValidUid(a)).toBe(true);
    expect(a.startsWith('2.25.')).toBe(true);
    expect(a).not.toBe(b);
  });

  it('derived UIDs depend only on their inputs', () => {
    const a = derivedUid(['1.2.3', 'model-1.0.0', 'sr']);
    expect(derivedUid(['1.2.3', 'model-1.0.0', 'sr'])).toBe(a);
    expect(derivedUid(['1.2.3', 'model-1.0.1', 'sr'])).not.toBe(a);
    expect(isValidUid(a)).toBe(true);
  });

  it('derived UIDs fit under a site root', () => {
    const root = '1.2.826.0.1.3680043.10.9999';
    const uid = derivedUid(['x'], root);
    expect(uid.startsWith(root + '.')).toBe(true);
    expect(uid.length).toBeLessThanOrEqual(64);
    expect(isValidUid(uid)).toBe(true);
  });
});
