/**
 * MoNNA (Farhadkhani et al., ICML 2023; docs/aggregators.md "MoNNA"): the mean of the n - f
 * inputs nearest to one trusted input, `idx` (itself included, at distance 0; ties: lower index).
 * Made for peer-to-peer learning, where a node trusts its own vector; at a parameter server no
 * input is trusted, so `idx` is whoever the user names (default 0). Requires n > 2f and idx < n.
 * Cost O(nd): distances to one input, then one mean.
 */
import { UsageError } from '../core/errors.js';
import type { Vec } from '../core/vec.js';
import { sqDistanceBlock } from './distances.js';
import { assertFinite } from './finite.js';
import { meanOf } from './mean.js';
import type { AggregateInfo, AggregatorDef } from './types.js';

export function monna(inputs: readonly Vec[], f: number, idx: number, info?: AggregateInfo): Float64Array {
  const n = inputs.length;
  const anchor = inputs[idx];
  const dist = inputs.map((x) => sqDistanceBlock(anchor, x, 0, x.length));
  if (!dist.every((v) => v <= Number.MAX_VALUE)) assertFinite(inputs);
  const selected = Array.from({ length: n }, (_, i) => i)
    .sort((a, b) => dist[a] - dist[b] || a - b)
    .slice(0, n - f);
  if (info) info.selected = selected;
  return meanOf(selected.map((i) => inputs[i]));
}

export const monnaDef: AggregatorDef = {
  name: 'monna',
  description: 'mean of the n-f inputs nearest to input idx (a trusted one; default 0); n > 2f; O(nd)',
  defaults: { idx: 0 },
  create(params) {
    const idx = params.idx;
    if (!(Number.isInteger(idx) && idx >= 0))
      throw new UsageError(`monna: idx must be a non-negative integer (the trusted input), got ${idx}`);
    return {
      name: 'monna',
      description: monnaDef.description,
      precondition(n, f) {
        if (!(n > 2 * f)) return `monna needs n > 2f (n = ${n}, f = ${f}: n >= ${2 * f + 1})`;
        return idx < n ? null : `monna: idx = ${idx} names no input (n = ${n})`;
      },
      aggregate: (inputs, ctx) => monna(inputs, ctx.f, idx, ctx.info),
    };
  },
};
