/**
 * Geometric median (docs/aggregators.md "Geometric median"): `argmin_z sum_i ||z - x_i||` by
 * smoothed Weiszfeld: start at the mean; `w_i = 1 / max(nu, ||z - x_i||)`,
 * `z <- sum w_i x_i / sum w_i`; stop after `iters` updates or when
 * `||z_new - z|| <= tol * ||z_new||` (tol = 0: never early). Requires n > 2f (breakdown 1/2). Cost
 * O(T nd) directly, O(n^2 d + T n^2) in coefficient space.
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
 *
 * Restart. The limit does not depend on the start (the geometric median is unique), but the speed
 * does: from the mean, k inputs clustered against m < k far away ones (colluders) draw the iterate
 * in only by a factor of about m/k per update, so a large enough distance exhausts any cap. With a
 * tolerance, an iteration still short of it after a quarter of the cap (`RESTART_AT`) is compared
 * once with the mean of the floor(n/2) + 1 inputs nearest to it: when that majority's mean has the
 * lower objective, the iteration continues from it (the updates made so far still count). A
 * majority's mean is a combination of the inputs (coefficient space holds it exactly) and, unlike
 * the coordinate-wise median, is no input unless that majority coincides, where it is the answer:
 * started exactly on an input that is not the median, smoothed Weiszfeld creeps off by factors
 * and the relative step test can stop it there. Inputs that converge before the check, or tol = 0,
 * take exactly the iteration above.
 *
 * Range. Squared distances of float64 inputs overflow beyond |x| ~ 1e154 (float32 inputs never
 * do). When a squared distance or norm the iteration needs exceeds `SQ_MAX`, or when nu is so
 * small (`NU_MIN`) that squares of distances just above it would be subnormal, the inputs and nu
 * are multiplied by a power of two (exact: the same iteration) that puts the largest |x| where the
 * largest squared distance just fits, so that small distances keep as much range as the format
 * has; the result is scaled back. What remains: distances below about 2^-1000 times the largest
 * |x| lose precision and count as nu.
 *
 * Non-finite inputs (rules take finite inputs, types.ts): a NaN or infinite distance is noticed
 * among the distances the iteration computes anyway, and `NonFiniteInputError` names the input.
 */
import { UsageError } from '../core/errors.js';
import { allFinite, type Vec } from '../core/vec.js';
import { pairwiseSqDistances, sqDistanceBlock, sqDistanceRelError } from './distances.js';
import { assertFinite } from './finite.js';
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

/**
 * Largest squared distance (or squared norm) the iteration works with: the sums and products it
 * forms from a few of them stay finite. Beyond it the problem is rescaled.
 */
const SQ_MAX = 2 ** 1000;

/** Below this nu, squares of distances just above nu would be subnormal: rescale first. */
const NU_MIN = 2 ** -480;

/** Smallest nu after rescaling: its square stays normal and its reciprocal finite. */
const NU_FLOOR = 2 ** -511;

/** The restart check runs after this fraction of the cap (rounded up), with a tolerance only. */
const RESTART_AT = 1 / 4;

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
    if (r.restartedAt !== null) info.restartedAt = r.restartedAt;
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
  /** The iterate a majority's mean replaced (see "Restart" above), or null. */
  restartedAt: number | null;
  /** The power of two the inputs and nu were scaled by (see "Range" above); 1 when none. */
  scale: number;
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
 * it. Exposed for tests and measurements. Throws `NonFiniteInputError` on a non-finite input.
 */
export function weiszfeld(
  inputs: readonly Vec[],
  s: WeiszfeldSettings,
  route: 'auto' | 'direct' | 'coefficients' = 'auto',
): WeiszfeldResult {
  if (!(s.nu >= NU_MIN)) return rescaled(inputs, s, route);
  let r: WeiszfeldResult;
  try {
    r = iterate(inputs, s, route);
  } catch (e) {
    if (e !== OUT_OF_RANGE) throw e;
    return rescaled(inputs, s, route);
  }
  // Without an update (iters = 0) or a second input no distance was formed to reveal a
  // non-finite input; the result is then a plain combination of them.
  if ((s.iters === 0 || inputs.length === 1) && !allFinite(r.z)) assertFinite(inputs);
  return r;
}

/** Thrown inside an iteration when a squared quantity leaves [0, SQ_MAX] (or is NaN). */
const OUT_OF_RANGE = new Error('geomedian: out of range (rescaled)');

/**
 * The same iteration on inputs and nu multiplied by 2^k, where k puts the largest |x| at about
 * 2^E with d (2 * 2^E)^2 <= SQ_MAX: every squared distance and norm then fits, and the small ones
 * keep all the room below. Multiplying by a power of two is exact, so the iterates are those of
 * exact-range arithmetic. One pass to find the largest |x| (and a non-finite input), one to copy.
 */
