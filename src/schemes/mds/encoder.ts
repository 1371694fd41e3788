/**
 * The worker side of the MDS code: the planar complex message a worker sends, a compensated sum
 * of its partitions' gradient blocks times the code's coefficients (float64, float32, or
 * float64x2 = high and low parts).
 */
import { type Vec } from '../../core/vec.js';

import type { GradientOracle } from '../types.js';
import type { MdsCode } from './code.js';
/**
 * Worker side: `z_i = sum_{j held} sum_k B[i][j][k] h_j^(k)` (docs/schemes.md "Solon" step 4; the cyclic
 * code's `y_j = sum_m W[j][m] g_m` when m = 1). One oracle call per held partition.
 *
 * Compensated: the message is the exact sum rounded about once, not r rounded products and sums.
 * The coefficients reach 1e5..1e6 and the decoder cancels the messages down to the O(1) sum, so
 * each message's rounding is amplified by |v| |y| / |G|; measured against the exact messages
 * (test/schemes/exact-ref.ts) plain float64 accumulation carried 4-30x the rounding of the
 * correctly rounded message, which became the largest term of the decode error. Each product
 * `head * x` is exact (29-bit head times a float32 value), its addition's error is captured by
 * TwoSum into a second accumulator, and `tail * x` (2^-29 of the product) goes there directly.
 */
export function mdsEncode(code: MdsCode, worker: number, gradient: GradientOracle): Vec {
  const { r, m, L, d, coefSplit: cs } = code;
  const hi = new Float64Array(2 * L);
  const lo = new Float64Array(2 * L);
  for (let q = 0; q < r; q++) {
    const g = gradient([code.assignment[worker][q]]);
    if (g.length !== d) throw new Error(`gradient of length ${g.length}, expected d = ${d}`);
    for (let b = 0; b < m; b++) {
      const o = 4 * ((worker * r + q) * m + b);
      const ah = cs[o];
      const at = cs[o + 1];
      const bh = cs[o + 2];
      const bt = cs[o + 3];
      const re0 = 2 * b * L;
      const im0 = re0 + L;
      // The last block may run past d: those reals are the zero padding.
      const nre = Math.max(0, Math.min(L, d - re0));
      const nim = Math.max(0, Math.min(L, d - im0));
      // (a + ib)(x + iy) = (a x - b y) + i (b x + a y); nim <= nre.
      for (let t = 0; t < nim; t++) {
        const x = g[re0 + t];
        const y = g[im0 + t];
        let h = hi[t];
        let p = ah * x;
        let sum = h + p;
        let z = sum - h;
        let e = h - (sum - z) + (p - z);
        p = -bh * y;
        h = sum + p;
        z = h - sum;
        hi[t] = h;
        lo[t] += e + (sum - (h - z)) + (p - z) + (at * x - bt * y);
        h = hi[L + t];
        p = bh * x;
        sum = h + p;
        z = sum - h;
        e = h - (sum - z) + (p - z);
        p = ah * y;
        h = sum + p;
        z = h - sum;
        hi[L + t] = h;
        lo[L + t] += e + (sum - (h - z)) + (p - z) + (bt * x + at * y);
      }
      for (let t = nim; t < nre; t++) {
        const x = g[re0 + t];
        let h = hi[t];
        let p = ah * x;
        let sum = h + p;
        let z = sum - h;
        hi[t] = sum;
        lo[t] += h - (sum - z) + (p - z) + at * x;
        h = hi[L + t];
        p = bh * x;
        sum = h + p;
        z = sum - h;
        hi[L + t] = sum;
        lo[L + t] += h - (sum - z) + (p - z) + bt * x;
      }
    }
  }
  if (code.dtype === 'float64x2') {
    // The double-double message: high parts (bitwise the float64 message), then low parts.
    const out = new Float64Array(4 * L);
    for (let t = 0; t < 2 * L; t++) {
      const a = hi[t];
      const sum = a + lo[t];
      const z = sum - a;
      out[t] = sum;
      out[2 * L + t] = a - (sum - z) + (lo[t] - z); // TwoSum
    }
    return out;
  }
  for (let t = 0; t < 2 * L; t++) hi[t] += lo[t];
  return code.dtype === 'float32' ? Float32Array.from(hi) : hi;
}
