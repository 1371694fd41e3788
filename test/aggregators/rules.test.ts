/** Hand-computed cases for every rule (docs/aggregators.md "Aggregators"). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  buildAggregator,
  closestToMedianMean,
  packSigns,
  parseAggregator,
  signMajorityPacked,
  unpackSigns,
  type AggregateInfo,
} from '../../src/aggregators/index.js';
import { UsageError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import type { Vec } from '../../src/core/vec.js';

const v = (...xs: number[]) => Float64Array.from(xs);
const ctx = (f: number, info?: AggregateInfo) => ({ f, rng: Rng.derive(1, 'rules-test'), info });
const run = (spec: string, inputs: Vec[], f: number, info?: AggregateInfo) =>
  Array.from(buildAggregator(spec, { n: inputs.length, f }).aggregate(inputs, ctx(f, info)));

describe('mean', () => {
  test('average of 5 inputs (the 4-at-a-time path plus a remainder)', () => {
    assert.deepEqual(run('mean', [v(1, 2), v(3, -2), v(5, 6), v(7, 0), v(-1, 4)], 0), [3, 2]);
  });
});

describe('median', () => {
  test('odd n: the middle value per coordinate', () => {
    assert.deepEqual(run('median', [v(1, 5), v(3, -1), v(2, 10)], 1), [2, 5]);
  });
  test('even n: mean of the two middle values', () => {
    assert.deepEqual(run('median', [v(1), v(4), v(2), v(10)], 1), [3]);
  });
});

describe('trimmed-mean', () => {
  test('b = 1 drops the extreme values', () => {
    assert.deepEqual(run('trimmed-mean:b=1', [v(1), v(2), v(3), v(100), v(-50)], 0), [2]);
  });
  test('default b = f', () => {
    // f = 2 on 5 values leaves the median; f = 0 is the mean.
    assert.deepEqual(run('trimmed-mean', [v(1), v(2), v(3), v(100), v(-50)], 2), [2]);
    assert.ok(Math.abs(run('trimmed-mean', [v(1), v(2), v(3), v(100), v(-50)], 0)[0] - 11.2) < 1e-14);
  });
});

describe('geomedian', () => {
  test('1-D: the middle point of {0, 1, 10}', () => {
    const info: AggregateInfo = {};
    const [z] = run('geomedian', [v(0), v(1), v(10)], 1, info);
    assert.ok(Math.abs(z - 1) < 1e-5, `z = ${z}`);
    assert.equal(info.converged, true);
    assert.ok(info.iterations! > 1 && info.iterations! < 100, `iterations ${info.iterations}`);
  });
  test('triangle (0,0), (4,0), (0,3): the Fermat point, where the unit vectors to the points cancel', () => {
    const pts = [v(0, 0), v(4, 0), v(0, 3)];
    const info: AggregateInfo = {};
    const z = run('geomedian:tol=1e-12', pts, 1, info);
    let gx = 0;
    let gy = 0;
    for (const p of pts) {
      const r = Math.hypot(z[0] - p[0], z[1] - p[1]);
      gx += (z[0] - p[0]) / r;
      gy += (z[1] - p[1]) / r;
    }
    assert.ok(Math.hypot(gx, gy) < 1e-6, `gradient ${gx}, ${gy} at ${z}`);
    // Not the mean (4/3, 1): the answer moved.
    assert.ok(Math.hypot(z[0] - 4 / 3, z[1] - 1) > 0.1);
  });
  test('iters = 0 is the mean; the cap is reported', () => {
    const info: AggregateInfo = {};
    assert.deepEqual(run('geomedian:iters=0', [v(0, 0), v(4, 0), v(2, 3)], 1, info), [2, 1]);
    assert.equal(info.iterations, 0);
    const info2: AggregateInfo = {};
    run('geomedian:iters=2,tol=0', [v(0, 0), v(4, 0), v(0, 3)], 1, info2);
    assert.deepEqual([info2.iterations, info2.converged], [2, false]);
  });
});

describe('krum and multi-krum', () => {
  // 1-D points 0, 1, 2, 3, 100 with f = 1: each scores its n - f - 2 = 2 nearest.
  // scores: 0 -> 1 + 4 = 5; 1 -> 1 + 1 = 2; 2 -> 2; 3 -> 5; 100 -> 97^2 + 98^2 = 19013.
  const pts = [v(0), v(1), v(2), v(3), v(100)];
  test('krum: scores by hand; tie between 1 and 2 goes to the lower index', () => {
    const info: AggregateInfo = {};
    assert.deepEqual(run('krum', pts, 1, info), [1]);
    assert.deepEqual(info.scores, [5, 2, 2, 5, 19013]);
    assert.deepEqual(info.selected, [1]);
  });
  test('multi-krum: default m = n - f = 4 averages 0..3; m = 3 averages 1, 2, 0', () => {
    const info: AggregateInfo = {};
    assert.deepEqual(run('multi-krum', pts, 1, info), [1.5]);
    assert.deepEqual(info.selected, [1, 2, 0, 3]);
    assert.deepEqual(run('multi-krum:m=3', pts, 1), [1]);
  });
});

describe('bulyan', () => {
  // 1-D points 0, 1, 2, 3, 4, 100, -100; n = 7, f = 1: theta = 5, beta = 3.
  // Round 1 (4 neighbours): scores 30, 15, 10, 15, 30, ... -> 2. Round 2 (3): 0:26 1:14 3:14 4:26
  // -> 1 (tie, lower index). Round 3 (2): 0:25 3:10 4:17 -> 3. Round 4 (1): 0:16 4:16 -> 0.
  // Round 5 (0 neighbours): all 0 -> 4. Selection {0..4}, median 2, closest three 1, 2, 3 -> 2.
  const pts = [v(0), v(1), v(2), v(3), v(4), v(100), v(-100)];
  test('repeated Krum selection and the closest-to-median mean', () => {
    const info: AggregateInfo = {};
    assert.deepEqual(run('bulyan', pts, 1, info), [2]);
    assert.deepEqual(info.selected, [2, 1, 3, 0, 4]);
  });
  test('DETOX variant: theta = n - f - 2 = 4 (2, 1, 3, 0), beta = theta - 2f = 2 -> 1.5', () => {
    const info: AggregateInfo = {};
    assert.deepEqual(run('detox-bulyan', pts, 1, info), [1.5]);
    assert.deepEqual(info.selected, [2, 1, 3, 0]);
  });
  test('closest-to-median mean per coordinate, odd and even selections', () => {
    // {0, 1, 2, 10, 11}: median 2 -> 2, 1, 0 -> 1. {0, 4, 6, 7}: median 5 -> 4, 6 (beta 2), then 7.
    assert.deepEqual(Array.from(closestToMedianMean([v(0), v(1), v(2), v(10), v(11)], 3)), [1]);
    assert.deepEqual(Array.from(closestToMedianMean([v(0), v(4), v(6), v(7)], 2)), [5]);
    assert.ok(Math.abs(closestToMedianMean([v(0), v(4), v(6), v(7)], 3)[0] - 17 / 3) < 1e-14);
  });
});

describe('detox-multi-krum', () => {
  test('two buckets of 5: the outlier never survives its bucket; honest inputs agree', () => {
    const pts: Vec[] = Array.from({ length: 9 }, () => v(1, 2));
    pts.push(v(1000, -1000));
    assert.deepEqual(run('detox-multi-krum', pts, 1), [1, 2]);
  });
});

describe('sign-majority', () => {
  test('sign of the sum of signs; ties -> 0; v >= 0 (and -0) counts as +1', () => {
    assert.deepEqual(run('sign-majority', [v(1, -1, 0, -2), v(2, -3, 5, -0)], 0), [1, -1, 1, 0]);
    assert.deepEqual(run('sign-majority', [v(1, -1), v(-2, -3), v(-5, 4)], 1), [-1, -1]);
  });
  test('packing: bit q of byte p is coordinate 8p + q, set when negative; round trip', () => {
    const x = v(-1, 2, -3, 4, 5, 6, 7, -8, -9, 0, 1);
    const bits = packSigns(x);
    assert.deepEqual(Array.from(bits), [1 + 4 + 128, 1]);
    assert.deepEqual(Array.from(unpackSigns(bits, 11)), [-1, 1, -1, 1, 1, 1, 1, -1, -1, 1, 1]);
  });
  test('packed vote equals the float vote (d not a multiple of 8, even n for ties)', () => {
    const rng = Rng.derive(3, 'signs');
    const xs: Float32Array[] = [];
    for (let i = 0; i < 6; i++) {
      const x = new Float32Array(1003);
      rng.fillNormal(x);
      xs.push(x);
    }
    const packed = signMajorityPacked(
      xs.map((x) => packSigns(x)),
      1003,
    );
    const plain = parseAggregator('sign-majority').aggregate(xs, ctx(0));
    assert.deepEqual(Array.from(packed), Array.from(plain));
    assert.ok(
      Array.from(plain).some((s) => s === 0),
      'some ties with n = 6',
    );
  });
});

describe('centered-clipping', () => {
  // v = 0, tau = 1: differences 0.5 (kept), 3 (clipped to 1), -10 (to -1) -> v = 0.5/3 = 1/6.
  // From 1/6: 1/3 (kept), 17/6 -> 1, -61/6 -> -1 -> v = 1/6 + 1/9 = 5/18.
  const pts = [v(0.5), v(3), v(-10)];
  test('one and two clipping iterations by hand', () => {
    const [a] = run('centered-clipping:tau=1,L=1', pts, 1);
    assert.ok(Math.abs(a - 1 / 6) < 1e-15);
    const [b] = run('centered-clipping:tau=1,L=2', pts, 1);
    assert.ok(Math.abs(b - 5 / 18) < 1e-15);
  });
  test('state: the next call starts at the previous aggregate; ctx.previous overrides', () => {
    const agg = buildAggregator('centered-clipping:tau=1', { n: 3, f: 1 });
    assert.ok(Math.abs(agg.aggregate(pts, ctx(1))[0] - 1 / 6) < 1e-15);
    assert.ok(Math.abs(agg.aggregate(pts, ctx(1))[0] - 5 / 18) < 1e-15);
    const fromZero = agg.aggregate(pts, { ...ctx(1), previous: v(0) })[0];
    assert.ok(Math.abs(fromZero - 1 / 6) < 1e-15);
  });
});

describe('pre-aggregators', () => {
  test('bucketing:b=2 averages consecutive pairs of the seeded shuffle (last bucket smaller)', () => {
    const pts = [v(0), v(10), v(20), v(30), v(40)];
    const perm = Array.from(Rng.derive(1, 'rules-test').permutation(5));
    const want = [
      (pts[perm[0]][0] + pts[perm[1]][0]) / 2,
      (pts[perm[2]][0] + pts[perm[3]][0]) / 2,
      pts[perm[4]][0],
    ];
    // mean of bucket means with unequal buckets is not the plain mean: a real check of the buckets
    const got = run('bucketing:b=2+mean', pts, 0);
    assert.ok(Math.abs(got[0] - (want[0] + want[1] + want[2]) / 3) < 1e-12);
    // b = 5: one bucket, the mean of everything, whatever rule follows.
    assert.deepEqual(run('bucketing:b=5+median', pts, 0), [20]);
  });
  test('nnm with f = 1 on 0, 1, 2, 10: mixes to 1, 1, 1, 13/3', () => {
    const got = run('nnm+mean', [v(0), v(1), v(2), v(10)], 1);
    assert.ok(Math.abs(got[0] - 11 / 6) < 1e-12);
    assert.deepEqual(run('nnm+median', [v(0), v(1), v(2), v(10)], 1), [1]);
  });
  test('the pre option and a +-chain compose the same way', () => {
    const pts = [v(0), v(1), v(2), v(10)];
    const a = buildAggregator('median', { n: 4, f: 1, pre: 'nnm' }).aggregate(pts, ctx(1));
    const b = parseAggregator('nnm+median').aggregate(pts, ctx(1));
    assert.deepEqual(Array.from(a), Array.from(b));
  });
});

describe('preconditions and specs', () => {
  const cases: [string, number, number, RegExp][] = [
    ['median', 4, 2, /^median needs n > 2f \(n = 4, f = 2: n >= 5\)$/],
    ['trimmed-mean:b=2', 4, 0, /^trimmed-mean needs n > 2b \(n = 4, f = 0, b = 2: n >= 5\)$/],
    ['geomedian', 4, 2, /^geomedian needs n > 2f \(n = 4, f = 2: n >= 5\)$/],
    ['krum', 6, 2, /^krum needs n >= 2f \+ 3 \(n = 6, f = 2: n >= 7\)$/],
    ['multi-krum', 6, 2, /^multi-krum needs n >= 2f \+ 3 \(n = 6, f = 2: n >= 7\)$/],
    ['bulyan', 10, 2, /^bulyan needs n >= 4f \+ 3 \(n = 10, f = 2: n >= 11\)$/],
    ['detox-bulyan', 8, 2, /^detox-bulyan needs n >= 3f \+ 3 \(n = 8, f = 2: n >= 9\)$/],
    [
      'detox-multi-krum',
      9,
      1,
      /^detox-multi-krum needs floor\(n \/ buckets\) >= 2f \+ 3 \(n = 9, f = 1, buckets = 2: n >= 10\)$/,
    ],
    ['centered-clipping', 4, 2, /^centered-clipping needs n > 2f \(n = 4, f = 2: n >= 5\)$/],
    [
      'bucketing:b=2+krum',
      15,
      3,
      /^after bucketing:b=2 \(15 inputs -> 8\): krum needs n >= 2f \+ 3 \(n = 8, f = 3: n >= 9\)$/,
    ],
  ];
  for (const [spec, n, f, re] of cases) {
    test(`${spec} at n = ${n}, f = ${f}`, () => {
      assert.throws(
        () => buildAggregator(spec, { n, f }),
        (e: unknown) => e instanceof UsageError && re.test(e.message),
      );
    });
  }
  test('the bounds themselves pass', () => {
    for (const [spec, n, f] of [
      ['median', 5, 2],
      ['krum', 7, 2],
      ['bulyan', 11, 2],
      ['detox-bulyan', 9, 2],
      ['detox-multi-krum', 10, 1],
    ] as const)
      assert.equal(buildAggregator(spec, { n, f }).precondition(n, f), null, spec);
  });
  test('specs: parameters, unknown names and keys', () => {
    assert.doesNotThrow(() => parseAggregator('geomedian:iters=10,tol=1e-6,nu=1e-6'));
    assert.throws(
      () => parseAggregator('krum:m=3'),
      /aggregator 'krum' has no parameter 'm' \(known: byzfl\)/,
    );
    assert.throws(() => parseAggregator('medain'), /unknown aggregator 'medain' \(known: mean, median, /);
    assert.throws(
      () => parseAggregator('bucket+mean'),
      /unknown pre-aggregator 'bucket' \(known: bucketing, nnm, clipping, arc\)/,
    );
    assert.throws(() => parseAggregator('trimmed-mean:b=1.5'), /b must be a non-negative integer/);
    assert.throws(() => parseAggregator('geomedian:nu=0'), /nu must be > 0/);
  });
});
