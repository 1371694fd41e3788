/**
 * Static clipping (ByzFL `Clipping`; docs/aggregators.md "Clipping"): every input whose l2 norm
 * exceeds c is scaled down to norm c, then the rule. Default c = 2 (ByzFL's). Cost O(nd).
 */
import { UsageError } from '../core/errors.js';
import { norm2, type Vec } from '../core/vec.js';
import { assertFinite } from './finite.js';
import type { PreAggregatorDef } from './types.js';

/** x scaled to norm `to` when its norm `norm` is above it; else x itself (read-only). */
export function clipTo(x: Vec, norm: number, to: number): Vec {
  if (!(norm > to)) return x;
  const out = new Float64Array(x.length);
  const k = to / norm;
  for (let i = 0; i < x.length; i++) out[i] = x[i] * k;
  return out;
}

/** The inputs' norms; a non-finite one means a non-finite input (NonFiniteInputError). */
export function norms(inputs: readonly Vec[]): number[] {
  const ns = inputs.map(norm2);
  if (!ns.every((v) => v <= Number.MAX_VALUE)) assertFinite(inputs);
  return ns;
}

export const clippingDef: PreAggregatorDef = {
  name: 'clipping',
  description: 'scale every input with l2 norm above c down to norm c (default c = 2), then the rule; O(nd)',
  defaults: { c: 2 },
  create(params) {
    const c = params.c;
    if (!(Number.isFinite(c) && c >= 0))
      throw new UsageError(`clipping: c must be a finite number >= 0 (got ${c})`);
    return {
      name: `clipping:c=${c}`,
      outputCount: (n) => n,
      precondition: (n) => (n >= 1 ? null : `clipping needs at least one input (n = ${n})`),
      apply(inputs) {
        const ns = norms(inputs);
        return inputs.map((x, i) => clipTo(x, ns[i], c));
      },
    };
  },
};
