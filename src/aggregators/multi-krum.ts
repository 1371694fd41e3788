/**
 * Multi-Krum (docs/aggregators.md "Multi-Krum"): score every input as Krum does
 * (n - f - 2 nearest), average the m lowest-score inputs (ties: lowest index); default m = n - f.
 * Requires n >= 2f + 3 and 1 <= m <= n. Cost O(n^2 d).
 */
import { UsageError } from '../core/errors.js';
import { AUTO, isAuto } from '../core/spec.js';
import type { Vec } from '../core/vec.js';
import { krumScores, orderByScore, pairwiseSqDistances } from './distances.js';
import { krumPrecondition } from './krum.js';
import { meanOf } from './mean.js';
import type { AggregateInfo, AggregatorDef } from './types.js';

export function multiKrum(inputs: readonly Vec[], f: number, m: number, info?: AggregateInfo): Float64Array {
  const n = inputs.length;
  const D = pairwiseSqDistances(inputs);
  const scores = krumScores(
    D,
    n,
    Array.from({ length: n }, (_, i) => i),
    n - f - 2,
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
  description: 'average of the m inputs with the lowest Krum scores (default m = n - f); n >= 2f+3; O(n^2 d)',
  defaults: { m: AUTO },
  create(params) {
    const mp = params.m;
    if (!isAuto(mp) && !(Number.isInteger(mp) && mp >= 1)) {
      throw new UsageError(`multi-krum: m must be a positive integer (default: m = n - f), got ${mp}`);
    }
    const mOf = (n: number, f: number) => (isAuto(mp) ? n - f : mp);
    return {
      name: 'multi-krum',
      description: multiKrumDef.description,
      precondition(n, f) {
        const k = krumPrecondition('multi-krum', n, f);
        if (k) return k;
        const m = mOf(n, f);
        return m <= n ? null : `multi-krum needs m <= n (n = ${n}, f = ${f}, m = ${m})`;
      },
      aggregate: (inputs, ctx) => multiKrum(inputs, ctx.f, mOf(inputs.length, ctx.f), ctx.info),
    };
  },
};
