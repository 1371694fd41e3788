/** Shared helpers for the models tests (not a test file itself). */
import type { Batch } from '../../src/data/types.js';
import { Rng } from '../../src/core/rng.js';
import { bytesEqual } from '../../src/core/vec.js';
import { randomBatch } from '../../src/bench/step.js';

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
export const bitEqual = (a: Float32Array, b: Float32Array): boolean => bytesEqual(a, b);

/** Seeded batch: features uniform in [0, 1), labels uniform in [0, numClasses). */
export const makeBatch = (n: number, inputShape: number[], numClasses: number, seed: number): Batch =>
  randomBatch(n, inputShape, numClasses, seed);

export function randomArray(len: number, seed: number, ...keys: (string | number)[]): Float32Array {
  const out = new Float32Array(len);
  Rng.derive(seed, ...keys).fillNormal(out);
  return out;
}
