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
