/**
 * The seeded batch schedule: `(seed, step) -> sample ids` (docs/design.md "One step"). It is the
 * same for every scheme at the same seed, so schemes are compared on identical data.
 *
 * Sampling is without replacement within an epoch: epoch `e` is the permutation
 * `Rng.derive(seed, 'epoch', e).permutation(numSamples)`, the epochs are concatenated into one
 * endless stream, and step `t` takes stream positions `[t*B, (t+1)*B)`, crossing an epoch boundary
 * when `B` does not divide `numSamples`. Partition `j` is a contiguous slice of the global batch;
 * when `P` does not divide `B` the first `B mod P` partitions hold one extra sample.
 *
 * With shards (a partitioner other than iid, src/data/partition/), partition `j` draws only from
 * its own shard `S_j`, for the whole run: its stream is the concatenation of the shard's epoch
 * permutations `Rng.derive(seed, 'shard', j, 'epoch', e).permutation(|S_j|)` (mapped to sample
 * ids), and step `t` takes its positions `[t*b_j, (t+1)*b_j)`, `b_j` being the partition's size
 * above. The global batch is still `B` samples, every partition contributing `b_j` whatever its
 * shard's size; each shard cycles through its own epochs.
 */
import { UsageError } from '../core/errors.js';
import { Rng } from '../core/rng.js';

export interface BatchScheduleOptions {
  /** Samples in the training split. */
  numSamples: number;
  /** Global batch size `B` (summed over all partitions). */
  globalBatch: number;
  /** Number of partitions `P` the global batch is split into. */
  numPartitions: number;
  /** Run seed. */
  seed: number;
  /** One shard of sample ids per partition (data locality), or absent for the IID stream. */
  shards?: readonly Int32Array[] | null;
}

/** The partitions' sizes: `B` split into `P` parts, the first `B mod P` one larger. */
export function partitionSizes(globalBatch: number, numPartitions: number): number[] {
  const base = Math.floor(globalBatch / numPartitions);
  const extra = globalBatch % numPartitions;
  return Array.from({ length: numPartitions }, (_, j) => base + (j < extra ? 1 : 0));
}

/** Epoch permutations kept in memory (a step touches at most two consecutive epochs). */
const CACHE_EPOCHS = 4;

export class BatchSchedule {
  readonly numSamples: number;
  readonly batchSize: number;
  readonly numPartitions: number;
  readonly seed: number;
  /** Size of each partition (first `B mod P` are one larger). */
  readonly partitionSizes: readonly number[];
  /** Start of each partition inside the global batch, plus a final entry `B`. */
  readonly partitionOffsets: readonly number[];
  /** Each partition's shard, or null: the IID stream. */
  readonly shards: readonly Int32Array[] | null;
  private readonly cache = new Map<number, Int32Array>();
  private readonly shardCache = new Map<string, Int32Array>();

  constructor(opts: BatchScheduleOptions) {
    const { numSamples, globalBatch, numPartitions, seed } = opts;
    if (!Number.isInteger(numSamples) || numSamples < 1) {
      throw new UsageError(`batch schedule: the dataset must hold at least 1 sample, got ${numSamples}`);
    }
    if (!Number.isInteger(numPartitions) || numPartitions < 1) {
      throw new UsageError(
        `batch schedule: number of partitions must be an integer >= 1, got ${numPartitions}`,
      );
    }
    if (!Number.isInteger(globalBatch)) {
      throw new UsageError(`batch schedule: global batch size must be an integer, got ${globalBatch}`);
    }
    if (globalBatch < numPartitions) {
      throw new UsageError(
        `batch schedule: global batch ${globalBatch} is smaller than the ${numPartitions} partitions; ` +
          `it must be >= ${numPartitions} so that every partition gets a sample`,
      );
    }
    if (globalBatch > numSamples) {
      throw new UsageError(
        `batch schedule: global batch ${globalBatch} exceeds the ${numSamples} training samples; it must be <= ${numSamples}`,
      );
    }
    if (!Number.isFinite(seed))
      throw new UsageError(`batch schedule: seed must be a finite number, got ${seed}`);
    this.numSamples = numSamples;
    this.batchSize = globalBatch;
    this.numPartitions = numPartitions;
    this.seed = seed;
    const sizes = partitionSizes(globalBatch, numPartitions);
    const offsets: number[] = [0];
    for (let j = 0; j < numPartitions; j++) offsets.push(offsets[j] + sizes[j]);
    this.partitionSizes = sizes;
    this.partitionOffsets = offsets;
    this.shards = opts.shards ?? null;
    if (this.shards !== null) {
      if (this.shards.length !== numPartitions)
        throw new UsageError(`batch schedule: ${this.shards.length} shards for ${numPartitions} partitions`);
      this.shards.forEach((sh, j) => {
        if (sh.length < sizes[j])
          throw new UsageError(
            `batch schedule: shard ${j} holds ${sh.length} samples, fewer than the ${sizes[j]} its partition takes per step`,
          );
      });
    }
  }

