import { valuesOf, type NaturalDataset } from '../dicom/part10.js';

/**
 * The Display Shutter (PS3.3 C.7.6.11): the part of the image a viewer shows, the rest painted
 * over. Modalities that collimate often send the whole detector and describe the collimated field
 * as a shutter rather than burning black into the pixels; outside it lies unexposed detector,
 * bright after processing. A radiologist never sees it, and left in the percentile window it sets
 * the window's top and squeezes the bones into a part of the range (as a padding frame did,
 * decode.ts `paddingRange`). Pure: attributes in, a mask out (1 = hidden by the shutter).
 *
 * Rectangular, circular and polygonal shutters, alone or together (the image shown is what no
 * shutter hides). A shape whose attributes are missing or malformed hides nothing; a Bitmap
 * Display Shutter (an overlay plane) is not read.
 */
export function displayShutter(ds: NaturalDataset, rows: number, columns: number): Uint8Array | undefined {
  const shows = shapesOf(ds).flatMap((shape) => {
    const spans = SHAPES[shape]?.(ds);
    return spans ? [spans] : [];
  });
  if (shows.length === 0) return undefined;
  const hidden = new Uint8Array(rows * columns).fill(1);
  let visible = 0;
  for (let r = 0; r < rows; r++) {
    // shutter coordinates are 1-based rows and columns (the first pixel is row 1, column 1)
    for (const [from, to] of shows.map((spansOf) => spansOf(r + 1)).reduce(intersect)) {
      const [a, b] = [Math.max(from, 1), Math.min(to, columns)];
      if (a > b) continue;
      hidden.fill(0, r * columns + a - 1, r * columns + b);
      visible += b - a + 1;
    }
  }
  // a shutter that hides the whole image describes something else: nothing to analyse if obeyed
  return visible > 0 && visible < rows * columns ? hidden : undefined;
}

/** The columns a shape shows on one row: inclusive 1-based [from, to] spans, left to right, not overlapping. */
type Spans = (row: number) => Array<[number, number]>;

const SHAPES: Record<string, (ds: NaturalDataset) => Spans | undefined> = {
  RECTANGULAR: (ds) => {
    const [left, right, upper, lower] = [ds.ShutterLeftVerticalEdge, ds.ShutterRightVerticalEdge, ds.ShutterUpperHorizontalEdge, ds.ShutterLowerHorizontalEdge].map(int);
    if ([left, right, upper, lower].some((v) => v === undefined) || left! > right! || upper! > lower!) return undefined;
    return (row) => (row >= upper! && row <= lower! ? [[left!, right!]] : []);
  },
  CIRCULAR: (ds) => {
    const [row0, column0] = ints(ds.CenterOfCircularShutter);
    const radius = int(ds.RadiusOfCircularShutter);
    if (row0 === undefined || column0 === undefined || radius === undefined || radius <= 0) return undefined;
    return (row) => {
      const dy = row - row0;
      if (Math.abs(dy) > radius) return [];
      const half = Math.sqrt(radius ** 2 - dy ** 2);
      return [[Math.ceil(column0 - half), Math.floor(column0 + half)]];
    };
  },
  POLYGONAL: (ds) => {
    const v = ints(ds.VerticesOfThePolygonalShutter);
    if (v.length < 6 || v.length % 2 !== 0 || v.some((x) => x === undefined)) return undefined;
    const points = Array.from({ length: v.length / 2 }, (_, i) => ({ row: v[2 * i]!, column: v[2 * i + 1]! }));
    return (row) => polygonSpans(points, row);
  },
};

/** Even-odd rule along one row: where it crosses the polygon's edges, the spans between crossings 1-2, 3-4, ... */
function polygonSpans(points: Array<{ row: number; column: number }>, row: number): Array<[number, number]> {
  const crossings: number[] = [];
  for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
    const [a, b] = [points[i], points[j]];
    if (a.row > row !== b.row > row) crossings.push(((b.column - a.column) * (row - a.row)) / (b.row - a.row) + a.column);
  }
  crossings.sort((x, y) => x - y);
  const spans: Array<[number, number]> = [];
  for (let k = 0; k + 1 < crossings.length; k += 2) {
    const [from, to] = [Math.ceil(crossings[k]), Math.ceil(crossings[k + 1]) - 1];
    if (from <= to) spans.push([from, to]);
  }
  return spans;
}

/** Where two sets of spans both show. */
function intersect(a: Array<[number, number]>, b: Array<[number, number]>): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const [a0, a1] of a) {
    for (const [b0, b1] of b) {
      const [from, to] = [Math.max(a0, b0), Math.min(a1, b1)];
      if (from <= to) out.push([from, to]);
    }
  }
  return out;
}

/** Shutter Shape (0018,1600): up to three values, in any case and order. */
function shapesOf(ds: NaturalDataset): string[] {
  return [...new Set(valuesOf(ds.ShutterShape).map((s) => String(s).trim().toUpperCase()).filter(Boolean))];
}

const int = (v: unknown): number | undefined => {
  const x = Number(Array.isArray(v) ? v[0] : v);
  return Number.isFinite(x) ? Math.round(x) : undefined;
};

const ints = (v: unknown): Array<number | undefined> => valuesOf(v).map(int);
