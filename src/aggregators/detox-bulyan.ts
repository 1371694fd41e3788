/**
 * DETOX's Bulyan (Rajput et al. 2019, as in its code; docs/aggregators.md "detox-bulyan"): the same
 * repeated Krum selection and closest-to-median averaging as Bulyan, but with theta = G - f - 2
 * selected and beta = theta - 2f averaged (G = number of inputs, the group outputs). Requires
 * beta >= 1, i.e. n >= 3f + 3. Cost O(n^2 d). Offered under its own name so a comparison states
 * which Bulyan it ran.
 */
import { bulyanWith } from './bulyan.js';
import type { Aggregator, AggregatorDef } from './types.js';

export function createDetoxBulyan(): Aggregator {
  return {
    name: 'detox-bulyan',
    description:
      "DETOX's Bulyan: theta = n-f-2 by repeated Krum, beta = theta-2f closest to the median; n >= 3f+3; O(n^2 d)",
    precondition(n, f) {
      return n >= 3 * f + 3 ? null : `detox-bulyan needs n >= 3f + 3 (n = ${n}, f = ${f}: n >= ${3 * f + 3})`;
    },
    aggregate(inputs, ctx) {
      const theta = inputs.length - ctx.f - 2;
      return bulyanWith(inputs, ctx.f, theta, theta - 2 * ctx.f, ctx.info);
    },
  };
}

export const detoxBulyanDef: AggregatorDef = {
  name: 'detox-bulyan',
  description: createDetoxBulyan().description,
  defaults: {},
  create: () => createDetoxBulyan(),
};
