/**
 * Coordinate-wise median (spec "Aggregators"): per coordinate the middle value; for even n the
 * mean of the two middle values. Tolerates f < n/2. Cost O(nd) reads, ~n^2/4 compares per
 * coordinate (insertion sort over a transposed cache tile, see columns.ts).
 */
import type { Vec } from '../core/vec.js';
import { forEachColumnBlock, forEachSortedBlock, SELECT_ABOVE, selectInPlace } from './columns.js';
import type { Aggregator, AggregatorDef } from './types.js';

export function coordinateMedian(inputs: readonly Vec[]): Float64Array {
  const d = inputs[0].length;
  const out = new Float64Array(d);
  const n = inputs.length;
  const lo = (n - 1) >> 1;
  const hi = n >> 1;
  if (n > SELECT_ABOVE) {
    // Large n: quickselect the upper middle; for even n the lower middle is the largest value
    // left of it. O(n) per coordinate.
    forEachColumnBlock(inputs, (tile, n, start, count) => {
      for (let j = 0, base = 0; j < count; j++, base += n) {
        selectInPlace(tile, base, base + n - 1, base + hi);
        let v = tile[base + hi];
        if (lo !== hi) {
          let m = tile[base];
          for (let q = base + 1; q < base + hi; q++) if (tile[q] > m) m = tile[q];
          v = (m + v) / 2;
        }
        out[start + j] = v;
      }
    });
    return out;
  }
  forEachSortedBlock(
    inputs,
    (tile, n, start, count) => {
      for (let j = 0, base = 0; j < count; j++, base += n) {
        out[start + j] = lo === hi ? tile[base + lo] : (tile[base + lo] + tile[base + hi]) / 2;
      }
    },
    hi + 1,
  );
  return out;
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
