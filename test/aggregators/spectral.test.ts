/**
 * The spectral rules (caf, smea, dnc) and their shared centered Gram matrix: small inputs checked
 * by hand, brute-force readings of each definition (the d x d covariance built explicitly, its
 * eigenpairs by symEig) on seeded random inputs, determinism, parameter and precondition errors.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pairwiseSqDistances } from '../../src/aggregators/distances.js';
import { centeredGram } from '../../src/aggregators/gram.js';
import { buildAggregator, parseAggregator } from '../../src/aggregators/registry.js';
import { MAX_WORK, binomial, smeaWork } from '../../src/aggregators/smea.js';
import type { AggregateInfo } from '../../src/aggregators/types.js';
import { Rng } from '../../src/core/rng.js';
import { symEig } from '../../src/core/symeig.js';
import type { Vec } from '../../src/core/vec.js';

const rows = (...xs: number[][]) => xs.map((x) => Float64Array.from(x));
function run(rule: string, inputs: Vec[], f: number, seed = 1) {
  const info: AggregateInfo = {};
  const agg = buildAggregator(rule, { n: inputs.length, f });
  const out = agg.aggregate(inputs, { f, rng: Rng.derive(seed, 'ps', 0), info });
  return { out: Array.from(out), info };
}
const near = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string) => {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++)
    assert.ok(Math.abs(a[i] - b[i]) <= tol, `${what} [${i}]: ${a[i]} vs ${b[i]}`);
};

/** Every k-subset of 0..n-1 in lexicographic order (itertools.combinations). */
function* combinations(n: number, k: number, start = 0, prefix: number[] = []): Generator<number[]> {
  if (prefix.length === k) {
    yield prefix;
    return;
  }
  for (let i = start; i <= n - (k - prefix.length); i++) yield* combinations(n, k, i + 1, [...prefix, i]);
}

// Brute force: the d x d weighted covariance, written out.
function weightedMean(xs: ArrayLike<number>[], w: number[]): number[] {
  const d = xs[0].length;
  return Array.from({ length: d }, (_, k) => xs.reduce((s, x, i) => s + w[i] * x[k], 0));
}
/** Top eigenpair of sum_i w_i (x_i - mu)(x_i - mu)^T (w summing to 1), from the d x d matrix. */
function topOfCovariance(xs: ArrayLike<number>[], w: number[]) {
  const d = xs[0].length;
  const mu = weightedMean(xs, w);
  const C = new Float64Array(d * d);
  xs.forEach((x, i) => {
    for (let a = 0; a < d; a++)
      for (let b = 0; b < d; b++) C[a * d + b] += w[i] * (x[a] - mu[a]) * (x[b] - mu[b]);
  });
  const { values, vectors } = symEig(C, d);
  const v = Array.from(vectors.subarray(0, d));
  const proj = xs.map((x) => v.reduce((s, vk, k) => s + (x[k] - mu[k]) * vk, 0));
  return { lambda: values[0], mu, proj };
}

function bruteCaf(xs: ArrayLike<number>[], f: number) {
  const n = xs.length;
  const c = new Array(n).fill(1);
  let best = c.map(() => 1 / n);
  let bestLambda = Infinity;
  let total = n;
  while (total > n - 2 * f) {
    const w = c.map((ci) => ci / total);
    const { lambda, proj } = topOfCovariance(xs, w);
    if (lambda < bestLambda) [bestLambda, best] = [lambda, w];
    const tau = proj.map((p) => p * p);
    const tmax = Math.max(...tau.filter((_, i) => c[i] > 0));
    if (!(lambda > 0 && tmax > 0)) break;
    for (let i = 0; i < n; i++) c[i] *= 1 - tau[i] / tmax;
    total = c.reduce((s, x) => s + x, 0);
  }
  return weightedMean(xs, best);
}

