/**
 * Screened selection (docs/aggregators.md "Screened selection"): Krum, Multi-Krum, Bulyan and NNM
 * decide from an approximate distance matrix with a proven bound on each entry's error, and
 * compute exact entries (`pairwiseSqDistances`'s bits) only where the bounds cannot settle a
 * comparison; their outputs and selections are then the exact matrix's, bit for bit.
 *
 * The approximation is core/simd/screen.ts: float32 lanes, about twice the exact matrix's speed.
 * Every decision here is an order (which score is smallest, which neighbours are nearest) and the
 * exact values only enter through the same sums the exact code makes, so an interval that
 * contains the exact value of each entry is all a decision needs.
 */
import type { Vec } from '../core/vec.js';
import { simdAvailable } from '../core/simd/kernels.js';
import { SCREEN_RUN, screenSqDistancesSimd } from '../core/simd/screen.js';
import {
  DISTANCE_BLOCK,
  pairwiseSqDistances,
  pairIsSequential,
  sqDistanceBlock,
  sqDistanceBlock4,
} from './distances.js';

/** Below n * d terms the exact matrix is cheap: the screen is not worth its refinements. */
const SCREEN_MIN_TERMS = 1 << 18;

const U32 = 2 ** -24;
const U64 = 2 ** -53;
/** Higham's gamma_k = k u / (1 - k u): the relative error bound of a chain of k roundings. */
const gamma = (k: number, u: number) => (k * u) / (1 - k * u);

/**
 * The constants of the screen's bound for inputs of length d (docs/aggregators.md "Screened
 * selection" proves it): with S the real squared distance, the screen's value `a` satisfies
 * |a - S| <= rho S + abs, and the exact matrix's value D satisfies |D - S| <= rho64 S.
 */
export function screenErrorConstants(d: number): { rho: number; abs: number; rho64: number } {
  // Float32: the difference enters squared, (1 + u)^2, the square's rounding once, (1 + u); a
  // lane's run of SCREEN_RUN / 4 terms makes SCREEN_RUN / 4 - 1 more roundings, and the float64
  // steps after it (run sums, lane pairs, the final two lanes) at most d + 2.
  const rho = (1 + U32) ** 3 * (1 + gamma(SCREEN_RUN / 4 - 1, U32)) * (1 + gamma(d + 2, U64)) - 1;
  // A square below float32's normal range rounds to a multiple of 2^-149: absolute error 2^-150.
  const abs = d * 2 ** -150 * (1 + rho);
  // The exact matrix (float32 inputs): difference and square (1 + u)^2 (no underflow: a nonzero
  // difference is at least 2^-149, its float64 square far above 2^-1022), then at most BLOCK
  // roundings within a block and ceil(d / BLOCK) across blocks.
  const rho64 = (1 + U64) ** 2 * (1 + gamma(DISTANCE_BLOCK + Math.ceil(d / DISTANCE_BLOCK), U64)) - 1;
  return { rho, abs, rho64 };
}

/** Relative slack for the few float64 roundings made when computing a bound itself. */
const SLACK = 8 * U64;

/**
 * The distance screen of one call: the approximate matrix, per-entry bounds `lo <= D <= hi` on
 * the exact matrix D, and D's entries computed on demand (cached; all of D at once when demand
 * passes a budget, the exact matrix being cheaper than that many single entries).
 */
export class DistanceScreen {
  readonly n: number;
  readonly d: number;
  /** The screen's matrix. */
  readonly approx: Float64Array;
  readonly lo: Float64Array;
  readonly hi: Float64Array;
  /** Exact entries known so far (NaN: not yet); the whole exact matrix after `exactAll`. */
  private readonly exact: Float64Array;
  private full = false;
  private computed = 0;
  private readonly budget: number;
  /** Row i's partners by increasing approximate distance (the bounds increase along it too). */
  private readonly orders: (Int32Array | undefined)[];

