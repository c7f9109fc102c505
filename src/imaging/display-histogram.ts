/**
 * Display values (0 to 1) counted in 256 bins: quantiles to a 255th of the display range, in one
 * pass and no sort (the abstention checks read several per joint crop).
 */
export class DisplayHistogram {
  private constructor(
    private readonly bins: Uint32Array,
    readonly count: number,
  ) {}

  /** The values (those where `keep` says so, by index) in 256 bins. */
  static of(values: ArrayLike<number>, keep?: (i: number) => boolean): DisplayHistogram {
    const bins = new Uint32Array(256);
    let count = 0;
    for (let i = 0; i < values.length; i++) {
      if (keep && !keep(i)) continue;
      bins[Math.min(255, Math.max(0, Math.floor(values[i] * 256)))]++;
      count++;
    }
    return new DisplayHistogram(bins, count);
  }

  /** The lowest bin's value (bin / 255) with more than q of the values at or below it; 1 past the last. */
  quantile(q: number): number {
    const want = q * this.count;
    let seen = 0;
    for (let b = 0; b < 256; b++) {
      seen += this.bins[b];
      if (seen > want) return b / 255;
    }
    return 1;
  }
}