function bruteSmea(xs: ArrayLike<number>[], f: number) {
  const n = xs.length;
  const all = [...combinations(n, n - f)].map((S) => ({
    S,
    lambda: topOfCovariance(
      S.map((i) => xs[i]),
      S.map(() => 1 / S.length),
    ).lambda,
  }));
  const min = Math.min(...all.map((a) => a.lambda));
  return all.find((a) => a.lambda <= min * (1 + 1e-9))!.S;
}

function bruteDnc(xs: ArrayLike<number>[], f: number, b: number, iters: number, c: number, rng: Rng) {
  const n = xs.length;
  const d = xs[0].length;
  const dropped = new Array(n).fill(0);
  for (let t = 0; t < iters; t++) {
    const coords = b < d ? Array.from(rng.sampleFew(d, b)) : Array.from({ length: d }, (_, k) => k);
    const sub = xs.map((x) => coords.map((k) => x[k]));
    const { proj } = topOfCovariance(
      sub,
      sub.map(() => 1 / n),
    );
    const s = proj.map((p) => p * p);
    const order = s.map((_, i) => i).sort((p, q) => s[p] - s[q] || p - q);
    for (const i of order.slice(n - Math.floor(c * f))) dropped[i]++;
  }
  const fewest = Math.min(...dropped);
  return dropped.map((k, i) => (k === fewest ? i : -1)).filter((i) => i >= 0);
}

function randomInputs(rng: Rng, n: number, d: number, byz: number): Float64Array[] {
  return Array.from({ length: n }, (_, i) =>
    Float64Array.from({ length: d }, () => (i < n - byz ? rng.normal() : 3 + 4 * rng.normal())),
  );
}

describe('centeredGram', () => {
  test('property: (x_i - mu).(x_j - mu) for mu the weighted mean, from the distances alone', () => {
    const rng = Rng.derive(21, 'gram');
    for (let t = 0; t < 40; t++) {
      const n = 1 + rng.int(10);
      const d = 1 + rng.int(6);
      const xs = randomInputs(rng, n, d, 0).map((x) => x.map((v) => v + 50)); // off the origin
      const members = [...combinations(n, 1 + rng.int(n))][0].map((i) => (i * 7) % n);
      const uniq = [...new Set(members)];
      const raw = uniq.map(() => rng.float() * (rng.int(4) === 0 ? 0 : 1) + 1e-3);
      const sum = raw.reduce((s, x) => s + x, 0);
      const w = raw.map((x) => x / sum);
      const mu = weightedMean(
        uniq.map((i) => xs[i]),
        w,
      );
      const want = uniq.flatMap((i) =>
        uniq.map((j) => xs[i].reduce((s, x, k) => s + (x - mu[k]) * (xs[j][k] - mu[k]), 0)),
      );
      near(centeredGram(pairwiseSqDistances(xs), n, uniq, w), want, 1e-10, `t = ${t}`);
    }
  });
});

