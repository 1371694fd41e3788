/**
 * Per-coordinate sorted columns for the order-statistic rules (median, trimmed mean, Bulyan).
 *
 * A full sort per coordinate through `Array.sort` would allocate and call a comparator d times.
 * Instead the inputs are transposed one cache block at a time into a float64 tile
 * (`tile[j * n + i] = x_i[s + j]`, 8 n x BLOCK bytes, L2-resident), and each column of n values
 * is sorted in place by insertion sort, which for n <= ~64 beats any general sort (no calls, no
 * allocation, branch-predictable inner loop). Cost O(n^2 d) compares worst case, ~n^2/4 average;
 * memory traffic one read of the inputs.
 *
 * Float32 inputs with n <= 40 take a faster route (`forEachRankBlock`): a generated selection
 * network delivers just the ranks a rule reads, branch-free (3-4x faster than insertion sort at
 * n = 15, ~2x at n = 31). Rules keep the sorting route for float64 inputs and larger n.
 */
import type { Vec } from '../core/vec.js';
import { assertFinite } from './finite.js';
import { float32RankKernel } from './sorting-network.js';

const BLOCK = 512;

/**
 * Call `visit(tile, n, start, count)` for consecutive blocks of coordinates; column `j` of the
 * block (coordinate `start + j`) is `tile[j * n .. j * n + n)`, with its `k` smallest values
 * sorted ascending in its first `k` slots (k = n, the default: the whole column sorted). The
 * median only needs k = floor(n/2) + 1: values that cannot enter the k smallest are skipped with
 * one compare, which roughly halves the work.
 */
export function forEachSortedBlock(
  inputs: readonly Vec[],
  visit: (tile: Float64Array, n: number, start: number, count: number) => void,
  k: number = inputs.length,
): void {
  forEachColumnBlock(inputs, (tile, n, s, cnt) => {
    for (let j = 0, base = 0; j < cnt; j++, base += n) sortSmallest(tile, base, n, k);
    visit(tile, n, s, cnt);
  });
}

/**
 * Insertion sort of the column `a[base .. base + n)` keeping only its k smallest values, sorted
 * ascending in the first k slots (stable: equal values keep their input order).
 */
export function sortSmallest(a: Float64Array, base: number, n: number, k: number): void {
  const kth = base + k - 1;
  for (let q = 1; q < n; q++) {
    const v = a[base + q];
    let b: number;
    if (q < k) b = base + q - 1;
    else {
      if (v >= a[kth]) continue;
      b = kth - 1; // the current k-th smallest drops out
    }
    while (b >= base && a[b] > v) {
      a[b + 1] = a[b];
      b--;
    }
    a[b + 1] = v;
  }
}

/** Above this many inputs, order statistics use quickselect (O(n) per column) over sorting. */
export const SELECT_ABOVE = 24;

/**
 * Quickselect (Hoare partition, median-of-three pivot) on `a[lo..hi]` (inclusive): afterwards
 * `a[k]` holds the value of rank k - lo, everything left of it is <= and everything right >=.
 * Expected O(hi - lo) compares.
 */
export function selectInPlace(a: Float64Array, lo: number, hi: number, k: number): void {
  while (hi > lo) {
    const mid = (lo + hi) >> 1;
    let t: number;
    if (a[mid] < a[lo]) {
      t = a[mid];
      a[mid] = a[lo];
      a[lo] = t;
    }
    if (a[hi] < a[lo]) {
      t = a[hi];
      a[hi] = a[lo];
      a[lo] = t;
    }
    if (a[hi] < a[mid]) {
      t = a[hi];
      a[hi] = a[mid];
      a[mid] = t;
    }
    const pivot = a[mid];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    // [lo..j] <= pivot, [i..hi] >= pivot, anything strictly between equals pivot.
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
}

/**
 * Call `visit(tile, n, start, count)` for consecutive blocks of coordinates with the transposed
 * but unsorted tile (column j = `tile[j * n .. j * n + n)`), for rules that select in place.
 * Throws `NonFiniteInputError` on a non-finite input before visiting its block: comparisons with
 * NaN would leave it wherever it happened to be, an answer that depends on the input order.
 */
export function forEachColumnBlock(
  inputs: readonly Vec[],
  visit: (tile: Float64Array, n: number, start: number, count: number) => void,
): void {
  const n = inputs.length;
  const d = inputs[0].length;
  const tile = new Float64Array(n * BLOCK);
  for (let s = 0; s < d; s += BLOCK) {
    const cnt = Math.min(BLOCK, d - s);
    let finite = true;
    for (let i = 0; i < n; i++) {
      const x = inputs[i];
      for (let j = 0, t = i; j < cnt; j++, t += n) {
        const v = x[s + j];
        tile[t] = v;
        if (v - v !== 0) finite = false; // NaN exactly for NaN and +-Infinity
      }
    }
    if (!finite) assertFinite(inputs);
    visit(tile, n, s, cnt);
  }
}

/** Coordinates per call of a rank kernel: its output (<= 2048 x m float32) stays in L2. */
const RANK_BLOCK = 2048;

/**
 * Call `visit(vals, m, start, count)` for consecutive blocks of coordinates with the sorted values
 * of ranks `lo..hi` of each coordinate: `vals[j * m + q]` (m = hi - lo + 1) is the value of rank
 * `lo + q` at coordinate `start + j`, computed by a generated selection network
 * (sorting-network.ts). Returns false without visiting anything when that path does not apply
 * (inputs not all float32, or n above NETWORK_MAX_N): the caller then uses the sorting path.
 * Among equal values -0 ranks before +0; nothing else can tell equal floats apart. Throws
 * `NonFiniteInputError` on a non-finite input, as the sorting path does.
 */
export function forEachRankBlock(
  inputs: readonly Vec[],
  lo: number,
  hi: number,
  visit: (vals: Float32Array, m: number, start: number, count: number) => void,
): boolean {
  const n = inputs.length;
  if (!inputs.every((x) => x instanceof Float32Array)) return false;
  const kernel = float32RankKernel(n, lo, hi);
  if (kernel === null) return false;
  const d = inputs[0].length;
  const rows = inputs.map((x) => new Int32Array(x.buffer, x.byteOffset, x.length));
  const m = hi - lo + 1;
  const bits = new Int32Array(RANK_BLOCK * m);
  const vals = new Float32Array(bits.buffer);
  for (let s = 0; s < d; s += RANK_BLOCK) {
    const cnt = Math.min(RANK_BLOCK, d - s);
    if (kernel(rows, s, cnt, bits) < 0) assertFinite(inputs);
    visit(vals, m, s, cnt);
  }
  return true;
}
