import { describe, expect, it } from 'vitest';
import { ABSTENTION, jointNotGraded, overlappedJoints } from '../src/inference/abstention.js';
import { metalEvidence } from '../src/inference/metal.js';

/** A joint is graded only where it can be seen whole, with contrast, and named with confidence. */
const image = { rows: 1000, columns: 800, pixelSpacingMm: [0.1, 0.2] as [number, number] };
const textured = Float32Array.from({ length: 112 * 112 }, (_, i) => ((i * 7919) % 1000) / 1000);
const flat = new Float32Array(112 * 112).fill(0.5);
const at = (x: number, y: number, confidence = 0.9, crop = textured) => jointNotGraded({ candidate: { x, y, confidence, site: 'MCP3' }, crop, cropMmPerPx: 0.16 }, image, 0.4);

describe('which joints found are not graded', () => {
  it('grades a joint in the middle of the film, seen with contrast and named with confidence', () => {
    expect(at(400, 500)).toBeUndefined();
  });

  it('not a joint at the edge: distances in mm along each axis (rows 0.1 mm, columns 0.2 mm)', () => {
    // 20 columns from the left edge = 4.0 mm < 4.5; 20 rows from the top = 2.0 mm
    expect(at(20, 500)?.cause).toBe('out-of-view');
    expect(at(400, 20)).toEqual({ cause: 'out-of-view', reason: 'MCP3 lies 2.0 mm from the edge of the image: part of the joint is out of view' });
    // 30 columns = 6 mm and 50 rows = 5 mm are inside
    expect(at(30, 50)).toBeUndefined();
    expect(at(800 - 22, 500)?.cause).toBe('out-of-view');
    expect(at(-3, 500)?.reason).toContain('0.0 mm');
    expect(ABSTENTION.edgeMm).toBe(4.5);
  });

  it('not a joint whose region has no contrast (burnt out or blank)', () => {
    const r = at(400, 500, 0.9, flat);
    expect(r?.cause).toBe('exposure');
    expect(r?.reason).toMatch(/spread 0\.000 of the display range/);
    // a faint but real texture (spread 0.1) is graded
    const faint = Float32Array.from(textured, (v) => 0.45 + v * 0.1);
    expect(at(400, 500, 0.9, faint)).toBeUndefined();
  });

  it('no joint on a film graded at pixels coarser than 0.8 mm (either axis): a joint space spans a pixel or two', () => {
    const coarse = (spacing: [number, number]) => jointNotGraded({ candidate: { x: 40, y: 50, confidence: 0.9, site: 'MCP3' }, crop: textured, cropMmPerPx: 0.16 }, { rows: 100, columns: 80, pixelSpacingMm: spacing }, 0.4);
    expect(coarse([0.8, 0.8])).toBeUndefined();
    expect(coarse([0.5, 0.81])).toEqual({ cause: 'resolution', reason: 'the film is graded at 0.81 mm a pixel, coarser than 0.8 mm: a joint space of 1-2 mm spans a pixel or two' });
    expect(coarse([3, 3])?.cause).toBe('resolution');
    expect(ABSTENTION.maxSpacingMm).toBe(0.8);
  });

  it('not a joint the detector is unsure of, at the bound it is given', () => {
    expect(at(400, 500, 0.39)).toEqual({ cause: 'uncertain', reason: 'the detector is unsure this is MCP3 (confidence 0.39 < 0.4)' });
    expect(at(400, 500, 0.4)).toBeUndefined();
  });

  it('not two finger joints of one hand found on one spot, at the bound in mm along each axis', () => {
    const j = (site: string, x: number, y: number, laterality: 'L' | 'R' = 'L') => ({ site: site as never, x, y, laterality });
    // rows 0.1 mm, columns 0.2 mm: 7 columns = 1.4 mm, 39 rows = 3.9 mm
    const found = overlappedJoints([j('MCP1', 400, 500), j('MCP2', 407, 500), j('MCP3', 400, 539), j('MCP4', 600, 500)], [0.1, 0.2]);
    expect([...found.keys()].sort()).toEqual([0, 1, 2]);
    expect(found.get(1)).toEqual({ cause: 'overlapped', reason: 'MCP1 and MCP2 were found 1.4 mm apart: one joint space, not two joints (fingers overlapping, or a joint named twice)' });
    expect(found.get(2)?.reason).toMatch(/^MCP1 and MCP3 were found 3\.9 mm apart/);
    // 40 rows = 4.0 mm is two joints; the other hand, and carpal sites, are not compared
    expect(overlappedJoints([j('PIP3', 400, 500), j('PIP4', 400, 540)], [0.1, 0.2]).size).toBe(0);
    expect(overlappedJoints([j('PIP3', 400, 500), j('PIP4', 401, 500, 'R')], [0.1, 0.2]).size).toBe(0);
    expect(overlappedJoints([j('CMC3', 400, 500), j('CMC4', 401, 500), j('STT', 402, 500)], [0.1, 0.2]).size).toBe(0);
    expect(ABSTENTION.overlapMm).toBe(4);
  });

  it('an overlapped joint is not graded, after the edge and the contrast and before the confidence', () => {
    const overlap = { cause: 'overlapped' as const, reason: 'r' };
    const check = (x: number, confidence: number, crop = textured) => jointNotGraded({ candidate: { x, y: 500, confidence, site: 'MCP3' }, crop, cropMmPerPx: 0.16 }, image, 0.4, overlap)?.cause;
    expect([check(400, 0.9), check(400, 0.1), check(20, 0.9), check(400, 0.9, flat)]).toEqual(['overlapped', 'overlapped', 'out-of-view', 'exposure']);
  });

  it('not a joint with metal beside it: a thick plateau at the top of the range that steps down sharply', () => {
    const n = 112;
    // bone-like texture around 0.5 (+-0.1), as a joint region shows
    const bone = () => Float32Array.from({ length: n * n }, (_, i) => 0.5 + 0.1 * Math.sin(i * 0.37) * Math.cos(i * 0.011));
    /** a bar of width w px, its centre line at column x0, at `value` */
    const bar = (x0: number, w: number, value = 1) => {
      const c = bone();
      for (let y = 0; y < n; y++) for (let x = Math.round(x0 - w / 2); x < Math.round(x0 + w / 2); x++) c[y * n + x] = value;
      return c;
    };
    // a wire 1.6 mm thick (10 px at 0.16 mm) through the joint's centre
    const wire = at(400, 500, 0.9, bar(56, 10));
    expect(wire?.cause).toBe('metal');
    expect(wire?.reason).toMatch(/^metal lies within 5 mm of MCP3 \(\d+\.\d mm2 at the top of the display range, stepping down by 0\.\d\d\): a plate, screw, wire or implant, not graded$/);
    // the same wire 8 mm from the centre does not hide the joint
    expect(at(400, 500, 0.9, bar(56 + 50, 10))).toBeUndefined();
    // a burnt-in line 0.3 mm thick is as bright and sharp, but thin
    expect(metalEvidence(bar(56, 2), n, 0.16).areaMm2).toBe(0);
    expect(at(400, 500, 0.9, bar(56, 2))).toBeUndefined();
    // bone the window clips to white: as bright and thick, but it fades into the bone beside it
    const clipped = bone();
    for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) clipped[y * n + x] = Math.min(1, 1.25 - Math.hypot(x - 56, y - 56) / 60);
    const e = metalEvidence(clipped, n, 0.16);
    expect(e.areaMm2).toBeGreaterThan(ABSTENTION.metal.minAreaMm2);
    expect(e.step).toBeLessThan(ABSTENTION.metal.minStep);
    expect(at(400, 500, 0.9, clipped)).toBeUndefined();
    // a white band along the joint line is a bone end's subchondral plate, not a wire across the joint
    const band = bone();
    for (let y = 50; y < 62; y++) for (let x = 10; x < 102; x++) band[y * n + x] = 1;
    const b = metalEvidence(band, n, 0.16);
    expect(b.fromJointLineDeg).toBeCloseTo(0, 6);
    expect([b.step >= ABSTENTION.metal.minStep, b.elongation > ABSTENTION.metal.bandMinElongation]).toEqual([true, true]);
    expect(at(400, 500, 0.9, band)).toBeUndefined();
    // the wire slanted 30 degrees from the finger's axis is still across it
    const slanted = bone();
    for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) if (Math.abs((x - 56) * Math.cos(Math.PI / 6) + (y - 56) * Math.sin(Math.PI / 6)) < 5) slanted[y * n + x] = 1;
    expect(metalEvidence(slanted, n, 0.16).fromJointLineDeg).toBeCloseTo(60, 0);
    expect(at(400, 500, 0.9, slanted)?.cause).toBe('metal');
    // after the edge and the contrast, before an overlap
    const overlap = { cause: 'overlapped' as const, reason: 'r' };
    expect(jointNotGraded({ candidate: { x: 400, y: 500, confidence: 0.9, site: 'MCP3' }, crop: bar(56, 10), cropMmPerPx: 0.16 }, image, 0.4, overlap)?.cause).toBe('metal');
    expect(at(20, 500, 0.9, bar(56, 10))?.cause).toBe('out-of-view');
  });
});