  constructor(
    private readonly inputs: readonly Vec[],
    approx: Float64Array,
    budget?: number,
  ) {
    const n = inputs.length;
    const d = inputs[0].length;
    this.n = n;
    this.d = d;
    this.approx = approx;
    const { rho, abs, rho64 } = screenErrorConstants(d);
    const loF = ((1 - rho64) * (1 - SLACK)) / (1 + rho);
    const hiF = ((1 + rho64) * (1 + SLACK)) / (1 - rho);
    this.lo = new Float64Array(n * n);
    this.hi = new Float64Array(n * n);
    for (let q = 0; q < n * n; q++) {
      const a = approx[q];
      this.lo[q] = Math.max(0, (a - abs) * loF);
      this.hi[q] = (a + abs) * hiF;
    }
    for (let i = 0; i < n; i++) this.hi[i * n + i] = this.lo[i * n + i] = 0;
    this.exact = new Float64Array(n * n).fill(NaN);
    for (let i = 0; i < n; i++) this.exact[i * n + i] = 0;
    // Entries computed one by one (in JS) cost several times their share of the exact matrix on
    // SIMD lanes: past this many, the whole matrix is cheaper.
    this.budget = budget ?? Math.max(4 * n, (n * (n - 1)) / 12);
    this.orders = new Array<Int32Array | undefined>(n);
  }

  /** Exact entries computed so far, one by one (the whole matrix counts as its n(n-1)/2). */
  get exactCount(): number {
    return this.computed;
  }

  order(i: number): Int32Array {
    let o = this.orders[i];
    if (o === undefined) {
      const n = this.n;
      const a = this.approx;
      const base = i * n;
      o = new Int32Array(n - 1);
      for (let j = 0, t = 0; j < n; j++) if (j !== i) o[t++] = j;
      o.sort((x, y) => a[base + x] - a[base + y] || x - y);
      this.orders[i] = o;
    }
    return o;
  }

  /** D[i][j], exactly as `pairwiseSqDistances` computes it. */
  exactAt(i: number, j: number): number {
    const v = this.exact[i * this.n + j];
    if (v === v) return v;
    this.ensure(i, [j]);
    return this.exact[i * this.n + j];
  }

  /** Makes D[i][j] known for every j in `js`. */
  ensure(i: number, js: readonly number[]): void {
    const n = this.n;
    const missing = js.filter((j) => Number.isNaN(this.exact[i * n + j]));
    if (missing.length === 0) return;
    if (this.computed + missing.length > this.budget) return this.exactAll();
    this.computed += missing.length;
    const vals = exactEntries(this.inputs, i, missing);
    missing.forEach((j, q) => {
      this.exact[i * n + j] = vals[q];
      this.exact[j * n + i] = vals[q];
    });
  }

  private exactAll(): void {
    if (this.full) return;
    this.exact.set(pairwiseSqDistances(this.inputs));
    this.full = true;
    this.computed += (this.n * (this.n - 1)) / 2;
  }
}

/**
 * The screen for `inputs`, or null where the exact matrix should be used: below SCREEN_MIN_TERMS,
 * without SIMD, for inputs that are not all float32, and when the screen overflows float32 or
 * meets a non-finite input (the exact path then computes the matrix or names the bad input).
 * `minTerms` and `budget` (exact entries before the whole matrix) are for tests.
 */
export function distanceScreen(
  inputs: readonly Vec[],
  opts: { minTerms?: number; budget?: number } = {},
): DistanceScreen | null {
  const n = inputs.length;
  if (n < 3 || n * inputs[0].length < (opts.minTerms ?? SCREEN_MIN_TERMS) || !simdAvailable()) return null;
  const approx = screenSqDistancesSimd(inputs);
  if (approx === null) return null;
  for (const v of approx) if (!(v <= Number.MAX_VALUE)) return null;
  return new DistanceScreen(inputs, approx, opts.budget);
}

/**
 * D[i][j] for j in `js` (j !== i), each exactly as `pairwiseSqDistances` sums it: per block of
 * DISTANCE_BLOCK coordinates one running sum (the pair among its row's first groups of four) or
 * two (`sqDistanceBlock`), added to the entry at the block's end. x_i - x_j and x_j - x_i round
 * to opposite values, so their squares, and every sum, are the same whichever row holds the pair.
 */
