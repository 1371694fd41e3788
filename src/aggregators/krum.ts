/**
 * Krum (Blanchard et al. 2017; docs/aggregators.md "Krum"): score(i) = sum of the squared distances
 * from x_i to its n - f - 2 nearest other inputs; output the input with the lowest score
 * (ties: lowest index). Requires n >= 2f + 3. Cost O(n^2 d) for the distance matrix (distances.ts),
 * O(n^2 log n) for the scores.
 */
import type { Vec } from '../core/vec.js';
import { krumScores, orderByScore, pairwiseSqDistances } from './distances.js';
import type { AggregateInfo, Aggregator, AggregatorDef } from './types.js';

export function krumPrecondition(rule: string, n: number, f: number): string | null {
  return n >= 2 * f + 3 ? null : `${rule} needs n >= 2f + 3 (n = ${n}, f = ${f}: n >= ${2 * f + 3})`;
}

/** Index of the Krum winner among `inputs`, with the scores (by input index). */
export function krumSelect(
  inputs: readonly Vec[],
  f: number,
  D = pairwiseSqDistances(inputs),
): { winner: number; scores: number[] } {
  const n = inputs.length;
  const all = Array.from({ length: n }, (_, i) => i);
  const scores = krumScores(D, n, all, n - f - 2);
  return { winner: orderByScore(scores)[0], scores };
}

export function krum(inputs: readonly Vec[], f: number, info?: AggregateInfo): Float64Array {
  const { winner, scores } = krumSelect(inputs, f);
  if (info) {
    info.selected = [winner];
    info.scores = scores;
  }
  return Float64Array.from(inputs[winner]);
}

export function createKrum(): Aggregator {
  return {
    name: 'krum',
    description:
      'the input with the least sum of squared distances to its n-f-2 nearest others; n >= 2f+3; O(n^2 d)',
    precondition: (n, f) => krumPrecondition('krum', n, f),
    aggregate: (inputs, ctx) => krum(inputs, ctx.f, ctx.info),
  };
}

export const krumDef: AggregatorDef = {
  name: 'krum',
  description: createKrum().description,
  defaults: {},
  create: () => createKrum(),
};
