/**
 * The PS side of the MDS code (docs/schemes.md "Cyclic code" steps 1-7, "Solon" steps 1-6):
 * project the messages, locate the adversaries from the projected syndromes (locator.ts), solve
 * for the recovery weights of the kept rows and combine the messages into the honest sum. Two
 * per-arena caches live here, keyed by the MessageArena the messages sit in (so they die with
 * it): the result buffer and the speculation of which rows the locator keeps.
 */
import { cget, cmat, crows, qrAdjointSolve, qrFull, qrSolve, type CMat } from '../../core/complex.js';

import { arenaOf, COMBINE_SETS, type MessageArena } from '../../core/simd/arena.js';
import type { Rng } from '../../core/rng.js';
import { allFinite, type Vec } from '../../core/vec.js';
import { adjointResidual, twoSum } from './dd.js';

import { locate } from './locator.js';
import {
  combineAccurate,
  combineRows,
  combineTail,
  lowParts,
  projectionState,
  projectRows,
  projectTail,
} from './kernels.js';
import type { DecodeContext, DecodeResult } from '../types.js';
import type { MdsCode } from './code.js';
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
 * The combination weights over the kept rows H (docs/schemes.md "Cyclic code" step 5): for each block b < m
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
  // adjacent suspects (not the ~10 the paper quotes, which holds for scattered ones), and a pinv
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
 * PS side (docs/schemes.md "Cyclic code" steps 1-7; "Solon" step 5). Present rows A (e erasures): modified
 * syndromes `S_t = (1/sqrt n) sum_{j in A} Gamma(x_j) x_j^(K+t) u_j`, t < 2s - e, with
 * `x_j = w^(-j)` and the erasure locator `Gamma(x) = prod_{i erased} (x - x_i)` (Gamma = 1 without
 * erasures: plain `C2^H u`; with erasures the code is shortened and keeps 2s - e redundancy).
 *
 * Deviation from step 5 there, deliberate: the final least squares runs over every present
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

  // 2-4. Syndromes, the error locator, the most suspicious rows (locator.ts).
  const located = locate(n, K, s, present, u, noise);
  const { tau, ranking, locatorRank } = located;
  let excluded = located.excluded;
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
