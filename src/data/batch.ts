/**
 * Turning sample ids into model-ready batches: rows are copied out of the compact split storage,
 * uint8 pixels become float32 in [0, 1] (`v / 255`, exactly as a float32 division would round),
 * labels become Int32Array. Plain typed-array loops: this runs every step on every worker.
 */
import type { Batch, Dataset, Split } from './types.js';

/** Float32 value of `v / 255` for every byte, so conversion is one table load per pixel. */
const BYTE_TO_UNIT = (() => {
  const t = new Float32Array(256);
  for (let i = 0; i < 256; i++) t[i] = i / 255;
  return t;
})();

/** Number of feature values in one sample (product of `inputShape`). */
export function sampleSize(ds: Dataset): number {
  let s = 1;
  for (const d of ds.inputShape) s *= d;
  return s;
}

/** Sample ids of several parts, one after another (a single part is returned as it is). */
export function concatIds(parts: readonly Int32Array[]): Int32Array {
  if (parts.length === 1) return parts[0];
  const out = new Int32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Copy the rows `indices` of `split` into a new float32 batch (in the order given). */
export function gatherBatch(ds: Dataset, split: Split, indices: ArrayLike<number>): Batch {
  const d = sampleSize(ds);
  const n = indices.length;
  const x = new Float32Array(n * d);
  const y = new Int32Array(n);
  const src = split.x;
  for (let r = 0; r < n; r++) {
    const i = indices[r];
    if (!(i >= 0 && i < split.n) || !Number.isInteger(i)) {
      throw new RangeError(`gatherBatch: sample id ${i} out of range [0, ${split.n})`);
    }
    y[r] = split.y[i];
    const from = i * d;
    const to = r * d;
    if (src instanceof Uint8Array) {
      for (let k = 0; k < d; k++) x[to + k] = BYTE_TO_UNIT[src[from + k]];
    } else {
      x.set(src.subarray(from, from + d), to);
    }
  }
  return { n, x, y };
}

/** The contiguous rows `[start, end)` of `split` as a batch. */
export function sliceBatch(ds: Dataset, split: Split, start: number, end: number): Batch {
  if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end && end <= split.n)) {
    throw new RangeError(`sliceBatch: bad range [${start}, ${end}) for ${split.n} samples`);
  }
  const d = sampleSize(ds);
  const n = end - start;
  const y = new Int32Array(n);
  for (let r = 0; r < n; r++) y[r] = split.y[start + r];
  const src = split.x.subarray(start * d, end * d);
  let x: Float32Array;
  if (src instanceof Uint8Array) {
    x = new Float32Array(src.length);
    for (let k = 0; k < src.length; k++) x[k] = BYTE_TO_UNIT[src[k]];
  } else {
    x = src.slice();
  }
  return { n, x, y };
}

/**
 * A whole split in order, as consecutive batches of at most `chunk` samples (for evaluation).
 * Each batch carries `start`, the index of its first sample.
 */
export function* splitChunks(ds: Dataset, split: Split, chunk: number): Generator<Batch & { start: number }> {
  if (!(Number.isInteger(chunk) && chunk >= 1))
    throw new RangeError(`splitChunks: chunk must be >= 1, got ${chunk}`);
  for (let start = 0; start < split.n; start += chunk) {
    const b = sliceBatch(ds, split, start, Math.min(split.n, start + chunk));
    yield { ...b, start };
  }
}
