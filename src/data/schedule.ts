/**
 * The seeded batch schedule: `(seed, step) -> sample ids` (docs/design.md "One step"). It is the
 * same for every scheme at the same seed, so schemes are compared on identical data.
 *
 * Sampling is without replacement within an epoch: epoch `e` is the permutation
 * `Rng.derive(seed, 'epoch', e).permutation(numSamples)`, the epochs are concatenated into one
 * endless stream, and step `t` takes stream positions `[t*B, (t+1)*B)`, crossing an epoch boundary
 * when `B` does not divide `numSamples`. Partition `j` is a contiguous slice of the global batch;
 * when `P` does not divide `B` the first `B mod P` partitions hold one extra sample.
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
  private readonly cache = new Map<number, Int32Array>();

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
    const base = Math.floor(globalBatch / numPartitions);
    const extra = globalBatch % numPartitions;
    const sizes: number[] = [];
    const offsets: number[] = [0];
    for (let j = 0; j < numPartitions; j++) {
      sizes.push(base + (j < extra ? 1 : 0));
      offsets.push(offsets[j] + sizes[j]);
    }
    this.partitionSizes = sizes;
    this.partitionOffsets = offsets;
  }

  /** Steps per epoch, rounded down (a step may straddle two epochs). */
  get stepsPerEpoch(): number {
    return Math.floor(this.numSamples / this.batchSize);
  }

  /** The epoch in which step `step` starts. */
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

  /** The `B` sample ids of step `step` (a fresh array). */
  globalBatch(step: number): Int32Array {
    checkStep(step);
    return this.range(step * this.batchSize, this.batchSize);
  }

  /** The global batch of step `step` split into `P` contiguous partitions (fresh arrays). */
  partitions(step: number): Int32Array[] {
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
    return this.range(step * this.batchSize + this.partitionOffsets[j], this.partitionSizes[j]);
  }
}

function checkStep(step: number): void {
  if (!Number.isSafeInteger(step) || step < 0) {
    throw new RangeError(`batch schedule: step must be a non-negative integer, got ${step}`);
  }
}
