/**
 * The decoder's hot loops over the messages (typed arrays and the SIMD kernels of core/simd): the
 * seeded random projection that reduces every message to one complex number, and the
 * combinations of message rows with the recovery weights (plain and error-free).
 */
import { arenaOf } from '../../core/simd/arena.js';
import type { Rng } from '../../core/rng.js';
import { allFinite, type Vec } from '../../core/vec.js';

/**
 * The PS's private projection (docs/schemes.md "Cyclic code" step 1): a fresh random real vector of length L, uniform
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
export function projectionState(rng: Rng): Int32Array {
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
export function projectTail(
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
export function combineTail(
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
export function lowParts(rows: readonly Vec[], L: number): (Vec | null)[] {
  const ULP = 2 ** -53;
  return rows.map((x) => {
    for (let t = 0; t < 2 * L; t++) if (!(Math.abs(x[2 * L + t]) <= ULP * Math.abs(x[t]))) return null;
    return x.subarray(2 * L, 4 * L);
  });
}
