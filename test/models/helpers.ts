/** Shared helpers for the models tests (not a test file itself). */
import type { Batch } from '../../src/data/types.js';
import { Rng } from '../../src/core/rng.js';

/** max |a - b| / max |b|: the relative error measure all backend comparisons use. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  if (den === 0) throw new Error('reference is all zeros');
  return num / den;
}

/** True when the two arrays hold the same bits (so NaN == NaN and -0 != 0). */
export function bitEqual(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return false;
  return true;
}

/** Seeded batch: features uniform in [0, 1), labels uniform in [0, numClasses). */
export function makeBatch(n: number, inputShape: number[], numClasses: number, seed: number): Batch {
  const rng = Rng.derive(seed, 'test-batch');
  const x = new Float32Array(n * inputShape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < x.length; i++) x[i] = rng.float();
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) y[i] = rng.int(numClasses);
  return { n, x, y };
}

export function randomArray(len: number, seed: number, ...keys: (string | number)[]): Float32Array {
  const out = new Float32Array(len);
  Rng.derive(seed, ...keys).fillNormal(out);
  return out;
}
