import type { Rng } from './rng.js';
import { POSE_RANGES, type WideningLevel } from './ranges.js';

/**
 * Pose and body of one hand, all sampled independently of the disease. Angles in degrees,
 * lengths as factors of an average adult hand (anatomy.ts holds the mm).
 */
export interface HandPose {
  /** overall size factor (anatomy in mm x scale) */
  scale: number;
  /** a child's growth plates, open (a lucent cartilage line) instead of fused (a faint dense scar) */
  openPhyses?: boolean;
  /** spreads the metacarpal fan: MCP2-MCP5 distance ~0.8-1.1 x metacarpal length */
  palmWidth: number;
  /** finger abduction, 0 fingers together .. 1 wide apart */
  spread: number;
  /** per digit 1..5 length factor */
  fingerLen: number[];
  /** per digit 1..5: flexion (out of plane tilt) at its three joints, proximal first */
  flexDeg: number[][];
  /** thumb abduction angle of MC1 from the hand axis */
  thumbDeg: number;
  /** ulnar/radial deviation of the fingers at the MCPs */
  fingerDevDeg: number;
  /** rheumatoid ulnar drift on top of it, degrees toward the ulna, the finger turned about the metacarpal head (PhantomSpec.ulnarDriftDeg) */
  ulnarDriftDeg?: number;
  /** bone: cortical thickness fraction of the shaft radius, and mineral density factor */
  cortFrac: number;
  density: number;
  /** soft tissue, independent of bones: finger and palm thickness, web position, forearm width */
  soft: { fingerWidth: number; palmThick: number; webFrac: number; forearmHalf: number; fingerWidthJitter: number[] };
  /** per-patient jitter of the carpal bones' positions, angles and outlines (standard normal, clipped) */
  carpJit: number[];
  /** per bone of the rays (digit x 4 + index along the ray): mineral density factor around 1 */
  boneJit: number[];
}

export function sampleHandPose(rng: Rng, ageYears: number, level: WideningLevel): HandPose {
  const r = POSE_RANGES[level];
  const w = r.spread;
  const len = rng.normal(1, 0.025);
  // Bone loss with age: thinner cortex and lower density from ~45 years on.
  const age = Math.max(0, ageYears - 45);
  const flex = () => [0, 1, 2].map(() => Math.max(0, rng.normal(4, 6 * w)));
  return {
    scale: rng.uniform(0.86, 1.1),
    palmWidth: rng.uniform(1.05, 1.6),
    spread: Math.min(1, Math.max(0, rng.uniform(0.05, 1.0) * r.abduction)),
    fingerLen: [0, 1, 2, 3, 4].map(() => len * rng.normal(1, 0.025)),
    flexDeg: [0, 1, 2, 3, 4].map(() => flex().map((d) => Math.min(d, r.flexCapDeg))),
    thumbDeg: rng.uniform(28, 52) + (r.thumbExtraDeg ? rng.uniform(...r.thumbExtraDeg) : 0),
    fingerDevDeg: rng.normal(0, 3 * w),
    cortFrac: Math.max(0.18, rng.uniform(0.36, 0.46) - age * 0.004),
    density: Math.max(0.6, rng.uniform(0.92, 1.08) - age * 0.005),
    soft: {
      fingerWidth: rng.uniform(0.9, 1.2),
      palmThick: rng.uniform(17, 26),
      webFrac: rng.uniform(0.2, 0.45),
      forearmHalf: rng.uniform(25, 33),
      fingerWidthJitter: [0, 1, 2, 3, 4].map(() => rng.normal(1, 0.05)),
    },
    carpJit: Array.from({ length: 18 }, () => Math.max(-1.5, Math.min(1.5, rng.normal()))),
    boneJit: Array.from({ length: 20 }, () => Math.max(0.9, Math.min(1.1, rng.normal(1, 0.04)))),
  };
}
