/** Medians and the shape every figure is reported in. */

export interface Series {
  /** Median of `all` (mean of the two middle values for an even count). */
  median: number;
  /** Every repeat, in run order. */
  all: number[];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function series(all: number[]): Series {
  return { median: median(all), all };
}
