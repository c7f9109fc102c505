import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import { ConfigError } from '../src/config/types.js';
import { JobQueue } from '../src/store/queue.js';

/** analysis.reportNoHand in the configuration, and the reason a reported no-hand job keeps in the queue. */

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'jointscore-no-hand-'));
  dirs.push(dir);
  return dir;
}

describe('analysis.reportNoHand', () => {
  it('true is accepted from the file and from the environment; false stays the default', () => {
    expect(loadConfig({ env: {} }).analysis.reportNoHand).toBe(false);
    const file = join(tempDir(), 'node.yaml');
    writeFileSync(file, 'analysis:\n  reportNoHand: true\n');
    expect(loadConfig({ file, env: {} }).analysis.reportNoHand).toBe(true);
    expect(loadConfig({ env: { JOINTSCORE_ANALYSIS_REPORT_NO_HAND: 'yes' } }).analysis.reportNoHand).toBe(true);
  });

  it('true with outputs.sr false is refused, saying which to change', () => {
    const file = join(tempDir(), 'node.yaml');
    writeFileSync(file, 'analysis:\n  reportNoHand: true\n  outputs:\n    sr: false\n');
    expect(() => loadConfig({ file, env: {} })).toThrow(ConfigError);
    expect(() => loadConfig({ file, env: {} })).toThrow(/analysis\.reportNoHand = true is not valid: it needs analysis\.outputs\.sr: true/);
  });
});

describe('analysis.uidRoot and analysis.srClass', () => {
  it('default to 2.25 UIDs and Comprehensive 3D SR; a site root and 88.33 are taken from file and environment', () => {
    const defaults = loadConfig({ env: {} }).analysis;
    expect(defaults.uidRoot).toBeUndefined();
    expect(defaults.srClass).toBe('comprehensive3d');
    const file = join(tempDir(), 'node.yaml');
    writeFileSync(file, 'analysis:\n  uidRoot: 1.2.826.0.1.3680043.10.999\n  srClass: Comprehensive\n');
    expect(loadConfig({ file, env: {} }).analysis).toMatchObject({ uidRoot: '1.2.826.0.1.3680043.10.999', srClass: 'comprehensive' });
    expect(loadConfig({ env: { JOINTSCORE_ANALYSIS_SR_CLASS: 'comprehensive' } }).analysis.srClass).toBe('comprehensive');
  });

  it('refuses a root that is not a UID or leaves no room for the derived digits, and an unknown SR class', () => {
    const file = join(tempDir(), 'node.yaml');
    writeFileSync(file, 'analysis:\n  uidRoot: 1.2.3a\n');
    expect(() => loadConfig({ file, env: {} })).toThrow(/analysis\.uidRoot = "1\.2\.3a" is not valid/);
    writeFileSync(file, `analysis:\n  uidRoot: ${'1.'.repeat(28)}1\n`);
    expect(() => loadConfig({ file, env: {} })).toThrow(/at most 55 characters/);
    writeFileSync(file, 'analysis:\n  srClass: enhanced\n');
    expect(() => loadConfig({ file, env: {} })).toThrow(/analysis\.srClass = "enhanced" is not valid: .*comprehensive3d/);
  });
});

describe('analysis.seriesNumber and analysis.seriesDescription', () => {
  it('default to 9100 and the machine-made description; a site\'s own are taken from file and environment', () => {
    expect(loadConfig({ env: {} }).analysis).toMatchObject({ seriesNumber: 9100, seriesDescription: 'jointscore hand joints (machine-made)' });
    const file = join(tempDir(), 'node.yaml');
    writeFileSync(file, 'analysis:\n  seriesNumber: 800\n  seriesDescription: "Hand joints, AI (machine-made)"\n');
    expect(loadConfig({ file, env: {} }).analysis).toMatchObject({ seriesNumber: 800, seriesDescription: 'Hand joints, AI (machine-made)' });
    expect(loadConfig({ env: { JOINTSCORE_ANALYSIS_SERIES_NUMBER: '77' } }).analysis.seriesNumber).toBe(77);
  });

  it('refuses a number that is not a whole number of an IS and a description that is not an LO', () => {
    const file = join(tempDir(), 'node.yaml');
    writeFileSync(file, 'analysis:\n  seriesNumber: 0\n');
    expect(() => loadConfig({ file, env: {} })).toThrow(/analysis\.seriesNumber = 0 is not valid: a whole number from 1 to 2147483645/);
    writeFileSync(file, `analysis:\n  seriesDescription: "${'x'.repeat(65)}"\n`);
    expect(() => loadConfig({ file, env: {} })).toThrow(/analysis\.seriesDescription = .* is not valid: a text of 1 to 64 characters/);
    writeFileSync(file, 'analysis:\n  seriesDescription: "a\\\\b"\n');
    expect(() => loadConfig({ file, env: {} })).toThrow(/no backslash/);
  });
});

describe('the queue keeps the reason of a reported no-hand job', () => {
  const newJob = (uid: string) => ({
    sopInstanceUid: uid, modelVersion: 'det@1+grd@1', sopClassUid: '1.2.840.10008.5.1.4.1.1.1.1',
    transferSyntaxUid: '1.2.840.10008.1.2.1', callingAe: 'PACS', spoolPath: `/spool/${uid}.dcm`,
  });

  it('done with the reason startSending gave; none for a normal job or after an operator retry', () => {
    const q = new JobQueue(join(tempDir(), 'queue.sqlite'));
    const noHand = q.enqueue(newJob('1.1')).job;
    const hand = q.enqueue(newJob('1.2')).job;
    q.startSending(noHand.id, [{ destination: 'PACS', sopInstanceUid: '9.1', path: '/r/1/sr.dcm' }], 'no hand found: reported');
    q.startSending(hand.id, [{ destination: 'PACS', sopInstanceUid: '9.2', path: '/r/2/sr.dcm' }]);
    expect(q.get(noHand.id)!.reason).toBe('no hand found: reported');
    q.markDelivered(q.deliveriesOf(noHand.id)[0].id);
    q.markDelivered(q.deliveriesOf(hand.id)[0].id);
    expect([q.get(noHand.id)!.state, q.get(noHand.id)!.reason]).toEqual(['done', 'no hand found: reported']);
    expect([q.get(hand.id)!.state, q.get(hand.id)!.reason]).toEqual(['done', null]);

    const retried = q.enqueue(newJob('1.3')).job;
    q.startSending(retried.id, [{ destination: 'PACS', sopInstanceUid: '9.3', path: '/r/3/sr.dcm' }]);
    q.markAttemptFailed(q.deliveriesOf(retried.id)[0].id, 'refused', undefined);
    q.retry({ id: retried.id });
    expect(q.get(retried.id)!.reason).toBe('retried by the operator');
    q.markDelivered(q.deliveriesOf(retried.id)[0].id);
    expect([q.get(retried.id)!.state, q.get(retried.id)!.reason]).toEqual(['done', null]);
    q.close();
  });
});
