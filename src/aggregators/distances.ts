/**
 * Pairwise squared Euclidean distances (docs/aggregators.md "Pairwise distances"): the n x n
 * matrix Krum, Multi-Krum, Bulyan, NNM and geomedian start from, computed once per call and reused.
 *
 * Blocked over d: for each block of BLOCK coordinates, every pair (i, j) is accumulated while the
 * block's n slices sit in L2 (15 x 2048 x 4 bytes = 120 KB), so each input is read from memory
 * once instead of n - 1 times. Differences and sums are float64. Cost O(n^2 d) flops, O(nd)
 * memory traffic.
 */
import type { Vec } from '../core/vec.js';
import { simdAvailable } from '../core/simd/kernels.js';
import { sqDistancesSimd } from '../core/simd/distances.js';
import { assertFinite } from './finite.js';

/** Coordinates per block; each block's per-pair sums are added to D at its end. */
export const DISTANCE_BLOCK = 2048;
const BLOCK = DISTANCE_BLOCK;
/** Below n * d terms the JS loop is as fast as setting up the SIMD path. */
const SIMD_MIN_TERMS = 1 << 14;

/**
 * Bound on the relative rounding error of one computed entry of `pairwiseSqDistances` for inputs
 * of length d: each entry sums non-negative float64 terms along an addition chain of at most
 * BLOCK (within a block) + ceil(d / BLOCK) (across blocks) steps, unit roundoff EPSILON / 2 each,
 * plus one rounding each for the difference and the square (exact for float32 inputs; counted).
 */
export function sqDistanceRelError(d: number): number {
  return ((BLOCK + Math.ceil(d / BLOCK) + 2) * Number.EPSILON) / 2;
}

/**
 * `sum_{k in [s, e)} (a[k] - b[k])^2` in float64, with two accumulators (halves the add
 * dependency chain). Shared by the distance matrix and Weiszfeld's direct iteration, which must
 * sum in the same order.
 */
export function sqDistanceBlock(a: Vec, b: Vec, s: number, e: number): number {
  let acc0 = 0;
  let acc1 = 0;
  let k = s;
  for (; k + 1 < e; k += 2) {
    const t0 = a[k] - b[k];
    const t1 = a[k + 1] - b[k + 1];
    acc0 += t0 * t0;
    acc1 += t1 * t1;
  }
  if (k < e) {
    const t = a[k] - b[k];
    acc0 += t * t;
  }
  return acc0 + acc1;
}

/**
 * Row-major n x n matrix `D[i * n + j] = ||x_i - x_j||^2` (symmetric, zero diagonal). With `norms`
 * (length n), also `norms[i] = ||x_i||^2`, accumulated in the same blocked pass.
 *
 * A non-finite input makes its whole row NaN or infinite, so the n^2 entries reveal it without a
 * pass over the inputs: then `NonFiniteInputError`. An entry can also be infinite because finite
 * float64 inputs are too far apart (beyond ~1e154) for their squared distance; that matrix is
 * returned as it is, and the caller decides (geomedian rescales).
 */
export function pairwiseSqDistances(inputs: readonly Vec[], norms?: Float64Array): Float64Array {
  const n = inputs.length;
  if (norms) norms.fill(0);
  if (n < 2 && !norms) return new Float64Array(n * n);
  const d = inputs[0].length;
  const D =
    (n >= 2 && n * d >= SIMD_MIN_TERMS && simdAvailable() ? sqDistancesSimd(inputs, norms) : null) ??
    sqDistancesJs(inputs, norms);
  let finite = true;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const v = D[i * n + j];
      if (!(v <= Number.MAX_VALUE)) finite = false;
      D[j * n + i] = v;
    }
  }
  if (!finite) assertFinite(inputs); // else an overflow of finite inputs
  return D;
}

/**
 * Four pairs (a, b_c) with one running sum each over [s, e) (the pairs `pairIsSequential` names),
 * each sum added to `out` at its index: shared by the matrix and the screen's exact entries
 * (aggregators/screen.ts), which must sum in the same order. Four sums keep the adder busy.
 */
