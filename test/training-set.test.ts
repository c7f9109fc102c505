import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sampleCrop } from '../src/imaging/preprocess.js';
import { renderPhantom } from '../src/phantom/render.js';
import { readScaleOf, trainingDisplay, trainingSpec, writeTrainingSet, TRAINING_DEFAULTS } from '../src/phantom/training-set.js';

/**
 * The grader's synthetic training crops are cut as serving cuts a film's crops: at the scale it
 * reads the joints at (a whole hand's own, from its bone lengths), not at the film's spacing.
 */
describe('training-set grader crops', () => {
  it('are cut at the scale serving reads the hand at, their targets in its mm', () => {
    const out = mkdtempSync(join(tmpdir(), 'jointscore-ts-'));
    try {
      const seed = 1;
      writeTrainingSet({ count: 1, seed, out, wideRanges: false, ...TRAINING_DEFAULTS });
      const { cropPx, cropMmPerPx } = TRAINING_DEFAULTS;
      const records = readFileSync(join(out, 'crops.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      const pixels = new Uint16Array(new Uint8Array(readFileSync(join(out, 'crops.u16'))).buffer);
      const spec = trainingSpec(seed, false);
      const rendered = renderPhantom(spec);
      const header: [number, number] = [spec.pixelSpacingMm, spec.pixelSpacingMm];
      const readAt = readScaleOf(rendered.hands, header);
      // the phantom's hand is not the adult hand's size: the scale differs from the film's
      expect(Math.abs(readAt[0] / header[0] - 1)).toBeGreaterThan(0.01);
      const read = { ...trainingDisplay(rendered, spec), pixelSpacingMm: readAt };
      expect(records.length).toBe(rendered.hands.reduce((n, h) => n + h.joints.length, 0));
      let widths = 0;
      for (const [i, r] of records.entries()) {
        expect(r.readMmPerPx).toBeCloseTo(readAt[0], 12);
        const truth = rendered.hands.find((h) => h.laterality === r.laterality)!.joints.find((j) => j.site === r.site)!;
        // the crop centre: the true centre less the target offset, in the read scale's mm
        const centre = { x: truth.x - r.dxMm / readAt[1], y: truth.y - r.dyMm / readAt[0], distal: { x: Math.cos(r.angle), y: Math.sin(r.angle) } };
        const again = sampleCrop(read, centre, cropPx, cropMmPerPx);
        const stored = pixels.subarray(i * cropPx * cropPx, (i + 1) * cropPx * cropPx);
        let worst = 0;
        for (let k = 0; k < again.length; k++) worst = Math.max(worst, Math.abs(stored[k] / 65535 - again[k]));
        expect(worst).toBeLessThan(1e-4);
        expect(r.wMm).toBeCloseTo((truth.box[2] - truth.box[0]) * readAt[1], 9);
        // a width in the read scale's mm: the film's mm times read over header, as serving turns it back
        if (truth.jswMm === undefined) continue;
        expect(r.jswMm * (header[0] / readAt[0])).toBeCloseTo(truth.jswMm, 9);
        widths++;
      }
      expect(widths).toBeGreaterThan(5);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);
});
