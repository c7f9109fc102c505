import type { PhantomSpec, RenderedPhantom } from './types.js';

/**
 * A radiograph that is not a hand: a crude PA chest (mediastinum, two lungs, ribs, spine)
 * for the node's selection rules. Only its header and its lack of hands matter to the
 * tests; it is drawn so that a person opening it sees at once that it is no hand.
 */
export function renderChest(spec: Pick<PhantomSpec, 'seed' | 'rows' | 'columns' | 'pixelSpacingMm'>): RenderedPhantom {
  const { rows, columns } = spec;
  const image = new Float32Array(rows * columns);
  const cx = columns / 2;
  const cy = rows / 2;
  const lungW = columns * 0.2;
  const lungH = rows * 0.32;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      const dx = c - cx;
      const dy = r - cy;
      // body: a soft-tissue ellipse
      const body = 1 - (dx / (columns * 0.45)) ** 2 - (dy / (rows * 0.48)) ** 2;
      let v = body > 0 ? 0.35 + 0.15 * Math.sqrt(body) : 0.02;
      // lungs: air lowers attenuation on both sides of the mediastinum
      for (const side of [-1, 1]) {
        const lx = (dx - side * columns * 0.2) / lungW;
        const ly = (dy + rows * 0.03) / lungH;
        if (lx * lx + ly * ly < 1) {
          v -= 0.22;
          // ribs: bright bands curving across each lung
          if (Math.sin((dy + 0.15 * Math.abs(dx)) / (rows * 0.018)) > 0.75) v += 0.12;
        }
      }
      // spine down the middle
      if (Math.abs(dx) < columns * 0.035 && body > 0) v += 0.25;
      image[r * columns + c] = Math.min(1, Math.max(0, v));
    }
  }
  return {
    spec: { seed: spec.seed, profile: 'healthy', layout: 'one', laterality: 'L', rows, columns, pixelSpacingMm: spec.pixelSpacingMm },
    rows,
    columns,
    image,
    hands: [],
    marker: 'L',
    patient: { ageYears: 50, sex: 'F' },
  };
}