  /** Steps per epoch, rounded down (a step may straddle two epochs). */
  get stepsPerEpoch(): number {
    return Math.floor(this.numSamples / this.batchSize);
  }

  /** The epoch in which step `step` starts (of the IID stream; each shard has its own). */
  epochOf(step: number): number {
    checkStep(step);
    return Math.floor((step * this.batchSize) / this.numSamples);
  }

  /** The sample order of epoch `e` (cached; do not modify). */
  private epochPermutation(e: number): Int32Array {
    let p = this.cache.get(e);
    if (p === undefined) {
      p = Rng.derive(this.seed, 'epoch', e).permutation(this.numSamples);
      if (this.cache.size >= CACHE_EPOCHS) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(e, p);
    }
    return p;
  }

  /** Stream positions `[pos, pos + len)` of the concatenated epoch permutations. */
  private range(pos: number, len: number): Int32Array {
    const n = this.numSamples;
    const out = new Int32Array(len);
    let filled = 0;
    while (filled < len) {
      const e = Math.floor(pos / n);
      const at = pos - e * n;
      const take = Math.min(n - at, len - filled);
      out.set(this.epochPermutation(e).subarray(at, at + take), filled);
      filled += take;
      pos += take;
    }
    return out;
  }

  /** Positions `[pos, pos + len)` of shard `j`'s stream of epochs, as sample ids. */
  private shardRange(j: number, pos: number, len: number): Int32Array {
    const shard = this.shards![j];
    const n = shard.length;
    const out = new Int32Array(len);
    let filled = 0;
    while (filled < len) {
      const e = Math.floor(pos / n);
      const key = `${j}:${e}`;
      let perm = this.shardCache.get(key);
      if (perm === undefined) {
        perm = Rng.derive(this.seed, 'shard', j, 'epoch', e).permutation(n);
        if (this.shardCache.size >= CACHE_EPOCHS * this.numPartitions)
          this.shardCache.delete(this.shardCache.keys().next().value!);
        this.shardCache.set(key, perm);
      }
      const at = pos - e * n;
      const take = Math.min(n - at, len - filled);
      for (let i = 0; i < take; i++) out[filled + i] = shard[perm[at + i]];
      filled += take;
      pos += take;
    }
    return out;
  }

  /** The `B` sample ids of step `step` (a fresh array), partition after partition. */
  globalBatch(step: number): Int32Array {
    checkStep(step);
    if (this.shards === null) return this.range(step * this.batchSize, this.batchSize);
    const out = new Int32Array(this.batchSize);
    for (let j = 0; j < this.numPartitions; j++) out.set(this.partition(step, j), this.partitionOffsets[j]);
    return out;
  }

  /** The global batch of step `step` split into `P` partitions (fresh arrays). */
  partitions(step: number): Int32Array[] {
    if (this.shards !== null)
      return Array.from({ length: this.numPartitions }, (_, j) => this.partition(step, j));
    const g = this.globalBatch(step);
    const out: Int32Array[] = [];
    for (let j = 0; j < this.numPartitions; j++) {
      out.push(g.slice(this.partitionOffsets[j], this.partitionOffsets[j + 1]));
    }
    return out;
  }

  /** Partition `j` of step `step`. */
  partition(step: number, j: number): Int32Array {
    if (!Number.isInteger(j) || j < 0 || j >= this.numPartitions) {
      throw new RangeError(`partition index ${j} out of range [0, ${this.numPartitions})`);
    }
    checkStep(step);
    const b = this.partitionSizes[j];
    if (this.shards !== null) return this.shardRange(j, step * b, b);
    return this.range(step * this.batchSize + this.partitionOffsets[j], b);
  }
}

function checkStep(step: number): void {
  if (!Number.isSafeInteger(step) || step < 0) {
    throw new RangeError(`batch schedule: step must be a non-negative integer, got ${step}`);
  }
}
