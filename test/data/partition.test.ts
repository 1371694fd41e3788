/**
 * Partitioners (docs/data.md "Heterogeneous data"): the Dirichlet draws have the concentration
 * asked for, shards:k gives every partition exactly k classes, shards are disjoint and cover the
 * training set, and a sharded schedule draws each partition's samples from its own shard only,
 * every sample of a shard once per shard epoch.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UsageError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import { parsePartition } from '../../src/data/partition/registry.js';
import { BatchSchedule, partitionSizes } from '../../src/data/schedule.js';

/** `perClass` samples of each of `C` classes, in a shuffled order. */
function labels(C: number, perClass: number, seed = 5): Uint8Array {
  const y = new Uint8Array(C * perClass);
  for (let i = 0; i < y.length; i++) y[i] = i % C;
  return Rng.derive(seed, 'labels').shuffle(y);
}

function layout(spec: string, y: Uint8Array, C: number, P: number, seed: number, batch = P) {
  return parsePartition(spec).shards({
    labels: y,
    numClasses: C,
    batchSizes: partitionSizes(batch, P),
    rng: Rng.derive(seed, 'partition'),
  })!;
}

/** Shards x classes counts. */
function histograms(shards: Int32Array[], y: Uint8Array, C: number): number[][] {
  return shards.map((sh) => {
    const h = new Array<number>(C).fill(0);
    for (const i of sh) h[y[i]]++;
    return h;
  });
}

/** Every sample id in exactly one shard. */
function assertCover(shards: Int32Array[], n: number): void {
  const seen = new Uint8Array(n);
  for (const sh of shards) for (const i of sh) seen[i]++;
  assert.ok(
    seen.every((c) => c === 1),
    'shards are disjoint and cover the training set',
  );
}

const meanVar = (xs: number[]) => {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return { mean: m, variance: xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1) };
};

describe('Rng.dirichlet', () => {
  test('components have the Dirichlet mean and variance (alpha 0.3 and 2, 20000 draws, within 10%)', () => {
    for (const alpha of [0.3, 2]) {
      const K = 5;
      const rng = Rng.derive(9, 'dirichlet', alpha);
      const first: number[] = [];
      for (let t = 0; t < 20_000; t++) {
        const q = rng.dirichlet(new Array<number>(K).fill(alpha));
        assert.ok(Math.abs(q.reduce((a, b) => a + b, 0) - 1) < 1e-12);
        first.push(q[t % K]);
      }
      const { mean, variance } = meanVar(first);
      const want = ((1 / K) * (1 - 1 / K)) / (K * alpha + 1);
      assert.ok(Math.abs(mean - 1 / K) < 0.01, `alpha ${alpha}: mean ${mean}`);
      assert.ok(Math.abs(variance / want - 1) < 0.1, `alpha ${alpha}: variance ${variance}, want ${want}`);
    }
  });

  test('alpha 0.01: no component underflows to NaN; the mass sits mostly on one component', () => {
    const rng = Rng.derive(1, 'tiny');
    let top = 0;
    for (let t = 0; t < 200; t++) {
      const q = rng.dirichlet(new Array<number>(15).fill(0.01));
      assert.ok(q.every((v) => Number.isFinite(v) && v >= 0));
      top += Math.max(...q) / 200;
    }
    assert.ok(top > 0.8, `mean largest component ${top}`);
  });
});

describe('dirichlet:alpha=A', () => {
  test("each class's share per partition follows Dir(alpha): mean 1/P, variance (1/P)(1-1/P)/(P alpha + 1) within 10% over 3000 (class, draw) pairs", () => {
    const C = 10;
    const P = 5;
    const y = labels(C, 1000);
    for (const alpha of [0.1, 0.5, 5]) {
      const shares: number[] = [];
      for (let seed = 0; seed < 300; seed++) {
        const shards = layout(`dirichlet:alpha=${alpha}`, y, C, P, seed);
        assert.equal(shards.length, P);
        if (seed < 5) assertCover(shards, y.length);
        const h = histograms(shards, y, C);
        // One partition per (class, draw): the shares of one class over partitions are dependent.
        for (let c = 0; c < C; c++) shares.push(h[(seed + c) % P][c] / 1000);
      }
      const { mean, variance } = meanVar(shares);
      const want = ((1 / P) * (1 - 1 / P)) / (P * alpha + 1);
      assert.ok(Math.abs(mean - 1 / P) < 0.02, `alpha ${alpha}: mean share ${mean}`);
      assert.ok(Math.abs(variance / want - 1) < 0.1, `alpha ${alpha}: variance ${variance}, want ${want}`);
    }
  });

  test('smaller alpha, fewer classes per partition; same seed, same shards; another seed, others', () => {
    const C = 10;
    const y = labels(C, 600);
    const held = (alpha: number) => {
      let total = 0;
      for (let seed = 0; seed < 20; seed++) {
        const h = histograms(layout(`dirichlet:alpha=${alpha}`, y, C, 15, seed), y, C);
        for (const row of h) {
          const size = row.reduce((a, b) => a + b, 0);
          total += row.filter((v) => v >= 0.05 * size).length;
        }
      }
      return total / (20 * 15);
    };
    const [a01, a1, a100] = [held(0.1), held(1), held(100)];
    assert.ok(a01 < a1 && a1 < a100, `classes held: ${a01}, ${a1}, ${a100}`);
    assert.ok(a01 < 3 && a100 > 9, `classes held: ${a01}, ${a100}`);
    assert.deepEqual(layout('dirichlet:alpha=0.3', y, C, 15, 4), layout('dirichlet:alpha=0.3', y, C, 15, 4));
    assert.notDeepEqual(
      layout('dirichlet:alpha=0.3', y, C, 15, 4),
      layout('dirichlet:alpha=0.3', y, C, 15, 5),
    );
  });

  test("every shard holds at least its partition's per-step batch; an impossible request is one UsageError", () => {
    const C = 10;
    const y = labels(C, 100);
    for (let seed = 0; seed < 20; seed++) {
      const shards = layout('dirichlet:alpha=0.1', y, C, 15, seed, 15 * 20);
      assert.ok(
        shards.every((sh) => sh.length >= 20),
        `seed ${seed}: ${shards.map((s) => s.length)}`,
      );
    }
    assert.throws(
      () => layout('dirichlet:alpha=0.01', y, C, 50, 1, 50 * 19),
      (e: Error) =>
        e instanceof UsageError &&
        /in 1000 draws none gave every one of the 50 partitions the 19 samples/.test(e.message),
    );
    assert.throws(() => parsePartition('dirichlet:alpha=0'), /alpha must be in \(0, 1e6\]/);
    assert.throws(() => parsePartition('dirichlet:a=1'), /has no parameter 'a' \(known: alpha\)/);
    assert.throws(() => parsePartition('zipf'), /unknown partition 'zipf' \(known: iid, dirichlet, shards\)/);
  });
});

