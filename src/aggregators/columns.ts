/**
 * Per-coordinate sorted columns for the order-statistic rules (median, trimmed mean, Bulyan).
 *
 * A full sort per coordinate through `Array.sort` would allocate and call a comparator d times.
 * Instead the inputs are transposed one cache block at a time into a float64 tile
 * (`tile[j * n + i] = x_i[s + j]`, 8 n x BLOCK bytes, L2-resident), and each column of n values
 * is sorted in place by insertion sort, which for n <= ~64 beats any general sort (no calls, no
 * allocation, branch-predictable inner loop). Cost O(n^2 d) compares worst case, ~n^2/4 average;
 * memory traffic one read of the inputs.
 */
import type { Vec } from '../core/vec.js';

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
    for (let j = 0, base = 0; j < cnt; j++, base += n) {
      const kth = base + k - 1;
      for (let a = 1; a < n; a++) {
        const v = tile[base + a];
        let b: number;
        if (a < k) b = base + a - 1;
        else {
          if (v >= tile[kth]) continue;
          b = kth - 1; // the current k-th smallest drops out
        }
        while (b >= base && tile[b] > v) {
          tile[b + 1] = tile[b];
          b--;
        }
        tile[b + 1] = v;
      }
    }
    visit(tile, n, s, cnt);
  });
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
    for (let i = 0; i < n; i++) {
      const x = inputs[i];
      for (let j = 0, t = i; j < cnt; j++, t += n) tile[t] = x[s + j];
    }
    visit(tile, n, s, cnt);
  }
}
