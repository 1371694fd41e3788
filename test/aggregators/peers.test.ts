/**
 * Rules the maintained peers ship (issue 19): meamed, MoNNA and MDA, each on a small input checked
 * by hand, against a brute-force reading of its definition on random inputs (ties included), and
 * training without attack to a sane accuracy.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildAggregator, parsePreAggregators } from '../../src/aggregators/registry.js';
import type { AggregateInfo } from '../../src/aggregators/types.js';
import { pairwiseSqDistances } from '../../src/aggregators/distances.js';
import { mdaSubset } from '../../src/aggregators/mda.js';
import { parseAttack } from '../../src/attacks/registry.js';
import { Rng } from '../../src/core/rng.js';
import type { Vec } from '../../src/core/vec.js';
import { train } from '../../src/index.js';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../tmp.js';
import { crashAfterCheckpoint } from '../crash.js';

const rows = (...xs: number[][]) => xs.map((x) => Float64Array.from(x));
function run(rule: string, inputs: Vec[], f: number) {
  const info: AggregateInfo = {};
  const agg = buildAggregator(rule, { n: inputs.length, f });
  assert.equal(agg.precondition(inputs.length, f), null);
  const out = agg.aggregate(inputs, { f, rng: Rng.derive(1, 'ps', 0), info });
  return { out: Array.from(out), info };
}

/** Every k-subset of 0..n-1 in lexicographic order (itertools.combinations). */
function* combinations(n: number, k: number, start = 0, prefix: number[] = []): Generator<number[]> {
  if (prefix.length === k) {
    yield prefix;
    return;
  }
  for (let i = start; i <= n - (k - prefix.length); i++) yield* combinations(n, k, i + 1, [...prefix, i]);
}

describe('meamed', () => {
  test('by hand: per coordinate the n - f values nearest the median, averaged', () => {
    // Coordinate 0: median 2, nearest four 2, 1, 3, 10 -> 4. Coordinate 1: median 0, values
    // -1 and 1 tie at distance 1 with 4 of 5 kept: 0, -1, 1, 5 (not -9) -> 1.25.
    const { out } = run('meamed', rows([1, 0], [2, -1], [3, 1], [10, 5], [-7, -9]), 1);
    assert.deepEqual(out, [4, 1.25]);
  });
  test('property: the mean of the n - f values nearest the median (ties: the smaller value)', () => {
    const rng = Rng.derive(3, 'meamed');
    for (let t = 0; t < 60; t++) {
      const n = 3 + rng.int(50);
      const f = rng.int(Math.ceil(n / 2));
      const xs = Array.from({ length: n }, () => Float64Array.from({ length: 5 }, () => rng.int(9) - 4));
      const { out } = run('meamed', xs, f);
      for (let k = 0; k < 5; k++) {
        const col = xs.map((x) => x[k]).sort((a, b) => a - b);
        const med = (col[(n - 1) >> 1] + col[n >> 1]) / 2;
        const near = [...col].sort((a, b) => Math.abs(a - med) - Math.abs(b - med) || a - b).slice(0, n - f);
        const want = near.reduce((a, b) => a + b, 0) / (n - f);
        assert.ok(
          Math.abs(out[k] - want) <= 1e-12,
          `n = ${n} f = ${f} coordinate ${k}: ${out[k]} vs ${want}`,
        );
      }
    }
  });
});

describe('monna', () => {
  test('by hand: the n - f inputs nearest input idx, itself included', () => {
    const xs = rows([0, 0], [1, 0], [0, 2], [5, 5], [-1, 0]);
    // From input 0: distances 0, 1, 4, 50, 1 -> nearest three: 0, 1, 4, whose mean is the origin.
    assert.deepEqual(run('monna', xs, 2), { out: [0, 0], info: { selected: [0, 1, 4] } });
    // From input 3: 3 itself (0), then 2 (34), then 1 (41).
    assert.deepEqual(run('monna:idx=3', xs, 2).info.selected, [3, 2, 1]);
  });
  test('idx must name an input', () => {
    assert.throws(
      () => buildAggregator('monna:idx=7', { n: 5, f: 1 }),
      /monna: idx = 7 names no input \(n = 5\)/,
    );
  });
});