export function sqDistanceBlock4(
  a: Vec,
  b0: Vec,
  b1: Vec,
  b2: Vec,
  b3: Vec,
  s: number,
  e: number,
  out: Float64Array,
  o0: number,
  o1: number,
  o2: number,
  o3: number,
): void {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  for (let k = s; k < e; k++) {
    const x = a[k];
    const t0 = x - b0[k];
    const t1 = x - b1[k];
    const t2 = x - b2[k];
    const t3 = x - b3[k];
    s0 += t0 * t0;
    s1 += t1 * t1;
    s2 += t2 * t2;
    s3 += t3 * t3;
  }
  out[o0] += s0;
  out[o1] += s1;
  out[o2] += s2;
  out[o3] += s3;
}

/**
 * Whether pair (i, j), i < j, keeps one running sum per block (row i's first
 * 4 floor((n - i - 1) / 4) partners) rather than two (sqDistanceBlock): the order of operations
 * that defines D[i][j].
 */
export function pairIsSequential(n: number, i: number, j: number): boolean {
  return j <= i + ((n - i - 1) & ~3);
}

/**
 * The upper triangle of the distance matrix (and the norms, which the caller zeroes), by the JS
 * loop whose order of operations defines the result; core/simd/distances.ts performs the same
 * operations on SIMD lanes.
 */
export function sqDistancesJs(inputs: readonly Vec[], norms?: Float64Array): Float64Array {
  const n = inputs.length;
  const D = new Float64Array(n * n);
  const d = inputs[0].length;
  for (let s = 0; s < d; s += BLOCK) {
    const e = Math.min(d, s + BLOCK);
    for (let i = 0; i < n; i++) {
      const a = inputs[i];
      // ||x_i||^2: one running sum per block beside the first group of four partners; rows with
      // fewer partners (the last three) sum it as sqDistanceBlock does, in two.
      if (norms && n - i - 1 < 4) {
        let acc0 = 0;
        let acc1 = 0;
        let k = s;
        for (; k + 1 < e; k += 2) {
          acc0 += a[k] * a[k];
          acc1 += a[k + 1] * a[k + 1];
        }
        if (k < e) acc0 += a[k] * a[k];
        norms[i] += acc0 + acc1;
      }
      let j = i + 1;
      // Four partners at a time: a[k] is loaded once for four pairs, and four independent sums
      // keep the floating-point adder busy.
      for (; j + 4 <= n; j += 4) {
        const b0 = inputs[j];
        const b1 = inputs[j + 1];
        const b2 = inputs[j + 2];
        const b3 = inputs[j + 3];
        if (norms && j === i + 1) {
          // One running sum in coordinate order, as the SIMD path's norm column sums it.
          let sq = 0;
          for (let k = s; k < e; k++) sq += a[k] * a[k];
          norms[i] += sq;
        }
        const q = i * n + j;
        sqDistanceBlock4(a, b0, b1, b2, b3, s, e, D, q, q + 1, q + 2, q + 3);
      }
      for (; j < n; j++) D[i * n + j] += sqDistanceBlock(a, inputs[j], s, e);
    }
  }
  return D;
}

/**
 * Krum scores over a subset (docs/aggregators.md "Krum"): score(i) = sum of the squared distances
 * from i to its `k` nearest other members of `members` (k clamped to [0, |members| - 1]). Returned
 * in the order of `members`.
 */
export function krumScores(D: Float64Array, n: number, members: readonly number[], k: number): number[] {
  const m = members.length;
  const kk = Math.max(0, Math.min(k, m - 1));
  const row = new Float64Array(m - 1);
  return members.map((i) => {
    let t = 0;
    for (const j of members) if (j !== i) row[t++] = D[i * n + j];
    row.sort();
    let s = 0;
    for (let q = 0; q < kk; q++) s += row[q];
    return s;
  });
}

/** Indices of `scores` ordered by score, ties by position (stable, deterministic). */
export function orderByScore(scores: readonly number[]): number[] {
  return scores.map((_, i) => i).sort((a, b) => scores[a] - scores[b] || a - b);
}
