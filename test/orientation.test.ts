import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MODELS_DIR } from '../src/cli/analyze.js';
import { analyzeImage } from '../src/inference/analyze.js';
import { loadModels, type Models } from '../src/inference/models.js';
import { edgeTilt, LEVEL, STRAIGHTEN_FROM_RAD, tiltAsRead, turnLetterbox, unturn } from '../src/inference/orientation.js';
import { paPose } from '../src/inference/view.js';
import { iou as boxIou } from '../src/eval/match.js';
import { parsePhantomOptions, specFor } from '../src/phantom/options.js';
import { letterbox } from '../src/imaging/preprocess.js';
import { turnPhantom } from '../src/phantom/orient.js';
import { renderPhantom } from '../src/phantom/render.js';
import type { NaturalDataset } from '../src/dicom/part10.js';
import { buildGspsDataset } from '../src/reports/gsps.js';
import { overlayLayout } from '../src/reports/secondary-capture.js';
import { buildSrDataset } from '../src/reports/sr/document.js';
import { fixtureSource, SOURCE_SOP } from './helpers/report-fixture.js';
import { readSrJoints } from './helpers/sr-reader.js';

/**
 * Hands at any rotation: found and placed in the source image's own pixels, whatever way the
 * film was turned or mirrored when it was stored.
 */
let models: Models;
const phantom = renderPhantom({ seed: 321, rows: 1280, columns: 1024, pixelSpacingMm: 0.2, layout: 'one', profile: 'healthy', laterality: 'L' });

/** The phantom's picture turned clockwise k quarter turns (and mirrored left-right before it, if asked), with its truth. */
function turned(k: 0 | 1 | 2 | 3, mirror = false) {
  const t = turnPhantom(phantom, { quarterTurns: k, mirrored: mirror });
  const pts = t.hands[0].joints.map((j) => ({ site: j.site, x: j.x, y: j.y }));
  const values = Uint16Array.from(t.image, (v) => Math.round(v * 4095));
  return { input: { rows: t.rows, columns: t.columns, values, photometric: 'MONOCHROME2' as const, pixelSpacingMm: [0.2, 0.2] as [number, number], sopInstanceUID: '1.2.3' }, pts };
}

beforeAll(async () => {
  models = await loadModels(DEFAULT_MODELS_DIR, { provider: 'cpu' });
}, 60_000);

