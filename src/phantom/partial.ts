import type { HandResult } from '../analysis/hand-analysis.js';
import { WRIST_SITES, type JointSite } from '../analysis/joints.js';
import { Rng } from './rng.js';
import type { PhantomSpec, RenderedPhantom } from './types.js';

/**
 * Partial views for the detector's training: the window of a whole-hand phantom film that a
 * wrist-only or a finger-only film would show, so that the detector learns to name the
 * joints in view without the rest of the hand around them. Sites outside the window are
 * simply absent from the targets (no heatmap peak), as they are absent from the film.
 */
export type PartialView = NonNullable<PhantomSpec['partialView']>;

/** The view of image `seed` in a partial-view run: wrist-only or finger-only, half each. */
export function partialViewForSeed(seed: number): PartialView {
  return (Math.imul(seed ^ 0x51ed27, 0x2c1b3c6d) >>> 7) & 1 ? 'wrist' : 'fingers';
}

/** A single hand's phantom film cut to its `spec.partialView` window; others (and hands without the sites) as they are. */
export function asPartialView(r: RenderedPhantom): RenderedPhantom {
  const view = r.spec.partialView;
  if (!view || r.hands.length !== 1) return r;
  const w = partialWindow(view, r.hands[0].joints, r.spec.pixelSpacingMm, r.rows, r.columns, new Rng(r.spec.seed ^ 0x9a7714));
  return w ? cutPhantom(r, w) : r;
}

/** Pixel rectangle of the film kept: rows [top, bottom), columns [left, right). */
export interface FilmWindow {
  top: number;
  left: number;
  bottom: number;
  right: number;
}

interface Point {
  site: JointSite;
  x: number;
  y: number;
}

const CMC_ROW: JointSite[] = ['CMC1', 'CMC3', 'CMC4', 'CMC5'];
const MCP_ROW: JointSite[] = ['MCP2', 'MCP3', 'MCP4', 'MCP5'];
const FINGERS: JointSite[][] = [
  ['IP1', 'MCP1'],
  ['DIP2', 'PIP2', 'MCP2'],
  ['DIP3', 'PIP3', 'MCP3'],
  ['DIP4', 'PIP4', 'MCP4'],
  ['DIP5', 'PIP5', 'MCP5'],
];

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * The window of a `view` film of one hand whose joints (image pixels) are `joints`, at
 * `mmPerPx`, clipped to the film; undefined when the hand lacks the sites it needs.
 * Distal is taken from the hand itself (MCP row against the radiocarpal joint), so tilted
 * and turned poses work too.
 */
export function partialWindow(view: PartialView, joints: Point[], mmPerPx: number, rows: number, columns: number, rng: Rng): FilmWindow | undefined {
  const at = new Map(joints.map((j) => [j.site, j]));
  const rc = at.get('RC');
  const mcps = MCP_ROW.map((s) => at.get(s)).filter((p): p is Point => !!p);
  if (!rc || mcps.length < 2) return undefined;
  const mm = (v: number) => v / mmPerPx;
  // distal unit vector and its normal
  const mx = mean(mcps.map((p) => p.x));
  const my = mean(mcps.map((p) => p.y));
  const len = Math.hypot(mx - rc.x, my - rc.y);
  const d = { x: (mx - rc.x) / len, y: (my - rc.y) / len };
  const n = { x: -d.y, y: d.x };
  const along = (p: { x: number; y: number }) => (p.x - rc.x) * d.x + (p.y - rc.y) * d.y;
  const across = (p: { x: number; y: number }) => (p.x - rc.x) * n.x + (p.y - rc.y) * n.y;

  let lo: number; // proximal extent along the axis (px from RC)
  let hi: number; // distal extent
  let sides: Point[];
  if (view === 'wrist') {
    sides = [...WRIST_SITES, 'MCP1', 'MCP2', 'MCP5'].map((s) => at.get(s as JointSite)).filter((p): p is Point => !!p);
    const cmc = CMC_ROW.map((s) => at.get(s)).filter((p): p is Point => !!p);
    const cmcAlong = cmc.length ? mean(cmc.map(along)) : along(rc) + mm(25);
    const mcpAlong = mean(mcps.map(along));
    // from short of the CMC row to just past the MCPs, and 2.5-9 cm of forearm
    hi = cmcAlong + rng.uniform(0.25, 1.25) * (mcpAlong - cmcAlong);
    lo = -mm(rng.uniform(25, 90));
  } else {
    const k = rng.pick([1, 1, 2, 2, 3]);
    const first = rng.int(0, FINGERS.length - k);
    sides = FINGERS.slice(first, first + k).flat().map((s) => at.get(s)).filter((p): p is Point => !!p);
    if (sides.length === 0) return undefined;
    const alongs = sides.map(along);
    // from the fingertips (past the most distal joint) to around the MCPs, sometimes beyond
    hi = Math.max(...alongs) + mm(rng.uniform(12, 25));
    lo = Math.min(...alongs) - mm(rng.uniform(-3, 40));
  }
  const acrossAll = sides.map(across);
  // soft tissue and film beside the outermost joints, drawn for each side
  const margin = () => mm(view === 'wrist' ? rng.uniform(8, 25) : rng.uniform(5, 15));
  const left = Math.min(...acrossAll) - margin();
  const right = Math.max(...acrossAll) + margin();
  // the rotated rectangle's axis-aligned bounds: films are cut along the image axes
  const corners = [
    [lo, left],
    [lo, right],
    [hi, left],
    [hi, right],
  ].map(([a, c]) => ({ x: rc.x + a * d.x + c * n.x, y: rc.y + a * d.y + c * n.y }));
  const win = {
    top: Math.max(0, Math.floor(Math.min(...corners.map((p) => p.y)))),
    left: Math.max(0, Math.floor(Math.min(...corners.map((p) => p.x)))),
    bottom: Math.min(rows, Math.ceil(Math.max(...corners.map((p) => p.y)))),
    right: Math.min(columns, Math.ceil(Math.max(...corners.map((p) => p.x)))),
  };
  // too small to be a film (a finger at a coarse spacing): skip
  if ((win.bottom - win.top) * mmPerPx < 30 || (win.right - win.left) * mmPerPx < 20) return undefined;
  return win;
}

/**
 * A rendered phantom as the film `w` of it: pixels cut, truth moved into the cut film's
 * frame, joints off the film dropped (a partial-view fixture, or a held-out partial test). Pure.
 */
export function cutPhantom(r: RenderedPhantom, w: FilmWindow): RenderedPhantom {
  const rows = w.bottom - w.top;
  const columns = w.right - w.left;
  const image = new Float32Array(rows * columns);
  for (let y = 0; y < rows; y++) image.set(r.image.subarray((w.top + y) * r.columns + w.left, (w.top + y) * r.columns + w.right), y * columns);
  const inView = (j: { x: number; y: number }) => j.x >= w.left && j.x < w.right && j.y >= w.top && j.y < w.bottom;
  const hands: HandResult[] = r.hands.map((hand) => ({
    ...hand,
    joints: hand.joints.filter(inView).map((j) => ({
      ...j,
      x: j.x - w.left,
      y: j.y - w.top,
      box: [Math.max(0, j.box[0] - w.left), Math.max(0, j.box[1] - w.top), Math.min(columns, j.box[2] - w.left), Math.min(rows, j.box[3] - w.top)] as [number, number, number, number],
    })),
  }));
  return { ...r, rows, columns, image, hands };
}
