/**
 * CAF, the covariance-bound agnostic filter (Allouah, Guerraoui and Stephan, "Towards Trustworthy
 * Federated Learning with Untrusted Participants", ICML 2025; docs/aggregators.md "CAF"): weights
 * c_i = 1; while sum c > n - 2f, take the top eigenpair (lambda, v) of the c-weighted covariance,
 * shrink each weight by c_i (1 - tau_i / max tau) with tau_i = ((x_i - mu_c).v)^2 (the max over
 * the inputs still weighted), and return the weighted mean at the iteration of least lambda.
 * Requires n > 2f.
 *
 * All in n-space: the weighted covariance Y^T W Y / sum c (Y the centered inputs, W = diag(c)) has
 * the nonzero eigenvalues of W^1/2 B W^1/2 / sum c, B = Y Y^T the centered Gram (gram.ts, from the
 * distance matrix), and with u its top eigenvector, (x_i - mu).v = (B W^1/2 u)_i / sqrt(lambda
 * sum c); the exact eigenpair (symeig.ts), not a power iteration. Every iteration zeroes the
 * weight of at least one input, so at most n. Cost: the O(n^2 d) distance matrix, O(n^3) per
 * iteration, one O(nd) weighted mean.
 */
import { symEig } from '../core/symeig.js';
import type { Vec } from '../core/vec.js';
import { pairwiseSqDistances } from './distances.js';
import { centeredGram } from './gram.js';
import { meanOf } from './mean.js';
import type { AggregateInfo, AggregatorDef } from './types.js';

/** CAF's final weights (summing to 1; the uniform ones when f = 0 and nothing is filtered). */
export function cafWeights(D: Float64Array, n: number, f: number, info?: AggregateInfo): Float64Array {
  const all = Array.from({ length: n }, (_, i) => i);
  const c = new Float64Array(n).fill(1);
  let best = new Float64Array(n).fill(1 / n);
  let bestLambda = Infinity;
  const w = new Float64Array(n);
  const root = new Float64Array(n);
  const M = new Float64Array(n * n);
  let iterations = 0;
  for (let total = n; total > n - 2 * f;) {
    iterations++;
    for (let i = 0; i < n; i++) {
      w[i] = c[i] / total;
      root[i] = Math.sqrt(w[i]);
    }
    const B = centeredGram(D, n, all, w);
    // Sigma_c = Y^T diag(w) Y shares its nonzero spectrum with diag(sqrt w) B diag(sqrt w).
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) M[i * n + j] = root[i] * B[i * n + j] * root[j];
    const { values, vectors } = symEig(M, n);
    const lambda = values[0];
    if (lambda < bestLambda) {
      bestLambda = lambda;
      best = Float64Array.from(w);
    }
    // z_i = sqrt(lambda) (x_i - mu).v; tau_i / tau_max = z_i^2 / z_max^2.
    const z = new Float64Array(n);
    let zmax2 = 0;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += B[i * n + j] * root[j] * vectors[j];
      z[i] = s;
      if (c[i] > 0) zmax2 = Math.max(zmax2, s * s);
    }
    // lambda = 0: the weighted inputs coincide, the current mean is exact (and the least lambda).
    if (!(lambda > 0 && zmax2 > 0)) break;
    total = 0;
    for (let i = 0; i < n; i++) {
      if (c[i] > 0) c[i] *= 1 - (z[i] * z[i]) / zmax2;
      total += c[i];
    }
  }
  if (info) {
    info.iterations = iterations;
    info.selected = all.filter((i) => best[i] > 0);
  }
  return best;
}

export function caf(
  inputs: readonly Vec[],
  f: number,
  info?: AggregateInfo,
  out?: Float64Array,
): Float64Array {
  const n = inputs.length;
  // f = 0: no filtering round (sum c = n is not above n), the mean.
  if (f === 0) {
    if (info) Object.assign(info, { iterations: 0, selected: Array.from({ length: n }, (_, i) => i) });
    return meanOf(inputs, undefined, out);
  }
  const w = cafWeights(pairwiseSqDistances(inputs), n, f, info);
  // Inputs of weight 0 are not read.
  const kept = Array.from({ length: n }, (_, i) => i).filter((i) => w[i] > 0);
  return meanOf(
    kept.map((i) => inputs[i]),
    kept.map((i) => w[i]),
    out,
  );
}

export const cafDef: AggregatorDef = {
  name: 'caf',
  description:
    'covariance-bound agnostic filter: down-weight along the top eigenvector of the weighted covariance; n > 2f; O(n^2 d + n^4)',
  defaults: {},
  create() {
    return {
      name: 'caf',
      description: cafDef.description,
      precondition: (n, f) => (n > 2 * f ? null : `caf needs n > 2f (n = ${n}, f = ${f}: n >= ${2 * f + 1})`),
      aggregate: (inputs, ctx) => caf(inputs, ctx.f, ctx.info, ctx.out),
    };
  },
};