describe('caf', () => {
  test('by hand: two filtering rounds, the second one least', () => {
    // x = (1,0) (-1,0) (0,1) (0,-1) (0,10), n = 5, f = 1: filter while sum c > 3.
    // Round 1: mu = (0, 2), covariance diag(2/5, 82/5): v = (0, 1), tau = 4, 4, 1, 9, 64, so
    //   c = 15/16, 15/16, 63/64, 55/64, 0 (sum 238/64 > 3).
    // Round 2: mu = (0, (63 - 55)/238) = (0, 4/119); covariance xx = (120/64)/(238/64) = 60/119
    //   = 0.504, xy = 0, yy = (1920 + 63 * 115^2 + 55 * 123^2)/(119^2 * 238) = 0.495: v = (1, 0),
    //   tau = 1, 1, 0, 0, (0) -> c = 0, 0, 63/64, 55/64, 0, sum 118/64 <= 3: stop.
    // Least lambda: round 2 (0.504 < 16.4), whose weighted mean is (0, 4/119).
    const { out, info } = run('caf', rows([1, 0], [-1, 0], [0, 1], [0, -1], [0, 10]), 1);
    near(out, [0, 4 / 119], 1e-16, 'out');
    assert.deepEqual(info, { iterations: 2, selected: [0, 1, 2, 3] });
  });
  test('by hand: the least lambda can be an earlier round than the last', () => {
    // (3,4) (2,-2) (-1,4) (-4,1), f = 1: filter while sum c > 2.
    // Round 1: mu = (0, 7/4); 4 x covariance: xx = 9+4+1+16 = 30, yy = (81+225+81+9)/16 = 24.75,
    //   xy = (27 - 30 - 9 + 12)/4 = 0: lambda = 7.5, v = (1, 0), tau = 9, 4, 1, 16, so
    //   c = 7/16, 12/16, 15/16, 0 (sum 34/16 > 2).
    // Round 2: w = (7, 12, 15, 0)/34, mu_y = (28 - 24 + 60)/34 = 32/17; the yy entry alone is
    //   (7 * 36^2 + 12 * 66^2 + 15 * 36^2)/(34 * 17^2) = 8.22 > 7.5, so lambda is larger; zeroing
    //   any weight leaves sum c <= 34/16 - 7/16 < 2: stop.
    // Least lambda: round 1, the plain mean (0, 7/4).
    const { out, info } = run('caf', rows([3, 4], [2, -2], [-1, 4], [-4, 1]), 1);
    near(out, [0, 1.75], 1e-15, 'out');
    assert.deepEqual(info, { iterations: 2, selected: [0, 1, 2, 3] });
  });
  test('by hand: a round with lambda = 0 (the weighted inputs coincide) ends the filter exactly', () => {
    // 0, 0, 0, 4 with f = 1: round 1 mu = 1, tau = 1, 1, 1, 9 -> c = 8/9, 8/9, 8/9, 0 (sum 8/3
    // > 2); round 2: mu = 0, covariance 0: the least lambda, and nothing left to filter.
    const { out, info } = run('caf', rows([0], [0], [0], [4]), 1);
    assert.deepEqual(out, [0]);
    assert.deepEqual(info, { iterations: 2, selected: [0, 1, 2] });
  });
  test('f = 0 is the mean', () => {
    assert.deepEqual(run('caf', rows([1, 2], [3, 5]), 0).out, [2, 3.5]);
  });
  test('property: the d x d reading of the definition, on random inputs', () => {
    const rng = Rng.derive(22, 'caf');
    for (let t = 0; t < 120; t++) {
      const n = 2 + rng.int(11);
      const f = rng.int(Math.ceil(n / 2));
      const d = 1 + rng.int(5);
      const xs = randomInputs(rng, n, d, f);
      near(run('caf', xs, f).out, bruteCaf(xs, f), 1e-9, `t = ${t}, n = ${n}, f = ${f}, d = ${d}`);
    }
  });
  test('dropped inputs far away do not stall the filter: at most n rounds', () => {
    // Four close inputs and three far ones along distinct axes; once a far one has weight 0 its
    // tau would dwarf the close ones' (~1e-6 against ~1e6), and normalizing by it would shrink
    // their weights by ~1e-12 per round.
    const rng = Rng.derive(23, 'caf-far');
    const xs = Array.from({ length: 7 }, (_, i) =>
      Float64Array.from({ length: 3 }, (_, k) => (i >= 4 && k === i - 4 ? 1e3 : 0) + 1e-3 * rng.normal()),
    );
    const { out, info } = run('caf', xs, 3);
    assert.ok(info.iterations! <= 7, `iterations ${info.iterations}`);
    for (const v of out) assert.ok(Math.abs(v) < 1e-2, `out ${out}`);
  });
});

