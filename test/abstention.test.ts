import { describe, expect, it } from 'vitest';
import { ABSTENTION, jointNotGraded, overlappedJoints } from '../src/inference/abstention.js';

/** A joint is graded only where it can be seen whole, with contrast, and named with confidence. */
const image = { rows: 1000, columns: 800, pixelSpacingMm: [0.1, 0.2] as [number, number] };
const textured = Float32Array.from({ length: 112 * 112 }, (_, i) => ((i * 7919) % 1000) / 1000);
const flat = new Float32Array(112 * 112).fill(0.5);
const at = (x: number, y: number, confidence = 0.9, crop = textured) => jointNotGraded({ candidate: { x, y, confidence, site: 'MCP3' }, crop }, image, 0.4);

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
    const check = (x: number, confidence: number, crop = textured) => jointNotGraded({ candidate: { x, y: 500, confidence, site: 'MCP3' }, crop }, image, 0.4, overlap)?.cause;
    expect([check(400, 0.9), check(400, 0.1), check(20, 0.9), check(400, 0.9, flat)]).toEqual(['overlapped', 'overlapped', 'out-of-view', 'exposure']);
  });
});
