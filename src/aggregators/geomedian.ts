/**
 * Geometric median (spec "Aggregators"): `argmin_z sum_i ||z - x_i||` by smoothed Weiszfeld:
 * start at the mean; `w_i = 1 / max(nu, ||z - x_i||)`, `z <- sum w_i x_i / sum w_i`; stop after
 * `iters` updates or when `||z_new - z|| <= tol * ||z_new||` (tol = 0: never early). Requires
 * n > 2f (breakdown 1/2). Cost O(T nd) directly, O(n^2 d + T n^2) in coefficient space.
 *
 * Two exact-arithmetic-equivalent ways to run the same iteration:
 * - direct: each iteration is one pass over the inputs: per cache block of coordinates the new z
 *   is formed and, while the block's inputs are still in L2, the squared distances for the next
 *   weights are accumulated (the two steps of Weiszfeld fused). ~2nd flops per iteration.
 * - coefficient space: every iterate is `z = sum_j c_j x_j` with `sum_j c_j = 1` (the mean, then
 *   normalised weights), so with the pairwise squared distances `D` (one blocked O(n^2 d) pass,
 *   shared with Krum) everything the iteration needs is O(n^2):
 *     ||x_i - z||^2 = (Dc)_i - c'Dc / 2,   ||z - z'||^2 = -(c - c')'D(c - c') / 2,
 *     ||z||^2 = sum_j c_j ||x_j||^2 - c'Dc / 2,
 *   and only the final z touches d again. Using D rather than the Gram matrix keeps the common
 *   offset of the inputs out of the arithmetic (near-identical inputs lose nothing). What can
 *   still cancel is a distance much smaller than the distances it is formed from (z close to an
 *   input) and the stopping test sitting on its threshold: each is checked against a rounding
 *   bound and, when in doubt, the iteration continues directly from the last trusted iterate.
 * The route is chosen by cost (see `PAIR_COST`, `UPFRONT_PASSES`); both report the same
 * iteration count, and agree to ~1e-12 relative (tests: 1e-9).
 */
import { UsageError } from '../core/errors.js';
import type { Vec } from '../core/vec.js';
import { pairwiseSqDistances, sqDistanceRelError } from './distances.js';
import type { AggregateInfo, AggregatorDef } from './types.js';

const BLOCK = 2048;

/**
 * Time of one distance-matrix term (one coordinate of one pair) relative to one input coordinate
 * of a direct iteration (combine + distance): measured ~0.4 with float32 inputs (n = 15..63).
 */
const PAIR_COST = 0.4;

/**
 * In coefficient space a weight is trusted when the rounding bound on its distance perturbs it
 * by at most this much (relative); otherwise the direct iteration takes over.
 */
const WEIGHT_REL_TOL = 1e-9;

export interface WeiszfeldSettings {
  /** Maximum number of Weiszfeld updates. */
  iters: number;
  /** Relative tolerance on the step length. 0: always run `iters` updates. */
  tol: number;
  /** Smoothing: distances below nu count as nu (avoids division by zero at an input). */
  nu: number;
}

/** Smoothed Weiszfeld; `info.iterations` = updates made, `info.converged` = tolerance met. */
export function geometricMedian(
  inputs: readonly Vec[],
  s: WeiszfeldSettings,
  info?: AggregateInfo,
): Float64Array {
  const r = weiszfeld(inputs, s);
  if (info) {
    info.iterations = r.iterations;
    info.converged = r.converged;
  }
  return r.z;
}

export interface WeiszfeldResult {
  z: Float64Array;
  /** Weiszfeld updates made. */
  iterations: number;
  /** The relative tolerance was met (never when tol = 0). */
  converged: boolean;
  /** The routes taken in order, each with the iterate it started from. */
  phases: { route: 'direct' | 'coefficients'; from: number }[];
}

/**
 * Coefficient space is taken up front when it costs at most this many direct passes and the
 * tolerance may stop the iteration early (Weiszfeld from the mean often stops within ~4-20
 * updates); dearer, the direct iteration starts and hands over once its convergence rate predicts
 * more remaining passes than coefficient space costs.
 */
const UPFRONT_PASSES = 5;

/**
 * Smoothed Weiszfeld by the given route: 'auto' picks by cost; 'coefficients' starts there (and
 * still hands over to the direct iteration where a rounding bound says so); 'direct' never leaves
 * it. Exposed for tests and measurements.
 */
