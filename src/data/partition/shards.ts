/**
 * `shards:k=K`: every partition holds exactly K classes (McMahan et al.'s pathological split,
 * docs/data.md). The P*K (partition, class) slots are dealt so that the classes are used as evenly
 * as possible (each class in floor(P*K/C) or one more partitions, the extra ones chosen at random):
 * partition after partition takes the K classes with the most slots left, ties in a seeded random
 * order, which always completes. A class's samples (in a seeded random order) are then split evenly
 * over the partitions that hold it.
 */
import { UsageError } from '../../core/errors.js';
import { idsByClass, joinPieces } from './classes.js';
import type { PartitionerDef, ShardContext } from './types.js';

export const shards: PartitionerDef = {
  name: 'shards',
  description:
    'pathological label skew: every partition holds exactly k classes, split evenly among their holders',
  defaults: { k: 2 },
  create(params) {
    const k = params.k;
    if (!Number.isInteger(k) || k < 1)
      throw new UsageError(`partition shards: k must be an integer >= 1, got ${k}`);
    const name = `shards:k=${k}`;
    return {
      name,
      shards(ctx: ShardContext) {
        const P = ctx.batchSizes.length;
        const byClass = idsByClass(ctx.labels, ctx.numClasses, ctx.rng);
        const present = byClass.flatMap((ids, c) => (ids.length > 0 ? [c] : []));
        const C = present.length;
        if (k > C) throw new UsageError(`partition ${name}: the training set holds only ${C} classes`);
        if (P * k < C)
          throw new UsageError(
            `partition ${name}: ${P} partitions of ${k} classes cover ${P * k} of the ${C} classes; use k >= ${Math.ceil(C / P)}`,
          );
        const left = new Map<number, number>();
        const extra = new Set(Array.from(ctx.rng.permutation(C).subarray(0, (P * k) % C), (i) => present[i]));
        for (const c of present) left.set(c, Math.floor((P * k) / C) + (extra.has(c) ? 1 : 0));
        const holders: number[][] = Array.from({ length: ctx.numClasses }, () => []);
        for (let j = 0; j < P; j++) {
          const tie = ctx.rng.permutation(C);
          const order = [...present.keys()].sort(
            (a, b) => left.get(present[b])! - left.get(present[a])! || tie[a] - tie[b],
          );
          for (const i of order.slice(0, k)) {
            const c = present[i];
            left.set(c, left.get(c)! - 1);
            holders[c].push(j);
          }
        }
        const pieces: Int32Array[][] = Array.from({ length: P }, () => []);
        for (const c of present) {
          const ids = byClass[c];
          const m = holders[c].length;
          if (ids.length < m)
            throw new UsageError(
              `partition ${name}: class ${c} has ${ids.length} samples for ${m} partitions`,
            );
          holders[c].forEach((j, i) =>
            pieces[j].push(
              ids.subarray(Math.floor((i * ids.length) / m), Math.floor(((i + 1) * ids.length) / m)),
            ),
          );
        }
        const out = joinPieces(pieces);
        const short = out.findIndex((sh, j) => sh.length < ctx.batchSizes[j]);
        if (short >= 0)
          throw new UsageError(
            `partition ${name}: partition ${short} holds ${out[short].length} samples but takes ${ctx.batchSizes[short]} per step; use a larger k, fewer workers or a smaller batch`,
          );
        return out;
      },
    };
  },
};
