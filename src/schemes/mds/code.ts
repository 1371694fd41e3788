/**
 * The MDS code shared by DRACO's cyclic code and Solon (docs/schemes.md "Cyclic code", "Solon"):
 * its parameters, the evaluation points and the coefficients every worker's message uses,
 * computed once per code in double-double (dd.ts) and rounded once. The construction and the
 * precision argument are in index.ts.
 */
import { cmat, type CMat } from '../../core/complex.js';
import { UsageError } from '../../core/errors.js';

import { cddAdd, cddMul, cddReal, cddSub, invSqrt, rootsOfUnity, type DDC } from './dd.js';
import type { MessageDtype } from '../types.js';

export interface MdsParams {
  n: number;
  s: number;
  d: number;
  /** Compute load: partitions per worker. */
  r: number;
  /** Compression: message length d/m (m = 1 for the cyclic code). */
  m: number;
  dtype: MessageDtype;
}

export interface MdsCode extends MdsParams {
  /** K = n - 2s: dimension of the code. */
  readonly k: number;
  /** Complex values per message (and per block): L = ceil(d / 2m). */
  readonly L: number;
  /** Values per message: 2L reals (float64x2: 4L float64, the 2L high parts then the 2L low). */
  readonly messageLength: number;
  /** The element type messages travel as (float64x2: float64). */
  readonly elementDtype: 'float64' | 'float32';
  /** Partitions of worker i: {i, ..., i + r - 1} mod n. */
  readonly assignment: readonly (readonly number[])[];
  /**
   * Encoding coefficients, interleaved complex: worker i, its slot q (partition
   * assignment[i][q]), block k at `2 * ((i * r + q) * m + k)`.
   */
  readonly coef: Float64Array;
  /**
   * The same coefficients split for error-free products with float32 gradient values (see
   * mdsEncode): `[reHead, reTail, imHead, imTail]` at `4 * ((i * r + q) * m + k)`, the head with
   * at most 29 significant bits (so head * x is exact for a float32 x), the tail the rest of the
   * double-double coefficient, rounded.
   */
  readonly coefSplit: Float64Array;
  /** The generator V = C1 (n x K), correctly rounded. */
  readonly generator: CMat;
  /** Its rounding remainders (C1 = generator + generatorLo to ~106 bits), for refinement. */
  readonly generatorLo: CMat;
}

/** Minimum compute load for exact recovery: r >= 2s + m (docs/schemes.md "Solon"; m = 1: DRACO's bound). */
export function mdsMinLoad(s: number, m: number): number {
  return 2 * s + m;
}

/** w^e for w = exp(-2 pi i / n), with the exponent reduced mod n first (exact at multiples). */
export function wpow(n: number, e: number): [number, number] {
  const q = (((e % n) + n) % n) / n;
  const a = -2 * Math.PI * q;
  return [Math.cos(a), Math.sin(a)];
}

/**
 * Split the dd value hi + lo into a head with at most 29 significant bits (Veltkamp's split with
 * 2^24 + 1) and the rounded remainder: head * x is then exact for any float32 x (29 + 24 bits).
 */
function splitHead(hi: number, lo: number): [number, number] {
  const t = 16777217 * hi;
  const head = t - (t - hi);
  return [head, hi - head + lo];
}

