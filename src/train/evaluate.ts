import { gatherBatch } from '../data/batch.js';
import type { Dataset, Split } from '../data/types.js';
import type { EvalResult, TrainableModel } from '../models/types.js';

/** Mean loss and accuracy of `model` over a whole split, gathered in chunks to bound memory. */
export function evaluateSplit(model: TrainableModel, ds: Dataset, split: Split, chunk = 2000): EvalResult {
  let lossSum = 0;
  let correct = 0;
  for (let start = 0; start < split.n; start += chunk) {
    const m = Math.min(chunk, split.n - start);
    const ids = new Int32Array(m);
    for (let i = 0; i < m; i++) ids[i] = start + i;
    const r = model.evaluate(gatherBatch(ds, split, ids));
    lossSum += r.loss * r.n;
    correct += r.accuracy * r.n;
  }
  return { loss: lossSum / split.n, accuracy: correct / split.n, n: split.n };
}

/**
 * The accuracy of a model that learned nothing: always answering the split's most common class.
 * A trained model that does not beat it by more than sampling noise has not learned.
 */
export function chanceAccuracy(split: Split): number {
  const counts = new Map<number, number>();
  let best = 0;
  for (const y of split.y) {
    const c = (counts.get(y) ?? 0) + 1;
    counts.set(y, c);
    if (c > best) best = c;
  }
  return split.n > 0 ? best / split.n : 0;
}

/**
 * True when `accuracy` on `n` samples is within three standard errors of `chance` (or below it):
 * indistinguishable from a model that learned nothing.
 */
export function atChance(accuracy: number, chance: number, n: number): boolean {
  const se = Math.sqrt((chance * (1 - chance)) / Math.max(n, 1));
  return !(accuracy > chance + 3 * se);
}
