import type { HandResult, JointResult } from '../../src/analysis/hand-analysis.js';
import type { JointSite, Laterality } from '../../src/analysis/joints.js';
import type { HandLayout, RenderedPhantom } from '../../src/phantom/types.js';

/**
 * A stand-in for the renderer's output (src/phantom/render.ts), following the
 * RenderedPhantom contract: a diagonal gradient with a bright disc, values in [0, 1]
 * including both ends exactly, and ground-truth joints for one or two hands laid out as
 * render.ts lays them out: fingers up, a LEFT hand with its thumb on the image's right, a
 * RIGHT hand with its thumb on the left; `both` puts the right hand on the image's left
 * half and the left hand on the right half (thumbs pointing outwards).
 */
export interface FakePhantomOptions {
  seed?: number;
  rows?: number;
  columns?: number;
  layout?: HandLayout;
  laterality?: Laterality;
  pixelSpacingMm?: number;
}

/** A hand drawn fingers-up, centred at (cx, cy), thumb on the `thumbSide` of the image. */
function fakeHand(laterality: Laterality, cx: number, cy: number, scale: number, thumbSide: -1 | 1): HandResult {
  // finger index 1 (thumb) .. 5 (little): x offset grows from the thumb side outwards
  const fx = (finger: number) => cx + thumbSide * (3 - finger) * 0.18 * scale;
  const joint = (site: JointSite, x: number, y: number): JointResult => ({
    site,
    x,
    y,
    box: [x - 4, y - 4, x + 4, y + 4],
    confidence: 1,
    severity: {},
  });
  const joints: JointResult[] = [
    joint('RC', cx, cy + 0.45 * scale),
    joint('CSL', cx, cy + 0.35 * scale),
    joint('STT', fx(1.5), cy + 0.3 * scale),
    joint('CMC1', fx(1), cy + 0.25 * scale),
    joint('MCP1', fx(0.7), cy + 0.05 * scale),
    joint('IP1', fx(0.5), cy - 0.12 * scale),
  ];
  for (const f of [2, 3, 4, 5] as const) {
    joints.push(joint(`CMC${f}` as JointSite, fx(f), cy + 0.25 * scale));
    joints.push(joint(`MCP${f}` as JointSite, fx(f), cy - 0.05 * scale));
    joints.push(joint(`PIP${f}` as JointSite, fx(f), cy - 0.25 * scale));
    joints.push(joint(`DIP${f}` as JointSite, fx(f), cy - 0.38 * scale));
  }
  return {
    laterality,
    joints: joints.filter((j) => j.site !== ('CMC2' as JointSite)),
    summary: { svhJsn: 0, svhErosion: 0, klSum: 0, pattern: 'normal' },
  };
}

export function fakePhantom(options: FakePhantomOptions = {}): RenderedPhantom {
  const seed = options.seed ?? 7;
  const rows = options.rows ?? 320;
  const columns = options.columns ?? 256;
  const layout = options.layout ?? 'one';
  const laterality = options.laterality ?? 'L';
  const image = new Float32Array(rows * columns);
  const cx = columns * 0.55;
  const cy = rows * 0.45;
  const radius = Math.min(rows, columns) * 0.2;
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < columns; x++) {
      const gradient = (0.6 * x) / (columns - 1) + (0.3 * y) / (rows - 1);
      const inDisc = Math.hypot(x - cx, y - cy) < radius;
      // a little deterministic texture so that compressors have something to do
      const texture = 0.01 * Math.sin(x * 0.7 + seed) * Math.cos(y * 0.3);
      image[y * columns + x] = inDisc ? 0.85 + 0.1 * (y / rows) : Math.max(0, gradient + texture);
    }
  }
  image[0] = 0; // both ends of the range present
  image[image.length - 1] = 1;

  const scale = Math.min(rows, columns) * 0.8;
  const hands: HandResult[] =
    layout === 'both'
      ? [
          // right hand on the image's left, thumb pointing left
          fakeHand('R', columns * 0.27, rows * 0.5, scale * 0.5, -1),
          // left hand on the image's right, thumb pointing right
          fakeHand('L', columns * 0.73, rows * 0.5, scale * 0.5, 1),
        ]
      : [fakeHand(laterality, columns * 0.5, rows * 0.5, scale, laterality === 'L' ? 1 : -1)];

  return {
    spec: {
      seed,
      profile: 'healthy',
      layout,
      laterality,
      rows,
      columns,
      pixelSpacingMm: options.pixelSpacingMm ?? 0.143,
    },
    rows,
    columns,
    image,
    hands,
    marker: layout === 'both' ? 'R' : laterality,
    patient: { ageYears: 57, sex: 'F' },
  };
}
