/**
 * The distance screen's matrix on the WebAssembly SIMD kernel screen_tile (kernels.wat): squared
 * distances of float32 inputs computed in float32 lanes, an approximation whose error
 * src/aggregators/screen.ts bounds (docs/aggregators.md "Pairwise distances", "Screened
 * selection"). Four float32 lanes per operation instead of two float64 ones, and no transpose:
 * lanes run along the coordinates of a pair, so the inputs are only copied into wasm memory.
 *
 * Blocked over d like the exact matrix: each block of every input (all of them fit in L2) is
 * copied into wasm memory, padded with zeros to a multiple of four, and rows are taken two at a
 * time against all their later partners, four partners per sweep.
 */
import type { Vec } from '../vec.js';
import { align, workspaceOf } from './distances.js';

/** Coordinates per float32 run: each lane sums SCREEN_RUN / 4 terms before they go to float64. */
export const SCREEN_RUN = 64;
/** Bytes of one block of all n inputs: a fraction of a core's L2. */
const BLOCK_BYTES = 256 * 1024;

/**
 * The screen's n x n matrix (symmetric, zero diagonal) for float32 inputs of one length; null
 * when SIMD is unavailable or the inputs are not all Float32Array. Entries can be infinite or NaN
 * (float32 overflow, non-finite inputs): the caller checks.
 */
export function screenSqDistancesSimd(inputs: readonly Vec[]): Float64Array | null {
  const n = inputs.length;
  const d = inputs[0].length;
  for (const x of inputs) if (!(x instanceof Float32Array) || x.length !== d) return null;
  const run = SCREEN_RUN;
  // Coordinates per block: a multiple of the run, at least one run, no more than d needs.
  const block = Math.max(
    run,
    Math.min(Math.floor(BLOCK_BYTES / (4 * n) / run) * run, Math.ceil(d / run) * run),
  );
  const stride = block * 4;
  const rows = 0;
  const ACC = align(rows + n * stride);
  const SCRATCH = align(ACC + n * n * 16);
  const ws = workspaceOf(SCRATCH + 64);
  if (ws === null) return null;
  const buf = ws.memory.buffer;
  const k = ws.kernels;
  const staged = Array.from({ length: n }, (_, j) => new Float32Array(buf, rows + j * stride, block));
  const acc = new Float64Array(buf, ACC, 2 * n * n);
  acc.fill(0);
  const at = (i: number, j: number) => ACC + (i * n + j) * 16;
  const row = (i: number) => rows + i * stride;
  for (let s = 0; s < d; s += block) {
    const len = Math.min(block, d - s);
    const lenp = (len + 3) & ~3;
    for (let j = 0; j < n; j++) {
      staged[j].set(inputs[j].subarray(s, s + len));
      if (lenp > len) staged[j].fill(0, len, lenp);
    }
    for (let i = 0; i + 1 < n; i += 2) {
      // The pair (i, i + 1) alone (row i twice; the copy's sums go to scratch), then both rows
      // against every later partner.
      k.screen_tile(row(i), row(i), row(i + 1), stride, 1, lenp, run, at(i, i + 1), SCRATCH);
      if (i + 2 < n) {
        k.screen_tile(
          row(i),
          row(i + 1),
          row(i + 2),
          stride,
          n - i - 2,
          lenp,
          run,
          at(i, i + 2),
          at(i + 1, i + 2),
        );
      }
    }
  }
  const D = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const q = 2 * (i * n + j);
      const v = acc[q] + acc[q + 1];
      D[i * n + j] = v;
      D[j * n + i] = v;
    }
  }
  return D;
}
