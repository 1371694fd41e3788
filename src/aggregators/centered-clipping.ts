/**
 * Centered clipping (Karimireddy et al. 2021; docs/aggregators.md "Centered clipping"): start at
 * the previous step's aggregate v; repeat L times:
 * `v <- v + (1/n) sum_i (x_i - v) min(1, tau / ||x_i - v||)`. Stateful: each `create()` instance
 * remembers its last output (zeros before the first call), kept in checkpoints (saveState);
 * `ctx.previous` overrides it. Its
 * guarantee needs a small Byzantine fraction; we require n > 2f. tau is in the units of the inputs
 * (uncoded: per-partition gradient sums). Cost O(L nd).
 */
import { UsageError } from '../core/errors.js';
import type { Vec } from '../core/vec.js';
import type { AggregatorDef } from './types.js';

export function centeredClip(
  inputs: readonly Vec[],
  start: Float64Array,
  tau: number,
  L: number,
): Float64Array {
  const n = inputs.length;
  const d = inputs[0].length;
  const v = Float64Array.from(start);
  const scale = new Float64Array(n);
  for (let it = 0; it < L; it++) {
    for (let i = 0; i < n; i++) {
      const x = inputs[i];
      let s = 0;
      for (let k = 0; k < d; k++) {
        const u = x[k] - v[k];
        s += u * u;
      }
      const norm = Math.sqrt(s);
      scale[i] = (norm > tau ? tau / norm : 1) / n;
    }
    // v_new = v + sum_i c_i (x_i - v) = (1 - sum c_i) v + sum_i c_i x_i
    let csum = 0;
    for (let i = 0; i < n; i++) csum += scale[i];
    const keep = 1 - csum;
    for (let k = 0; k < d; k++) v[k] *= keep;
    for (let i = 0; i < n; i++) {
      const x = inputs[i];
      const c = scale[i];
      if (c === 0) continue;
      for (let k = 0; k < d; k++) v[k] += c * x[k];
    }
  }
  return v;
}

export const centeredClippingDef: AggregatorDef = {
  name: 'centered-clipping',
  description:
    'from the previous aggregate v, L times v += mean_i (x_i - v) min(1, tau/||x_i - v||); n > 2f; O(L nd)',
  defaults: { tau: 10, L: 1 },
  create(params) {
    const { tau, L } = params;
    if (!(tau > 0)) throw new UsageError(`centered-clipping: tau must be > 0 (got ${tau})`);
    if (!Number.isInteger(L) || L < 1)
      throw new UsageError(`centered-clipping: L must be a positive integer (got ${L})`);
    let last: Float64Array | null = null;
    return {
      name: 'centered-clipping',
      description: centeredClippingDef.description,
      precondition(n, f) {
        return n > 2 * f ? null : `centered-clipping needs n > 2f (n = ${n}, f = ${f}: n >= ${2 * f + 1})`;
      },
      aggregate(inputs, ctx) {
        const d = inputs[0].length;
        const start = ctx.previous ?? (last !== null && last.length === d ? last : new Float64Array(d));
        const out = centeredClip(inputs, start, tau, L);
        if (ctx.info) ctx.info.iterations = L;
        last = Float64Array.from(out);
        return out;
      },
      // The last output's bytes (base64: exact, unlike decimal text of 1e6 numbers' worth).
      saveState: () => ({ last: last === null ? null : Buffer.from(last.buffer).toString('base64') }),
      loadState(state: unknown) {
        const b64 = (state as { last?: unknown } | null)?.last;
        if (b64 === null || b64 === undefined) last = null;
        else if (typeof b64 === 'string') {
          const bytes = Buffer.from(b64, 'base64');
          last = new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
        } else throw new UsageError('centered-clipping: the checkpoint holds no valid rule state');
      },
    };
  },
};
