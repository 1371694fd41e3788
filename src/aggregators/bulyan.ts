/**
 * Bulyan (El Mhamdi et al. 2018; docs/aggregators.md "Bulyan"): select theta = n - 2f inputs by
 * repeated Krum (score the remaining set with neighbour count remaining - f - 2, move the winner to
 * the selection, repeat), then per coordinate average the beta = theta - 2f selected values closest
 * to the coordinate median of the selection. Requires n >= 4f + 3. One distance matrix serves every
 * Krum round (for large float32 inputs its screen, screen.ts: the same selection). Cost O(n^2 d) +
 * O(theta^2 d) compares.
 *
 * `bulyanWith(theta, beta)` is shared with DETOX's variant (detox-bulyan.ts).
 */
import type { Vec } from '../core/vec.js';
import {
  forEachColumnBlock,
  forEachRankBlock,
  forEachSortedBlock,
  SELECT_ABOVE,
  selectInPlace,
  sortSmallest,
} from './columns.js';
import { krumScores, orderByScore, pairwiseSqDistances } from './distances.js';
import { distanceScreen, screenedRepeatedKrum } from './screen.js';
import type { AggregateInfo, Aggregator, AggregatorDef } from './types.js';

/** Repeated Krum on one distance matrix: `theta` indices in selection order. */
export function repeatedKrum(D: Float64Array, n: number, f: number, theta: number): number[] {
  const remaining = Array.from({ length: n }, (_, i) => i);
  const selected: number[] = [];
  while (selected.length < theta) {
    const scores = krumScores(D, n, remaining, remaining.length - f - 2);
    const pos = orderByScore(scores)[0];
    selected.push(remaining[pos]);
    remaining.splice(pos, 1);
  }
  return selected;
}

/**
 * Per coordinate, the mean of the `beta` values of `sel` closest to their median (ties: the
 * smaller value). The closest values form a contiguous run of the sorted column, grown from the
 * median outwards, so only ranks lo - beta + 1 .. lo + beta are ever read: for float32 a selection
 * network sorts just those (columns.ts forEachRankBlock); otherwise, above SELECT_ABOVE values,
 * quickselect isolates them, and below it each column is sorted.
 */
export function closestToMedianMean(sel: readonly Vec[], beta: number): Float64Array {
  const d = sel[0].length;
  const out = new Float64Array(d);
  const t = sel.length;
  const lo = (t - 1) >> 1;
  const wlo = Math.max(0, lo - beta + 1);
  const whi = Math.min(t - 1, lo + beta);
  const inv = 1 / beta;
  const networked =
    beta >= 1 &&
    forEachRankBlock(sel, wlo, whi, (vals, m, start, count) => {
      // vals[base + r] is rank r (r in [wlo, whi]) of coordinate start + j.
      for (let j = 0, base = -wlo; j < count; j++, base += m) {
        out[start + j] = closestSum(vals, base, t, beta) * inv;
      }
    });
  if (networked) return out;
  if (t > SELECT_ABOVE) {
    // Only the window of ranks wlo..whi is read: two quickselects bound it, a short insertion sort
    // orders it (O(t) per column instead of sorting t values).
    forEachColumnBlock(sel, (tile, n, start, count) => {
      for (let j = 0, base = 0; j < count; j++, base += n) {
        selectInPlace(tile, base, base + n - 1, base + wlo);
        if (whi > wlo) selectInPlace(tile, base + wlo + 1, base + n - 1, base + whi);
        sortSmallest(tile, base + wlo, whi - wlo + 1, whi - wlo + 1);
        out[start + j] = closestSum(tile, base, t, beta) * inv;
      }
    });
    return out;
  }
  forEachSortedBlock(sel, (tile, n, start, count) => {
    for (let j = 0, base = 0; j < count; j++, base += n)
      out[start + j] = closestSum(tile, base, t, beta) * inv;
  });
  return out;
}

/**
 * Sum of the `beta` values closest to the median in the sorted column whose rank r is
 * `a[base + r]` (r < t; ranks outside lo - beta + 1 .. lo + beta are never read).
 *
 * Taking them one by one from the median outward (the nearer of the next lower and next higher
 * value, the lower on a tie) takes a window of consecutive ranks, `tl` below the median's upper
 * neighbour and `beta - tl` from it up: the walk is the merge of two lists sorted by distance, so
 * `tl` is the one count whose last value taken on each side comes before the first value left on
 * the other. Finding it is a scan of the few possible counts instead of `beta` branchy steps;
 * the window is then summed in rank order.
 */
function closestSum(a: Float32Array | Float64Array, base: number, t: number, beta: number): number {
  const lo = (t - 1) >> 1;
  const hi = t >> 1;
  const med = (a[base + lo] + a[base + hi]) / 2;
  const nl = lo + 1; // candidates at or below rank lo
  const nr = t - nl;
  let tl = Math.min(nl, beta);
  for (let k = Math.max(0, beta - nr); k < tl; k++) {
    const tr = beta - k;
    // k lefts and tr rights: the last right taken (rank lo + tr) must precede the first left left
    // out (rank lo - k), strictly (a tie goes left); the last left taken, if any, must precede the
    // first right left out (rank lo + 1 + tr), which holds for the first k passing the first test.
    if (tr === 0 || a[base + lo + tr] - med < med - a[base + lo - k]) {
      tl = k;
      break;
    }
  }
  let s = 0;
  for (let r = base + lo - tl + 1, end = r + beta; r < end; r++) s += a[r];
  return s;
}

export function bulyanWith(
  inputs: readonly Vec[],
  f: number,
  theta: number,
  beta: number,
  info?: AggregateInfo,
): Float64Array {
  const n = inputs.length;
  const screen = distanceScreen(inputs);
  const selected =
    screen !== null
      ? screenedRepeatedKrum(screen, f, theta)
      : repeatedKrum(pairwiseSqDistances(inputs), n, f, theta);
  if (info) info.selected = selected;
  return closestToMedianMean(
    selected.map((i) => inputs[i]),
    beta,
  );
}

export function createBulyan(): Aggregator {
  return {
    name: 'bulyan',
    description:
      'theta = n-2f inputs by repeated Krum, then per coordinate the mean of the beta = theta-2f closest to the median; n >= 4f+3; O(n^2 d)',
    precondition(n, f) {
      return n >= 4 * f + 3 ? null : `bulyan needs n >= 4f + 3 (n = ${n}, f = ${f}: n >= ${4 * f + 3})`;
    },
    aggregate(inputs, ctx) {
      const theta = inputs.length - 2 * ctx.f;
      return bulyanWith(inputs, ctx.f, theta, theta - 2 * ctx.f, ctx.info);
    },
  };
}

export const bulyanDef: AggregatorDef = {
  name: 'bulyan',
  description: createBulyan().description,
  defaults: {},
  create: () => createBulyan(),
};
