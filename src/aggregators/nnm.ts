/**
 * Nearest-neighbour mixing (Allouah et al. 2023; docs/aggregators.md "NNM"): replace each x_i with
 * the mean of its n - f nearest inputs, itself included (ties: lower index), then the rule.
 * One pairwise distance matrix (distances.ts; for large float32 inputs its screen, screen.ts, with
 * the same neighbours in the same order). Requires n > f. Cost O(n^2 d).
 */
import type { Vec } from '../core/vec.js';
import { pairwiseSqDistances } from './distances.js';
import { distanceScreen, screenedNearest } from './screen.js';
import { meanOf } from './mean.js';
import type { PreAggregatorDef } from './types.js';

export function nearestNeighbourMixing(inputs: readonly Vec[], f: number): Vec[] {
  const n = inputs.length;
  const k = n - f;
  const screen = distanceScreen(inputs);
  if (screen !== null) {
    return screenedNearest(screen, k - 1).map((near, i) => meanOf([i, ...near].map((j) => inputs[j])));
  }
  const D = pairwiseSqDistances(inputs);
  return inputs.map((_, i) => {
    const others = Array.from({ length: n }, (_, j) => j)
      .filter((j) => j !== i)
      .sort((a, b) => D[i * n + a] - D[i * n + b] || a - b);
    const chosen = [i, ...others.slice(0, k - 1)];
    return meanOf(chosen.map((j) => inputs[j]));
  });
}

export const nnmDef: PreAggregatorDef = {
  name: 'nnm',
  description:
    'replace each input by the mean of its n-f nearest inputs (itself included), then the rule; O(n^2 d)',
  defaults: {},
  create() {
    return {
      name: 'nnm',
      outputCount: (n) => n,
      precondition: (n, f) => (n > f ? null : `nnm needs n > f (n = ${n}, f = ${f}: n >= ${f + 1})`),
      apply: (inputs, ctx) => nearestNeighbourMixing(inputs, ctx.f),
    };
  },
};
