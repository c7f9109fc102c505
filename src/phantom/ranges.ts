import type { PhantomSpec } from './types.js';

/**
 * How far pose and exposure ranges are widened beyond the training defaults. Held-out tests
 * are rendered wider than what the models were trained on: level 1 (`--wide`) once, and
 * level 2 (`--wider`) since models have been trained with level-1 images too. Levels 0 and
 * 1 reproduce the phantom's earlier `wideRanges` false / true exactly (same draws, same
 * bytes).
 */
export type WideningLevel = 0 | 1 | 2;

export function wideningLevel(spec: Pick<PhantomSpec, 'wideRanges' | 'widerRanges'>): WideningLevel {
  return spec.widerRanges === true ? 2 : spec.wideRanges === true ? 1 : 0;
}

export interface PoseRanges {
  /** scale of the finger flexion and deviation spreads */
  spread: number;
  /** largest flexion of a finger joint, degrees */
  flexCapDeg: number;
  /** finger abduction scale */
  abduction: number;
  /** extra thumb angle range, degrees (none at level 0) */
  thumbExtraDeg?: [number, number];
  /** scale of the in-plane rotation limit (30 degrees for one hand, 15 for two) */
  rotation: number;
}

export const POSE_RANGES: Record<WideningLevel, PoseRanges> = {
  0: { spread: 1, flexCapDeg: 32, abduction: 1, rotation: 1 },
  1: { spread: 1.6, flexCapDeg: 50, abduction: 1.2, thumbExtraDeg: [-8, 10], rotation: 1.6 },
  2: { spread: 2, flexCapDeg: 65, abduction: 1.3, thumbExtraDeg: [-12, 15], rotation: 2 },
};

export interface ExposureRanges {
  /** scale of scatter, unsharp masking, gain and heel effect */
  spread: number;
  /** photon count range (log-uniform) */
  quanta: [number, number];
  /** extra factor on the display window's width (none at level 0) */
  windowFactor?: [number, number];
}

export const EXPOSURE_RANGES: Record<WideningLevel, ExposureRanges> = {
  0: { spread: 1, quanta: [400, 5000] },
  1: { spread: 1.5, quanta: [150, 10000], windowFactor: [0.8, 1.3] },
  2: { spread: 1.8, quanta: [80, 15000], windowFactor: [0.7, 1.4] },
};