describe('smea', () => {
  test('by hand: the subset of least top eigenvalue, the first of two mirror images', () => {
    // A = (0,0), B = (4,0), C = (2,1), D = (2,-1), f = 1. Triples in order:
    // ABC: mean (2, 1/3), covariance diag(8/3, 2/9): 8/3.   ABD: its mirror image, 8/3.
    // ACD: mean (4/3, 0), covariance diag(8/9, 2/3): 8/9.   BCD: its mirror image, 8/9.
    // Least: ACD and BCD tie; the first, ACD, whose mean is (4/3, 0).
    const { out, info } = run('smea', rows([0, 0], [4, 0], [2, 1], [2, -1]), 1);
    near(out, [4 / 3, 0], 1e-15, 'out');
    assert.deepEqual(info.selected, [0, 2, 3]);
    // The same shape mirrored about x = 0.1 instead of an axis: A = (0.1 + 3/7, 0), B = (0.1 - 3/7,
    // 0), C, D = (0.1, +-1/11). ACD and BCD are mirror images (covariance diag(2 (3/7)^2 / 9,
    // 2 (1/11)^2 / 3), lambda = 2/49), but their distances round differently, and BCD's computed
    // lambda is the smaller by one ulp: a tie within rounding, so still the first, ACD, with mean
    // (0.1 + 1/7, 0).
    const mirrored = run('smea', rows([0.1 + 3 / 7, 0], [0.1 - 3 / 7, 0], [0.1, 1 / 11], [0.1, -1 / 11]), 1);
    assert.deepEqual(mirrored.info.selected, [0, 2, 3]);
    near(mirrored.out, [0.1 + 1 / 7, 0], 1e-16, 'mirrored');
    // On a line: {0, 1, 2} (variance 2/3) beats every triple with 10 in it.
    assert.deepEqual(run('smea', rows([10], [0], [1], [2]), 1), { out: [1], info: { selected: [1, 2, 3] } });
  });
  test('property: exhaustive search over the d x d covariances (ties included)', () => {
    const rng = Rng.derive(24, 'smea');
    for (let t = 0; t < 150; t++) {
      const n = 2 + rng.int(8);
      const f = rng.int(Math.ceil(n / 2));
      const d = 1 + rng.int(4);
      // Half small integers (many exact ties, mirror images), half continuous.
      const xs =
        t % 2 === 0
          ? Array.from({ length: n }, () => Float64Array.from({ length: d }, () => rng.int(4)))
          : randomInputs(rng, n, d, f);
      const S = bruteSmea(xs, f);
      const { out, info } = run('smea', xs, f);
      const what = `t = ${t}, n = ${n}, f = ${f}: ${JSON.stringify(xs.map((x) => [...x]))}`;
      assert.deepEqual(info.selected, S, what);
      near(
        out,
        weightedMean(
          S.map((i) => xs[i]),
          S.map(() => 1 / S.length),
        ),
        1e-12,
        what,
      );
    }
  });
  test('refuses more work than MAX_WORK, with the count; every n <= 20 is accepted', () => {
    assert.equal(binomial(20, 6), 38760);
    assert.equal(binomial(40, 10), 847660528);
    const smea = parseAggregator('smea');
    for (let f = 0; 2 * f < 20; f++) assert.equal(smea.precondition(20, f), null, `f = ${f}`);
    // The boundary at n = 21: work 4.8e8 for f = 7, 8.3e8 for f = 8.
    assert.ok(smeaWork(21, 7) <= MAX_WORK && smeaWork(21, 8) > MAX_WORK);
    assert.equal(smea.precondition(21, 7), null);
    assert.match(smea.precondition(21, 8) ?? '', /^smea: C\(21, 8\) = 203490 subsets of 13 is too many/);
    assert.throws(
      () => buildAggregator('smea', { n: 21, f: 10 }),
      /^UsageError: smea: C\(21, 10\) = 352716 subsets of 11 is too many \(work C\(n,f\) max\(n-f,16\)\^3 = 1\.4e\+9 > 7e\+8, about 1\.5 s\)$/,
    );
    // One left is enough: c = 2 drops 4 of 5.
    assert.equal(buildAggregator('dnc:c=2', { n: 5, f: 2 }).precondition(5, 2), null);
  });
});

