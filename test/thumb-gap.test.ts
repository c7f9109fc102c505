import { describe, expect, it } from 'vitest';
import type { Candidate } from '../src/inference/detector.js';
import { onThumbGap, THUMB_GAP, thumbGap } from '../src/inference/thumb-gap.js';
import { toDisplay, type DisplayImage } from '../src/imaging/preprocess.js';
import { quantisePhantomImage } from '../src/phantom/dicom-dx.js';
import { parsePhantomOptions, specFor } from '../src/phantom/options.js';
import { renderPhantom } from '../src/phantom/render.js';

/**
 * The thumb's MCP moved onto its joint gap (src/inference/thumb-gap.ts): the detector's coarse
 * point on an adult thumb lands on a shaft; the gap along CMC1 -> IP1 is where the joint is.
 */
const MM = 0.2;
const ANGLE = (-60 * Math.PI) / 180; // the thumb runs up and to the right
const AXIS = { x: Math.cos(ANGLE), y: Math.sin(ANGLE) };
const CMC1 = { x: 150, y: 650 };
/** a point `along` mm from CMC1 on the thumb's axis, `across` mm beside it */
const onThumb = (along: number, across = 0) => ({
  x: CMC1.x + (along * AXIS.x - across * AXIS.y) / MM,
  y: CMC1.y + (along * AXIS.y + across * AXIS.x) / MM,
});

/** A straight thumb 80 mm long, 12 mm wide, on soft tissue, with dark gaps (and bright end plates) at the given mm from CMC1. */
function thumb(gapsMm: number[], gapValue = 0.25): DisplayImage {
  const rows = 700;
  const columns = 500;
  const data = new Float32Array(rows * columns).fill(0.15);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      const dx = (c + 0.5 - CMC1.x) * MM;
      const dy = (r + 0.5 - CMC1.y) * MM;
      const along = dx * AXIS.x + dy * AXIS.y;
      const across = -dx * AXIS.y + dy * AXIS.x;
      if (along < -5 || along > 85 || Math.abs(across) > 6) continue;
      let v = 0.6 + 0.02 * Math.sin(along * 3.1);
      for (const g of gapsMm) {
        const d = Math.abs(along - g);
        if (d < 0.8) v = gapValue;
        else if (d < 1.8) v = 0.85;
      }
      data[r * columns + c] = v;
    }
  }
  return { rows, columns, data, pixelSpacingMm: [MM, MM] };
}

const distanceMm = (p: { x: number; y: number }, q: { x: number; y: number }) => Math.hypot(p.x - q.x, p.y - q.y) * MM;

describe("the thumb's MCP on its joint gap", () => {
  const cmc = onThumb(0);
  const ip = onThumb(80);

  it('a point 8 mm along the phalanx, or 6 mm along the metacarpal, comes back to the gap', () => {
    const img = thumb([48]);
    for (const off of [8, -6, 0]) {
      const found = thumbGap(img, onThumb(48 + off, 1.5), cmc, ip);
      expect(found).toBeDefined();
      // moved along the axis only: the detector's place across the bone stays
      expect(distanceMm(found!, onThumb(48, 1.5))).toBeLessThan(0.5);
    }
  });

  it('no gap, or two gaps alike within the search, and the point stays where the detector put it', () => {
    expect(thumbGap(thumb([]), onThumb(50), cmc, ip)).toBeUndefined();
    expect(thumbGap(thumb([44, 54]), onThumb(49), cmc, ip)).toBeUndefined();
  });

  it('the search stays between the metacarpal and the phalanx: the IP gap beyond 0.8 of CMC1 -> IP1 is not taken', () => {
    const img = thumb([48, 70], 0.25);
    const found = thumbGap(img, onThumb(60), cmc, ip);
    expect(distanceMm(found!, onThumb(48))).toBeLessThan(0.5);
  });

  it('only an unsure MCP1 moves, and only on a hand with CMC1 and IP1 found', () => {
    const img = thumb([48]);
    const at = (site: Candidate['site'], p: { x: number; y: number }, confidence = 0.9): Candidate => ({ laterality: 'R', site, ...p, confidence });
    const hand = [at('CMC1', cmc), at('MCP1', onThumb(56), THUMB_GAP.maxConfidence - 0.2), at('IP1', ip)];
    const moved = onThumbGap(img, hand);
    expect(distanceMm(moved[1], onThumb(48))).toBeLessThan(0.5);
    expect(moved[0]).toEqual(hand[0]);
    expect(moved[2]).toEqual(hand[2]);
    expect(onThumbGap(img, hand.slice(0, 2))).toEqual(hand.slice(0, 2));
    // a point the detector is sure of stays: an ankylosed joint has no gap to find
    const sure = [hand[0], at('MCP1', onThumb(56), THUMB_GAP.maxConfidence), hand[2]];
    expect(onThumbGap(img, sure)).toEqual(sure);
  });

  it("on a phantom hand the MCP1 moved 7 mm along the thumb comes back to the truth's joint", () => {
    const r = renderPhantom(specFor(parsePhantomOptions({ seed: '9300001', profile: 'healthy' }), 0));
    const img = toDisplay({ rows: r.rows, columns: r.columns, values: quantisePhantomImage(r.image, 12, 'MONOCHROME2'), photometric: 'MONOCHROME2', pixelSpacingMm: [r.spec.pixelSpacingMm, r.spec.pixelSpacingMm] });
    const mm = r.spec.pixelSpacingMm;
    const hand = r.hands[0];
    const truth = Object.fromEntries(hand.joints.map((j) => [j.site, { x: j.x, y: j.y }]));
    const [cmcT, mcpT, ipT] = [truth.CMC1, truth.MCP1, truth.IP1];
    const len = Math.hypot(ipT.x - cmcT.x, ipT.y - cmcT.y);
    for (const off of [7, -7]) {
      const shifted = { x: mcpT.x + ((ipT.x - cmcT.x) / len) * (off / mm), y: mcpT.y + ((ipT.y - cmcT.y) / len) * (off / mm) };
      const found = thumbGap(img, shifted, cmcT, ipT);
      expect(found).toBeDefined();
      expect(Math.hypot(found!.x - mcpT.x, found!.y - mcpT.y) * mm).toBeLessThan(1.5);
    }
  });
});
