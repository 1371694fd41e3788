/** Sample ids by class, each class in a seeded random order: what label-skew partitioners split. */
import type { Rng } from '../../core/rng.js';
import { concatIds } from '../batch.js';

export function idsByClass(labels: ArrayLike<number>, numClasses: number, rng: Rng): Int32Array[] {
  const counts = new Int32Array(numClasses);
  for (let i = 0; i < labels.length; i++) counts[labels[i]]++;
  const out = Array.from(counts, (c) => new Int32Array(c));
  const fill = new Int32Array(numClasses);
  for (let i = 0; i < labels.length; i++) out[labels[i]][fill[labels[i]]++] = i;
  for (const ids of out) rng.shuffle(ids);
  return out;
}

/** Concatenate the pieces each partition received. */
export function joinPieces(pieces: Int32Array[][]): Int32Array[] {
  return pieces.map(concatIds);
}
