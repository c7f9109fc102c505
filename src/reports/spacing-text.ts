/**
 * How the writers (SR, overlay) and the log say a pixel spacing and what a header's spacing made
 * of the hand: one phrasing, so the three say the same.
 */

/** "0.150 mm", or both values where the pixels are not square. */
export function spacingText([rows, columns]: [number, number]): string {
  return rows.toFixed(3) === columns.toFixed(3) ? `${rows.toFixed(3)} mm` : `${rows.toFixed(3)} mm between rows, ${columns.toFixed(3)} mm between columns`;
}

/** How the header's spacing sizes the hand against the adult hand its bone lengths were measured against: "1.35 times the size of an adult hand". */
export function handSizeAt(inHeader: [number, number], estimated: [number, number]): string {
  const factor = (inHeader[0] + inHeader[1]) / (estimated[0] + estimated[1]);
  return factor >= 1 ? `${factor.toFixed(2)} times the size of an adult hand` : `${(1 / factor).toFixed(2)} times smaller than an adult hand`;
}
