/**
 * Plain typed-array kernels for the hot loops over gradients (docs/design.md "Hot loops in typed
 * arrays": tfjs ops are far too slow for stacking and combining a handful of long vectors; these
 * loops are memory-bound).
 */

/** A message or gradient vector. Float32 for plain gradients; Float64 for coded messages. */
export type Vec = Float32Array | Float64Array;

/** True when every element is finite (no NaN, no +-Inf). */
export function allFinite(x: Vec): boolean {
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (v !== v || v === Infinity || v === -Infinity) return false;
  }
  return true;
}

function u8(x: Vec): Uint8Array {
  return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
}

/** Exact byte equality of two vectors (same type and length required). */
export function bytesEqual(a: Vec, b: Vec): boolean {
  if (a.constructor !== b.constructor || a.length !== b.length) return false;
  if (a === b) return true;
  // memcmp: several times faster than a loop over 32-bit words.
  return Buffer.compare(u8(a), u8(b)) === 0;
}

/**
 * A fast 32-bit content hash (FNV-1a over 32-bit words). Used to bucket votes before the
 * confirming byte compare: collisions cost a compare, never a wrong answer.
 */
export function fastHash(x: Vec): number {
  let h = 0x811c9dc5;
  const words = new Int32Array(x.buffer, x.byteOffset, x.byteLength >> 2);
  for (let i = 0; i < words.length; i++) {
    h ^= words[i];
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** L2 norm, accumulated in float64. */
export function norm2(x: Vec): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return Math.sqrt(s);
}
