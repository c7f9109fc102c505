/** A box of pixels, inclusive corners. */
export interface PixelBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** The smallest box around the pixels `inside` (by row-major index) says are in; undefined where none is. Pure. */
export function boxAround(rows: number, columns: number, inside: (i: number) => boolean): PixelBox | undefined {
  let [x0, y0, x1, y1] = [columns, rows, -1, -1];
  for (let y = 0; y < rows; y++) {
    const row = y * columns;
    for (let x = 0; x < columns; x++) {
      if (!inside(row + x)) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      y1 = y;
    }
  }
  return x1 < 0 ? undefined : { x0, y0, x1, y1 };
}
