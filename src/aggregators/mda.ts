/**
 * Minimum Diameter Averaging (El Mhamdi et al., PODC 2020; docs/aggregators.md "MDA"): the mean
 * of the n - f inputs whose subset has the smallest diameter (largest pairwise distance). Ties:
 * the subset that comes first in lexicographic order of its sorted indices (the order
 * `itertools.combinations` enumerates, as ByzFL's exhaustive search takes the first minimum).
 * Requires n > 2f.
 *
 * Not by enumerating the C(n, f) subsets: "some n - f inputs have diameter <= t" means "removing
 * at most f inputs removes every pair farther apart than t", a vertex cover of size <= f in the
 * graph of those pairs, which a depth-f branching decides in O(2^f n^2). The smallest feasible t
 * is found by bisection over the sorted pairwise distances; the tie rule by deciding, input by
 * input in index order, whether it can be kept. Cost: the O(n^2 d) distance matrix, then
 * O(2^f n^2 log n) (f up to ~20 stays well under the matrix for the sizes in use).
 */
import type { Vec } from '../core/vec.js';
import { pairwiseSqDistances } from './distances.js';
import { meanOf } from './mean.js';
import type { AggregateInfo, AggregatorDef } from './types.js';

/** Largest f the branching accepts (2^f leaves per decision). */
const MAX_F = 24;

/**
 * Can at most `budget` more inputs be removed so that no two kept inputs are farther apart than
 * `t` (squared), with `state[i]` 1 = must keep, -1 = removed, 0 = free?
 */
function coverable(D: Float64Array, n: number, t: number, state: Int8Array, budget: number): boolean {
  // The first pair of live inputs farther apart than t: one of the two must go.
  for (let i = 0; i < n; i++) {
    if (state[i] < 0) continue;
    for (let j = i + 1; j < n; j++) {
      if (state[j] < 0 || !(D[i * n + j] > t)) continue;
      if (budget === 0) return false;
      for (const r of [i, j]) {
        if (state[r] > 0) continue; // must keep
        state[r] = -1;
        const ok = coverable(D, n, t, state, budget - 1);
        state[r] = 0;
        if (ok) return true;
      }
      return false;
    }
  }
  return true;
}

/** Indices of the n - f inputs MDA averages, ascending. */
export function mdaSubset(D: Float64Array, n: number, f: number): number[] {
  const pairs: number[] = [];
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) pairs.push(D[i * n + j]);
  const cuts = [0, ...new Set(pairs)].sort((a, b) => a - b);
  const feasible = (t: number, state = new Int8Array(n)) => coverable(D, n, t, state, f - removed(state));
  // Smallest threshold some n - f inputs fit under (the largest one always does: nothing to cut).
  let lo = 0;
  let hi = cuts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (feasible(cuts[mid])) hi = mid;
    else lo = mid + 1;
  }
  const t = cuts[lo];
  // Lexicographically first such subset: keep each input in turn if the rest can still be fixed.
  const state = new Int8Array(n);
  for (let i = 0; i < n; i++) {
    state[i] = 1;
    if (!feasible(t, state)) state[i] = -1;
  }
  // More than n - f may be keepable (a smaller diameter spares more inputs): the first n - f.
  const kept: number[] = [];
  for (let i = 0; i < n && kept.length < n - f; i++) if (state[i] > 0) kept.push(i);
  return kept;
}

function removed(state: Int8Array): number {
  let r = 0;
  for (const s of state) if (s < 0) r++;
  return r;
}

export function mda(inputs: readonly Vec[], f: number, info?: AggregateInfo): Float64Array {
  const n = inputs.length;
  const selected = mdaSubset(pairwiseSqDistances(inputs), n, f);
  if (info) info.selected = selected;
  return meanOf(selected.map((i) => inputs[i]));
}

export const mdaDef: AggregatorDef = {
  name: 'mda',
  description: 'mean of the n-f inputs of smallest diameter; n > 2f, f <= 24; O(n^2 d + 2^f n^2 log n)',
  defaults: {},
  create() {
    return {
      name: 'mda',
      description: mdaDef.description,
      precondition(n, f) {
        if (!(n > 2 * f)) return `mda needs n > 2f (n = ${n}, f = ${f}: n >= ${2 * f + 1})`;
        return f <= MAX_F ? null : `mda searches subsets by branching on f: f = ${f} is above ${MAX_F}`;
      },
      aggregate: (inputs, ctx) => mda(inputs, ctx.f, ctx.info),
    };
  },
};
