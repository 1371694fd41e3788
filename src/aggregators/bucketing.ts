/**
 * Bucketing (Karimireddy, He & Jaggi 2022; docs/aggregators.md "Bucketing"): shuffle the inputs
 * with the step's seeded rng, cut them into ceil(n / b) buckets of b consecutive inputs
 * (the last may be smaller) and hand the bucket means to the rule, with the same f
 * (each Byzantine input taints at most one bucket). Cost O(nd).
 */
import { UsageError } from '../core/errors.js';
import type { Vec } from '../core/vec.js';
import { meanOf } from './mean.js';
import type { PreAggregatorDef } from './types.js';

export const bucketingDef: PreAggregatorDef = {
  name: 'bucketing',
  description: 'shuffle, average buckets of b inputs, then the rule on the ceil(n/b) bucket means; O(nd)',
  defaults: { b: 2 },
  create(params) {
    const b = params.b;
    if (!Number.isInteger(b) || b < 1)
      throw new UsageError(`bucketing: b must be a positive integer (got ${b})`);
    return {
      name: `bucketing:b=${b}`,
      outputCount: (n) => Math.ceil(n / b),
      precondition: (n) => (n >= 1 ? null : `bucketing needs at least one input (n = ${n})`),
      apply(inputs, ctx) {
        const order = ctx.rng.permutation(inputs.length);
        const out: Vec[] = [];
        for (let s = 0; s < order.length; s += b) {
          out.push(meanOf(Array.from(order.subarray(s, Math.min(order.length, s + b)), (i) => inputs[i])));
        }
        return out;
      },
    };
  },
};
