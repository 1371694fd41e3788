/**
 * `dirichlet:alpha=A`: label skew by a Dirichlet draw per class, the convention of ByzFL, Flower
 * Datasets and NIID-Bench (docs/data.md). For every class c, the proportions q_c ~ Dir(A, ..., A)
 * over the P partitions split that class's samples (in a seeded random order) at the cumulative
 * boundaries floor(N_c * (q_c1 + ... + q_cj)). Small A gives each partition few classes; large A
 * tends to IID. A draw that leaves a partition fewer samples than it takes per step is redrawn
 * (Flower's minimum partition size), up to MAX_DRAWS times.
 */
import { UsageError } from '../../core/errors.js';
import { idsByClass, joinPieces } from './classes.js';
import type { PartitionerDef, ShardContext } from './types.js';

const MAX_DRAWS = 1000;

export const dirichlet: PartitionerDef = {
  name: 'dirichlet',
  description:
    "label skew: each class's samples split over the partitions by proportions ~ Dir(alpha); alpha 0.1 is severe, 100 close to iid",
  defaults: { alpha: 1 },
  create(params) {
    const alpha = params.alpha;
    if (!(alpha > 0) || alpha > 1e6)
      throw new UsageError(`partition dirichlet: alpha must be in (0, 1e6], got ${alpha}`);
    const name = `dirichlet:alpha=${alpha}`;
    return {
      name,
      shards(ctx: ShardContext) {
        const P = ctx.batchSizes.length;
        const byClass = idsByClass(ctx.labels, ctx.numClasses, ctx.rng);
        for (let draw = 0; draw < MAX_DRAWS; draw++) {
          // Cut points of every class, then the shard sizes they give.
          const cuts = byClass.map((ids) => {
            const q = ctx.rng.dirichlet(new Array<number>(P).fill(alpha));
            const at = new Int32Array(P + 1);
            let cum = 0;
            for (let j = 0; j < P; j++) {
              cum += q[j];
              at[j + 1] = j === P - 1 ? ids.length : Math.min(ids.length, Math.floor(ids.length * cum));
            }
            return at;
          });
          const size = (j: number) => cuts.reduce((a, at) => a + at[j + 1] - at[j], 0);
          if (!ctx.batchSizes.every((b, j) => size(j) >= b)) continue;
          return joinPieces(
            Array.from({ length: P }, (_, j) =>
              byClass.map((ids, c) => ids.subarray(cuts[c][j], cuts[c][j + 1])),
            ),
          );
        }
        throw new UsageError(
          `partition ${name}: in ${MAX_DRAWS} draws none gave every one of the ${P} partitions the ` +
            `${Math.max(...ctx.batchSizes)} samples it takes per step; use a larger alpha, fewer workers or a smaller batch`,
        );
      },
    };
  },
};