export function createMdsCode(p: MdsParams, label: string): MdsCode {
  const { n, s, d, r, m } = p;
  if (!Number.isInteger(s) || s < 0) throw new UsageError(`${label}: s must be an integer >= 0 (s = ${s})`);
  if (!Number.isInteger(m) || m < 1) throw new UsageError(`${label}: compression m must be >= 1 (m = ${m})`);
  if (r < mdsMinLoad(s, m)) {
    throw new UsageError(
      `${label} needs r >= 2s + m to decode exactly (r = ${r}, s = ${s}, m = ${m}: use r >= ${mdsMinLoad(s, m)})`,
    );
  }
  if (r > n) throw new UsageError(`${label} needs n >= r workers (n = ${n}, r = ${r})`);
  if (d < 1) throw new UsageError(`${label} needs d >= 1 parameters (d = ${d})`);
  const k = n - 2 * s;
  const L = Math.ceil(d / (2 * m));
  const assignment = Array.from({ length: n }, (_, i) => Array.from({ length: r }, (_, q) => (i + q) % n));
  // Everything below in double-double (dd.ts), each result rounded once to float64: the plain
  // float64 products and series came out 20 (m = 1) to 3e4 (m = 8) ulps off (measured against a
  // 256-bit reference, test/schemes/exact-ref.ts), an error every message then carries.
  const root = rootsOfUnity(n); // root[e] = w^e
  const rt = (e: number): DDC => root[((e % n) + n) % n];
  const inv = cddReal(invSqrt(n));
  const generator = cmat(n, k);
  const generatorLo = cmat(n, k);
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < k; t++) {
      const g = cddMul(rt(i * t), inv);
      const o = 2 * (i * k + t);
      generator.data[o] = g[0] + g[1];
      generator.data[o + 1] = g[2] + g[3];
      generatorLo.data[o] = g[0] - generator.data[o] + g[1];
      generatorLo.data[o + 1] = g[2] - generator.data[o + 1] + g[3];
    }
  }

  const coef = new Float64Array(2 * n * r * m);
  const coefSplit = new Float64Array(4 * n * r * m);
  const ONE: DDC = [1, 0, 0, 0];
  const ZERO: DDC = [0, 0, 0, 0];
  for (let j = 0; j < n; j++) {
    const holders = new Set(Array.from({ length: r }, (_, q) => (((j - q) % n) + n) % n));
    const others: number[] = [];
    for (let l = 0; l < n; l++) if (!holders.has(l)) others.push(l);
    // First m coefficients of Pi_j(y) = prod (1 - y w^(-l)) (truncated product).
    const pi: DDC[] = Array.from({ length: m }, (_, t) => (t === 0 ? ONE : ZERO));
    for (const l of others) {
      const c = rt(-l);
      for (let t = m - 1; t >= 1; t--) pi[t] = cddSub(pi[t], cddMul(c, pi[t - 1]));
    }
    // Series inverse: iota_0 = 1, iota_t = -sum_{q=1..t} pi_q iota_{t-q}.
    const iota: DDC[] = [ONE];
    for (let t = 1; t < m; t++) {
      let acc = ZERO;
      for (let q = 1; q <= t; q++) acc = cddAdd(acc, cddMul(pi[q], iota[t - q]));
      iota.push(cddSub(ZERO, acc));
    }
    for (const i of holders) {
      // Pi_j(w^i): the closed-form product (docs/schemes.md "Cyclic code": W[j][m] = (1/sqrt n) prod (1 - w^(j - l))).
      let p = inv;
      for (const l of others) p = cddMul(p, cddSub(ONE, rt(i - l)));
      const q = (((j - i) % n) + n) % n; // slot of partition j at worker i
      // T_b(y) = y^b S_b with S_b = sum_{t < m - b} iota_t y^t, y = w^i (so y^t = w^(it), exact
      // from the table): S_b = S_(b+1) + iota_(m-1-b) y^(m-1-b), from b = m - 1 down.
      let sum = ZERO;
      for (let b = m - 1; b >= 0; b--) {
        sum = cddAdd(sum, cddMul(iota[m - 1 - b], rt(i * (m - 1 - b))));
        const c = cddMul(p, cddMul(sum, rt(i * b)));
        const o = 2 * ((i * r + q) * m + b);
        coef[o] = c[0] + c[1];
        coef[o + 1] = c[2] + c[3];
        const [rh, rt0] = splitHead(c[0], c[1]);
        const [ih, it0] = splitHead(c[2], c[3]);
        coefSplit.set([rh, rt0, ih, it0], 2 * o);
      }
    }
  }
  return {
    ...p,
    k,
    L,
    messageLength: p.dtype === 'float64x2' ? 4 * L : 2 * L,
    elementDtype: p.dtype === 'float32' ? 'float32' : 'float64',
    assignment,
    coef,
    coefSplit,
    generator,
    generatorLo,
  };
}

/** The message-format note the CLI shows (describe()) for float32 and float64x2 messages. */
export function dtypeNote(code: MdsCode): string {
  if (code.dtype === 'float32') {
    return '; WARNING float32 messages: ~1e-3 relative decode error at n = 45 (use float64 for exact decoding)';
  }
  return code.dtype === 'float64x2'
    ? '; float64x2 messages: each value as high + low float64 (2x the bytes of float64, exact where float64 rounding is amplified)'
    : '';
}