describe('orientation', () => {
  it('turning the letterbox and back is the identity on points, for every quarter turn', () => {
    const lb = letterbox({ rows: 100, columns: 60, data: new Float32Array(6000).map((_, i) => i / 6000), pixelSpacingMm: [1, 1] }, 32);
    for (const k of [1, 2, 3] as const) {
      const t = turnLetterbox(lb, k);
      // the brightest content pixel (bottom-right of the source block) moves where the turn puts it
      let at = 0;
      for (let i = 0; i < t.length; i++) if (t[i] > t[at]) at = i;
      const [x, y] = unturn((at % 32) + 0.5, Math.floor(at / 32) + 0.5, k, lb.contentRows, lb.contentColumns);
      expect([Math.floor(x), Math.floor(y)]).toEqual([lb.contentColumns - 1, lb.contentRows - 1]);
    }
  });

  it('measures a film\'s slant from its edges: long bones turned clockwise by a read as a, whatever quarter turn, the padding\'s edge left out', () => {
    // a wrist film's forearm: bright shafts with soft edges, side by side, on a tall film
    // (letterboxed into a square: the content's edge against the padding runs along the film axes)
    const shafts = (deg: number, rows = 900, columns = 500) => {
      const t = (deg * Math.PI) / 180;
      const data = new Float32Array(rows * columns);
      for (let y = 0; y < rows; y++) {
        for (let x = 0; x < columns; x++) {
          const across = (x - columns / 2) * Math.cos(t) + (y - rows / 2) * Math.sin(t);
          data[y * columns + x] = 0.15 + 0.6 * Math.max(0, Math.cos((2 * Math.PI * across) / 140)) ** 2;
        }
      }
      return letterbox({ rows, columns, data, pixelSpacingMm: [0.2, 0.2] }, 256);
    };
    const deg = (rad: number) => (rad * 180) / Math.PI;
    for (const a of [-40, -25, -12, 0, 8, 20, 35]) {
      expect(deg(edgeTilt(shafts(a))), `${a} degrees`).toBeCloseTo(a, 0);
      // a quarter turn more is the same slant from the nearest film axis
      expect(deg(edgeTilt(shafts(a + 90))), `${a + 90} degrees`).toBeCloseTo(a, 0);
    }
    // a film lying level is not read levelled
    expect(Math.abs(edgeTilt(shafts(3)))).toBeLessThan(LEVEL.fromRad);
  });

  it('judges a hand\'s tilt as the detector read it: a hand lying sideways read without a turn is 90 degrees off, not 0', () => {
    const deg = (d: number) => (d * Math.PI) / 180;
    const asRead = (tilt: number, k: 0 | 1 | 2 | 3) => Math.round((tiltAsRead(deg(tilt), k) * 180) / Math.PI);
    // tilt: the clockwise turn that brings the hand upright; k: clockwise quarter turns made before reading
    expect(asRead(90, 0)).toBe(90);
    expect(asRead(90, 1)).toBe(0);
    expect(asRead(-90, 3)).toBe(0);
    expect(asRead(100, 1)).toBe(10);
    expect(asRead(180, 2)).toBe(0);
    expect(asRead(-170, 0)).toBe(-170);
    expect(asRead(30, 3)).toBe(120);
    expect(asRead(-40, 0)).toBe(-40);
  });

  it.each([1, 2, 3] as const)('reads a hand turned %i quarter turns at the quarter turns only: found upright there, it is not read again', async (k) => {
    // ties tiltAsRead's turn to turnLetterbox's: with the sign wrong, the hand found upright at
    // its quarter turn would seem 180 degrees off as read and be read a fifth time
    const { input } = turned(k);
    const detector = models.detector.runner;
    let runs = 0;
    const counting = { inputs: detector.inputs, outputs: detector.outputs, provider: detector.provider, run: (feeds: Parameters<typeof detector.run>[0]) => (runs++, detector.run(feeds)) };
    const a = await analyzeImage(input, { ...models, detector: { ...models.detector, runner: counting } });
    expect(a.hands).toHaveLength(1);
    expect(runs).toBeLessThanOrEqual(4);
  }, 60_000);

  /** A held-out --wider phantom analysed by the node: its hand's joints, each expected on the truth (IoU >= 0.5). */
  async function expectEveryJointOnTruth(seed: string) {
    const r = renderPhantom(specFor(parsePhantomOptions({ seed, widerRanges: true }), 0));
    const values = Uint16Array.from(r.image, (v) => Math.round(v * 4095));
    const a = await analyzeImage({ rows: r.rows, columns: r.columns, values, photometric: 'MONOCHROME2', pixelSpacingMm: [0.15, 0.15], sopInstanceUID: `1.2.5.${seed}` }, models);
    const side = r.hands[0].laterality;
    const found = new Map(a.hands.find((h) => h.laterality === side)!.joints.map((j) => [j.site, j]));
    for (const t of r.hands[0].joints) {
      const j = found.get(t.site);
      expect(j, t.site).toBeDefined();
      expect(boxIou(j!.box!, t.box), t.site).toBeGreaterThanOrEqual(0.5);
    }
    return r.hands[0];
  }

  it('reads a hand lying far from upright again, turned by its own tilt: every joint where the truth is', async () => {
    // held-out --wider phantom 2000227: its hand lies about 40 degrees off upright; read
    // without straightening, 3 of its 21 joints were placed off the truth (IoU < 0.5)
    const hand = await expectEveryJointOnTruth('2000227');
    const tilt = paPose(hand.joints, hand.laterality)!.tilt;
    expect(Math.abs(tilt - (Math.PI / 2) * Math.round(tilt / (Math.PI / 2)))).toBeGreaterThan(STRAIGHTEN_FROM_RAD);
  }, 60_000);

  it('keeps the upright reading of a tilted hand when it is surer, though it fits the layout no closer', async () => {
    // held-out --wider phantom 2000036: while the second reading had also to name as many joints
    // and fit the PA layout at least as well as the first, PIP4, PIP5 and MCP4 stayed off the truth
    await expectEveryJointOnTruth('2000036');
  }, 60_000);

  it.each([
    [0, false], [1, false], [2, false], [3, false], [0, true], [2, true],
  ] as const)('finds the joints of a hand turned %i quarter turns (mirrored: %s) where they are in that picture', async (k, mirror) => {
    const { input, pts } = turned(k, mirror);
    const a = await analyzeImage(input, models);
    expect(a.hands).toHaveLength(1);
    expect(a.hands[0].laterality).toBe(mirror ? 'R' : 'L');
    const found = new Map(a.hands[0].joints.map((j) => [j.site, j]));
    const mcp2 = pts.find((p) => p.site === 'MCP2')!;
    const mcp5 = pts.find((p) => p.site === 'MCP5')!;
    const tolerance = 0.1 * Math.hypot(mcp2.x - mcp5.x, mcp2.y - mcp5.y);
    const near = pts.filter((p) => {
      const j = found.get(p.site);
      return j !== undefined && Math.hypot(j.x - p.x, j.y - p.y) <= tolerance;
    });
    expect(near.length / pts.length).toBeGreaterThanOrEqual(0.95);
    expect(a.source.turnedDeg ?? 0).toBe(((4 - k) % 4) * 90);
  }, 60_000);

  it.each([[1, false], [0, true]] as const)(
    'a hand turned %i quarter turns (mirrored: %s): the SR regions, the overlay boxes and the presentation state land on its joints in the stored picture',
    async (k, mirror) => {
      const { input, pts } = turned(k, mirror);
      const a = await analyzeImage({ ...input, sopInstanceUID: SOURCE_SOP }, models);
      const source = fixtureSource({ Rows: input.rows, Columns: input.columns, ImageLaterality: mirror ? 'R' : 'L', Laterality: mirror ? 'R' : 'L' });
      const truthAt = new Map(pts.map((p) => [p.site, p]));
      const inside = (box: readonly number[], p: { x: number; y: number }, pad: number) =>
        p.x >= box[0] - pad && p.x <= box[2] + pad && p.y >= box[1] - pad && p.y <= box[3] + pad;
      const pad = 2; // pixels
      // SR: each joint's SCOORD box (source frame) holds the true joint of that site
      const srJoints = readSrJoints(buildSrDataset(a, source, { sopClass: 'comprehensive3d', seriesNumber: 9001, seriesDescription: 'x', manufacturer: 'm', deviceName: 'd', algorithmName: 'a', algorithmVersion: '1' }));
      const srHits = srJoints.filter((j) => inside(j.box, truthAt.get(j.site)!, pad)).length;
      expect(srHits / srJoints.length).toBeGreaterThanOrEqual(0.95);
      // overlay: boxes drawn on the scaled radiograph at the same places
      const layout = overlayLayout(input.rows, input.columns, a);
      const sx = layout.image.width / input.columns;
      const sy = layout.image.height / input.rows;
      const joints = a.hands.flatMap((h) => h.joints);
      const boxHits = layout.labels.filter((l, i) => {
        const t = truthAt.get(joints[i].site)!;
        return inside([l.box.x / sx, l.box.y / sy, (l.box.x + l.box.width) / sx, (l.box.y + l.box.height) / sy], t, pad);
      }).length;
      expect(boxHits / layout.labels.length).toBeGreaterThanOrEqual(0.95);
      // presentation state: PIXEL-unit polylines in the source frame
      const pr = buildGspsDataset(a, source, { seriesNumber: 9003, seriesDescription: 'x', manufacturer: 'm', deviceName: 'd', algorithmName: 'a', algorithmVersion: '1' });
      const polylines = (pr.GraphicAnnotationSequence as NaturalDataset[]).flatMap((g) => (g.GraphicObjectSequence as NaturalDataset[] | undefined) ?? []);
      expect(polylines).toHaveLength(joints.length);
      const prHits = polylines.filter((g) => {
        const d = g.GraphicData as number[];
        const box = [Math.min(d[0], d[4]), Math.min(d[1], d[5]), Math.max(d[0], d[4]), Math.max(d[1], d[5])];
        return pts.some((p) => inside(box, p, pad));
      }).length;
      expect(prHits / polylines.length).toBeGreaterThanOrEqual(0.95);
    },
    60_000,
  );
});

