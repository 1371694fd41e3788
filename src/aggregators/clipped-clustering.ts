/**
 * Clipped clustering (Li, Sun, Zheng, Jin and Huang, "An experimental study of Byzantine-robust
 * aggregation schemes in federated learning", IEEE Transactions on Big Data 2023; Blades
 * `Clippedclustering`; docs/aggregators.md "Clipped clustering"): clip every input to tau, the
 * median of every norm this instance has seen (capped at `maxtau`), split the inputs into two
 * clusters by agglomerative clustering (average linkage, or single) on cosine distances, and
 * return the mean of the clipped inputs of the larger cluster. Stateful: the norm history lives
 * in the `create()` instance (`history=0`: this call's norms only). The larger cluster is taken
 * for the honest one: n > 2f. Cost O(n^2 d) (one pairwise distance matrix) + O(n^3) merging.
 */
import { UsageError } from '../core/errors.js';
import type { Vec } from '../core/vec.js';
import { pairwiseSqDistances } from './distances.js';
import { assertFinite } from './finite.js';
import { meanOf } from './mean.js';
import type { AggregateInfo, AggregatorDef } from './types.js';

/**
 * The median of a growing multiset of numbers (numpy's: the mean of the two middle values for an
 * even count), by a max-heap of the lower half and a min-heap of the upper half: O(log N) a push.
 */
export class RunningMedian {
  // Heaps in flat arrays: `lo` holds negated values, so both are min-heaps.
  private lo: number[] = [];
  private hi: number[] = [];

  get size(): number {
    return this.lo.length + this.hi.length;
  }

  push(v: number): void {
    if (this.lo.length === 0 || v <= -this.lo[0]) heapPush(this.lo, -v);
    else heapPush(this.hi, v);
    // Rebalance: lo holds ceil(N/2), hi floor(N/2).
    if (this.lo.length > this.hi.length + 1) heapPush(this.hi, -heapPop(this.lo));
    else if (this.hi.length > this.lo.length) heapPush(this.lo, -heapPop(this.hi));
  }

  /** The heaps as they are (a checkpoint's rule state: JSON numbers round-trip exactly). */
  toState(): { lo: number[]; hi: number[] } {
    return { lo: [...this.lo], hi: [...this.hi] };
  }

  static fromState(state: unknown): RunningMedian {
    const st = state as { lo?: unknown; hi?: unknown } | null;
    const ok = (a: unknown): a is number[] => Array.isArray(a) && a.every((v) => typeof v === 'number');
    if (!ok(st?.lo) || !ok(st?.hi))
      throw new UsageError('clipped-clustering: the checkpoint holds no valid rule state');
    const m = new RunningMedian();
    m.lo = [...st.lo];
    m.hi = [...st.hi];
    return m;
  }

  /** NaN when empty. */
  median(): number {
    if (this.lo.length === 0) return NaN;
    return this.lo.length > this.hi.length ? -this.lo[0] : (-this.lo[0] + this.hi[0]) / 2;
  }
}

function heapPush(h: number[], v: number): void {
  let i = h.length;
  h.push(v);
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (!(h[p] > v)) break;
    h[i] = h[p];
    i = p;
  }
  h[i] = v;
}

function heapPop(h: number[]): number {
  const top = h[0];
  const last = h.pop()!;
  const m = h.length;
  if (m > 0) {
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= m) break;
      if (c + 1 < m && h[c + 1] < h[c]) c++;
      if (!(h[c] < last)) break;
      h[i] = h[c];
      i = c;
    }
    h[i] = last;
  }
  return top;
}

/**
 * Cosine distances `1 - cos(x_i, x_j)` (n x n, zero diagonal) from the squared distance matrix
 * `D` and the norms `a`: `1 - cos = (D_ij - (a_i - a_j)^2) / (2 a_i a_j)`, which is
 * `(a_i^2 + a_j^2 - 2 x_i.x_j - (a_i - a_j)^2) / (2 a_i a_j)` rearranged. Near-parallel inputs
 * get their small distance from the small D_ij, not as 1 minus a cosine close to 1. A zero input
 * is at distance 1 from every other (torch's cosine_similarity, which Blades calls, gives 0 for
 * it); a non-finite entry (norms overflowing float64) becomes 2, +Infinity too, -Infinity 0, as
 * Blades maps them.
 */
export function cosineDistances(D: Float64Array, a: ArrayLike<number>, n: number): Float64Array {
  const C = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      let v: number;
      if (a[i] === 0 || a[j] === 0) v = 1;
      else {
        const g = a[i] - a[j];
        v = (D[i * n + j] - g * g) / (2 * a[i] * a[j]);
        if (v === -Infinity) v = 0;
        else if (!(v < Infinity)) v = 2;
      }
      C[i * n + j] = v;
      C[j * n + i] = v;
    }
  }
  return C;
}

/** The two clusters agglomerative clustering stops at, with the order they were completed in. */
export interface TwoClusters {
  /** Members of each, ascending. */
  members: [number[], number[]];
  /**
   * sklearn's node id of each: the input index for a single input, n + (merge step) for a merged
   * cluster, so the cluster completed later has the larger id.
   */
  ids: [number, number];
}

/**
 * Agglomerative clustering of n items into two clusters from their distance matrix `C` (n x n):
 * repeatedly merge the two closest clusters, with the distance between clusters the mean of
 * their members' pairwise distances (average linkage, kept by the Lance-Williams update) or the
 * least of them (`single`). Ties: the pair whose lowest members come first in index order (a
 * cluster sits in the slot of its lowest member; the scan keeps the first minimum over slot
 * pairs i < j). n <= 2: nothing to merge. O(n^3).
 */
