/**
 * The MDS machinery shared by DRACO's cyclic code and Solon (spec/schemes.md "Cyclic code",
 * "Solon"). One construction covers both: Solon with compression m = 1 IS the cyclic code.
 *
 * Code: n workers, K = n - 2s, w = exp(-2 pi i / n), generator V = C1 = the first K columns of
 * the unitary DFT (V[i][t] = w^(i t) / sqrt n). Worker i holds the r >= 2s + m partitions
 * {i, ..., i + r - 1} mod n, so partition j is held by H_j = {j - r + 1, ..., j} mod n. Every
 * partition gradient is cut into m blocks and each block packed two reals per complex value
 * (block k of g: reals [2kL, 2kL + L) are the real parts, [2kL + L, 2(k+1)L) the imaginary
 * parts; L = ceil(d / 2m), zero padded).
 *
 * Encoding (closed form, generalising the spec's cyclic W to m > 1). The coefficient of block k
 * of partition j at worker i is `B[i][j][k] = (1/sqrt n) Pi_j(w^i) T_k(w^i)` with
 * `Pi_j(y) = prod_{l not in H_j} (1 - y w^(-l))` (zero at every non-holder: the zero pattern) and
 * `T_k(y) = y^k (1 / Pi_j(y) mod y^(m-k))`, the unique polynomial of degree < m making the first
 * m coefficients of `Pi_j T_k` equal e_k. The column is then `V c_{j,k}` with `c_{j,k}` the
 * coefficients of `Pi_j T_k` (degree n - r + m - 1 < K iff r >= 2s + m): exactly the spec's
 * step 3 solution, without a solve. For m = 1, T_0 = 1 and B is the spec's W.
 *
 * Messages are planar: `msg[0..L)` real parts, `msg[L..2L)` imaginary parts, float64 by default;
 * float64x2 messages append the low parts of the same values (`msg[2L..4L)`, see mdsEncode).
 *
 * Precision (spec "Cyclic code" step 6). The coefficients reach 3e5 (cyclic, n = 45) and 1e9
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
import {
  cget,
  cmat,
  crows,
  minNormSolve,
  qrAdjointSolve,
  qrFull,
  qrSolve,
  type CMat,
} from '../core/complex.js';
import { UsageError } from '../core/errors.js';
import { arenaOf, COMBINE_SETS, type MessageArena } from '../core/simd/arena.js';
import type { Rng } from '../core/rng.js';
import { allFinite, type Vec } from '../core/vec.js';
import {
  adjointResidual,
  cddAdd,
  cddMul,
  cddReal,
  cddSub,
  invSqrt,
  rootsOfUnity,
  twoSum,
  type DDC,
} from './dd.js';
import type { DecodeContext, DecodeResult, GradientOracle, MessageDtype } from './types.js';

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

/** Minimum compute load for exact recovery: r >= 2s + m (spec "Solon"; m = 1: DRACO's bound). */
export function mdsMinLoad(s: number, m: number): number {
  return 2 * s + m;
}

