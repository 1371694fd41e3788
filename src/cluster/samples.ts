/**
 * The DATA payload (docs/protocol.md "Volunteers"): the samples of some partitions of one step,
 * as the dataset stores them (uint8 pixels or float32 features) with their labels. A browser
 * worker holds no dataset: it turns this into a small dataset whose partitions are the ones it
 * was sent, and gathers batches from it with the same code (data/batch.ts) as a Node worker, so
 * the float32 batch, and the gradient, are the same bytes.
 *
 *   u32 k | k x (u32 partition, u32 count) | sum(count) x i32 label | features (dtype of the frame)
 *
 * Little-endian; features are `sum(count) * sampleSize` elements. Platform-free (DataView).
 */
import { Dtype, type DtypeCode } from './wire.js';
import type { Split } from '../data/types.js';

export interface PackedSamples {
  bytes: Uint8Array;
  dtype: DtypeCode;
}

/** The samples `ids[i]` of partition `parts[i]`, for every i, from `split`. */
export function packSamples(
  split: Split,
  sampleSize: number,
  parts: readonly number[],
  ids: readonly ArrayLike<number>[],
): PackedSamples {
  const total = ids.reduce((a, x) => a + x.length, 0);
  const u8 = split.x instanceof Uint8Array;
  const head = 4 + 8 * parts.length + 4 * total;
  const bytes = new Uint8Array(head + total * sampleSize * (u8 ? 1 : 4));
  const v = new DataView(bytes.buffer);
  v.setUint32(0, parts.length, true);
  let o = 4;
  parts.forEach((p, i) => {
    v.setUint32(o, p, true);
    v.setUint32(o + 4, ids[i].length, true);
    o += 8;
  });
  const feats = u8 ? bytes.subarray(head) : new Float32Array(bytes.buffer, head, total * sampleSize);
  let r = 0;
  for (const part of ids) {
    for (let j = 0; j < part.length; j++, r++) {
      const id = part[j];
      v.setInt32(o, split.y[id], true);
      o += 4;
      feats.set(split.x.subarray(id * sampleSize, (id + 1) * sampleSize), r * sampleSize);
    }
  }
  return { bytes, dtype: u8 ? Dtype.UINT8 : Dtype.FLOAT32 };
}

export interface UnpackedSamples {
  /** The samples as a split (ids 0..n-1 in the order sent). */
  split: Split;
  /** Partition -> its samples' ids in `split`. */
  parts: Map<number, Int32Array>;
}

/** The samples of a DATA payload, or null when it is not one (wrong sizes, wrong dtype). */
export function unpackSamples(bytes: Uint8Array, dtype: number, sampleSize: number): UnpackedSamples | null {
  if (dtype !== Dtype.UINT8 && dtype !== Dtype.FLOAT32) return null;
  if (bytes.byteLength < 4) return null;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const k = v.getUint32(0, true);
  if (4 + 8 * k > bytes.byteLength) return null;
  const parts = new Map<number, Int32Array>();
  let total = 0;
  for (let i = 0; i < k; i++) {
    const p = v.getUint32(4 + 8 * i, true);
    const c = v.getUint32(8 + 8 * i, true);
    parts.set(
      p,
      Int32Array.from({ length: c }, (_, j) => total + j),
    );
    total += c;
  }
  const head = 4 + 8 * k + 4 * total;
  const es = dtype === Dtype.UINT8 ? 1 : 4;
  if (parts.size !== k || bytes.byteLength !== head + total * sampleSize * es) return null;
  const y = new Int32Array(total);
  for (let i = 0; i < total; i++) y[i] = v.getInt32(4 + 8 * k + 4 * i, true);
  // A copy: aligned for float32, and independent of the frame's buffer.
  const raw = bytes.slice(head);
  const x = es === 1 ? raw : new Float32Array(raw.buffer, 0, total * sampleSize);
  return { split: { n: total, x, y }, parts };
}
