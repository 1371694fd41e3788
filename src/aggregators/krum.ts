/**
 * Krum (Blanchard et al. 2017; docs/aggregators.md "Krum"): score(i) = sum of the squared distances
 * from x_i to its n - f - 2 nearest other inputs; output the input with the lowest score
 * (ties: lowest index). Requires n >= 2f + 3. With the `byzfl` switch, ByzFL's convention: the
 * n - f - 1 nearest, n > 2f. Cost O(n^2 d) for the distance matrix (distances.ts; for large float32
 * inputs its screen, screen.ts, with the same winner), O(n^2 log n) for the scores.
 */
import { UsageError } from '../core/errors.js';
import type { Vec } from '../core/vec.js';
import { krumScores, orderByScore, pairwiseSqDistances } from './distances.js';
import { distanceScreen, screenedKrumOrder } from './screen.js';
import type { AggregateInfo, Aggregator, AggregatorDef } from './types.js';

/**
 * Krum's neighbour count and bound: Blanchard et al.'s n - f - 2 with n >= 2f + 3, or ByzFL's
 * n - f - 1 with n > 2f (docs/aggregators.md "Krum").
 */
export interface KrumConvention {
  neighbours(n: number, f: number): number;
  precondition(rule: string, n: number, f: number): string | null;
}

export function krumConvention(byzfl: number, rule: string): KrumConvention {
  if (byzfl !== 0 && byzfl !== 1) throw new UsageError(`${rule}: byzfl is a switch, 0 or 1 (got ${byzfl})`);
  return byzfl === 1
    ? {
        neighbours: (n, f) => n - f - 1,
        precondition: (r, n, f) =>
          n > 2 * f ? null : `${r} needs n > 2f (n = ${n}, f = ${f}: n >= ${2 * f + 1})`,
      }
    : { neighbours: (n, f) => n - f - 2, precondition: krumPrecondition };
}

export function krumPrecondition(rule: string, n: number, f: number): string | null {
  return n >= 2 * f + 3 ? null : `${rule} needs n >= 2f + 3 (n = ${n}, f = ${f}: n >= ${2 * f + 3})`;
}

/**
 * Index of the Krum winner among `inputs`, with the scores (by input index). Without `D`, through
 * the distance screen where it applies: the same winner; the scores of inputs the screen ruled
 * out without exact distances are then its estimates (docs/aggregators.md "Screened selection").
 */
export function krumSelect(
  inputs: readonly Vec[],
  f: number,
  D?: Float64Array,
  k = inputs.length - f - 2,
): { winner: number; scores: number[] } {
  const n = inputs.length;
  const all = Array.from({ length: n }, (_, i) => i);
  const screen = D === undefined ? distanceScreen(inputs) : null;
  if (screen !== null) {
    const { order, scores } = screenedKrumOrder(screen, all, k, 1);
    return { winner: order[0], scores: scores.report() };
  }
  const scores = krumScores(D ?? pairwiseSqDistances(inputs), n, all, k);
  return { winner: orderByScore(scores)[0], scores };
}

export function krum(
  inputs: readonly Vec[],
  f: number,
  info?: AggregateInfo,
  k = inputs.length - f - 2,
): Float64Array {
  const { winner, scores } = krumSelect(inputs, f, undefined, k);
  if (info) {
    info.selected = [winner];
    info.scores = scores;
  }
  return Float64Array.from(inputs[winner]);
}

export function createKrum(byzfl = 0): Aggregator {
  const c = krumConvention(byzfl, 'krum');
  return {
    name: 'krum',
    description:
      'the input with the least sum of squared distances to its n-f-2 nearest others; n >= 2f+3 (krum:byzfl: n-f-1, n > 2f); O(n^2 d)',
    precondition: (n, f) => c.precondition('krum', n, f),
    aggregate: (inputs, ctx) => krum(inputs, ctx.f, ctx.info, c.neighbours(inputs.length, ctx.f)),
  };
}

export const krumDef: AggregatorDef = {
  name: 'krum',
  description: createKrum().description,
  defaults: { byzfl: 0 },
  create: ({ byzfl }) => createKrum(byzfl),
};