/** w^e for w = exp(-2 pi i / n), with the exponent reduced mod n first (exact at multiples). */
function wpow(n: number, e: number): [number, number] {
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
      // Pi_j(w^i): the closed-form product (spec: W[j][m] = (1/sqrt n) prod (1 - w^(j - l))).
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

/**
 * Worker side: `z_i = sum_{j held} sum_k B[i][j][k] h_j^(k)` (spec "Solon" step 4; the cyclic
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

/**
 * The PS's private projection (spec step 1): a fresh random real vector of length L, uniform
 * in [-1/2, 1/2) on a 2^-32 grid, so a fixed nonzero error is orthogonal to it with probability
 * at most 2^-32. The stream is seeded from `rng` (16 words) and generated inline by four
 * interleaved xorshift128 generators, f[t] from generator t mod 4: a method call or a Gaussian
 * per value dominated the decode (measured), and four generators are the four i32x4 lanes of the
 * SIMD kernel (one generator, a serial chain, took 1.2 ms of the projection at L = 5e5).
 */
export function drawProjection(rng: Rng, L: number): Float64Array {
  const f = new Float64Array(L);
  fillProjection(projectionState(rng), f);
  return f;
}

/**
 * The state of drawProjection's four generators, drawn from `rng`: [x0..x3, y0..y3, z0..z3,
 * w0..w3] (generator k in lane k: the layout of the kernel's four i32x4 vectors).
 */
function projectionState(rng: Rng): Int32Array {
  const st = new Int32Array(16);
  for (let i = 0; i < 16; i++) st[i] = rng.nextU32() | 0;
  for (let k = 12; k < 16; k++) st[k] |= 1; // w never zero: no generator in the all-zero state
  return st;
}

/**
 * The next f.length values of the stream into f (f[t] from generator t mod 4), from a state at
 * a multiple of four values; advances each generator by the values it gave (the SIMD kernel
 * `project` generates the same values: w * 2^-32 - 0.5 is exact).
 */
function fillProjection(state: Int32Array, f: Float64Array): void {
  for (let k = 0; k < 4; k++) {
    let x = state[k];
    let y = state[4 + k];
    let z = state[8 + k];
    let w = state[12 + k];
    for (let t = k; t < f.length; t += 4) {
      const s = x ^ (x << 11);
      x = y;
      y = z;
      z = w;
      w = w ^ (w >>> 19) ^ (s ^ (s >>> 8));
      f[t] = (w >>> 0) * 2.3283064365386963e-10 - 0.5;
    }
    state[k] = x;
    state[4 + k] = y;
    state[8 + k] = z;
    state[12 + k] = w;
  }
}

/**
 * The projection's summation order, shared by the JS loop and the SIMD kernel (so both give the
 * same bits): per row four partial sums `lanes[4 j .. 4 j + 4)` = [re even, re odd, im even,
 * im odd], each over its t (even or odd) in increasing order from +0 of `x[t] f[t]` (re) or
 * `x[L + t] f[t]` (im); then `u_j = (re even + re odd) + i (im even + im odd)`. The JS loop here
 * covers t in [from, L) (from even) with `f[t - from]`, two rows per pass (eight independent
 * chains: one chain per row would stall on the floating-point add latency).
 */
function accumulateLanes(
  rows: readonly Vec[],
  f: Float64Array,
  L: number,
  from: number,
  lanes: Float64Array,
): void {
  const end = from + ((L - from) & ~1);
  const tail = end < L; // one even t left: L - 1
  let j = 0;
  for (; j + 2 <= rows.length; j += 2) {
    const x0 = rows[j];
    const x1 = rows[j + 1];
    let re0 = lanes[4 * j],
      ro0 = lanes[4 * j + 1],
      ie0 = lanes[4 * j + 2],
      io0 = lanes[4 * j + 3];
    let re1 = lanes[4 * j + 4],
      ro1 = lanes[4 * j + 5],
      ie1 = lanes[4 * j + 6],
      io1 = lanes[4 * j + 7];
    for (let t = from; t < end; t += 2) {
      const fe = f[t - from];
      const fo = f[t - from + 1];
      re0 += x0[t] * fe;
      ro0 += x0[t + 1] * fo;
      ie0 += x0[L + t] * fe;
      io0 += x0[L + t + 1] * fo;
      re1 += x1[t] * fe;
      ro1 += x1[t + 1] * fo;
      ie1 += x1[L + t] * fe;
      io1 += x1[L + t + 1] * fo;
    }
    if (tail) {
      const fe = f[end - from];
      re0 += x0[end] * fe;
      ie0 += x0[L + end] * fe;
      re1 += x1[end] * fe;
      ie1 += x1[L + end] * fe;
    }
    lanes.set([re0, ro0, ie0, io0, re1, ro1, ie1, io1], 4 * j);
  }
  for (; j < rows.length; j++) {
    const x = rows[j];
    let re = lanes[4 * j],
      ro = lanes[4 * j + 1],
      ie = lanes[4 * j + 2],
      io = lanes[4 * j + 3];
    for (let t = from; t < end; t += 2) {
      const fe = f[t - from];
      const fo = f[t - from + 1];
      re += x[t] * fe;
      ro += x[t + 1] * fo;
      ie += x[L + t] * fe;
      io += x[L + t + 1] * fo;
    }
    if (tail) {
      const fe = f[end - from];
      re += x[end] * fe;
      ie += x[L + end] * fe;
    }
    lanes.set([re, ro, ie, io], 4 * j);
  }
}

/** u_j from the four partial sums per row (interleaved complex). */
function finishLanes(lanes: Float64Array, rows: number): Float64Array {
  const u = new Float64Array(2 * rows);
  for (let j = 0; j < rows; j++) {
    u[2 * j] = lanes[4 * j] + lanes[4 * j + 1];
    u[2 * j + 1] = lanes[4 * j + 2] + lanes[4 * j + 3];
  }
  return u;
}

/** `u_j = R_j f` for the given rows (planar complex messages), in the JS loop. */
export function project(rows: readonly Vec[], f: Float64Array, L: number): Float64Array {
  const lanes = new Float64Array(4 * rows.length);
  accumulateLanes(rows, f, L, 0, lanes);
  return finishLanes(lanes, rows.length);
}

/**
 * `u_j = R_j f` with f = drawProjection(rng, L) (the same draws from rng, the same f, the same
 * bits as `project`). When the rows are float64 views on one MessageArena (the PS's validated
 * messages), the SIMD kernel generates f block by block in wasm memory and reads the rows in
 * place for all but the last L mod 4 coordinates; otherwise f is drawn and the JS loop runs.
 */
export function projectRows(rows: readonly Vec[], rng: Rng, L: number): Float64Array {
  const state = projectionState(rng);
  const lanes = new Float64Array(4 * rows.length);
  const done = rows.length > 0 ? (arenaOf(rows[0])?.projectLanes(rows, L, state, lanes) ?? 0) : 0;
  return projectTail(rows, L, state, lanes, done);
}

/** The JS loop's part of projectRows (t in [done, L), continuing the kernel's stream), then u. */
function projectTail(
  rows: readonly Vec[],
  L: number,
  state: Int32Array,
  lanes: Float64Array,
  done: number,
): Float64Array {
  const f = new Float64Array(L - done);
  fillProjection(state, f);
  accumulateLanes(rows, f, L, done, lanes);
  return finishLanes(lanes, rows.length);
}

/**
 * `out += sum_j v_j R_j` for planar complex rows, complex weights v (interleaved) and a planar
 * output (`out[0..L)` real, `out[L..2L)` imaginary), coordinates t in [from, L). Two rows per
 * pass. Per coordinate the order is `out += ((a0 p0 - b0 q0) + a1 p1) - b1 q1` per pair of rows,
 * then `out += a p - b q` for an odd last row (imaginary: `((a0 q0 + b0 p0) + a1 q1) + b1 p1`,
 * same shape); the SIMD kernel (combineRows) keeps it, so both give the same bits.
 */
export function combine(rows: readonly Vec[], v: Float64Array, L: number, out: Float64Array, from = 0): void {
  let j = 0;
  for (; j + 2 <= rows.length; j += 2) {
    const x0 = rows[j];
    const x1 = rows[j + 1];
    const a0 = v[2 * j],
      b0 = v[2 * j + 1],
      a1 = v[2 * j + 2],
      b1 = v[2 * j + 3];
    for (let t = from; t < L; t++) {
      const p0 = x0[t],
        q0 = x0[L + t],
        p1 = x1[t],
        q1 = x1[L + t];
      out[t] += a0 * p0 - b0 * q0 + a1 * p1 - b1 * q1;
      out[L + t] += a0 * q0 + b0 * p0 + a1 * q1 + b1 * p1;
    }
  }
  if (j < rows.length) {
    const x = rows[j];
    const a = v[2 * j];
    const b = v[2 * j + 1];
    for (let t = from; t < L; t++) {
      const p = x[t];
      const q = x[L + t];
      out[t] += a * p - b * q;
      out[L + t] += a * q + b * p;
    }
  }
}

/**
 * `outs[b] = sum_j vs[b]_j R_j` for every weight set b (each 2L planar, overwritten): the same
 * bits as `combine` per set into zeros. When the rows are float64 views on one MessageArena, the SIMD kernel
 * reads them in place once for all sets (the decoded blocks of Solon) and does all but the last t
 * of an odd L; otherwise the JS loop runs per set. Returns whether every output value is finite
 * (the kernel checks its output blocks in L1; a JS pass checks the rest).
 */
export function combineRows(
  rows: readonly Vec[],
  vs: readonly Float64Array[],
  L: number,
  outs: readonly Float64Array[],
): boolean {
  const simd = rows.length > 0 ? arenaOf(rows[0])?.combineInto(rows, vs, L, outs) : undefined;
  return combineTail(rows, vs, L, outs, simd?.len ?? 0) && (simd?.finite ?? true);
}

/**
 * The JS loop's part of combineRows: coordinates t in [done, L) of every `outs[b]` (the rest is
 * the kernel's), overwritten; whether every value it wrote is finite.
 */
function combineTail(
  rows: readonly Vec[],
  vs: readonly Float64Array[],
  L: number,
  outs: readonly Float64Array[],
  done: number,
): boolean {
  let finite = true;
  vs.forEach((v, b) => {
    const out = outs[b];
    out.fill(0, done, L);
    out.fill(0, L + done);
    combine(rows, v, L, out, done);
    if (done === 0) finite = finite && allFinite(out);
    else
      for (let t = done; t < L; t++)
        finite = finite && Number.isFinite(out[t]) && Number.isFinite(out[L + t]);
  });
  return finite;
}

/**
 * `out = sum_j (v_j + vLo_j) R_j`, accurately: every product error-free (Dekker's TwoProduct),
 * every addition's error caught by TwoSum in a second accumulator, the weights' low parts
 * added in plain float64; the result is rounded about once. ~7x the flops of `combine`; the
 * decoder uses it only when the plain combination's rounding would matter (see mdsDecode).
 * `tails` (float64x2 messages): the rows' low parts, `R_j + tails_j` being the message; a
 * product of a weight with a low part is ~2^-53 of the sum's terms, so it is added plainly.
 */
export function combineAccurate(
  rows: readonly Vec[],
  v: Float64Array,
  vLo: Float64Array,
  L: number,
  out: Float64Array,
  tails?: readonly (Vec | null)[],
): void {
  const lo = new Float64Array(2 * L);
  const SPLIT = 134217729; // 2^27 + 1
  for (let j = 0; j < rows.length; j++) {
    const x = rows[j];
    const a = v[2 * j];
    const b = v[2 * j + 1];
    const al = vLo[2 * j];
    const bl = vLo[2 * j + 1];
    let c = SPLIT * a;
    const a1 = c - (c - a);
    const a2 = a - a1;
    c = SPLIT * b;
    const b1 = c - (c - b);
    const b2 = b - b1;
    for (let t = 0; t < L; t++) {
      const p = x[t];
      const q = x[L + t];
      c = SPLIT * p;
      const p1 = c - (c - p);
      const p2 = p - p1;
      c = SPLIT * q;
      const q1 = c - (c - q);
      const q2 = q - q1;
      // re += a p - b q
      let P = a * p;
      let E = a1 * p1 - P + a1 * p2 + a2 * p1 + a2 * p2;
      let Q = b * q;
      let F = b1 * q1 - Q + b1 * q2 + b2 * q1 + b2 * q2;
      let h = out[t];
      let s1 = h + P;
      let z = s1 - h;
      let e = h - (s1 - z) + (P - z);
      let s2 = s1 - Q;
      z = s2 - s1;
      out[t] = s2;
      lo[t] += e + (s1 - (s2 - z)) - (Q + z) + E - F + (al * p - bl * q);
      // im += a q + b p
      P = a * q;
      E = a1 * q1 - P + a1 * q2 + a2 * q1 + a2 * q2;
      Q = b * p;
      F = b1 * p1 - Q + b1 * p2 + b2 * p1 + b2 * p2;
      h = out[L + t];
      s1 = h + P;
      z = s1 - h;
      e = h - (s1 - z) + (P - z);
      s2 = s1 + Q;
      z = s2 - s1;
      out[L + t] = s2;
      lo[L + t] += e + (s1 - (s2 - z)) + (Q - z) + E + F + (al * q + bl * p);
    }
    // float64x2: the row's low parts (2^-53 of the high ones), plainly into the low sums.
    const y = tails?.[j];
    if (y) {
      for (let t = 0; t < L; t++) {
        const p = y[t];
        const q = y[L + t];
        lo[t] += a * p - b * q;
        lo[L + t] += a * q + b * p;
      }
    }
  }
  for (let t = 0; t < 2 * L; t++) out[t] += lo[t];
}

/**
 * float64x2: the low parts of full messages (their values [2L, 4L)), or null for a row whose low
 * parts are not what TwoSum gives, |lo| <= 2^-53 |hi| (so also non-finite ones). The locator sees
 * the high parts only, so this bound is what limits a Byzantine row that passed it with correct
 * high parts: its low parts can move the sum no more than the rounding of float64 messages. A
 * row that breaks it is a suspect, and its low parts are left out (the row counts at float64
 * precision).
 */
function lowParts(rows: readonly Vec[], L: number): (Vec | null)[] {
  const ULP = 2 ** -53;
  return rows.map((x) => {
    for (let t = 0; t < 2 * L; t++) if (!(Math.abs(x[2 * L + t]) <= ULP * Math.abs(x[t]))) return null;
    return x.subarray(2 * L, 4 * L);
  });
}

/** The decoded-gradient buffer of each arena (see resultBuffer). */
const results = new WeakMap<MessageArena, Float64Array>();

/**
 * The buffer the decoded gradient is written to, not zeroed. When the rows are views on a
 * MessageArena (the PS's validated messages) it is one buffer per arena, reused by every decode
 * over that arena: valid until the next one, like the slots themselves (the training loop
 * consumes the gradient before the next step, as with the uncoded scheme's reused result). A
 * fresh 8 MB array cost ~4 ms of page faults per decode at d = 1e6 (measured on the 2-core VM),
 * a quarter of the whole SIMD decode at n = 15. Plain-array callers get a fresh array.
 */
function resultBuffer(rows: readonly Vec[], size: number): Float64Array {
  const arena = rows.length > 0 ? arenaOf(rows[0]) : undefined;
  if (arena === undefined) return new Float64Array(size);
  let buf = results.get(arena);
  if (buf === undefined || buf.length !== size) {
    buf = new Float64Array(size);
    results.set(arena, buf);
  }
  return buf;
}

/**
 * Speculation (the decoder's one-pass fast path). The O(n d) work of a decode is two passes over
 * the messages: the projection (all rows), then, once the locator has chosen the kept rows H, the
 * combination over H; at d = 1e6 each was ~45% of the decode, compute-bound. But H is every row
 * consistent with the located codeword (step 5), so it depends only on which rows are wrong: the
 * same every step while the Byzantine workers are (all rows with none). So over arena messages
 * the decoder combines the LAST decode's H, with its weights, in the projection's pass (kernel
 * project_combine: each pair of rows loaded once for both). If H comes out the same, that
 * combination is the answer: the weights depend on H only, so it is bitwise what the second
 * pass would give. Otherwise the guess is discarded and the second pass runs as usual (a miss
 * costs one extra combination), and the decoder backs off: after a miss it does not guess for 1,
 * then 2, 4, ... up to MAX_BACKOFF decodes while guesses keep missing, and a hit resets that. So
 * adversaries that move every step (`--placement random`) cost at most one wasted combination per
 * MAX_BACKOFF + 1 steps, about the two-pass decode, and fixed ones one pass every step. The
 * result never depends on the guess (nor on the decode history: a resumed run decodes the same
 * bits), only the time does.
 */
interface Speculation {
  code: MdsCode;
  /** The kept rows H (sender indices, increasing). */
  keep: number[];
  gen: CMat;
  qr: ReturnType<typeof qrFull>;
  /** Per block b: the complex combination weights v_b over H (interleaved), and their low parts. */
  v: Float64Array[];
  vLo: Float64Array[];
  /** Decodes left that do not guess (after a miss). */
  skip: number;
  /** How many decodes the next miss skips: 1, doubling per miss up to MAX_BACKOFF, 1 after a hit. */
  backoff: number;
}

/** The longest run of decodes that do not guess after misses (see Speculation). */
const MAX_BACKOFF = 64;

/** The last decode's Speculation, per arena (the PS's message slots). */
const speculations = new WeakMap<MessageArena, Speculation>();

/** After a miss: skip the next `backoff` decodes, and double the skip for the next miss. */
function backOff(sp: Speculation): void {
  sp.skip = sp.backoff;
  sp.backoff = Math.min(2 * sp.backoff, MAX_BACKOFF);
}

function sameRows(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * The combination weights over the kept rows H (spec "Cyclic code" step 5): for each block b < m
 * the min-norm solution of v_b^T C1[H,:] = e_b^T, as `v` (hi) and `vLo` (lo), interleaved complex.
 */
function recoveryWeights(
  code: MdsCode,
  keep: readonly number[],
  gen: CMat,
  qr: ReturnType<typeof qrFull>,
): { v: Float64Array[]; vLo: Float64Array[] } {
  const { k: K, m } = code;
  // Solved directly (backward stable: v_b^T C1[H,:] misses e_b^T by rounding only), not read off
  // as rows of pinv(C1[H,:]): cond(C1[H,:]) reaches 6.5e3 at n = 45 and 4e5 at n = 63 for
  // adjacent suspects (not the ~10 the spec quotes, which holds for scattered ones), and a pinv
  // row misses e_b^T by cond * eps; that residual, times the large codeword coefficients, was 99%
  // of the decode error there.
  const unit = cmat(K, m);
  for (let b = 0; b < m; b++) unit.data[2 * (b * m + b)] = 1;
  const xs0 = qrAdjointSolve(qr, unit); // |H| x m; v_b = conj(column b)
  // One step of iterative refinement with the residual e_b - C1[H,:]^H x_b accumulated in dd
  // against the ~106-bit C1 (generator + generatorLo): removes the solve's own rounding and that
  // of C1's entries (measured: 2-3x less decode error at n = 45, adjacent).
  const res = adjointResidual(
    gen.data,
    crows(code.generatorLo, keep).data,
    keep.length,
    K,
    xs0.data,
    unit.data,
    m,
  );
  const dx = qrAdjointSolve(qr, cmat(K, m, res));
  // x = x0 + dx kept as hi + lo (TwoSum): the weights' own rounding then stays out of the sum.
  const v: Float64Array[] = [];
  const vLo: Float64Array[] = [];
  for (let b = 0; b < m; b++) {
    const hi = new Float64Array(2 * keep.length);
    const lo = new Float64Array(2 * keep.length);
    for (let a = 0; a < keep.length; a++) {
      const o = 2 * (a * m + b);
      const [hr, lr] = twoSum(xs0.data[o], dx.data[o]);
      const [hm, lm] = twoSum(xs0.data[o + 1], dx.data[o + 1]);
      hi[2 * a] = hr;
      hi[2 * a + 1] = -hm;
      lo[2 * a] = lr;
      lo[2 * a + 1] = -lm;
    }
    v.push(hi);
    vLo.push(lo);
  }
  return { v, vLo };
}

/**
 * projectRows over `rows` and, in the same pass, combineRows of `combRows` with the weight sets
 * `vs` into `outs` (overwritten): the same bits as the two calls. The kernel does both block by
 * block when every row is a float64 view on one MessageArena (reading the messages once); the JS
 * loops do the rest (or all).
 */
export function projectAndCombine(
  rows: readonly Vec[],
  rng: Rng,
  L: number,
  combRows: readonly Vec[],
  vs: readonly Float64Array[],
  outs: readonly Float64Array[],
): { u: Float64Array; finite: boolean } {
  const state = projectionState(rng);
  const lanes = new Float64Array(4 * rows.length);
  const simd =
    rows.length > 0
      ? arenaOf(rows[0])?.projectCombineInto(rows, L, state, lanes, combRows, vs, outs)
      : undefined;
  const done = simd?.len ?? 0;
  const finite = combineTail(combRows, vs, L, outs, done) && (simd?.finite ?? true);
  return { u: projectTail(rows, L, state, lanes, done), finite };
}

/**
 * Predicted relative rounding error of the plain float64 combination above which the decoder
 * switches to the error-free one (float64 messages only: float32 messages carry 1e-7 anyway).
 */
const ACCURATE = 1e-10;

/** Rounds of residual-based re-selection when the locator's choice is inconsistent (step 5). */
const RESELECT = 3;

/** A received row whose |u_j| exceeds this many times the median is a known-position error. */
const OUTLIER = 1e4;

/** Diagnostics of one decode, for tests and the bench. */
export interface MdsDecodeInfo {
  /**
   * Present rows left out of the final solve: those the locator excluded (the tau smallest
   * |p(x_j)|, or the re-selection's) that are inconsistent with the fitted codeword.
   */
  excluded: number[];
  /** Locator size tau = floor((2s - e) / 2). */
  tau: number;
  /** Numerical rank of the locator system. */
  locatorRank: number;
  /**
   * Rounding amplification of the combination, max over blocks of
   * A_b = sqrt(sum_j |v_bj|^2 |u_j|^2) / |sum_j v_bj u_j| (step 6): the float64 messages' own
   * rounding reaches the decoded sum as roughly eps/2 * A (the intrinsic limit).
   */
  amplification: number;
  /** Whether the error-free combination was used (eps * A > ACCURATE). */
  accurate: boolean;
  /**
   * The speculative one-pass combination (see Speculation): 'none' when the decode did not guess,
   * 'hit' when the last decode's kept rows were kept again (one pass), 'miss' otherwise.
   */
  speculation: 'none' | 'hit' | 'miss';
}

/**
 * PS side (spec "Cyclic code" Decode 1-7; "Solon" step 5). Present rows A (e erasures): modified
 * syndromes `S_t = (1/sqrt n) sum_{j in A} Gamma(x_j) x_j^(K+t) u_j`, t < 2s - e, with
 * `x_j = w^(-j)` and the erasure locator `Gamma(x) = prod_{i erased} (x - x_i)` (Gamma = 1 without
 * erasures: plain `C2^H u`; with erasures the code is shortened and keeps 2s - e redundancy).
 *
 * Deviation from the spec's step 5, deliberate: the final least squares runs over every present
 * row consistent with the codeword fitted on the locator's kept rows (n - e - t rows for t wrong
 * ones), not only over those n - e - tau kept rows (see the comment at the final solve).
 *
 * The O(n d) passes (projection, combination) run on the SIMD kernels when the messages are
 * float64 views on one MessageArena, bitwise as the JS loops, in one pass when the kept rows
 * repeat (Speculation). The gradient of such a decode is then a buffer reused by the next decode
 * over the same arena (resultBuffer): consume it first.
 */
export function mdsDecode(
  code: MdsCode,
  messages: readonly (Vec | null)[],
  ctx: DecodeContext,
  info?: (i: MdsDecodeInfo) => void,
): DecodeResult {
  const { n, s, k: K, L, m, d } = code;
  const label = m === 1 ? 'cyclic' : 'solon';
  const samples = ctx.partitionSizes.reduce((a, b) => a + b, 0);
  const failures: string[] = [];
  // float64x2 messages: everything but the error-free combination runs on the high parts (bitwise
  // the float64 messages); the low parts join there only (lowParts).
  const wide = code.dtype === 'float64x2';
  const heads = wide ? messages.map((x) => (x === null ? null : x.subarray(0, 2 * L))) : messages;
  const received: number[] = [];
  for (let j = 0; j < n; j++) if (heads[j] !== null) received.push(j);
  const receivedRows = received.map((j) => heads[j]!);
  // Over arena messages, the last decode's kept rows and weights, combined speculatively in the
  // projection's pass: if the locator keeps the same rows, the combination is done (Speculation).
  const arena = receivedRows.length > 0 ? arenaOf(receivedRows[0]) : undefined;
  const last = arena === undefined ? undefined : speculations.get(arena);
  const memo = last !== undefined && last.code === code ? last : undefined;
  const guess =
    memo !== undefined && memo.skip === 0 && m <= COMBINE_SETS && memo.keep.every((j) => heads[j] !== null)
      ? memo
      : undefined;
  const fail = (why: string, suspects: number[] = []): DecodeResult => {
    if (guess !== undefined) backOff(guess);
    return {
      gradient: new Float64Array(d),
      samplesCovered: 0,
      suspects,
      failures: [...failures, why],
      abort: true,
    };
  };
  const tooMany = (e: number) =>
    `${label}: ${e} erasures exceed the code's redundancy 2s = ${2 * s}; step aborted`;
  if (n - received.length > 2 * s) return fail(tooMany(n - received.length));
  // 1. Fresh private projection (drawn first from ctx.rng: see attacks/hidden.ts for why), with
  // the guess's combination in the same pass.
  const padded = resultBuffer(receivedRows, 2 * L * m);
  const blockOut = (b: number) => padded.subarray(2 * b * L, 2 * (b + 1) * L);
  let guessFinite = false;
  let u0: Float64Array;
  if (guess === undefined) u0 = projectRows(receivedRows, ctx.rng, L);
  else {
    const both = projectAndCombine(
      receivedRows,
      ctx.rng,
      L,
      guess.keep.map((j) => heads[j]!),
      guess.v,
      guess.v.map((_, b) => blockOut(b)),
    );
    u0 = both.u;
    guessFinite = both.finite;
  }
  // Honest projections are all of one scale (W's rows have equal norms by cyclic symmetry, and
  // f is random): the median over received rows is honest (n - s > n / 2). A row far above it
  // (or one that overflowed) can only be wrong and its position is known, so it is treated as an
  // erasure (one unit of redundancy instead of two) and flagged. This also bounds the dynamic
  // range, so a huge error cannot push a moderate one below the rounding noise of the locator.
  const mags = received.map((_, a) => Math.hypot(u0[2 * a], u0[2 * a + 1]));
  const sorted = mags.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  const median = sorted.length > 0 ? sorted[Math.floor((sorted.length - 1) / 2)] : 0;
  const ceiling = median > 0 ? OUTLIER * median : Infinity;
  // More than s rows above the ceiling cannot all be Byzantine (e.g. one partition with an
  // exploding gradient raises every row holding it): then only non-finite rows are dropped.
  const large = mags.filter((x) => Number.isFinite(x) && x > ceiling).length;
  const limit = large <= s ? ceiling : Infinity;
  const overflowed: number[] = [];
  const present: number[] = [];
  const uList: number[] = [];
  received.forEach((j, a) => {
    if (mags[a] <= limit) {
      present.push(j);
      uList.push(u0[2 * a], u0[2 * a + 1]);
    } else overflowed.push(j); // NaN also lands here
  });
  const e = n - present.length;
  if (e > 2 * s) return fail(tooMany(e), overflowed);
  const rows = present.map((j) => heads[j]!);
  // Everything below is invariant to the scale of u: normalise so that huge (finite) errors
  // cannot overflow the syndromes or the QR's norms.
  const u = Float64Array.from(uList);
  let uMax = 0;
  for (let a = 0; a < present.length; a++) uMax = Math.max(uMax, Math.hypot(u[2 * a], u[2 * a + 1]));
  if (uMax > 0) for (let i = 0; i < u.length; i++) u[i] /= uMax;
  // Noise floor of u (now of scale 1): message rounding, summed over up to n rows.
  const eps = code.dtype === 'float32' ? 2 ** -24 : 2 ** -53;
  const noise = uMax > 0 ? eps * Math.sqrt(n) : 0;

  // 2. Modified syndromes.
  const nsyn = 2 * s - e;
  const xs = (j: number) => wpow(n, -j);
  const syn = new Float64Array(2 * nsyn);
  const presentSet = new Set(present);
  const erased: number[] = [];
  for (let j = 0; j < n; j++) if (!presentSet.has(j)) erased.push(j);
  const invSqrt = 1 / Math.sqrt(n);
  present.forEach((j, a) => {
    let gr = invSqrt;
    let gi = 0;
    const [xr, xi] = xs(j);
    for (const i of erased) {
      const [yr, yi] = xs(i);
      const fr = xr - yr;
      const fi = xi - yi;
      const nr = gr * fr - gi * fi;
      gi = gr * fi + gi * fr;
      gr = nr;
    }
    // weight_t = Gamma(x_j) x_j^(K + t) / sqrt n, times u_j
    const [pr0, pi0] = wpow(n, -j * K);
    let wr = gr * pr0 - gi * pi0;
    let wi = gr * pi0 + gi * pr0;
    const ur = u[2 * a];
    const ui = u[2 * a + 1];
    for (let t = 0; t < nsyn; t++) {
      syn[2 * t] += wr * ur - wi * ui;
      syn[2 * t + 1] += wr * ui + wi * ur;
      const nr = wr * xr - wi * xi;
      wi = wr * xi + wi * xr;
      wr = nr;
    }
  });

  // 3. Locator: tau x tau Hankel system, row i: sum_u a_u S[tau-1-i+u] = S[2tau-1-i]; min norm.
  const tau = Math.floor(nsyn / 2);
  let excluded: number[] = [];
  let ranking: number[] = []; // present rows, most suspicious (smallest |p(x_j)|) first
  let locatorRank = 0;
  if (tau > 0) {
    const hank = cmat(tau, tau);
    const rhs = cmat(tau, 1);
    for (let i = 0; i < tau; i++) {
      for (let c = 0; c < tau; c++) {
        const q = tau - 1 - i + c;
        hank.data[2 * (i * tau + c)] = syn[2 * q];
        hank.data[2 * (i * tau + c) + 1] = syn[2 * q + 1];
      }
      rhs.data[2 * i] = syn[2 * (2 * tau - 1 - i)];
      rhs.data[2 * i + 1] = syn[2 * (2 * tau - 1 - i) + 1];
    }
    // Syndromes at the noise floor are zero (no error there): an absolute rank tolerance.
    const sol = minNormSolve(hank, rhs, noise * Math.sqrt(tau));
    locatorRank = sol.rank;
    // 4. p(x) = x^tau - sum_u a_u x^u at x_j; the tau smallest |p(x_j)| are excluded.
    const score = present.map((j) => {
      const [xr, xi] = xs(j);
      let pr = 1; // Horner on the monic polynomial, top coefficient first
      let pim = 0;
      for (let c = tau - 1; c >= 0; c--) {
        const nr = pr * xr - pim * xi - sol.x.data[2 * c];
        pim = pr * xi + pim * xr - sol.x.data[2 * c + 1];
        pr = nr;
      }
      return { j, v: Math.hypot(pr, pim) };
    });
    score.sort((a, b) => a.v - b.v || a.j - b.j);
    ranking = score.map((x) => x.j);
    excluded = ranking.slice(0, tau);
  }
  // 5. Least squares over all kept rows H, from one QR of C1[H,:]: the codeword fitted to the
  // projection (for the consistency check), and later the combination vectors (step 6).
  const tolRes = 1e4 * noise;
  // The present rows a predicate keeps: sender indices, their messages, their places in u.
  const select = (kept: (j: number, a: number) => boolean) => {
    const keep: number[] = [];
    const keepRows: Vec[] = [];
    const keepU: number[] = [];
    present.forEach((j, a) => {
      if (kept(j, a)) {
        keep.push(j);
        keepRows.push(rows[a]);
        keepU.push(a);
      }
    });
    return { keep, keepRows, keepU };
  };
  const fitExcluding = (ex: readonly number[]) => {
    const exSet = new Set(ex);
    const { keep, keepRows, keepU } = select((j) => !exSet.has(j));
    const g = guess !== undefined && sameRows(keep, guess.keep) ? guess : undefined;
    const gen = g !== undefined ? g.gen : crows(code.generator, keep);
    const qr = g !== undefined ? g.qr : qrFull(gen);
    const uKeep = cmat(keep.length, 1);
    keepU.forEach((a, i) => {
      uKeep.data[2 * i] = u[2 * a];
      uKeep.data[2 * i + 1] = u[2 * a + 1];
    });
    const z = qrSolve(qr, uKeep).data;
    // Consistency on the projection: residual of u against the fitted codeword, every present
    // row. Excluded rows with a residual are the suspects; a kept row with one means the kept
    // set holds an error.
    const resid = present.map((j, a) => {
      let rr = u[2 * a];
      let ri = u[2 * a + 1];
      for (let t = 0; t < K; t++) {
        const [gr, gi] = cget(code.generator, j, t);
        rr -= gr * z[2 * t] - gi * z[2 * t + 1];
        ri -= gr * z[2 * t + 1] + gi * z[2 * t];
      }
      return Math.hypot(rr, ri);
    });
    let worstKept = 0;
    present.forEach((j, a) => {
      if (!exSet.has(j)) worstKept = Math.max(worstKept, resid[a]);
    });
    return { exSet, keep, keepRows, keepU, gen, qr, resid, worstKept };
  };
  let fit = fitExcluding(excluded);
  // The locator's Hankel solve is ill-conditioned for clustered error positions: with 16..22
  // ADJACENT adversaries at n = 45 it misplaced a suspect in ~6% of cases (an edge neighbour
  // excluded, a row inside the cluster kept; measured), and the step was aborted. Then the tau
  // rows with the largest residual against the current fit are excluded instead, a few rounds.
  // Safe within the bound (e + 2t <= 2s): any kept set consistent to rounding holds at least K
  // honest rows, which fix the codeword, so it decodes correctly; otherwise the step still aborts.
  const topResiduals = (f: { resid: number[] }): number[] =>
    present
      .map((j, a) => ({ j, r: f.resid[a] }))
      .sort((x, y) => y.r - x.r || x.j - y.j)
      .slice(0, tau)
      .map((x) => x.j);
  if (tau > 0 && fit.worstKept > tolRes) {
    // Seed: fit only the least suspicious rows (K + half the spare ones), far from the
    // clustered errors, and exclude the tau rows that fit it worst.
    const seedSize = K + Math.floor((present.length - tau - K) / 2);
    const seed = fitExcluding(ranking.slice(0, present.length - seedSize));
    const next = topResiduals(seed);
    const again = fitExcluding(next);
    if (again.worstKept < fit.worstKept) {
      excluded = next;
      fit = again;
    }
  }
  for (let round = 0; round < RESELECT && tau > 0 && fit.worstKept > tolRes; round++) {
    const next = topResiduals(fit);
    const again = fitExcluding(next);
    if (!(again.worstKept < fit.worstKept)) break;
    excluded = next;
    fit = again;
  }
  const { exSet, worstKept } = fit;
  const suspects: number[] = [...overflowed];
  present.forEach((j, a) => {
    if (exSet.has(j) && fit.resid[a] > tolRes) suspects.push(j);
  });
  suspects.sort((a, b) => a - b);
  // The final solve uses every present row consistent with the fitted codeword: the kept rows
  // and the excluded ones whose residual is at rounding level (the test kept rows pass too). With
  // fewer than tau errors the locator's extra exclusions are honest rows chosen by rounding noise
  // (measured: a different pair at every step with no adversary at n = 15, s = 2); putting them
  // back makes the solve use n - t rows instead of n - e - tau (a smaller |v|, so less rounding)
  // and makes the kept set a function of which rows are wrong only, the same from step to step
  // while the adversaries are (see Speculation).
  const { keep, keepRows, keepU } = select((j, a) => !exSet.has(j) || fit.resid[a] <= tolRes);
  excluded = present.filter((j) => !keep.includes(j));
  // The guess was right when the same rows are kept: its QR, its weights (the same bits: they
  // depend on the kept rows only) and its combination stand.
  const held = guess !== undefined && sameRows(keep, guess.keep) ? guess : undefined;
  const hit = held !== undefined;
  const reused = held ?? (sameRows(keep, fit.keep) ? fit : undefined);
  const gen = reused !== undefined ? reused.gen : crows(code.generator, keep);
  const qr = reused !== undefined ? reused.qr : qrFull(gen);

  const report = (amplification: number, accurate: boolean, hit = false): void =>
    info?.({
      excluded: [...excluded].sort((a, b) => a - b),
      tau,
      locatorRank,
      amplification,
      accurate,
      speculation: guess === undefined ? 'none' : hit ? 'hit' : 'miss',
    });
  if (worstKept > tolRes) {
    report(NaN, false);
    return fail(
      `${label}: messages stay inconsistent after excluding ${tau} suspects (more than ${tau} errors with ` +
        `${e} erasures: the bound is e + 2t <= 2s = ${2 * s}); step aborted`,
      suspects,
    );
  }
  const { v: vs, vLo: vLos } = held ?? recoveryWeights(code, keep, gen, qr);

  // 6. G_packed^(b) = v_b^T R[H,:]; unpack into the gradient. The coefficients reach 1e5..1e6,
  // so the messages are that much larger than the sum they cancel down to, and rounding in the
  // combination is amplified by A_b = sqrt(sum_j |v_bj|^2 |y_j|^2) / |G^(b)|, estimated on the
  // projection (u_j = y_j . f). Where eps * A_b could exceed ACCURATE, the combination is
  // computed error-free (combineAccurate, ~4x slower); the decode error is then the messages'
  // own rounding (measured against exact messages: test/schemes/exact-ref.ts), eps * A for
  // float64 messages, ~eps^2 * A for float64x2 ones, whose low parts join here.
  let amplification = 0;
  let accurate = false;
  // Blocks for the plain combination, done together: one read of the rows for all of them.
  const plainV: Float64Array[] = [];
  const plainOut: Float64Array[] = [];
  const accurateOut: Float64Array[] = [];
  let tails: (Vec | null)[] | undefined;
  for (let b = 0; b < m; b++) {
    const v = vs[b];
    let num = 0;
    let sr = 0;
    let si = 0;
    for (let a = 0; a < keep.length; a++) {
      const vr = v[2 * a];
      const vi = v[2 * a + 1];
      const ur = u[2 * keepU[a]];
      const ui = u[2 * keepU[a] + 1];
      num += (vr * vr + vi * vi) * (ur * ur + ui * ui);
      sr += vr * ur - vi * ui;
      si += vr * ui + vi * ur;
    }
    const amp = Math.sqrt(num) / Math.hypot(sr, si);
    amplification = Math.max(amplification, Number.isNaN(amp) ? Infinity : amp);
    const amplified = !(eps * amp <= ACCURATE);
    const out = blockOut(b);
    if (amplified && code.dtype !== 'float32') {
      accurate = true;
      if (wide && tails === undefined) {
        tails = lowParts(
          keep.map((j) => messages[j]!),
          L,
        );
        keep.forEach((j, a) => {
          if (tails![a] === null) suspects.push(j);
        });
        suspects.sort((x, y) => x - y);
      }
      out.fill(0); // a reused buffer holds the previous step's gradient (or the guess's)
      combineAccurate(keepRows, v, vLos[b], L, out, tails);
      accurateOut.push(out);
    } else if (!hit) {
      plainV.push(v);
      plainOut.push(out);
    }
  }
  // With a hit the plain blocks are the guess's; its finiteness check also covered any block
  // redone accurately (an overflow there aborts the step, conservatively).
  const finite =
    (hit ? guessFinite : combineRows(keepRows, plainV, L, plainOut)) &&
    accurateOut.every((o) => allFinite(o));
  report(amplification, accurate, hit);
  if (arena !== undefined) {
    const next: Speculation = { code, keep, gen, qr, v: vs, vLo: vLos, skip: 0, backoff: 1 };
    if (guess !== undefined && !hit) {
      next.backoff = guess.backoff;
      backOff(next);
    } else if (guess === undefined && memo !== undefined) {
      next.skip = Math.max(0, memo.skip - 1);
      next.backoff = memo.backoff;
    }
    speculations.set(arena, next);
  }
  // Kept rows passed the consistency check, so this cannot trigger short of an overflow in the
  // honest sum itself; checked anyway so that a non-finite value never reaches the model.
  if (!finite) return fail(`${label}: decoded gradient is not finite; step aborted`, suspects);
  return {
    gradient: padded.length === d ? padded : padded.subarray(0, d),
    samplesCovered: samples,
    suspects,
    failures,
    abort: false,
  };
}