describe('mda', () => {
  test('by hand: the n - f inputs of smallest diameter', () => {
    // On a line: {0, 1, 2} has diameter 2, every other triple more.
    const { out, info } = run('mda', rows([10], [0], [11], [1], [2]), 2);
    assert.deepEqual(info.selected, [1, 3, 4]);
    assert.deepEqual(out, [1]);
  });
  test('property: the first subset (combinations order) of least diameter, as exhaustive search', () => {
    const rng = Rng.derive(5, 'mda');
    for (let t = 0; t < 150; t++) {
      const n = 3 + rng.int(8);
      const f = rng.int(Math.ceil(n / 2));
      // Small integers: many equal distances, so the tie rule is exercised.
      const xs = Array.from({ length: n }, () => Float64Array.from({ length: 2 }, () => rng.int(4)));
      const D = pairwiseSqDistances(xs);
      let best: number[] = [];
      let bestDiam = Infinity;
      for (const s of combinations(n, n - f)) {
        let diam = 0;
        for (const i of s) for (const j of s) diam = Math.max(diam, D[i * n + j]);
        if (diam < bestDiam) [best, bestDiam] = [s, diam];
      }
      assert.deepEqual(
        mdaSubset(D, n, f),
        best,
        `n = ${n}, f = ${f}: ${JSON.stringify(xs.map((x) => [...x]))}`,
      );
    }
  });
});

describe('clipping and arc (pre-aggregators)', () => {
  const pre = (spec: string, inputs: Vec[], f: number) =>
    parsePreAggregators(spec)[0]
      .apply(inputs, { f, rng: Rng.derive(1, 'ps', 0) })
      .map((x) => Array.from(x));
  test('by hand: clipping scales what is longer than c down to norm c, keeps the rest', () => {
    assert.deepEqual(pre('clipping:c=1', rows([3, 4], [0.3, 0.4], [0, -2]), 0), [
      [0.6000000000000001, 0.8],
      [0.3, 0.4],
      [0, -1],
    ]);
  });
  test('by hand: adaptive clipping (q) clips to the q-quantile of the norms, interpolated', () => {
    // Norms 5, 0.5, 2, 1: sorted 0.5, 1, 2, 5. q = 0.5: position 1.5 -> 1.5; q = 1: 5 (no-op);
    // q = 0.25: position 0.75 -> 0.5 + 0.75 * 0.5 = 0.875.
    const xs = rows([3, 4], [0.3, 0.4], [0, -2], [1, 0]);
    assert.deepEqual(pre('clipping:q=0.5', xs, 0), [
      [0.8999999999999999, 1.2],
      [0.3, 0.4],
      [0, -1.5],
      [1, 0],
    ]);
    assert.deepEqual(
      pre('clipping:q=1', xs, 0),
      xs.map((x) => Array.from(x)),
    );
    assert.deepEqual(pre('clipping:q=0.25', xs, 0)[3], [0.875, 0]);
    assert.throws(
      () => parsePreAggregators('clipping:q=1.5'),
      /clipping: q must be in \(0, 1\], or 0 for static c \(got 1.5\)/,
    );
    assert.equal(parsePreAggregators('clipping:q=0.5')[0].name, 'clipping:q=0.5');
  });
  test('by hand: arc clips the floor(2f(n-f)/n) longest to the longest of the rest', () => {
    // n = 4, f = 1: k = floor(2 * 1 * 3 / 4) = 1; norms 1, 2, 3, 10 -> the 10 becomes 3.
    assert.deepEqual(pre('arc', rows([1, 0], [0, 10], [0, 2], [3, 0]), 1), [
      [1, 0],
      [0, 3],
      [0, 2],
      [3, 0],
    ]);
    // f = 0: nothing is clipped.
    assert.deepEqual(pre('arc', rows([1, 0], [0, 10]), 0), [
      [1, 0],
      [0, 10],
    ]);
  });
  test('property: arc keeps the n - k shortest, clips the k longest to exactly the threshold norm', () => {
    const rng = Rng.derive(9, 'arc');
    for (let t = 0; t < 50; t++) {
      const n = 2 + rng.int(30);
      const f = rng.int(n);
      const xs = Array.from({ length: n }, () =>
        Float64Array.from({ length: 7 }, () => rng.normal() * (1 + rng.int(20))),
      );
      const norm = (x: ArrayLike<number>) => Math.hypot(...Array.from(x));
      const out = pre('arc', xs, f);
      const k = Math.floor(((2 * f) / n) * (n - f));
      const sorted = xs.map(norm).sort((a, b) => a - b);
      const threshold = k > 0 ? sorted[n - k - 1] : Infinity;
      for (let i = 0; i < n; i++) {
        const before = norm(xs[i]);
        const after = norm(out[i]);
        if (before <= threshold) assert.deepEqual(out[i], Array.from(xs[i]), `n = ${n} f = ${f} input ${i}`);
        else
          assert.ok(
            Math.abs(after - threshold) <= 1e-12 * threshold,
            `n = ${n} f = ${f} input ${i}: ${after} vs ${threshold}`,
          );
      }
    }
  });
});