function rescaled(
  inputs: readonly Vec[],
  s: WeiszfeldSettings,
  route: 'auto' | 'direct' | 'coefficients',
): WeiszfeldResult {
  let m = 0;
  for (const x of inputs) for (let q = 0; q < x.length; q++) m = Math.max(m, Math.abs(x[q]));
  if (!(m <= Number.MAX_VALUE)) assertFinite(inputs); // NaN or infinite: throws
  const d = inputs[0].length;
  const E = Math.floor((Math.log2(SQ_MAX) - 2 - Math.ceil(Math.log2(d))) / 2) - 1;
  const k = m === 0 ? 0 : Math.min(1000, E - 1 - Math.floor(Math.log2(m)));
  const up = 2 ** k;
  const xs = inputs.map((x) => {
    const y = new Float64Array(x.length);
    for (let q = 0; q < x.length; q++) y[q] = x[q] * up;
    return y;
  });
  const r = iterate(xs, { ...s, nu: Math.max(s.nu * up, NU_FLOOR) }, route);
  const down = 2 ** -k;
  for (let q = 0; q < r.z.length; q++) r.z[q] *= down;
  r.scale = up;
  return r;
}

/** The inputs and settings of one run, with the distance matrix once computed. */
interface Problem {
  inputs: readonly Vec[];
  s: WeiszfeldSettings;
  /** Pairwise squared distances (coefficient space), computed on first use. */
  D: Float64Array | null;
  /** ||x_j||^2, computed with D when the tolerance needs them. */
  norms: Float64Array;
}

/** Iterate `t` (t updates made) is `z_t = sum_j coef_j x_j`; `converged`: tolerance met at t. */
interface IterState {
  coef: Float64Array;
  t: number;
  converged: boolean;
}

function iterate(
  inputs: readonly Vec[],
  s: WeiszfeldSettings,
  route: 'auto' | 'direct' | 'coefficients',
): WeiszfeldResult {
  const n = inputs.length;
  const d = inputs[0].length;
  const p: Problem = { inputs, s, D: null, norms: new Float64Array(n) };
  const state: IterState = { coef: new Float64Array(n).fill(1 / n), t: 0, converged: false };
  const phases: WeiszfeldResult['phases'] = [];
  const enter = (r: 'direct' | 'coefficients') => {
    if (phases.length === 0 || phases[phases.length - 1].route !== r)
      phases.push({ route: r, from: state.t });
  };
  // Cost in direct passes (n * d each): the n(n-1)/2 * d distance matrix plus one final pass
  // (about half a direct one).
  const coefCost = (PAIR_COST * (n - 1)) / 2 + 0.5;
  const upfront =
    route === 'coefficients' ||
    (route === 'auto' && coefCost < s.iters && (s.tol === 0 || coefCost <= UPFRONT_PASSES));
  let handOver = route === 'auto' && !upfront ? coefCost : Infinity;
  let inCoefficients = upfront;
  const checkAt = s.tol > 0 ? Math.ceil(s.iters * RESTART_AT) : Infinity;
  let checked = false;
  let restartedAt: number | null = null;
  while (!state.converged && state.t < s.iters) {
    if (!checked && state.t >= checkAt) {
      checked = true;
      if (restartFromMajority(inputs, state)) restartedAt = state.t;
      continue;
    }
    const until = checked ? s.iters : Math.min(s.iters, checkAt);
    if (inCoefficients) {
      enter('coefficients');
      if (!coefficientIterations(p, state, until)) {
        // A rounding bound failed: finish directly.
        inCoefficients = false;
        handOver = Infinity;
      }
      continue;
    }
    enter('direct');
    const z = directIterations(p, state, handOver, until);
    if (z === 'handover') inCoefficients = true;
    else if (z !== 'paused')
      return { z, iterations: state.t, converged: state.converged, phases, restartedAt, scale: 1 };
  }
  const z = new Float64Array(d);
  for (let b0 = 0; b0 < d; b0 += BLOCK) combineBlock(inputs, state.coef, z, b0, Math.min(d, b0 + BLOCK));
  return { z, iterations: state.t, converged: state.converged, phases, restartedAt, scale: 1 };
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

/** `dist2[i] += ||z[b0..e) - x_i[b0..e)||^2` for every input i. */
function addSqDistances(inputs: readonly Vec[], z: Float64Array, b0: number, e: number, dist2: Float64Array) {
  for (let i = 0; i < inputs.length; i++) dist2[i] += sqDistanceBlock(z, inputs[i], b0, e);
}

/**
 * The restart check (see "Restart" above): replaces the iterate by the mean of the floor(n/2) + 1
 * inputs nearest to it (ties by index) when that has the lower objective; returns whether it did.
 * Two direct passes, whatever the route, so that every route decides alike.
 */
function restartFromMajority(inputs: readonly Vec[], state: IterState): boolean {
  const n = inputs.length;
  const d = inputs[0].length;
  const h = (n >> 1) + 1;
  if (h >= n) return false; // n <= 2: the majority is everyone
  const z = new Float64Array(d);
  const fromZ = new Float64Array(n);
  for (let b0 = 0; b0 < d; b0 += BLOCK) {
    const e = Math.min(d, b0 + BLOCK);
    combineBlock(inputs, state.coef, z, b0, e);
    addSqDistances(inputs, z, b0, e, fromZ);
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => fromZ[a] - fromZ[b] || a - b);
  const majority = new Float64Array(n);
  for (let q = 0; q < h; q++) majority[order[q]] = 1 / h;
  const fromY = new Float64Array(n);
  for (let b0 = 0; b0 < d; b0 += BLOCK) {
    const e = Math.min(d, b0 + BLOCK);
    combineBlock(inputs, majority, z, b0, e);
    addSqDistances(inputs, z, b0, e, fromY);
  }
  let objZ = 0;
  let objY = 0;
  for (let i = 0; i < n; i++) {
    objZ += Math.sqrt(fromZ[i]);
    objY += Math.sqrt(fromY[i]);
  }
  if (!(objY < objZ)) return false;
  state.coef = majority;
  return true;
}

/**
 * Weiszfeld in coefficient space from `state` up to `until` updates (or convergence): true. Returns
 * false early (state = last trusted iterate, not converged) when a rounding bound fails.
 */
function coefficientIterations(p: Problem, state: IterState, until: number): boolean {
  const { inputs, s } = p;
  const n = inputs.length;
  if (p.D === null) {
    // ||x_j||^2 serve only the relative stopping test.
    const D = pairwiseSqDistances(inputs, s.tol > 0 ? p.norms : undefined);
    for (let q = 0; q < n * n; q++) if (!(D[q] <= SQ_MAX)) throw OUT_OF_RANGE;
    for (let j = 0; j < n; j++) if (!(p.norms[j] <= SQ_MAX)) throw OUT_OF_RANGE;
    p.D = D;
  }
  const D = p.D;
  const norms = p.norms;
  // Every sum below is a short dot product with non-negative D and coefficients (or |.| of them),
  // so its own rounding adds n unit roundoffs to the entries' bound.
  const rho = sqDistanceRelError(inputs[0].length) + (2 * n + 4) * Number.EPSILON;
  const tol2 = s.tol * s.tol;
  const nu2 = s.nu * s.nu;
  let coef: Float64Array = state.coef;
  let next: Float64Array = new Float64Array(n);
  const Dc = new Float64Array(n);
  const dist2 = new Float64Array(n);
  for (let t = state.t + 1; t <= until; t++) {
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
      // Written so that a NaN fails the test too.
      if (!(rho * (Dc[i] + half) <= 2 * WEIGHT_REL_TOL * Math.max(nu2, v))) return false;
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
      if (!(Math.abs(gap) > rho * (stepScale + tol2 * normScale))) return false; // too close to call
      [coef, next] = [next, coef];
      state.coef = coef;
      state.t = t;
      if (gap <= 0) {
        state.converged = true;
        return true;
      }
    } else {
      [coef, next] = [next, coef];
      state.coef = coef;
      state.t = t;
    }
  }
  return true;
}

