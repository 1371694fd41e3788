/**
 * Adaptive robust clipping, ARC (Allouah et al. 2024, "The vital role of gradient clipping in
 * Byzantine-resilient distributed learning"; ByzFL `ARC`; docs/aggregators.md "ARC"): the
 * k = floor(2 f (n - f) / n) inputs of largest l2 norm are scaled down to the largest norm among
 * the others (ties in norm: the later index counts as larger, a stable sort), then the rule.
 * No parameter: the threshold adapts to the step. Cost O(nd).
 */
import type { PreAggregatorDef } from './types.js';
import { clipTo, norms } from './clipping.js';

/** How many inputs ARC clips at (n, f). */
export function arcClipped(n: number, f: number): number {
  return Math.floor(((2 * f) / n) * (n - f));
}

export const arcDef: PreAggregatorDef = {
  name: 'arc',
  description:
    'clip the floor(2f(n-f)/n) largest-norm inputs to the largest norm among the rest, then the rule; O(nd)',
  defaults: {},
  create() {
    return {
      name: 'arc',
      outputCount: (n) => n,
      precondition: (n, f) => (n > f ? null : `arc needs n > f (n = ${n}, f = ${f})`),
      apply(inputs, ctx) {
        const n = inputs.length;
        const k = arcClipped(n, ctx.f);
        if (k === 0) return [...inputs];
        const ns = norms(inputs);
        const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => ns[a] - ns[b] || a - b);
        const threshold = ns[order[n - k - 1]];
        const out = [...inputs];
        for (const i of order.slice(n - k)) out[i] = clipTo(inputs[i], ns[i], threshold);
        return out;
      },
    };
  },
};
