import type { Vec } from '../core/vec.js';
import type { Aggregator } from './types.js';

/** mean: `(1/n) sum x_i`. No robustness; the adversary-free baseline. Cost O(nd). */
export const mean: Aggregator = {
  name: 'mean',
  description: 'coordinate-wise average (no Byzantine tolerance); O(nd)',
  precondition(n) {
    return n >= 1 ? null : `mean needs at least one input (n = ${n})`;
  },
  aggregate(inputs: readonly Vec[]) {
    const d = inputs[0].length;
    const out = new Float64Array(d);
    for (const x of inputs) for (let i = 0; i < d; i++) out[i] += x[i];
    const inv = 1 / inputs.length;
    for (let i = 0; i < d; i++) out[i] *= inv;
    return out;
  },
};