export function weiszfeld(
  inputs: readonly Vec[],
  s: WeiszfeldSettings,
  route: 'auto' | 'direct' | 'coefficients' = 'auto',
): WeiszfeldResult {
  const n = inputs.length;
  const d = inputs[0].length;
  const state: IterState = { coef: new Float64Array(n).fill(1 / n), t: 0, converged: false };
  const phases: WeiszfeldResult['phases'] = [];
  // Cost in direct passes (n * d each): the n(n-1)/2 * d distance matrix plus one final pass
  // (about half a direct one).
  const coefCost = (PAIR_COST * (n - 1)) / 2 + 0.5;
  const upfront =
    route === 'coefficients' ||
    (route === 'auto' && coefCost < s.iters && (s.tol === 0 || coefCost <= UPFRONT_PASSES));
  let handOver = route === 'auto' && !upfront ? coefCost : Infinity;
  let inCoefficients = upfront;
  while (!state.converged && state.t < s.iters) {
    if (inCoefficients) {
      phases.push({ route: 'coefficients', from: state.t });
      coefficientIterations(inputs, s, state);
      // Stopped early without converging: a rounding bound failed, finish directly.
      inCoefficients = false;
      handOver = Infinity;
      continue;
    }
    phases.push({ route: 'direct', from: state.t });
    const z = directIterations(inputs, s, state, handOver);
    if (z) return { z, iterations: state.t, converged: state.converged, phases };
    inCoefficients = true; // handed over
  }
  const z = new Float64Array(d);
  for (let b0 = 0; b0 < d; b0 += BLOCK) combineBlock(inputs, state.coef, z, b0, Math.min(d, b0 + BLOCK));
  return { z, iterations: state.t, converged: state.converged, phases };
}

/** Iterate `t` (t updates made) is `z_t = sum_j coef_j x_j`; `converged`: tolerance met at t. */
interface IterState {
  coef: Float64Array;
  t: number;
  converged: boolean;
}

/** `z[b0..e) = sum_j coef_j x_j[b0..e)`, four inputs per sweep (z read and written n/4 times). */
function combineBlock(inputs: readonly Vec[], coef: Float64Array, z: Float64Array, b0: number, e: number) {
  const n = inputs.length;
  z.fill(0, b0, e);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const a = inputs[i];
    const b = inputs[i + 1];
    const c = inputs[i + 2];
    const q = inputs[i + 3];
    const wa = coef[i];
    const wb = coef[i + 1];
    const wc = coef[i + 2];
    const wq = coef[i + 3];
    for (let k = b0; k < e; k++) z[k] += wa * a[k] + wb * b[k] + wc * c[k] + wq * q[k];
  }
  for (; i < n; i++) {
    const a = inputs[i];
    const w = coef[i];
    for (let k = b0; k < e; k++) z[k] += w * a[k];
  }
}

/**
 * Weiszfeld in coefficient space from `state`. Advances `state` while every quantity is trusted;
 * returns early (state = last trusted iterate, not converged) when one is not.
 */
function coefficientIterations(inputs: readonly Vec[], s: WeiszfeldSettings, state: IterState): void {
  const n = inputs.length;
  // ||x_j||^2 serve only the relative stopping test.
  const norms = new Float64Array(n);
  const D = pairwiseSqDistances(inputs, s.tol > 0 ? norms : undefined);
  // Every sum below is a short dot product with non-negative D and coefficients (or |.| of them),
  // so its own rounding adds n unit roundoffs to the entries' bound.
  const rho = sqDistanceRelError(inputs[0].length) + (2 * n + 4) * Number.EPSILON;
  const tol2 = s.tol * s.tol;
  const nu2 = s.nu * s.nu;
  let coef: Float64Array = state.coef;
  let next: Float64Array = new Float64Array(n);
  const Dc = new Float64Array(n);
  const dist2 = new Float64Array(n);
  for (let t = state.t + 1; t <= s.iters; t++) {
    // Distances from z_{t-1}.
    let cDc = 0;
    for (let i = 0; i < n; i++) {
      let acc = 0;
      for (let j = 0, r = i * n; j < n; j++, r++) acc += D[r] * coef[j];
      Dc[i] = acc;
      cDc += coef[i] * acc;
    }
    const half = cDc / 2;
    for (let i = 0; i < n; i++) {
      const v = Dc[i] - half;
      // The weight is 1/max(nu, dist): its relative error is half that of max(nu^2, dist^2).
      if (rho * (Dc[i] + half) > 2 * WEIGHT_REL_TOL * Math.max(nu2, v)) return;
      dist2[i] = v > 0 ? v : 0;
    }
    let W = 0;
    for (let i = 0; i < n; i++) {
      next[i] = 1 / Math.max(s.nu, Math.sqrt(dist2[i]));
      W += next[i];
    }
    for (let i = 0; i < n; i++) next[i] /= W;
    // Step ||z_t - z_{t-1}||^2 and ||z_t||^2, each with the sum of its terms' magnitudes.
    let step2 = 0;
    let stepScale = 0;
    let nDn = 0;
    let normScale = 0;
    for (let i = 0; i < n; i++) {
      const di = next[i] - coef[i];
      let accStep = 0;
      let accAbs = 0;
      let accN = 0;
      for (let j = 0, r = i * n; j < n; j++, r++) {
        const dj = next[j] - coef[j];
        accStep += D[r] * dj;
        accAbs += D[r] * Math.abs(dj);
        accN += D[r] * next[j];
      }
      step2 -= (di * accStep) / 2;
      stepScale += (Math.abs(di) * accAbs) / 2;
      nDn += next[i] * accN;
      normScale += next[i] * norms[i];
    }
    const norm2 = normScale - nDn / 2;
    normScale += nDn / 2;
    if (s.tol > 0) {
      const gap = step2 - tol2 * norm2;
      if (Math.abs(gap) <= rho * (stepScale + tol2 * normScale)) return; // too close to call
      [coef, next] = [next, coef];
      state.coef = coef;
      state.t = t;
      if (gap <= 0) {
        state.converged = true;
        return;
      }
    } else {
      [coef, next] = [next, coef];
      state.coef = coef;
      state.t = t;
    }
  }
}