/**
 * Direct Weiszfeld from `state` (z = sum coef_j x_j after state.t updates) up to `until` updates.
 * Returns z when it converged or made the last update (`s.iters`); 'paused' at `until` before
 * that (state = that iterate); 'handover' once the steps' geometric rate predicts more than
 * `handOver` remaining passes (state = the last iterate; coefficient space continues from it).
 */
function directIterations(
  p: Problem,
  state: IterState,
  handOver: number,
  until: number,
): Float64Array | 'paused' | 'handover' {
  const { inputs, s } = p;
  const n = inputs.length;
  const d = inputs[0].length;
  const z = new Float64Array(d);
  const dist2 = new Float64Array(n);
  const coef = Float64Array.from(state.coef);
  const old = new Float64Array(BLOCK);
  // The first pass forms z_{t0} (the mean when t0 = 0); pass t > t0 is Weiszfeld update t.
  const t0 = state.t;
  let prevStep = 0;
  for (let t = t0; t <= until; t++) {
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
    const last = t === until;
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
      addSqDistances(inputs, z, b0, e, dist2);
    }
    if (!last) for (let i = 0; i < n; i++) if (!(dist2[i] <= SQ_MAX)) throw OUT_OF_RANGE;
    if (!first) {
      if (!(norm2 <= SQ_MAX)) throw OUT_OF_RANGE;
      state.t = t;
      state.coef.set(coef);
      const step = Math.sqrt(delta2);
      const goal = s.tol * Math.sqrt(norm2);
      if (s.tol > 0 && step <= goal) {
        state.converged = true;
        break;
      }
      if (t - t0 >= 2 && t < until && handOver < s.iters - t) {
        // Steps shrink about geometrically near the optimum: rate^k * step <= goal.
        const rate = step / prevStep;
        let remaining = s.iters - t;
        if (s.tol > 0 && rate < 1 && step > 0) {
          remaining = Math.min(remaining, Math.ceil(Math.log(goal / step) / Math.log(rate)));
        }
        if (remaining > handOver) return 'handover';
      }
      prevStep = step;
    }
  }
  return state.converged || state.t === s.iters ? z : 'paused';
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
