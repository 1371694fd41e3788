/**
 * The MDS machinery shared by DRACO's cyclic code and Solon (docs/schemes.md "Cyclic code",
 * "Solon"). One construction covers both: Solon with compression m = 1 IS the cyclic code.
 *
 * Code: n workers, K = n - 2s, w = exp(-2 pi i / n), generator V = C1 = the first K columns of
 * the unitary DFT (V[i][t] = w^(i t) / sqrt n). Worker i holds the r >= 2s + m partitions
 * {i, ..., i + r - 1} mod n, so partition j is held by H_j = {j - r + 1, ..., j} mod n. Every
 * partition gradient is cut into m blocks and each block packed two reals per complex value
 * (block k of g: reals [2kL, 2kL + L) are the real parts, [2kL + L, 2(k+1)L) the imaginary
 * parts; L = ceil(d / 2m), zero padded).
 *
 * Encoding (closed form, generalising the cyclic code's W to m > 1). The coefficient of block k
 * of partition j at worker i is `B[i][j][k] = (1/sqrt n) Pi_j(w^i) T_k(w^i)` with
 * `Pi_j(y) = prod_{l not in H_j} (1 - y w^(-l))` (zero at every non-holder: the zero pattern) and
 * `T_k(y) = y^k (1 / Pi_j(y) mod y^(m-k))`, the unique polynomial of degree < m making the first
 * m coefficients of `Pi_j T_k` equal e_k. The column is then `V c_{j,k}` with `c_{j,k}` the
 * coefficients of `Pi_j T_k` (degree n - r + m - 1 < K iff r >= 2s + m): exactly the
 * solution of docs/schemes.md "Solon" step 3, without a solve. For m = 1, T_0 = 1 and B is W.
 *
 * Messages are planar: `msg[0..L)` real parts, `msg[L..2L)` imaginary parts, float64 by default;
 * float64x2 messages append the low parts of the same values (`msg[2L..4L)`, see mdsEncode).
 *
 * Precision (docs/schemes.md "Cyclic code" step 6). The coefficients reach 3e5 (cyclic, n = 45) and 1e9
 * (Solon, n = 45, m = 12), so the messages are that much larger than the sum the decoder cancels
 * them down to, and every rounding is amplified. Measured stage by stage against a 256-bit
 * reference (test/schemes/precision.test.ts): coefficients are computed in double-double and
 * rounded once; the encoder sums exact products with compensation (messages within 1 ulp of the
 * exact ones); the recovery vectors are solved backward-stably and refined against the ~106-bit
 * generator; the combination is error-free where its rounding could matter. What remains is the
 * float64 messages' own rounding times the amplification (MdsDecodeInfo.amplification), the
 * intrinsic limit of float64 messages: <= 1e-10 for the cyclic code up to n = 45 (but ~1e-7 with
 * 2s adjacent erasures), <= 1e-9 for Solon up to n = 31, up to ~1e-5 for Solon at n = 45.
 * float64x2 messages send the encoder's double-double message whole (the high parts, then the
 * low parts): where the combination is error-free the low parts join it, and that limit drops
 * to ~eps^2 * A (measured <= 6.5e-13 and 6.1e-11 in those cases).
 */
export { createMdsCode, dtypeNote, mdsMinLoad, type MdsCode, type MdsParams } from './code.js';
export { mdsEncode } from './encoder.js';
export { combine, combineRows, drawProjection, project, projectRows } from './kernels.js';
export { mdsDecode, projectAndCombine, type MdsDecodeInfo } from './decoder.js';
