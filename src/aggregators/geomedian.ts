/**
 * Geometric median (spec "Aggregators"): `argmin_z sum_i ||z - x_i||` by smoothed Weiszfeld:
 * start at the mean; `w_i = 1 / max(nu, ||z - x_i||)`, `z <- sum w_i x_i / sum w_i`; stop after
 * `iters` updates or when `||z_new - z|| <= tol * ||z_new||`. Requires n > 2f (breakdown 1/2).
 * Cost O(T nd).
 *
 * Each iteration is one pass over the inputs: per cache block of coordinates the new z is formed
 * and, while the block's inputs are still in L2, the squared distances for the next weights are
 * accumulated (the two steps of Weiszfeld fused).
 */
import { UsageError } from '../core/errors.js';
import type { Vec } from '../core/vec.js';
import type { AggregateInfo, AggregatorDef } from './types.js';

const BLOCK = 2048;

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
  const n = inputs.length;
  const d = inputs[0].length;
  const z = new Float64Array(d);
  const dist2 = new Float64Array(n);
  const coef = new Float64Array(n);
  const old = new Float64Array(BLOCK);
  coef.fill(1 / n);
  let iterations = 0;
  let converged = false;
  // Pass 0 forms the mean (coef = 1/n); pass t >= 1 is Weiszfeld update t.
  for (let t = 0; t <= s.iters; t++) {
    if (t > 0) {
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
      let i = 0;
      const zb = z.subarray(b0, e);
      if (t > 0) old.set(zb);
      zb.fill(0);
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
      if (t > 0) {
        for (let k = b0, j = 0; k < e; k++, j++) {
          const u = z[k] - old[j];
          delta2 += u * u;
          norm2 += z[k] * z[k];
        }
      }
      if (last) continue; // no further update will use the distances
      for (i = 0; i < n; i++) {
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
    if (t > 0) {
      iterations = t;
      if (Math.sqrt(delta2) <= s.tol * Math.sqrt(norm2)) {
        converged = true;
        break;
      }
    }
  }
  if (info) {
    info.iterations = iterations;
    info.converged = converged;
  }
  return z;
}

export const geomedianDef: AggregatorDef = {
  name: 'geomedian',
  description:
    'geometric median by smoothed Weiszfeld from the mean (iters, relative tol, nu); n > 2f; O(T nd)',
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
