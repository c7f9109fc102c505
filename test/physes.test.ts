import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { analyzeImage } from '../src/inference/analyze.js';
import { loadModels } from '../src/inference/models.js';
import { isImmature, OPEN_PHYSES, openPhysesOf, physisEvidence } from '../src/inference/physes.js';
import { quantisePhantomImage } from '../src/phantom/dicom-dx.js';
import { parsePhantomOptions, specFor } from '../src/phantom/options.js';
import { renderPhantom } from '../src/phantom/render.js';

/**
 * A child's hand is recognised from its open growth plates, not only from Patient's Age
 * (src/inference/physes.ts): SvH and KL are adult scores.
 */
const scale = { sizePx: 112, mmPerPx: 0.16 };
const row = (mmDistal: number) => Math.round(56 - mmDistal / scale.mmPerPx);

/** A bone along the crop's axis (bright, 8 mm wide) on soft tissue, its joint space at the centre. */
function joint(lucentAtMm: number[] = []): Float32Array {
  const crop = new Float32Array(112 * 112);
  for (let r = 0; r < 112; r++) {
    for (let c = 0; c < 112; c++) {
      const inBone = Math.abs(c - 56) * scale.mmPerPx < 4;
      // a mild trabecular ripple, which must not read as a growth plate
      let v = inBone ? 0.7 + 0.01 * Math.sin(r * 0.9) : 0.3;
      if (inBone && Math.abs(r - 56) * scale.mmPerPx < 0.5) v = 0.35;
      for (const mm of lucentAtMm) if (inBone && Math.abs(r - row(mm)) * scale.mmPerPx < 0.5) v = 0.55;
      crop[r * 112 + c] = v;
    }
  }
  return crop;
}

describe('growth plates from the pixels', () => {
  it('a lucent line across the base of the distal bone is evidence; the same line proximal, or none, is not', () => {
    expect(physisEvidence(joint(), scale)).toBeCloseTo(0, 2);
    expect(physisEvidence(joint([4]), scale)).toBeGreaterThan(OPEN_PHYSES.jointDifference);
    expect(physisEvidence(joint([-4]), scale)).toBeLessThan(-OPEN_PHYSES.jointDifference);
  });

  it('a line across only part of the bone (an erosion, a cyst) is not', () => {
    const crop = joint();
    for (let r = row(4) - 3; r <= row(4) + 3; r++) for (let c = 56 - 25; c < 56; c++) crop[r * 112 + c] = 0.55;
    expect(physisEvidence(crop, scale)).toBeLessThan(OPEN_PHYSES.jointDifference);
  });

  it('a hand is immature when most of its finger joints show them, judged only with enough joints', () => {
    expect(openPhysesOf(Array(OPEN_PHYSES.minJoints - 1).fill(0.1))).toBeUndefined();
    expect(isImmature(openPhysesOf([...Array(10).fill(0.05), ...Array(4).fill(0)]))).toBe(true);
    expect(isImmature(openPhysesOf([...Array(4).fill(0.05), ...Array(10).fill(0)]))).toBe(false);
  });

  it("the phantom's child is 10-14 years old, with no hand to grade in its truth; the same seed without the option is an adult's graded hand", () => {
    const child = renderPhantom(specFor(parsePhantomOptions({ seed: '9100003', child: true }), 0));
    const adult = renderPhantom(specFor(parsePhantomOptions({ seed: '9100003' }), 0));
    expect(child.hands).toEqual([]);
    expect(child.patient.ageYears).toBeGreaterThanOrEqual(10);
    expect(child.patient.ageYears).toBeLessThanOrEqual(14);
    expect(adult.hands).toHaveLength(1);
    expect(adult.patient.ageYears).toBeGreaterThanOrEqual(18);
  });

  const MODELS = fileURLToPath(new URL('../models/', import.meta.url));
  const present = existsSync(`${MODELS}/jointscore-detector/manifest.json`);

  it.skipIf(!present)("a phantom child's hand is found and not graded from its pixels alone; the same seed as an adult is graded", async () => {
    const models = await loadModels(MODELS, { provider: 'cpu' });
    // the film alone, as a picture without a header would come: Patient's Age plays no part
    const analyse = async (child: boolean) => {
      const r = renderPhantom(specFor(parsePhantomOptions({ seed: '9100002', child }), 0));
      return analyzeImage(
        { rows: r.rows, columns: r.columns, values: quantisePhantomImage(r.image, 12, 'MONOCHROME2'), photometric: 'MONOCHROME2', pixelSpacingMm: [r.spec.pixelSpacingMm, r.spec.pixelSpacingMm], sopInstanceUID: '1.2.3.9100002' },
        models,
      );
    };
    const kid = await analyse(true);
    expect(kid.hands).toEqual([]);
    expect(kid.notGraded).toEqual([expect.objectContaining({ cause: 'immature', reason: expect.stringMatching(/open growth plates seen at \d+ of \d+ finger joints/) })]);
    const adult = await analyse(false);
    expect(adult.hands).toHaveLength(1);
    expect(adult.notGraded ?? []).toEqual([]);
  }, 60_000);
});
