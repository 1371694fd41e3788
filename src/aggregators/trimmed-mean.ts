/**
 * Trimmed mean (docs/aggregators.md "Trimmed mean"): per coordinate drop the b largest and b
 * smallest values and average the remaining n - 2b; default b = f. Requires n > 2b. Cost O(nd)
 * reads; per coordinate a selection network for float32 and n <= 40 (sorting-network.ts), else an
 * insertion sort for n <= 24 and two quickselects (O(n)) above (columns.ts). The kept values are
 * summed in rank order (network and insertion sort alike, so the two agree bitwise), except on the
 * quickselect path, which sums them in partition order.
 */
import { UsageError } from '../core/errors.js';
import { AUTO, isAuto } from '../core/spec.js';
import type { Vec } from '../core/vec.js';
import {
  forEachColumnBlock,
  forEachRankBlock,
  forEachSortedBlock,
  SELECT_ABOVE,
  selectInPlace,
} from './columns.js';
import type { AggregatorDef } from './types.js';

export function trimmedMean(inputs: readonly Vec[], b: number): Float64Array {
  const d = inputs[0].length;
  const out = new Float64Array(d);
  const n = inputs.length;
  const inv = 1 / (n - 2 * b);
  const visit = (tile: Float64Array, n: number, start: number, count: number) => {
    for (let j = 0, base = 0; j < count; j++, base += n) {
      let s = 0;
      for (let q = base + b; q < base + n - b; q++) s += tile[q];
      out[start + j] = s * inv;
    }
  };
  if (
    b > 0 &&
    forEachRankBlock(inputs, b, n - 1 - b, (vals, m, start, count) => {
      for (let j = 0, q = 0; j < count; j++) {
        let s = 0;
        for (const e = q + m; q < e; q++) s += vals[q];
        out[start + j] = s * inv;
      }
    })
  ) {
    return out;
  }
  if (n > SELECT_ABOVE && b > 0) {
    // Two quickselects leave the b smallest left of slot b and the b largest right of n-b-1.
    forEachColumnBlock(inputs, (tile, n, start, count) => {
      for (let j = 0, base = 0; j < count; j++, base += n) {
        selectInPlace(tile, base, base + n - 1, base + b);
        if (n - b - 1 > b) selectInPlace(tile, base + b + 1, base + n - 1, base + n - b - 1);
      }
      visit(tile, n, start, count);
    });
  } else if (b > 0) forEachSortedBlock(inputs, visit);
  else forEachColumnBlock(inputs, visit);
  return out;
}

export const trimmedMeanDef: AggregatorDef = {
  name: 'trimmed-mean',
  description:
    'per coordinate drop the b largest and b smallest, average the rest (default b = f); n > 2b; O(nd) reads',
  defaults: { b: AUTO },
  create(params) {
    const bp = params.b;
    if (!isAuto(bp) && !(Number.isInteger(bp) && bp >= 0)) {
      throw new UsageError(`trimmed-mean: b must be a non-negative integer (default: b = f), got ${bp}`);
    }
    const bOf = (f: number) => (isAuto(bp) ? f : bp);
    return {
      name: 'trimmed-mean',
      description: trimmedMeanDef.description,
      precondition(n, f) {
        const b = bOf(f);
        return n > 2 * b
          ? null
          : `trimmed-mean needs n > 2b (n = ${n}, f = ${f}, b = ${b}: n >= ${2 * b + 1})`;
      },
      aggregate: (inputs, ctx) => trimmedMean(inputs, bOf(ctx.f)),
    };
  },
};
