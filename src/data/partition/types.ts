/**
 * How the training set is laid out over the partitions of the global batch (docs/data.md
 * "Heterogeneous data"). A partitioner either keeps today's IID stream (every step a fresh global
 * batch drawn from the whole training set, cut into partitions) or gives each partition its own
 * shard of the training set for the whole run (data locality). Replicas of a partition (repetition,
 * cyclic, Solon, DETOX) compute on the same partition, hence on the same shard.
 */
import type { Rng } from '../../core/rng.js';

/** What a partitioner lays out. */
export interface ShardContext {
  /** Labels of the training split, one per sample id. */
  readonly labels: ArrayLike<number>;
  readonly numClasses: number;
  /** Samples partition j draws per step (its share of the global batch); its shard needs at least as many. */
  readonly batchSizes: readonly number[];
  /** Seeded from the run seed and the partitioner's name: every process draws the same shards. */
  readonly rng: Rng;
}

export interface Partitioner {
  /** The spec it was built from, e.g. `dirichlet:alpha=0.1`. */
  readonly name: string;
  /**
   * Disjoint shards of training sample ids, one per partition, each at least its partition's
   * per-step batch; or null for the IID stream. Throws UsageError when the layout is impossible.
   */
  shards(ctx: ShardContext): Int32Array[] | null;
}

/** A partitioner by name (`--partition name:key=value`), as the registry and plugins hold it. */
export interface PartitionerDef {
  readonly name: string;
  readonly description: string;
  /** The numeric parameters a spec may set, with their defaults. */
  readonly defaults: Readonly<Record<string, number>>;
  create(params: Record<string, number>): Partitioner;
}
