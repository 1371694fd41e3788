/** Small statistics shared by the training summary, the bench commands and the rules that clip to an order statistic. */

/** Median of `xs` (mean of the two middle values for an even count); NaN when empty. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const a = [...xs].sort((p, q) => p - q);
  const m = a.length >> 1;
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
}

/** The q-quantile of `values` (q in [0, 1]), interpolating linearly between order statistics. */
export function quantile(values: readonly number[], q: number): number {
  const v = [...values].sort((a, b) => a - b);
  const pos = (v.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, v.length - 1);
  return v[lo] + (pos - lo) * (v[hi] - v[lo]);
}

/**
 * Call `fn(0 .. warmup-1)` untimed, then `fn(warmup .. warmup+runs-1)` timed one by one: the median
 * and minimum ms of the timed calls and the last call's result.
 */
export function timeRuns<T>(
  warmup: number,
  runs: number,
  fn: (i: number) => T,
): { medianMs: number; minMs: number; last: T } {
  for (let i = 0; i < warmup; i++) fn(i);
  const times: number[] = [];
  let last!: T;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    last = fn(warmup + r);
    times.push(performance.now() - t0);
  }
  return { medianMs: median(times), minMs: Math.min(...times), last };
}
