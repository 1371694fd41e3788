/**
 * Coordinate-wise median (docs/aggregators.md "Median"): per coordinate the middle value; for even
 * n the mean of the two middle values. Tolerates f < n/2. Cost O(nd) reads; per coordinate a pruned
 * selection network (float32, n <= 40: sorting-network.ts, ~n log^2 n branch-free compares), else
 * an insertion sort of the lower half (n <= 24) or a quickselect over a transposed cache tile
 * (columns.ts).
 */
import type { Vec } from '../core/vec.js';
import {
  forEachColumnBlock,
  forEachRankBlock,
  SELECT_ABOVE,
  selectInPlace,
  sortSmallest,
} from './columns.js';
import type { Aggregator, AggregatorDef } from './types.js';

export function coordinateMedian(inputs: readonly Vec[]): Float64Array {
  const d = inputs[0].length;
  const out = new Float64Array(d);
  const n = inputs.length;
  const lo = (n - 1) >> 1;
  const hi = n >> 1;
  const zeros: number[] = [];
  const networked = forEachRankBlock(inputs, lo, hi, (vals, m, start, count) => {
    for (let j = 0, o = start; j < count; j++, o++) {
      const v = m === 1 ? vals[j] : (vals[2 * j] + vals[2 * j + 1]) / 2;
      out[o] = v;
      if (v === 0) zeros.push(o);
    }
  });
  if (networked) {
    // The network ranks -0 below +0 where the sort keeps input order, so a zero median may
    // differ in sign when its column holds zeros of both signs: redo those coordinates the
    // sorting way (bitwise the same result always). Zero gradients are mostly all +0.
    const col = new Float64Array(n);
    for (const o of zeros) {
      let pos = false;
      let neg = false;
      for (let i = 0; i < n; i++) {
        const v = inputs[i][o];
        col[i] = v;
        if (v === 0) {
          if (1 / v > 0) pos = true;
          else neg = true;
        }
      }
      if (pos && neg) out[o] = medianOfColumn(col, 0, n);
    }
    return out;
  }
  forEachColumnBlock(inputs, (tile, n, start, count) => {
    for (let j = 0, base = 0; j < count; j++, base += n) out[start + j] = medianOfColumn(tile, base, n);
  });
  return out;
}

/** Median of `a[base .. base + n)` (reordered in place). */
function medianOfColumn(a: Float64Array, base: number, n: number): number {
  const lo = (n - 1) >> 1;
  const hi = n >> 1;
  if (n > SELECT_ABOVE) {
    // Large n: quickselect the upper middle; for even n the lower middle is the largest value
    // left of it. O(n).
    selectInPlace(a, base, base + n - 1, base + hi);
    const v = a[base + hi];
    if (lo === hi) return v;
    let m = a[base];
    for (let q = base + 1; q < base + hi; q++) if (a[q] > m) m = a[q];
    return (m + v) / 2;
  }
  // Small n: the hi + 1 smallest, sorted.
  sortSmallest(a, base, n, hi + 1);
  return lo === hi ? a[base + lo] : (a[base + lo] + a[base + hi]) / 2;
}

export function createMedian(): Aggregator {
  return {
    name: 'median',
    description: 'coordinate-wise median (even n: mean of the two middle values); n > 2f; O(nd) reads',
    precondition(n, f) {
      return n > 2 * f ? null : `median needs n > 2f (n = ${n}, f = ${f}: n >= ${2 * f + 1})`;
    },
    aggregate: (inputs) => coordinateMedian(inputs),
  };
}

export const medianDef: AggregatorDef = {
  name: 'median',
  description: createMedian().description,
  defaults: {},
  create: () => createMedian(),
};