describe('dnc', () => {
  test('by hand: all coordinates (b >= d), the largest projection on the top direction dropped', () => {
    // (3,0) (-2.5,0) (2,0) (-2.5,0) (0,2), f = 1: mu = (0, 0.4), covariance diag(5.1, 0.64), so
    // v = (1, 0) and the scores are 9, 6.25, 4, 6.25, 0: input 0 goes, (0, 2) far off the top
    // direction stays. Mean of the rest: ((-2.5 + 2 - 2.5 + 0)/4, 2/4) = (-0.75, 0.5).
    const xs = rows([3, 0], [-2.5, 0], [2, 0], [-2.5, 0], [0, 2]);
    assert.deepEqual(run('dnc', xs, 1), { out: [-0.75, 0.5], info: { selected: [1, 2, 3, 4] } });
    // c = 0 drops nothing: the mean.
    assert.deepEqual(run('dnc:c=0', xs, 1).info.selected, [0, 1, 2, 3, 4]);
  });
  test('ties: the lower index is kept', () => {
    // All equal: every score is 0; the floor(c f) = 2 highest indices go.
    const xs = rows([1, 1], [1, 1], [1, 1], [1, 1], [1, 1]);
    assert.deepEqual(run('dnc:c=1', xs, 2).info.selected, [0, 1, 2]);
  });
  test('Rng.sampleFew: k distinct ascending values, every k-subset equally likely', () => {
    const rng = Rng.derive(27, 'sample');
    assert.deepEqual(Array.from(rng.sampleFew(4, 4)), [0, 1, 2, 3]);
    const counts = new Map<string, number>();
    for (let t = 0; t < 20000; t++) {
      const s = Array.from(rng.sampleFew(5, 2));
      assert.ok(s[0] < s[1] && s[0] >= 0 && s[1] < 5, String(s));
      counts.set(String(s), (counts.get(String(s)) ?? 0) + 1);
    }
    // C(5, 2) = 10 subsets, 2000 expected each (sd ~42).
    assert.equal(counts.size, 10);
    for (const [s, c] of counts) assert.ok(Math.abs(c - 2000) < 200, `${s}: ${c}`);
    const big = rng.sampleFew(1_000_000, 10_000);
    assert.equal(new Set(big).size, 10_000);
    assert.ok(big.every((v, i) => v >= 0 && v < 1_000_000 && (i === 0 || v > big[i - 1])));
  });
  test('property: the d x d reading of Algorithm 2 (sampled coordinates, intersection)', () => {
    const rng = Rng.derive(25, 'dnc');
    for (let t = 0; t < 120; t++) {
      const n = 2 + rng.int(11);
      const f = rng.int(Math.ceil(n / 2));
      const d = 1 + rng.int(6);
      const b = 1 + rng.int(d + 1);
      const iters = 1 + rng.int(3);
      const c = [0.5, 1, 1.5][rng.int(3)];
      if (n - Math.floor(c * f) < 1) continue;
      const xs = randomInputs(rng, n, d, f);
      const spec = `dnc:b=${b},iters=${iters},c=${c}`;
      const want = bruteDnc(xs, f, b, iters, c, Rng.derive(t, 'ps', 0));
      const { out, info } = run(spec, xs, f, t);
      const what = `t = ${t}: ${spec}, n = ${n}, f = ${f}, d = ${d}`;
      assert.deepEqual(info.selected, want, what);
      near(
        out,
        weightedMean(
          want.map((i) => xs[i]),
          want.map(() => 1 / want.length),
        ),
        1e-12,
        what,
      );
    }
  });
  test('deterministic: the coordinates come from ctx.rng (same seed, same bits); none drawn when b >= d', () => {
    const rng = Rng.derive(26, 'dnc-seed');
    const xs = randomInputs(rng, 9, 40, 2);
    const a = run('dnc:b=3,iters=2', xs, 2, 5).out;
    assert.deepEqual(run('dnc:b=3,iters=2', xs, 2, 5).out, a);
    const sets = new Set(
      Array.from({ length: 12 }, (_, s) => JSON.stringify(run('dnc:b=3,iters=2', xs, 2, s).info.selected)),
    );
    assert.ok(sets.size > 1, 'the sample depends on the seed');
    const ctxRng = Rng.derive(7, 'ps', 0);
    buildAggregator('dnc:b=40', { n: 9, f: 2 }).aggregate(xs, { f: 2, rng: ctxRng });
    assert.equal(ctxRng.nextU32(), Rng.derive(7, 'ps', 0).nextU32());
  });
});

