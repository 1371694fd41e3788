/**
 * Clipping (ByzFL `Clipping`; docs/aggregators.md "Clipping"): every input whose l2 norm exceeds
 * a threshold is scaled down to it, then the rule. Static: the threshold is c (default 2,
 * ByzFL's). Adaptive (`q` in (0, 1]): the q-quantile of this call's input norms (linear
 * interpolation between order statistics, numpy's default; q = 0.5 is the median SignGuard
 * clips to), so it follows the gradients' scale without a unit to tune. Cost O(nd).
 */
import { UsageError } from '../core/errors.js';
import { quantile } from '../core/stats.js';
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
  description:
    'scale every input with l2 norm above c down to norm c (default c = 2), or with q in (0, 1] above the q-quantile of the norms (adaptive), then the rule; O(nd)',
  defaults: { c: 2, q: 0 },
  create(params) {
    const { c, q } = params;
    if (!(Number.isFinite(c) && c >= 0))
      throw new UsageError(`clipping: c must be a finite number >= 0 (got ${c})`);
    if (!(q >= 0 && q <= 1))
      throw new UsageError(`clipping: q must be in (0, 1], or 0 for static c (got ${q})`);
    const adaptive = q > 0;
    return {
      name: adaptive ? `clipping:q=${q}` : `clipping:c=${c}`,
      outputCount: (n) => n,
      precondition: (n) => (n >= 1 ? null : `clipping needs at least one input (n = ${n})`),
      apply(inputs) {
        const ns = norms(inputs);
        const to = adaptive ? quantile(ns, q) : c;
        return inputs.map((x, i) => clipTo(x, ns[i], to));
      },
    };
  },
};
