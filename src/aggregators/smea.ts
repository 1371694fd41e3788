/**
 * SMEA, smallest maximum eigenvalue averaging (Allouah, Guerraoui, Gupta, Pinot and Stephan, "On
 * the Privacy-Robustness-Utility Trilemma in Distributed Learning", ICML 2023; docs/aggregators.md
 * "SMEA"): the mean of the n - f inputs whose covariance (1/|S|) sum_S (x_i - mu_S)(x_i - mu_S)^T
 * has the least largest eigenvalue, over every subset S of n - f inputs. Ties (within a relative
 * TIE, below which rounding cannot tell eigenvalues apart): the first subset in lexicographic order
 * of sorted indices (itertools.combinations order). Requires n > 2f and smeaWork(n, f) <= MAX_WORK
 * (every n <= 20; larger n for small f).
 *
 * lambda_max of a subset's covariance is that of its |S| x |S| centered Gram matrix (gram.ts, from
 * the distance matrix) over |S|: exact (Householder + Sturm bisection, symeig.ts), no d-length
 * work per subset. A subset whose cheap lower bound (largest diagonal entry, trace / rank) already
 * exceeds the best so far is skipped, and so is one whose Cholesky test shows it (1/3 m^3 flops
 * at most, usually far less). Cost: the O(n^2 d) distance matrix, then O(C(n, f) (n - f)^3) at
 * worst.
 */
import { maxEigenvalueBelow, symMaxEigenvalue } from '../core/symeig.js';
import type { Vec } from '../core/vec.js';
import { pairwiseSqDistances } from './distances.js';
import { centeredGram } from './gram.js';
import { meanOf } from './mean.js';
import type { AggregateInfo, AggregatorDef } from './types.js';

/**
 * Most work one call may take, in units of C(n, f) max(n - f, 16)^3: the worst case (every subset
 * needing its exact eigenvalue) costs ~2-2.6 ns a unit measured from n - f = 11 to 26, so this is
 * ~1.5-1.8 s; typical inputs take a fifth of that (docs/aggregators.md "SMEA"). Every n <= 20 fits
 * (the most is C(20, 9) 16^3 = 6.9e8).
 */
export const MAX_WORK = 7e8;

/** SMEA's cost in MAX_WORK's units: subsets times a subset's cubic cost (flat below 16 inputs). */
export function smeaWork(n: number, f: number): number {
  return binomial(n, f) * Math.max(n - f, 16) ** 3;
}

/**
 * Relative width within which two subsets' eigenvalues count as equal (the first wins). Rounding
 * errs by about eps m^3 relative (entries err by eps max D_ij, and lambda_max >= max D_ij /
 * (m (m - 1))): ~2e-12 at m = 20, well inside.
 */
const TIE = 1e-9;

/** C(n, k) as a float (exact below 2^53). */
export function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return Math.round(r);
}

/**
 * Indices (ascending) of the n - f inputs SMEA averages, from the n x n squared distances `D` of
 * inputs of length `d` (the rank of a subset's covariance is at most min(n - f - 1, d)).
 */
export function smeaSubset(D: Float64Array, n: number, f: number, d: number, info?: AggregateInfo): number[] {
  const m = n - f;
  const rank = Math.max(1, Math.min(m - 1, d));
  const S = Array.from({ length: m }, (_, i) => i);
  const B = new Float64Array(m * m);
  const L = new Float64Array(m * m);
  let best = Infinity;
  // Every subset evaluated within TIE of the best so far: the answer is the first of them within
  // TIE of the final minimum (which is at most every earlier best).
  const candidates: { lambda: number; subset: number[] }[] = [];
  for (;;) {
    centeredGram(D, n, S, undefined, B);
    let trace = 0;
    let maxDiag = 0;
    for (let a = 0; a < m; a++) {
      trace += B[a * m + a];
      maxDiag = Math.max(maxDiag, B[a * m + a]);
    }
    // lambda_max >= every diagonal entry (a Rayleigh quotient) and >= trace / rank.
    const lower = Math.max(maxDiag, trace / rank) / m;
    // Only a subset whose lambda_max may be below cut can be a candidate: the cheap bounds, then
    // a Cholesky test (a quarter of the exact eigenvalue's cost), then the exact eigenvalue.
    const cut = best * (1 + 2 * TIE);
    if (!(lower > cut) && (best === Infinity || maxEigenvalueBelow(B, m, cut * m, L))) {
      const lambda = symMaxEigenvalue(B, m) / m;
      if (lambda <= best * (1 + TIE)) candidates.push({ lambda, subset: [...S] });
      best = Math.min(best, lambda);
    }
    // Next combination in lexicographic order.
    let k = m - 1;
    while (k >= 0 && S[k] === n - m + k) k--;
    if (k < 0) break;
    S[k]++;
    for (let j = k + 1; j < m; j++) S[j] = S[j - 1] + 1;
  }
  // No candidate only when every eigenvalue is NaN (finite inputs beyond ~1e154 overflow D).
  const chosen =
    candidates.find((c) => c.lambda <= best * (1 + TIE))?.subset ?? Array.from({ length: m }, (_, i) => i);
  if (info) info.selected = chosen;
  return chosen;
}

export function smea(
  inputs: readonly Vec[],
  f: number,
  info?: AggregateInfo,
  out?: Float64Array,
): Float64Array {
  const n = inputs.length;
  if (f === 0) {
    if (info) info.selected = Array.from({ length: n }, (_, i) => i);
    return meanOf(inputs, undefined, out);
  }
  const S = smeaSubset(pairwiseSqDistances(inputs), n, f, inputs[0].length, info);
  return meanOf(
    S.map((i) => inputs[i]),
    undefined,
    out,
  );
}

export const smeaDef: AggregatorDef = {
  name: 'smea',
  description:
    'mean of the n-f inputs whose covariance has the least top eigenvalue (all subsets); n > 2f, C(n,f) (n-f)^3 bounded; O(n^2 d + C(n,f) (n-f)^3)',
  defaults: {},
  create() {
    return {
      name: 'smea',
      description: smeaDef.description,
      precondition(n, f) {
        if (!(n > 2 * f)) return `smea needs n > 2f (n = ${n}, f = ${f}: n >= ${2 * f + 1})`;
        const work = smeaWork(n, f);
        if (work <= MAX_WORK) return null;
        return `smea: C(${n}, ${f}) = ${binomial(n, f)} subsets of ${n - f} is too many (work C(n,f) max(n-f,16)^3 = ${work.toPrecision(2)} > ${MAX_WORK.toPrecision(1)}, about 1.5 s)`;
      },
      aggregate: (inputs, ctx) => smea(inputs, ctx.f, ctx.info, ctx.out),
    };
  },
};