describe('spectral rules: float32 inputs and non-finite ones', () => {
  test('float32 inputs give the float64 answer; a NaN is refused where the rule reads it', () => {
    const rng = Rng.derive(28, 'f32');
    const xs = randomInputs(rng, 9, 6, 2).map((x) => Float32Array.from(x));
    for (const rule of ['caf', 'smea', 'dnc', 'dnc:b=3'])
      assert.deepEqual(
        run(rule, xs, 2).out,
        run(
          rule,
          xs.map((x) => Float64Array.from(x)),
          2,
        ).out,
        rule,
      );
    // ctx.out, when given, holds the result.
    for (const rule of ['caf', 'smea', 'dnc:b=3']) {
      const out = new Float64Array(6).fill(7);
      const got = buildAggregator(rule, { n: 9, f: 2 }).aggregate(xs, {
        f: 2,
        rng: Rng.derive(1, 'ps', 0),
        out,
      });
      assert.equal(got, out, rule);
      assert.deepEqual(Array.from(got), run(rule, xs, 2).out, rule);
    }
    const bad = xs.map((x) => Float64Array.from(x));
    bad[4][5] = NaN;
    for (const rule of ['caf', 'smea', 'dnc'])
      assert.throws(() => run(rule, bad, 2), /aggregation input 4 holds NaN at coordinate 5/, rule);
    // dnc reads only its sample (here one coordinate of 1..5, all NaN in input 4): the error names
    // the place in the inputs, not in the sample.
    for (let k = 1; k < 6; k++) bad[4][k] = NaN;
    assert.throws(() => run('dnc:b=1', bad, 2), /aggregation input 4 holds NaN at coordinate 1:/);
  });
});

describe('spectral rules: parameters and preconditions', () => {
  test('n > 2f, one line each', () => {
    for (const rule of ['caf', 'smea', 'dnc'])
      assert.throws(
        () => buildAggregator(rule, { n: 6, f: 3 }),
        new RegExp(`^UsageError: ${rule} needs n > 2f \\(n = 6, f = 3: n >= 7\\)$`),
      );
    assert.equal(buildAggregator('smea', { n: 7, f: 3 }).precondition(7, 3), null);
  });
  test('dnc: b, iters positive integers, c >= 0, and n - floor(c f) >= 1', () => {
    for (const [spec, re] of [
      ['dnc:b=0', /dnc: b must be a positive integer \(coordinates sampled\), got 0/],
      ['dnc:b=2.5', /dnc: b must be a positive integer/],
      ['dnc:iters=0', /dnc: iters must be a positive integer, got 0/],
      ['dnc:c=-1', /dnc: c must be a finite number >= 0 \(filtering fraction\), got -1/],
    ] as const)
      assert.throws(() => parseAggregator(spec), re, spec);
    assert.throws(
      () => buildAggregator('dnc:c=2.5', { n: 5, f: 2 }),
      /^UsageError: dnc: c = 2.5 drops floor\(c f\) = 5 of n = 5 inputs \(f = 2\)$/,
    );
    // One left is enough: c = 2 drops 4 of 5.
    assert.equal(buildAggregator('dnc:c=2', { n: 5, f: 2 }).precondition(5, 2), null);
  });
});
