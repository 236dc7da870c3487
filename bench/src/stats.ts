// Summary statistics for benchmark samples. Pure: numbers in, numbers out.

/** Spread is the median of several rounds with the range they covered. */
export interface Spread {
  median: number;
  min: number;
  max: number;
}

/** spreadOf summarises the rounds of one measurement; it needs at least one sample. */
export function spreadOf(samples: readonly number[]): Spread {
  if (samples.length === 0) throw new Error('spreadOf needs at least one sample');
  const sorted = [...samples].sort((a, b) => a - b);
  return { median: quantileSorted(sorted, 0.5), min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

/** quantileSorted reads quantile q (0..1) from ascending samples, interpolating between neighbours. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** LatencySummary holds round-trip percentiles in milliseconds. */
export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** summariseLatency sorts the samples in place (they are the caller's scratch buffer) and reads the percentiles. */
export function summariseLatency(samples: Float64Array): LatencySummary {
  samples.sort();
  return {
    count: samples.length,
    p50: quantileSorted(samples, 0.5),
    p90: quantileSorted(samples, 0.9),
    p99: quantileSorted(samples, 0.99),
    max: samples.length ? samples[samples.length - 1]! : Number.NaN,
  };
}
