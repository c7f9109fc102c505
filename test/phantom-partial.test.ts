import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JOINT_SITES } from '../src/analysis/joints.js';
import { writeTrainingSet, TRAINING_DEFAULTS } from '../src/phantom/training-set.js';
import { parsePhantomOptions, specFor } from '../src/phantom/options.js';
import { makePhantom } from '../src/phantom/generate.js';
import { readPart10 } from '../src/dicom/part10.js';

/**
 * Partial views in the detector's training data: a wrist-only film keeps the wrist sites and
 * loses the fingers, a finger-only film the reverse; targets are in the cut film's letterbox.
 */
describe('partial-view training images', () => {
  it('cut wrist-only and finger-only films with only the joints in view as targets', () => {
    const out = mkdtempSync(join(tmpdir(), 'jointscore-partial-'));
    try {
      writeTrainingSet({ count: 16, seed: 700001, out, wideRanges: false, ...TRAINING_DEFAULTS, partialShare: 1 });
      const lines = readFileSync(join(out, 'detector.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      const site = (channel: number) => JOINT_SITES[channel % JOINT_SITES.length];
      const wrists = lines.filter((l) => l.partial === 'wrist');
      const fingers = lines.filter((l) => l.partial === 'fingers');
      expect(wrists.length).toBeGreaterThan(2);
      expect(fingers.length).toBeGreaterThan(2);
      for (const l of wrists) {
        const sites = l.joints.map((j: { channel: number }) => site(j.channel));
        expect(sites).toContain('RC');
        expect(sites.filter((s: string) => /^DIP/.test(s))).toEqual([]);
      }
      for (const l of fingers) {
        const sites = l.joints.map((j: { channel: number }) => site(j.channel));
        expect(sites.filter((s: string) => ['RC', 'CSL'].includes(s))).toEqual([]);
        expect(sites.length).toBeGreaterThan(0);
      }
      for (const l of [...wrists, ...fingers]) {
        const w = l.window;
        const size = Math.max(w.bottom - w.top, w.right - w.left);
        expect(l.scale).toBeCloseTo(TRAINING_DEFAULTS.detectorSize / size, 6);
        for (const j of l.joints) {
          expect(j.x).toBeGreaterThanOrEqual(0);
          expect(j.y).toBeGreaterThanOrEqual(0);
          expect(j.x).toBeLessThan(TRAINING_DEFAULTS.detectorSize);
          expect(j.y).toBeLessThan(TRAINING_DEFAULTS.detectorSize);
        }
      }
      // partial images give the grader no crops
      const meta = JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8'));
      expect(meta.partialShare).toBe(1);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);

  it('jointscore phantom --partial: films cut to a wrist-only or finger-only view, the truth only what is on the film', async () => {
    const opts = parsePhantomOptions({ count: '6', seed: '3000001', partial: true, preview: false });
    const views = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const spec = specFor(opts, i);
      views.add(spec.partialView!);
      const a = await makePhantom(spec, {}, { preview: false });
      const { dataset } = readPart10(a.dicom, { untilPixelData: true });
      const [rows, columns] = [Number(dataset.Rows), Number(dataset.Columns)];
      expect(rows * columns).toBeLessThan(spec.rows * spec.columns);
      const joints = a.truth.hands.flatMap((h) => h.joints);
      expect(joints.length).toBeGreaterThan(0);
      expect(joints.length).toBeLessThan(21);
      for (const j of joints) {
        expect(j.x).toBeGreaterThanOrEqual(0);
        expect(j.y).toBeGreaterThanOrEqual(0);
        expect(j.x).toBeLessThan(columns);
        expect(j.y).toBeLessThan(rows);
      }
    }
    expect([...views].sort()).toEqual(['fingers', 'wrist']);
  }, 60_000);
});
