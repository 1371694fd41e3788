/**
 * Selection networks for the order-statistic rules (median, trimmed mean, Bulyan): per coordinate
 * the values of a contiguous range of ranks, sorted, with no data-dependent branch.
 *
 * The network is Batcher's odd-even merge sort or merge exchange on n wires, whichever is shorter
 * once pruned backwards to the comparators that can reach the requested output wires (for the
 * median of 15: 49 of 59 comparators). A compare-exchange on float32 values mapped to
 * order-preserving int32 keys is a branch-free `m = (a ^ b) & -(b < a); a ^= m; b ^= m`; on
 * floats a ternary or Math.min/max compiles to branches that random data mispredicts (measured
 * ~4-5x slower in the same generated code).
 *
 * The kernel is straight-line code generated once per (n, ranks): the n keys of a column live in
 * locals (registers or stack slots) for the whole network. A loop over a comparator table instead
 * costs two loads and two stores per comparator (measured ~3x slower at n = 15). Above ~40 inputs
 * register pressure eats the gain and quickselect wins (columns.ts).
 */

/** Batcher's odd-even merge sort for any n: flat comparator pairs `[i0, j0, i1, j1, ...]`, i < j. */
export function oddEvenMergeNetwork(n: number): Int32Array {
  const out: number[] = [];
  for (let p = 1; p < n; p <<= 1) {
    for (let k = p; k >= 1; k >>= 1) {
      for (let j = k % p; j + k < n; j += 2 * k) {
        for (let i = 0; i < Math.min(k, n - j - k); i++) {
          if (Math.floor((i + j) / (2 * p)) === Math.floor((i + j + k) / (2 * p))) out.push(i + j, i + j + k);
        }
      }
    }
  }
  return Int32Array.from(out);
}

/**
 * Batcher's merge exchange (Knuth, TAOCP vol. 3, 5.2.2 Algorithm M) for any n: the same merge
 * idea laid out for n directly instead of a power of two cut down, so for some n (17, 21, 40)
 * its pruned form is shorter.
 */
export function mergeExchangeNetwork(n: number): Int32Array {
  const out: number[] = [];
  if (n < 2) return Int32Array.from(out);
  const t = Math.ceil(Math.log2(n));
  for (let p = 1 << (t - 1); p > 0; p >>= 1) {
    let q = 1 << (t - 1);
    let r = 0;
    let d = p;
    for (;;) {
      for (let i = 0; i < n - d; i++) if ((i & p) === r) out.push(i, i + d);
      if (q === p) break;
      d = q - p;
      q >>= 1;
      r = p;
    }
  }
  return Int32Array.from(out);
}

/**
 * The comparators of `net` that can influence any wire in `outputs`: scanning backwards, a
 * comparator is kept when it touches a wire still needed, and then both its wires are needed.
 */
export function pruneNetwork(net: Int32Array, outputs: readonly number[]): Int32Array {
  const needed = new Set(outputs);
  const kept: number[] = [];
  for (let q = net.length - 2; q >= 0; q -= 2) {
    const i = net[q];
    const j = net[q + 1];
    if (needed.has(i) || needed.has(j)) {
      kept.push(j, i);
      needed.add(i);
      needed.add(j);
    }
  }
  return Int32Array.from(kept.reverse());
}

/** Apply `net` to `values` in place (ascending compare-exchange): the reference semantics. */
export function applyNetwork(net: Int32Array, values: number[] | Float64Array): void {
  for (let q = 0; q < net.length; q += 2) {
    const i = net[q];
    const j = net[q + 1];
    if (values[j] < values[i]) {
      const t = values[i];
      values[i] = values[j];
      values[j] = t;
    }
  }
}

/**
 * Comparators of a pruned network that sorts ranks `lo..hi` of n values into wires lo..hi: the
 * shorter of the two Batcher layouts.
 */
export function rankNetwork(n: number, lo: number, hi: number): Int32Array {
  const outs: number[] = [];
  for (let r = lo; r <= hi; r++) outs.push(r);
  const a = pruneNetwork(oddEvenMergeNetwork(n), outs);
  const b = pruneNetwork(mergeExchangeNetwork(n), outs);
  return b.length < a.length ? b : a;
}

/**
 * For columns c in `[start, start + count)`: `out[(c - start) * m + q]` = the float32 bit pattern
 * of the value of rank `lo + q` among `rows[0][c] .. rows[n-1][c]` (m = hi - lo + 1), where
 * `rows[i]` is the Int32Array view of float32 input i; -0 orders before +0. Returns a negative
 * number when a value read is not finite (its ranks are then meaningless), else a non-negative one.
 */
export type RankKernel = (
  rows: readonly Int32Array[],
  start: number,
  count: number,
  out: Int32Array,
) => number;

/** Above this many inputs the generated network loses to quickselect (measured at n = 63). */
export const NETWORK_MAX_N = 40;

const kernels = new Map<string, RankKernel | null>();

/**
 * The kernel for ranks `lo..hi` of n float32 values, or null when n is outside [1, NETWORK_MAX_N]
 * or the host forbids generated code (a Content-Security-Policy without 'unsafe-eval').
 */
export function float32RankKernel(n: number, lo: number, hi: number): RankKernel | null {
  if (!(Number.isInteger(n) && n >= 1 && n <= NETWORK_MAX_N && 0 <= lo && lo <= hi && hi < n)) return null;
  const key = `${n}:${lo}:${hi}`;
  let k = kernels.get(key);
  if (k === undefined) {
    k = compileRankKernel(n, lo, hi, rankNetwork(n, lo, hi));
    kernels.set(key, k);
  }
  return k;
}

/**
 * Source of the kernel: only integers computed here are spliced in. The key map
 * `v ^ ((v >> 31) & 0x7fffffff)` flips the magnitude bits of negative floats, so int32 order is
 * float order (it is its own inverse). Finiteness rides along on the loads: an all-ones exponent
 * (NaN, +-Infinity) plus one exponent step carries into the sign bit of `bad`, three integer
 * operations per value instead of a second pass over the inputs.
 */
function compileRankKernel(n: number, lo: number, hi: number, net: Int32Array): RankKernel | null {
  const m = hi - lo + 1;
  // Every input is loaded, so every input is checked (a rank network reads them all anyway).
  const src: string[] = ["'use strict';"];
  for (let w = 0; w < n; w++) src.push(`const r${w} = rows[${w}];`);
  src.push(
    'let m = 0;',
    'let bad = 0;',
    'for (let c = start, o = 0, e = start + count; c < e; c++, o += ' + m + ') {',
  );
  for (let w = 0; w < n; w++) {
    src.push(
      `let v${w} = r${w}[c]; bad |= (v${w} & 0x7f800000) + 0x800000; v${w} ^= (v${w} >> 31) & 0x7fffffff;`,
    );
  }
  for (let q = 0; q < net.length; q += 2) {
    const i = net[q];
    const j = net[q + 1];
    src.push(`m = (v${i} ^ v${j}) & -(v${j} < v${i}); v${i} ^= m; v${j} ^= m;`);
  }
  for (let r = lo; r <= hi; r++) src.push(`out[o + ${r - lo}] = v${r} ^ ((v${r} >> 31) & 0x7fffffff);`);
  src.push('}', 'return bad;');
  try {
    return new Function('rows', 'start', 'count', 'out', src.join('\n')) as RankKernel;
  } catch {
    return null;
  }
}
