/**
 * Multi-Krum (docs/aggregators.md "Multi-Krum"): score every input as Krum does
 * (n - f - 2 nearest; with `byzfl`, n - f - 1), average the m lowest-score inputs (ties: lowest
 * index); default m = n - f. Requires n >= 2f + 3 (byzfl: n > 2f) and 1 <= m <= n. Cost O(n^2 d).
 */
import { UsageError } from '../core/errors.js';
import { AUTO, isAuto } from '../core/spec.js';
import type { Vec } from '../core/vec.js';
import { krumScores, orderByScore, pairwiseSqDistances } from './distances.js';
import { krumConvention } from './krum.js';
import { meanOf } from './mean.js';
import type { AggregateInfo, AggregatorDef } from './types.js';

export function multiKrum(
  inputs: readonly Vec[],
  f: number,
  m: number,
  info?: AggregateInfo,
  k = inputs.length - f - 2,
): Float64Array {
  const n = inputs.length;
  const D = pairwiseSqDistances(inputs);
  const scores = krumScores(
    D,
    n,
    Array.from({ length: n }, (_, i) => i),
    k,
  );
  const selected = orderByScore(scores).slice(0, m);
  if (info) {
    info.selected = selected;
    info.scores = scores;
  }
  return meanOf(selected.map((i) => inputs[i]));
}

export const multiKrumDef: AggregatorDef = {
  name: 'multi-krum',
  description:
    'average of the m inputs with the lowest Krum scores (default m = n - f); n >= 2f+3 (multi-krum:byzfl: n-f-1 neighbours, n > 2f); O(n^2 d)',
  defaults: { m: AUTO, byzfl: 0 },
  create(params) {
    const mp = params.m;
    const c = krumConvention(params.byzfl, 'multi-krum');
    if (!isAuto(mp) && !(Number.isInteger(mp) && mp >= 1)) {
      throw new UsageError(`multi-krum: m must be a positive integer (default: m = n - f), got ${mp}`);
    }
    const mOf = (n: number, f: number) => (isAuto(mp) ? n - f : mp);
    return {
      name: 'multi-krum',
      description: multiKrumDef.description,
      precondition(n, f) {
        const k = c.precondition('multi-krum', n, f);
        if (k) return k;
        const m = mOf(n, f);
        return m <= n ? null : `multi-krum needs m <= n (n = ${n}, f = ${f}, m = ${m})`;
      },
      aggregate: (inputs, ctx) =>
        multiKrum(inputs, ctx.f, mOf(inputs.length, ctx.f), ctx.info, c.neighbours(inputs.length, ctx.f)),
    };
  },
};
