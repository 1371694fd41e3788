import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import { BatchSchedule } from '../../src/data/schedule.js';

test('schedule: step 0 is the head of the epoch-0 permutation', () => {
  const s = new BatchSchedule({ numSamples: 100, globalBatch: 10, numPartitions: 3, seed: 42 });
  const perm = Rng.derive(42, 'epoch', 0).permutation(100);
  assert.deepEqual(s.globalBatch(0), perm.slice(0, 10));
  assert.deepEqual(s.globalBatch(9), perm.slice(90, 100));
  assert.deepEqual(s.globalBatch(10), Rng.derive(42, 'epoch', 1).permutation(100).slice(0, 10));
});

test('schedule: pure function of (seed, step), independent of call order and instance', () => {
  const opts = { numSamples: 1000, globalBatch: 64, numPartitions: 5, seed: 3 };
  const a = new BatchSchedule(opts);
  const b = new BatchSchedule(opts);
  const a7 = a.partitions(7);
  a.partitions(3);
  a.partitions(500); // far epoch evicts nothing that matters
  for (let t = 200; t < 210; t++) a.globalBatch(t);
  assert.deepEqual(a.partitions(7), a7);
  assert.deepEqual(b.partitions(7), a7);
  assert.deepEqual(b.partitions(3), a.partitions(3));
  for (let j = 0; j < 5; j++) assert.deepEqual(a.partition(7, j), a7[j]);
  const other = new BatchSchedule({ ...opts, seed: 4 });
  assert.notDeepEqual(other.globalBatch(7), a.globalBatch(7));
});

test('schedule: partitions cover the global batch exactly, sizes differ by at most one', () => {
  for (const [B, P] of [
    [10, 3],
    [12, 4],
    [7, 7],
    [100, 15],
    [64, 1],
  ]) {
    const s = new BatchSchedule({ numSamples: 257, globalBatch: B, numPartitions: P, seed: 1 });
    for (const step of [0, 1, 25, 26]) {
      const g = s.globalBatch(step);
      const parts = s.partitions(step);
      assert.equal(parts.length, P);
      const sizes = parts.map((p) => p.length);
      assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1);
      assert.ok(Math.min(...sizes) >= 1);
      // First B mod P partitions are the larger ones.
      const base = Math.floor(B / P);
      assert.deepEqual(
        sizes,
        Array.from({ length: P }, (_, j) => base + (j < B % P ? 1 : 0)),
      );
      assert.deepEqual(
        parts.flatMap((p) => Array.from(p)),
        Array.from(g),
      );
    }
  }
  const s = new BatchSchedule({ numSamples: 50, globalBatch: 10, numPartitions: 3, seed: 0 });
  assert.deepEqual(s.partitionSizes, [4, 3, 3]);
  assert.deepEqual(s.partitionOffsets, [0, 4, 7, 10]);
});

test('schedule: no sample repeats within an epoch; batches straddle epoch boundaries', () => {
  const N = 100;
  const B = 30;
  const s = new BatchSchedule({ numSamples: N, globalBatch: B, numPartitions: 4, seed: 9 });
  // Steps 0..9 cover stream positions 0..299 = exactly epochs 0, 1, 2.
  const stream: number[] = [];
  for (let t = 0; t < 10; t++) stream.push(...s.globalBatch(t));
  for (let e = 0; e < 3; e++) {
    const epoch = stream.slice(e * N, (e + 1) * N);
    assert.equal(new Set(epoch).size, N, `epoch ${e} is a permutation`);
    assert.deepEqual(epoch, Array.from(Rng.derive(9, 'epoch', e).permutation(N)));
  }
  // Step 3 covers positions 90..119: the last 10 of epoch 0 and the first 20 of epoch 1.
  const g3 = Array.from(s.globalBatch(3));
  assert.deepEqual(g3, [
    ...Rng.derive(9, 'epoch', 0).permutation(N).slice(90),
    ...Rng.derive(9, 'epoch', 1).permutation(N).slice(0, 20),
  ]);
  assert.equal(s.epochOf(3), 0);
  assert.equal(s.epochOf(4), 1);
  assert.equal(s.stepsPerEpoch, 3);
  for (const id of g3) assert.ok(id >= 0 && id < N);
  // A partition straddling the boundary is also computed from positions alone.
  assert.deepEqual(Array.from(s.partition(3, 1)), g3.slice(8, 16));
});

test('schedule: globalBatch = numSamples gives one full permutation per step', () => {
  const s = new BatchSchedule({ numSamples: 20, globalBatch: 20, numPartitions: 6, seed: 5 });
  for (const t of [0, 1, 2]) {
    const g = Array.from(s.globalBatch(t)).sort((a, b) => a - b);
    assert.deepEqual(
      g,
      Array.from({ length: 20 }, (_, i) => i),
    );
  }
  assert.notDeepEqual(s.globalBatch(0), s.globalBatch(1));
});

test('schedule: invalid sizes are UsageErrors stating the bound; bad steps are RangeErrors', () => {
  const base = { numSamples: 100, globalBatch: 10, numPartitions: 4, seed: 0 };
  const usage = (opts: typeof base, re: RegExp): void =>
    assert.throws(
      () => new BatchSchedule(opts),
      (e: unknown) => e instanceof UsageError && re.test(e.message),
    );
  usage({ ...base, globalBatch: 3 }, /global batch 3 is smaller than the 4 partitions; it must be >= 4/);
  usage(
    { ...base, globalBatch: 101 },
    /global batch 101 exceeds the 100 training samples; it must be <= 100/,
  );
  usage({ ...base, globalBatch: 10.5 }, /global batch size must be an integer, got 10\.5/);
  usage({ ...base, numPartitions: 0 }, /number of partitions must be an integer >= 1, got 0/);
  usage({ ...base, numSamples: 0 }, /at least 1 sample/);
  usage({ ...base, seed: NaN }, /seed must be a finite number/);
  const s = new BatchSchedule(base);
  assert.throws(() => s.globalBatch(-1), RangeError);
  assert.throws(() => s.globalBatch(1.5), RangeError);
  assert.throws(() => s.partition(0, 4), /partition index 4 out of range \[0, 4\)/);
});

test('schedule: a step late in training is fast (cached epoch permutations)', () => {
  const s = new BatchSchedule({ numSamples: 60000, globalBatch: 128, numPartitions: 15, seed: 1 });
  const t0 = performance.now();
  for (let t = 10000; t < 10400; t++) s.partitions(t);
  const ms = performance.now() - t0;
  // 400 steps touch at most 2 epochs: two permutations of 60k plus copies.
  assert.ok(ms < 500, `400 steps took ${ms} ms`);
  assert.equal(s.globalBatch(10000).length, 128);
});