export function exactEntries(inputs: readonly Vec[], i: number, js: readonly number[]): Float64Array {
  const n = inputs.length;
  const d = inputs[0].length;
  const out = new Float64Array(js.length + 1);
  const seq: number[] = [];
  const split: number[] = [];
  js.forEach((j, q) => (pairIsSequential(n, Math.min(i, j), Math.max(i, j)) ? seq : split).push(q));
  const a = inputs[i];
  for (let s = 0; s < d; s += DISTANCE_BLOCK) {
    const e = Math.min(d, s + DISTANCE_BLOCK);
    // Four sequential sums at a time; a last group of one to three repeats its last partner,
    // whose extra sums go to the spare slot at the end of `out`.
    for (let g = 0; g < seq.length; g += 4) {
      const last = Math.min(seq.length, g + 4) - 1;
      const pick = (c: number) => (g + c <= last ? seq[g + c] : js.length);
      const partner = (c: number) => inputs[js[seq[Math.min(g + c, last)]]];
      sqDistanceBlock4(
        a,
        partner(0),
        partner(1),
        partner(2),
        partner(3),
        s,
        e,
        out,
        pick(0),
        pick(1),
        pick(2),
        pick(3),
      );
    }
    for (const q of split) out[q] += sqDistanceBlock(a, inputs[js[q]], s, e);
  }
  return out.subarray(0, js.length);
}

/** Relative slack of a float64 sum of k non-negative terms, against the same sum in another order. */
const sumSlack = (k: number) => 4 * (k + 2) * U64;

/**
 * Krum scores (`krumScores`: the sum of the k smallest distances from i to the other members, in
 * increasing order) decided through the screen: bounds for every member, exact scores on demand.
 */
export class ScreenedScores {
  readonly lo: Float64Array;
  readonly hi: Float64Array;
  /** The screen's own score (the same sum over its matrix), for reports. */
  readonly approx: Float64Array;
  private readonly prefix: Int32Array;
  private readonly exactScore: Float64Array;
  /** k clamped to [0, |members| - 1], as `krumScores` clamps it. */
  private readonly kk: number;

  constructor(
    private readonly screen: DistanceScreen,
    private readonly members: readonly number[],
    alive: Uint8Array,
    k: number,
  ) {
    const m = members.length;
    const n = screen.n;
    const kk = Math.max(0, Math.min(k, m - 1));
    this.kk = kk;
    this.lo = new Float64Array(m);
    this.hi = new Float64Array(m);
    this.approx = new Float64Array(m);
    this.prefix = new Int32Array(m);
    this.exactScore = new Float64Array(m).fill(NaN);
    const { lo, hi, approx } = screen;
    members.forEach((i, p) => {
      const order = screen.order(i);
      const base = i * n;
      // The kk nearest members by the screen: lo and hi increase along the order, so their sums
      // bound the sum of the kk smallest exact distances.
      let sl = 0;
      let sh = 0;
      let sa = 0;
      let t = 0;
      let q = 0;
      for (; q < order.length && t < kk; q++) {
        const j = order[q];
        if (!alive[j]) continue;
        sl += lo[base + j];
        sh += hi[base + j];
        sa += approx[base + j];
        t++;
      }
      // Members whose exact distance may be among the kk smallest: lower bound <= the kk-th upper.
      const tau = kk > 0 ? hi[base + order[q - 1]] : -1;
      for (; q < order.length && lo[base + order[q]] <= tau; q++);
      this.prefix[p] = q;
      this.lo[p] = sl * (1 - sumSlack(kk));
      this.hi[p] = sh * (1 + sumSlack(kk));
      this.approx[p] = sa;
    });
  }

  /** The exact score of the member at position p, bitwise `krumScores`'s. */
  exact(p: number): number {
    const v = this.exactScore[p];
    if (v === v) return v;
    const i = this.members[p];
    const order = this.screen.order(i);
    const alive = new Set(this.members);
    const js: number[] = [];
    for (let q = 0; q < this.prefix[p]; q++) if (alive.has(order[q])) js.push(order[q]);
    this.screen.ensure(i, js);
    // Every member outside js is farther than kk members inside it: the kk smallest are in js.
    const row = Float64Array.from(js, (j) => this.screen.exactAt(i, j)).sort();
    let s = 0;
    for (let q = 0; q < this.kk; q++) s += row[q];
    this.exactScore[p] = s;
    return s;
  }

  /** Scores for reports: exact where computed, else the screen's. */
  report(): number[] {
    return Array.from(this.exactScore, (v, p) => (v === v ? v : this.approx[p]));
  }
}

