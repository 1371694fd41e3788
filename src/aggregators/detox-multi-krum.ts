/**
 * DETOX's Multi-Krum (docs/schemes.md "DETOX", mode 2; docs/aggregators.md "detox-multi-krum"):
 * shuffle the inputs with the step's seeded rng, split them into `buckets` buckets of sizes
 * differing by at most one (default 2), run Multi-Krum (m = bucket size - f) inside each bucket,
 * and average the bucket results. Every bucket may hold all f Byzantine inputs, so each needs
 * size >= 2f + 3: floor(n / buckets) >= 2f + 3. Cost O(n^2 d / buckets).
 */
import { UsageError } from '../core/errors.js';
import type { Vec } from '../core/vec.js';
import { meanOf } from './mean.js';
import { multiKrum } from './multi-krum.js';
import type { AggregatorDef } from './types.js';

/** Split `order` into `k` consecutive buckets whose sizes differ by at most one (larger first). */
export function splitBuckets(order: ArrayLike<number>, k: number): number[][] {
  const n = order.length;
  const base = Math.floor(n / k);
  const extra = n % k;
  const out: number[][] = [];
  let p = 0;
  for (let b = 0; b < k; b++) {
    const size = base + (b < extra ? 1 : 0);
    out.push(Array.from({ length: size }, (_, i) => order[p + i]));
    p += size;
  }
  return out;
}

export const detoxMultiKrumDef: AggregatorDef = {
  name: 'detox-multi-krum',
  description:
    "DETOX's Multi-Krum: shuffle, split into `buckets` buckets, Multi-Krum (m = size-f) per bucket, mean of the results; floor(n/buckets) >= 2f+3",
  defaults: { buckets: 2 },
  create(params) {
    const k = params.buckets;
    if (!Number.isInteger(k) || k < 1)
      throw new UsageError(`detox-multi-krum: buckets must be a positive integer (got ${k})`);
    return {
      name: 'detox-multi-krum',
      description: detoxMultiKrumDef.description,
      precondition(n, f) {
        const size = Math.floor(n / k);
        return size >= 2 * f + 3
          ? null
          : `detox-multi-krum needs floor(n / buckets) >= 2f + 3 (n = ${n}, f = ${f}, buckets = ${k}: n >= ${k * (2 * f + 3)})`;
      },
      aggregate(inputs, ctx) {
        const order = ctx.rng.permutation(inputs.length);
        const results: Vec[] = splitBuckets(order, k).map((idx) =>
          multiKrum(
            idx.map((i) => inputs[i]),
            ctx.f,
            idx.length - ctx.f,
          ),
        );
        return meanOf(results);
      },
    };
  },
};