/**
 * Direct Weiszfeld from `state` (z = sum coef_j x_j after state.t updates) to the end, or null
 * once the steps' geometric rate predicts more than `handOver` remaining passes (state = the last
 * iterate; coefficient space continues from it).
 */
function directIterations(
  inputs: readonly Vec[],
  s: WeiszfeldSettings,
  state: IterState,
  handOver: number,
): Float64Array | null {
  const n = inputs.length;
  const d = inputs[0].length;
  const z = new Float64Array(d);
  const dist2 = new Float64Array(n);
  const coef = Float64Array.from(state.coef);
  const old = new Float64Array(BLOCK);
  // The first pass forms z_{t0} (the mean when t0 = 0); pass t > t0 is Weiszfeld update t.
  const t0 = state.t;
  let prevStep = 0;
  for (let t = t0; t <= s.iters; t++) {
    const first = t === t0;
    if (!first) {
      let W = 0;
      for (let i = 0; i < n; i++) {
        coef[i] = 1 / Math.max(s.nu, Math.sqrt(dist2[i]));
        W += coef[i];
      }
      for (let i = 0; i < n; i++) coef[i] /= W;
    }
    dist2.fill(0);
    let delta2 = 0;
    let norm2 = 0;
    const last = t === s.iters;
    for (let b0 = 0; b0 < d; b0 += BLOCK) {
      const e = Math.min(d, b0 + BLOCK);
      // New z on this block; the old block is kept for the step length.
      if (!first) old.set(z.subarray(b0, e));
      combineBlock(inputs, coef, z, b0, e);
      if (!first) {
        for (let k = b0, j = 0; k < e; k++, j++) {
          const u = z[k] - old[j];
          delta2 += u * u;
          norm2 += z[k] * z[k];
        }
      }
      if (last) continue; // no further update will use the distances
      for (let i = 0; i < n; i++) {
        const a = inputs[i];
        let acc0 = 0;
        let acc1 = 0;
        let k = b0;
        for (; k + 1 < e; k += 2) {
          const u0 = z[k] - a[k];
          const u1 = z[k + 1] - a[k + 1];
          acc0 += u0 * u0;
          acc1 += u1 * u1;
        }
        if (k < e) {
          const u = z[k] - a[k];
          acc0 += u * u;
        }
        dist2[i] += acc0 + acc1;
      }
    }
    if (!first) {
      state.t = t;
      state.coef.set(coef);
      const step = Math.sqrt(delta2);
      const goal = s.tol * Math.sqrt(norm2);
      if (s.tol > 0 && step <= goal) {
        state.converged = true;
        break;
      }
      if (t - t0 >= 2 && t < s.iters && handOver < s.iters - t) {
        // Steps shrink about geometrically near the optimum: rate^k * step <= goal.
        const rate = step / prevStep;
        let remaining = s.iters - t;
        if (s.tol > 0 && rate < 1 && step > 0) {
          remaining = Math.min(remaining, Math.ceil(Math.log(goal / step) / Math.log(rate)));
        }
        if (remaining > handOver) return null;
      }
      prevStep = step;
    }
  }
  return z;
}

export const geomedianDef: AggregatorDef = {
  name: 'geomedian',
  description:
    'geometric median by smoothed Weiszfeld from the mean (iters, relative tol, nu); n > 2f; O(n^2 d + T n^2) or O(T nd)',
  defaults: { iters: 100, tol: 1e-6, nu: 1e-6 },
  create(params) {
    const settings: WeiszfeldSettings = { iters: params.iters, tol: params.tol, nu: params.nu };
    if (!Number.isInteger(settings.iters) || settings.iters < 0) {
      throw new UsageError(`geomedian: iters must be a non-negative integer (got ${settings.iters})`);
    }
    if (settings.tol < 0) throw new UsageError(`geomedian: tol must be >= 0 (got ${settings.tol})`);
    if (!(settings.nu > 0)) throw new UsageError(`geomedian: nu must be > 0 (got ${settings.nu})`);
    return {
      name: 'geomedian',
      description: geomedianDef.description,
      precondition(n, f) {
        return n > 2 * f ? null : `geomedian needs n > 2f (n = ${n}, f = ${f}: n >= ${2 * f + 1})`;
      },
      aggregate: (inputs, ctx) => geometricMedian(inputs, settings, ctx.info),
    };
  },
};