/**
 * The positions of the `m` smallest of the values whose bounds are `lo[p] <= v_p <= hi[p]`, in
 * increasing order of (v_p, p): `orderByScore(v).slice(0, m)`, asking `exact(p)` only for values
 * whose interval overlaps another's among those that can be in the first m.
 */
export function smallestInOrder(
  lo: ArrayLike<number>,
  hi: ArrayLike<number>,
  m: number,
  exact: (p: number) => number,
): number[] {
  const len = lo.length;
  if (m <= 0 || len === 0) return [];
  // The m-th smallest upper bound: a value above it has m values strictly below it.
  const tau = Float64Array.from(hi).sort()[Math.min(m, len) - 1];
  const cand: number[] = [];
  for (let p = 0; p < len; p++) if (lo[p] <= tau) cand.push(p);
  cand.sort((a, b) => lo[a] - lo[b] || a - b);
  const out: number[] = [];
  // Clusters of overlapping intervals: values in different clusters are strictly ordered.
  for (let c = 0; c < cand.length && out.length < m;) {
    let top = hi[cand[c]];
    let e = c + 1;
    for (; e < cand.length && lo[cand[e]] <= top; e++) top = Math.max(top, hi[cand[e]]);
    const cluster = cand.slice(c, e);
    if (cluster.length > 1) {
      const v = new Map(cluster.map((p) => [p, exact(p)]));
      cluster.sort((a, b) => v.get(a)! - v.get(b)! || a - b);
    }
    out.push(...cluster);
    c = e;
  }
  return out.slice(0, m);
}

/**
 * Krum scores of `members` (k nearest) and the positions of the m lowest in order, ties by
 * position: `orderByScore(krumScores(D, n, members, k)).slice(0, m)` with the exact D.
 */
export function screenedKrumOrder(
  screen: DistanceScreen,
  members: readonly number[],
  k: number,
  m: number,
  alive = aliveMask(screen.n, members),
): { order: number[]; scores: ScreenedScores } {
  const scores = new ScreenedScores(screen, members, alive, k);
  return { order: smallestInOrder(scores.lo, scores.hi, m, (p) => scores.exact(p)), scores };
}

function aliveMask(n: number, members: readonly number[]): Uint8Array {
  const alive = new Uint8Array(n);
  for (const i of members) alive[i] = 1;
  return alive;
}

/** Bulyan's repeated Krum (bulyan.ts `repeatedKrum`) through the screen: the same selection. */
export function screenedRepeatedKrum(screen: DistanceScreen, f: number, theta: number): number[] {
  const n = screen.n;
  const remaining = Array.from({ length: n }, (_, i) => i);
  const alive = new Uint8Array(n).fill(1);
  const selected: number[] = [];
  while (selected.length < theta) {
    const pos = screenedKrumOrder(screen, remaining, remaining.length - f - 2, 1, alive).order[0];
    selected.push(remaining[pos]);
    alive[remaining[pos]] = 0;
    remaining.splice(pos, 1);
  }
  return selected;
}

/**
 * NNM's neighbour lists (nnm.ts): for each i, the other inputs by increasing (D[i][j], j), the
 * first `count`. Along the screen's order the bounds increase, so only runs of overlapping
 * intervals that reach into the first `count` need exact entries.
 */
export function screenedNearest(screen: DistanceScreen, count: number): number[][] {
  const n = screen.n;
  const { lo, hi } = screen;
  return Array.from({ length: n }, (_, i) => {
    const order = screen.order(i);
    const base = i * n;
    // Runs [c, e) of the order, then the exact entries of every run of two or more, in one batch.
    const runs: [number, number][] = [];
    for (let c = 0, taken = 0; c < order.length && taken < count;) {
      let top = hi[base + order[c]];
      let e = c + 1;
      for (; e < order.length && lo[base + order[e]] <= top; e++) top = Math.max(top, hi[base + order[e]]);
      runs.push([c, e]);
      taken += e - c;
      c = e;
    }
    screen.ensure(
      i,
      runs.flatMap(([c, e]) => (e - c > 1 ? Array.from(order.subarray(c, e)) : [])),
    );
    const out: number[] = [];
    for (const [c, e] of runs) {
      const run = Array.from(order.subarray(c, e));
      if (run.length > 1) run.sort((a, b) => screen.exactAt(i, a) - screen.exactAt(i, b) || a - b);
      out.push(...run);
    }
    return out.slice(0, count);
  });
}