describe('shards:k=K', () => {
  test('every partition holds exactly k classes, each class in floor(Pk/C) or one more partitions, split evenly', () => {
    const C = 10;
    const y = labels(C, 300);
    for (const [k, P] of [
      [1, 10],
      [2, 15],
      [3, 7],
      [2, 31],
      [10, 4],
    ]) {
      for (let seed = 0; seed < 5; seed++) {
        const shards = layout(`shards:k=${k}`, y, C, P, seed);
        assertCover(shards, y.length);
        const h = histograms(shards, y, C);
        for (const row of h)
          assert.equal(row.filter((v) => v > 0).length, k, `k=${k} P=${P} seed ${seed}: ${row}`);
        const holders = Array.from({ length: C }, (_, c) => h.filter((row) => row[c] > 0).length);
        assert.ok(
          holders.every((m) => m === Math.floor((P * k) / C) || m === Math.floor((P * k) / C) + 1),
          `holders ${holders}`,
        );
        // A class's samples are split evenly among its holders (sizes differ by at most 1).
        for (let c = 0; c < C; c++) {
          const pieces = h.map((row) => row[c]).filter((v) => v > 0);
          assert.ok(Math.max(...pieces) - Math.min(...pieces) <= 1, `class ${c}: ${pieces}`);
        }
      }
    }
  });

  test('the pairs of classes vary with the seed; too few slots or classes is one UsageError', () => {
    const C = 10;
    const y = labels(C, 300);
    const pairs = (seed: number) =>
      histograms(layout('shards:k=2', y, C, 15, seed), y, C).map((row) =>
        row.flatMap((v, c) => (v > 0 ? [c] : [])).join('+'),
      );
    assert.notDeepEqual(pairs(1), pairs(2));
    assert.throws(
      () => layout('shards:k=1', y, C, 5, 1),
      /5 partitions of 1 classes cover 5 of the 10 classes; use k >= 2/,
    );
    assert.throws(() => layout('shards:k=11', y, C, 5, 1), /holds only 10 classes/);
    assert.throws(
      () => layout('shards:k=2', y, C, 15, 1, 15 * 300),
      /holds \d+ samples but takes 300 per step/,
    );
  });
});

describe('a sharded batch schedule', () => {
  const C = 10;
  const y = labels(C, 100);
  const shards = layout('dirichlet:alpha=0.5', y, C, 6, 3, 60);
  const opts = { numSamples: y.length, globalBatch: 60, numPartitions: 6, seed: 3 };
  const s = new BatchSchedule({ ...opts, shards });

  test('partition j draws only from shard j, every sample of the shard once per shard epoch', () => {
    for (let j = 0; j < 6; j++) {
      const mine = new Set(shards[j]);
      const b = s.partitionSizes[j];
      const epochSteps = Math.floor(shards[j].length / b);
      const seen = new Map<number, number>();
      for (let t = 0; t < epochSteps; t++)
        for (const i of s.partition(t, j)) {
          assert.ok(mine.has(i), `step ${t}: sample ${i} is not in shard ${j}`);
          seen.set(i, (seen.get(i) ?? 0) + 1);
        }
      assert.equal(seen.size, epochSteps * b, `shard ${j}: no sample twice within its epoch`);
    }
  });

  test('partitions(), partition() and globalBatch() agree, and depend only on (seed, step)', () => {
    const other = new BatchSchedule({ ...opts, shards });
    s.partitions(400);
    for (const t of [0, 7, 123]) {
      const parts = s.partitions(t);
      assert.deepEqual(other.partitions(t), parts);
      assert.deepEqual(
        parts.map((p) => p.length),
        [...s.partitionSizes],
      );
      assert.deepEqual(
        Array.from(s.globalBatch(t)),
        parts.flatMap((p) => Array.from(p)),
      );
      parts.forEach((p, j) => assert.deepEqual(s.partition(t, j), p));
    }
    assert.notDeepEqual(new BatchSchedule({ ...opts, seed: 4, shards }).partitions(7), s.partitions(7));
  });

  test('a shard smaller than its partition, or a wrong count, is refused', () => {
    assert.throws(
      () => new BatchSchedule({ ...opts, shards: shards.slice(0, 5) }),
      /5 shards for 6 partitions/,
    );
    assert.throws(
      () => new BatchSchedule({ ...opts, shards: [shards[0].subarray(0, 3), ...shards.slice(1)] }),
      /shard 0 holds 3 samples, fewer than the 10 its partition takes per step/,
    );
  });
});
