/**
 * Brightness profiles along a bone: a joint space or a growth plate is a valley, a dark line
 * between brighter bone either side.
 */

/** How far sample r lies below the lower of the brightest samples within `w` either side. */
export function valleyDepth(p: ArrayLike<number>, r: number, w: number): number {
  let left = -Infinity;
  let right = -Infinity;
  for (let k = 1; k <= w; k++) {
    if (r - k >= 0) left = Math.max(left, p[r - k]);
    if (r + k < p.length) right = Math.max(right, p[r + k]);
  }
  return Math.min(left, right) - p[r];
}