export function agglomerateTwo(C: Float64Array, n: number, single: boolean): TwoClusters {
  const W = Float64Array.from(C);
  const members: number[][] = Array.from({ length: n }, (_, i) => [i]);
  const ids = Array.from({ length: n }, (_, i) => i);
  const alive = new Uint8Array(n).fill(1);
  for (let step = 0, left = n; left > 2; step++, left--) {
    let bi = -1;
    let bj = -1;
    let best = Infinity;
    for (let i = 0; i < n; i++) {
      if (!alive[i]) continue;
      for (let j = i + 1; j < n; j++) {
        if (alive[j] && (bi < 0 || W[i * n + j] < best)) [best, bi, bj] = [W[i * n + j], i, j];
      }
    }
    const si = members[bi].length;
    const sj = members[bj].length;
    for (let k = 0; k < n; k++) {
      if (!alive[k] || k === bi || k === bj) continue;
      const u = W[bi * n + k];
      const v = W[bj * n + k];
      const m = single ? Math.min(u, v) : (si * u + sj * v) / (si + sj);
      W[bi * n + k] = m;
      W[k * n + bi] = m;
    }
    members[bi] = [...members[bi], ...members[bj]].sort((p, q) => p - q);
    ids[bi] = n + step;
    alive[bj] = 0;
  }
  const slots = [...alive.keys()].filter((i) => alive[i]);
  const [p, q = p] = slots;
  return { members: [members[p], q === p ? [] : members[q]], ids: [ids[p], q === p ? -1 : ids[q]] };
}

/**
 * The cluster clipped clustering keeps: the larger; on an even split the one sklearn labels 0,
 * which is the one with the larger node id (sklearn's `_hc_cut` numbers the two top clusters by
 * descending id), i.e. the one completed later, and of two single inputs (n = 2) input 1. This is
 * Blades' `flag = 1 if sum(labels) > n // 2 else 0`: label 1 only when its cluster is a strict
 * majority.
 */
export function largerCluster(t: TwoClusters): number[] {
  const [a, b] = t.members;
  if (a.length !== b.length) return a.length > b.length ? a : b;
  return t.ids[0] > t.ids[1] ? a : b;
}

export interface ClippedClusteringParams {
  /** Cap on the clipping threshold. */
  maxtau: number;
  /** 1: single linkage; 0: average. */
  single: number;
}

/**
 * One call of the rule with the norm history `seen` (this call's norms are added to it first).
 * A non-finite input throws `NonFiniteInputError` before it can enter the history.
 */
export function clippedClustering(
  inputs: readonly Vec[],
  params: ClippedClusteringParams,
  seen: RunningMedian,
  info?: AggregateInfo,
): Float64Array {
  const n = inputs.length;
  const sq = new Float64Array(n);
  const D = pairwiseSqDistances(inputs, sq);
  if (!sq.every((v) => v <= Number.MAX_VALUE)) assertFinite(inputs); // else an overflowing norm
  const norms = Array.from(sq, Math.sqrt);
  for (const v of norms) seen.push(v);
  const tau = Math.min(seen.median(), params.maxtau);
  // Cosines are scale-invariant: clipping does not change them, so they come from the inputs.
  const C = cosineDistances(D, norms, n);
  const selected = largerCluster(agglomerateTwo(C, n, params.single === 1));
  if (info) info.selected = selected;
  // The mean of the inputs clipped to tau, as weights: one pass, no clipped copies.
  const w = selected.map((i) => (norms[i] > tau ? tau / norms[i] : 1) / selected.length);
  return meanOf(
    selected.map((i) => inputs[i]),
    w,
  );
}

export const clippedClusteringDef: AggregatorDef = {
  name: 'clipped-clustering',
  description:
    'clip to the median of all norms seen (max maxtau), 2 agglomerative clusters on cosine distance, mean of the larger (defaults maxtau 1e5, average linkage, history 1); n > 2f; O(n^2 d)',
  defaults: { maxtau: 1e5, single: 0, history: 1 },
  create(params) {
    const { maxtau, single, history } = params;
    if (!(maxtau > 0)) throw new UsageError(`clipped-clustering: maxtau must be > 0 (got ${maxtau})`);
    if (single !== 0 && single !== 1)
      throw new UsageError(`clipped-clustering: single must be 0 (average linkage) or 1 (got ${single})`);
    if (history !== 0 && history !== 1)
      throw new UsageError(`clipped-clustering: history must be 0 (this call's norms) or 1 (got ${history})`);
    // history=1 (the default) is the published rule and Blades': the threshold follows norms
    // over the whole run, kept in checkpoints (saveState) so a resumed run continues bit for bit.
    let seen = new RunningMedian();
    return {
      name: 'clipped-clustering',
      description: clippedClusteringDef.description,
      precondition: (n, f) =>
        n > 2 * f ? null : `clipped-clustering needs n > 2f (n = ${n}, f = ${f}: n >= ${2 * f + 1})`,
      aggregate(inputs, ctx) {
        if (history === 0) seen = new RunningMedian();
        return clippedClustering(inputs, { maxtau, single }, seen, ctx.info);
      },
      saveState: () => seen.toState(),
      loadState(state: unknown) {
        seen = RunningMedian.fromState(state);
      },
    };
  },
};
