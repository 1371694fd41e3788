/**
 * Meamed, the mean around the median (Xie, Koyejo and Gupta 2018; docs/aggregators.md "Meamed"):
 * per coordinate, the mean of the n - f values closest to the coordinate median (ties: the
 * smaller value). Bulyan's coordinate stage over all n inputs with beta = n - f. Requires n > 2f.
 * Cost O(nd) compares (a selection network for float32, n <= 40; quickselect above).
 */
import type { Vec } from '../core/vec.js';
import { closestToMedianMean } from './bulyan.js';
import type { AggregatorDef } from './types.js';

export function meamed(inputs: readonly Vec[], f: number): Float64Array {
  return closestToMedianMean(inputs, inputs.length - f);
}

export const meamedDef: AggregatorDef = {
  name: 'meamed',
  description: 'per coordinate the mean of the n-f values closest to the median; n > 2f; O(nd)',
  defaults: {},
  create() {
    return {
      name: 'meamed',
      description: meamedDef.description,
      precondition: (n, f) =>
        n > 2 * f ? null : `meamed needs n > 2f (n = ${n}, f = ${f}: n >= ${2 * f + 1})`,
      aggregate: (inputs, ctx) => meamed(inputs, ctx.f),
    };
  },
};
