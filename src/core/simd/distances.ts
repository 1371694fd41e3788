/**
 * Pairwise squared distances on the WebAssembly SIMD kernels (kernels.wat dist_pack, dist_seq,
 * dist_split): the same float64 operations in the same order as the JS loop of
 * src/aggregators/distances.ts, so the matrix is bitwise the same (docs/aggregators.md
 * "Pairwise distances" says why differences, not a Gram product).
 *
 * Per block of BLOCK coordinates (the JS loop's blocks, whose per-pair sums are added to D at the
 * block's end): each input's block is copied into wasm memory (a memcpy; the inputs may live
 * anywhere), then in chunks of `chunk` coordinates transposed to float64 (T, one row of n values
 * per coordinate, small enough to stay in L2) so that a SIMD lane pair is two partners of one
 * row, and every row's partners are swept chunk by chunk with their running sums kept in memory.
 * Which pairs keep one running sum and which two (even and odd coordinates) follows the JS loop:
 * row i's first 4 * floor((n - i - 1) / 4) partners one, the rest two; norms likewise.
 */
import type { Vec } from '../vec.js';
import { createKernelMemory, type Kernels, type WasmMemory } from './kernels.js';

/** Coordinates per block: the JS loop's BLOCK (the per-block sums must be the same). */
export const DIST_BLOCK = 2048;
/** Bytes of T per chunk: a fraction of a core's L2, so rows and partners stay cached. */
const CHUNK_BYTES = 256 * 1024;

export const align = (x: number) => Math.ceil(x / 64) * 64;

export interface Workspace {
  memory: WasmMemory;
  kernels: Kernels;
  bytes: number;
}

/**
 * One memory, reused and replaced by a larger one when a call needs more (never shrinks); shared
 * with the distance screen (screen.ts), which, like this file, is done with it when it returns.
 */
let workspace: Workspace | null = null;

export function workspaceOf(bytes: number): Workspace | null {
  if (workspace !== null && workspace.bytes >= bytes) return workspace;
  const mem = createKernelMemory(bytes);
  if (mem === null) return null;
  workspace = { ...mem, bytes };
  return workspace;
}

/**
 * The matrix of `pairwiseSqDistances` (row-major n x n, upper triangle only: the caller mirrors
 * it) and, with `norms`, ||x_i||^2 added into `norms`; null (nothing written) when SIMD is
 * unavailable or the inputs are not all float32 or all float64 of one length.
 */
export function sqDistancesSimd(inputs: readonly Vec[], norms?: Float64Array): Float64Array | null {
  const n = inputs.length;
  const d = inputs[0].length;
  const f64 = inputs[0] instanceof Float64Array;
  for (const x of inputs) if (x.length !== d || x instanceof Float64Array !== f64) return null;
  const np = n + 1;
  const chunk = Math.max(8, Math.min(DIST_BLOCK, Math.floor(CHUNK_BYTES / (8 * np) / 8) * 8));
  const es = f64 ? 8 : 4;
  const sstride = n + 2; // rows of the running sums: n partners, the zero column, a spare lane
  const tab = 0;
  const rows = align(tab + 4 * n);
  const T = align(rows + n * DIST_BLOCK * es);
  const SQ = align(T + np * chunk * 8);
  const sums = np * sstride * 8;
  const SE = align(SQ + sums);
  const SO = align(SE + sums);
  const ws = workspaceOf(align(SO + sums));
  if (ws === null) return null;
  const buf = ws.memory.buffer;
  const k = ws.kernels;
  const tabView = new Int32Array(buf, tab, n);
  const staged = Array.from({ length: n }, (_, j) => {
    tabView[j] = rows + j * DIST_BLOCK * es;
    return f64
      ? new Float64Array(buf, tabView[j], DIST_BLOCK)
      : new Float32Array(buf, tabView[j], DIST_BLOCK);
  });
  const sq = new Float64Array(buf, SQ, np * sstride);
  const se = new Float64Array(buf, SE, np * sstride);
  const so = new Float64Array(buf, SO, np * sstride);
  const D = new Float64Array(n * n);
  // Norm rows: those with at least four partners summed in one run (the JS loop's first group).
  const normSeq = Math.max(0, n - 4);
  for (let s = 0; s < d; s += DIST_BLOCK) {
    const e = Math.min(d, s + DIST_BLOCK);
    for (let j = 0; j < n; j++) staged[j].set(inputs[j].subarray(s, e));
    sq.fill(0);
    se.fill(0);
    so.fill(0);
    for (let c0 = 0; c0 < e - s; c0 += chunk) {
      const len = Math.min(chunk, e - s - c0);
      k.dist_pack(tab, n, c0, len, f64 ? 2 : 0, T);
      // Rows two at a time: their common run partners in eights go through dist_seq2 (each
      // partner loaded once for both rows), the rest of each row's run through dist_seq. Row
      // i + 1's sums start at its own diagonal slot and may run one past its run, into the slot
      // of a partner summed in two (SQ there is never read), so that no count is odd.
      for (let i = 0; i < n; i += 2) {
        const g0 = (n - i - 1) & ~3;
        const g1 = i + 1 < n ? (n - i - 2) & ~3 : -1;
        const acc = (r: number, j: number) => SQ + (r * sstride + j) * 8;
        const m = Math.floor(Math.min(g0, g1 + 1) / 8) * 8;
        if (m > 0) k.dist_seq2(T, np, len, i, i + 1, i + 1, m, acc(i, i + 1), acc(i + 1, i + 1));
        if (g0 > m) k.dist_seq(T, np, len, i, i + 1 + m, g0 - m, acc(i, i + 1 + m));
        if (g1 + 1 > m) k.dist_seq(T, np, len, i + 1, i + 1 + m, g1 + 2 - m, acc(i + 1, i + 1 + m));
        for (const [r, g] of [
          [i, g0],
          [i + 1, g1],
        ]) {
          const rest = n - r - 1 - g;
          const at = (r * sstride + r + 1 + g) * 8;
          if (r < n && rest > 0) k.dist_split(T, np, len, r, r + 1 + g, rest, SE + at, SO + at);
        }
      }
      if (norms) {
        const row = n * sstride * 8;
        if (normSeq > 0) k.dist_seq(T, np, len, n, 0, normSeq, SQ + row);
        k.dist_split(T, np, len, n, normSeq, n - normSeq, SE + row + normSeq * 8, SO + row + normSeq * 8);
      }
    }
    for (let i = 0; i < n; i++) {
      const g = (n - i - 1) & ~3;
      const r = i * sstride;
      for (let j = i + 1; j < n; j++) D[i * n + j] += j <= i + g ? sq[r + j] : se[r + j] + so[r + j];
    }
    if (norms) {
      const r = n * sstride;
      for (let j = 0; j < n; j++) norms[j] += j < normSeq ? sq[r + j] : se[r + j] + so[r + j];
    }
  }
  return D;
}