describe('the new rules train without attack', () => {
  for (const rule of [
    'meamed',
    'monna',
    'mda',
    'arc+mean',
    'clipping:c=50+mean',
    'clipping:q=0.5+mean',
    'signguard',
    'clipped-clustering',
  ]) {
    test(rule, async () => {
      const { summary } = await train({
        dataset: 'synthetic',
        model: 'mlp',
        scheme: 'uncoded',
        aggregator: rule,
        workers: 11,
        byzantine: 2,
        attack: 'none',
        batch: 110,
        steps: 60,
        evalEvery: 0,
      });
      assert.ok(summary.finalTestAccuracy > 0.9, `${rule}: ${summary.finalTestAccuracy}`);
    });
  }
});

describe("ByzFL's conventions on request (krum:byzfl, multi-krum:byzfl, alie:sample)", () => {
  // 1-D inputs 0, 1, 2, 4, 5 with f = 1. Blanchard (n - f - 2 = 2 nearest): scores 1+4, 1+1,
  // 1+4, 1+4, 1+9 = [5, 2, 5, 5, 10] -> input 1. ByzFL (n - f - 1 = 3 nearest): [21, 11, 9, 14, 26]
  // -> input 2.
  const xs = rows([0], [1], [2], [4], [5]);
  test('by hand: the neighbour count changes the winner', () => {
    assert.deepEqual(run('krum', xs, 1).info.scores, [5, 2, 5, 5, 10]);
    assert.deepEqual(run('krum', xs, 1).out, [1]);
    assert.deepEqual(run('krum:byzfl', xs, 1).info.scores, [21, 11, 9, 14, 26]);
    assert.deepEqual(run('krum:byzfl', xs, 1).out, [2]);
    // m = 2: Blanchard takes input 1 then the lowest-index tie at 5 (input 0); ByzFL inputs 2, 1.
    assert.deepEqual(run('multi-krum:m=2', xs, 1).out, [0.5]);
    assert.deepEqual(run('multi-krum:m=2,byzfl', xs, 1).out, [1.5]);
  });
  test("the bounds: n >= 2f + 3, or ByzFL's n > 2f", () => {
    assert.throws(
      () => buildAggregator('krum', { n: 4, f: 1 }),
      /krum needs n >= 2f \+ 3 \(n = 4, f = 1: n >= 5\)/,
    );
    assert.doesNotThrow(() => buildAggregator('krum:byzfl', { n: 3, f: 1 }));
    assert.throws(
      () => buildAggregator('multi-krum:byzfl', { n: 4, f: 2 }),
      /multi-krum needs n > 2f \(n = 4, f = 2: n >= 5\)/,
    );
    assert.throws(
      () => buildAggregator('krum:byzfl=2', { n: 5, f: 1 }),
      /krum: byzfl is a switch, 0 or 1 \(got 2\)/,
    );
  });
  test('alie:sample uses the sample standard deviation', () => {
    // Honest [1, 2], [3, 6], [5, 10]: mu = [3, 6], squared deviations sum to [8, 32]; sample sigma
    // = [sqrt(8/2), sqrt(32/2)] = [2, 4], so z = 1 sends [1, 2].
    const honest = [...rows([1, 2], [3, 6], [5, 10]), null];
    const ctx = {
      own: new Float64Array(2),
      step: 0,
      worker: 3,
      rng: Rng.derive(1),
      n: 4,
      byzantine: [3],
      honest,
    };
    assert.deepEqual(Array.from(parseAttack('alie:z=1,sample').attack.corrupt(ctx)), [1, 2]);
    const one = { ...ctx, honest: [rows([1, 2])[0], null, null, null], byzantine: [1, 2, 3] };
    assert.throws(() => parseAttack('alie:sample').attack.corrupt(one), /needs at least two honest workers/);
  });
});

describe('stateful rules continue bit for bit across --resume', () => {
  const tmp = tempDir('draco-stateful-');
  for (const [label, extra] of [
    ['centered-clipping', { scheme: 'uncoded', aggregator: 'centered-clipping' }],
    ['clipped-clustering', { scheme: 'uncoded', aggregator: 'clipped-clustering' }],
    [
      'detox rule mode, nnm + centered-clipping',
      { scheme: 'detox', detoxMode: 'rule', preAggregator: 'nnm', aggregator: 'centered-clipping' },
    ],
  ] as const) {
    test(label, async () => {
      const opts = {
        dataset: 'synthetic',
        workers: 6,
        byzantine: 1,
        attack: 'reverse',
        batch: 24,
        steps: 8,
        evalEvery: 0,
        ...extra,
      };
      const whole = await train(opts);
      const dir = join(tmp, label.replace(/\W+/g, '-'));
      mkdirSync(dir);
      // A crash after the checkpoint of step 4: the rule's state must come from the checkpoint.
      await crashAfterCheckpoint(opts, dir, 4, 4);
      const resumed = await train({ ...opts, checkpointEvery: 4, out: dir, resume: dir });
      assert.equal(resumed.summary.paramsSha256, whole.summary.paramsSha256);
    });
  }
});
