/**
 * The clustering rules from Blades: SignGuard and clipped clustering, each on small inputs checked
 * by hand (Blades' own unit-test vector among them), against a brute-force reading of its
 * definition on random inputs, determinism and state, parameter and precondition errors, and
 * training without attack to a sane accuracy.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { clipTo } from '../../src/aggregators/clipping.js';
import { agglomerateTwo, cosineDistances, RunningMedian } from '../../src/aggregators/clipped-clustering.js';
import { pairwiseSqDistances } from '../../src/aggregators/distances.js';
import { buildAggregator, parseAggregator } from '../../src/aggregators/registry.js';
import { twoMeans } from '../../src/aggregators/signguard.js';
import type { AggregateInfo, Aggregator } from '../../src/aggregators/types.js';
import { Rng } from '../../src/core/rng.js';
import type { Vec } from '../../src/core/vec.js';

const rows = (...xs: number[][]) => xs.map((x) => Float64Array.from(x));
const ctx = (f: number, info?: AggregateInfo, seed = 1) => ({ f, rng: Rng.derive(seed, 'ps', 0), info });

function run(rule: string | Aggregator, inputs: Vec[], f: number, seed = 1) {
  const info: AggregateInfo = {};
  const agg = typeof rule === 'string' ? buildAggregator(rule, { n: inputs.length, f }) : rule;
  assert.equal(agg.precondition(inputs.length, f), null);
  const out = agg.aggregate(inputs, ctx(f, info, seed));
  return { out: Array.from(out), selected: info.selected };
}

function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string) {
  assert.equal(got.length, want.length, what);
  for (let k = 0; k < want.length; k++) {
    const err = Math.abs(got[k] - want[k]);
    assert.ok(
      err <= tol * Math.max(1, Math.abs(want[k])),
      `${what}, coordinate ${k}: ${got[k]} vs ${want[k]}`,
    );
  }
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let k = 0; k < a.length; k++) s += a[k] * b[k];
  return s;
};
const len = (a: ArrayLike<number>) => Math.sqrt(dot(a, a));
const medianOf = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
/** The plain mean of `xs` clipped to norm `tau` (explicit copies, then a plain average). */
function clippedMean(xs: Vec[], tau: number): number[] {
  const out = new Array<number>(xs[0].length).fill(0);
  for (const x of xs) {
    const c = clipTo(x, len(x), tau);
    for (let k = 0; k < out.length; k++) out[k] += c[k] / xs.length;
  }
  return out;
}

describe('signguard', () => {
  test('by hand: norm filter, sign clusters, the mean clipped to the median norm', () => {
    // Norms sqrt5, sqrt5, 5, sqrt2, 30 -> M = sqrt5; the norm filter [0.1 M, 3 M] = [0.22, 6.7]
    // drops input 4 (30). Sign fractions (pos, zero, neg): (1,0,0) for inputs 0-2, (0,0,1) for
    // 3, (.5,.5,0) for 4. Farthest pair (0, 3) at squared distance 2 seeds the clusters; input 4
    // is 0.5 from seed 0 and 1.5 from seed 3, so {0, 1, 2, 4} against {3}, and it stays: the mean
    // (.875, .125, 0) is 0.28 away, 3 still 1.5. S1 n S2 = {0, 1, 2}; input 2 clipped to norm
    // sqrt5 is (3, 4) / sqrt5. Mean: ((1 + 2 + 3/sqrt5) / 3, (2 + 1 + 4/sqrt5) / 3).
    const { out, selected } = run('signguard', rows([1, 2], [2, 1], [3, 4], [-1, -1], [0, 30]), 2);
    assert.deepEqual(selected, [0, 1, 2]);
    assertClose(out, [1 + 1 / Math.sqrt(5), 1 + 4 / (3 * Math.sqrt(5))], 1e-15, 'hand');
  });
  test('by hand: zeros are a sign class of their own; a zero input fails the norm filter; M = 0', () => {
    // Dense positive inputs 0-2 have sign fractions (1,0,0), the sparse 3-4 (1/3,2/3,0): two
    // clusters, {0, 1, 2} the larger. Norms sqrt14, sqrt6, sqrt19, 5, 4 -> M = 4, all within
    // [0.4, 12]. Only (3, 3, 1) is longer than 4: scaled by k = 4 / sqrt19. Mean:
    // ((1 + 2 + 3k) / 3, (2 + 1 + 3k) / 3, (3 + 1 + k) / 3).
    const k = 4 / Math.sqrt(19);
    const a = run('signguard', rows([1, 2, 3], [2, 1, 1], [3, 3, 1], [5, 0, 0], [0, 0, 4]), 2);
    assert.deepEqual(a.selected, [0, 1, 2]);
    assertClose(a.out, [(3 + 3 * k) / 3, (3 + 3 * k) / 3, (4 + k) / 3], 1e-15, 'sparse inputs');
    // Sign fractions (1/3,2/3,0) for inputs 0-1, (0,1,0) for the zero input 2, (0,0,1) for 3-4.
    // Farthest pair (2, 3) at 2 seeds the clusters; 0 and 1 are 2/9 from seed 2 and 14/9 from
    // seed 3: {0, 1, 2} against {3, 4}, and it stays (centre (2/9,7/9,0)). Norms 1, 2, 0,
    // sqrt6, sqrt6 -> M = 2, norm filter [0.2, 6]: the zero input goes. Mean of (1,0,0) and
    // (0,2,0), neither longer than 2: (0.5, 1, 0).
    const b = run('signguard', rows([1, 0, 0], [0, 2, 0], [0, 0, 0], [-1, -1, -2], [-2, -1, -1]), 2);
    assert.deepEqual(b, { out: [0.5, 1, 0], selected: [0, 1] });
    // Two zero inputs of three: M = 0, the norm filter [0, 0] keeps the zeros, their sign
    // cluster (0,1,0) is the larger: the output is zero (not 0/0).
    const c = run('signguard', rows([0, 0], [5, 5], [0, 0]), 1);
    assert.deepEqual(c, { out: [0, 0], selected: [0, 2] });
  });
  test('by hand: equal norms split two against two go to the cluster holding input 0', () => {
    // Sign fractions (.5,.5,0) for (1,0) and (0,1); (0,.5,.5) for (-1,0) and (0,-1): an even split.
    assert.deepEqual(run('signguard', rows([1, 0], [0, 1], [-1, 0], [0, -1]), 1), {
      out: [0.5, 0.5],
      selected: [0, 1],
    });
    assert.deepEqual(run('signguard', rows([-1, 0], [0, -1], [1, 0], [0, 1]), 1), {
      out: [-0.5, -0.5],
      selected: [0, 1],
    });
  });
  test('by hand: when no input passes both filters, the sign cluster alone decides', () => {
    // Norms .014, .022, 141, 1.41, 2.24 -> M = sqrt2, norm filter [.14, 4.2] = {3, 4}; signs: all
    // positive for 0-2, all negative for 3-4, so S2 = {0, 1, 2}: no overlap. S2 clipped to sqrt2:
    // (100, 100) becomes (1, 1); mean ((.01 + .02 + 1) / 3, (.01 + .01 + 1) / 3).
    const { out, selected } = run(
      'signguard',
      rows([0.01, 0.01], [0.02, 0.01], [100, 100], [-1, -1], [-1, -2]),
      2,
    );
    assert.deepEqual(selected, [0, 1, 2]);
    assertClose(out, [1.03 / 3, 1.02 / 3], 1e-15, 'fallback');
  });

  /**
   * The definition read directly: norms, their median M, S1 = {L M <= norm <= R M}, sign
   * fractions over coordinates [s, s + k), S2 = the larger side of the 2-partition of least
   * within-cluster sum of squares (exhaustive; all features equal: everyone; an even split: the
   * side holding input 0), S = S1 n S2 or else S2, the mean of S clipped to M.
   */
  function bruteSignGuard(xs: Vec[], L: number, R: number, s: number, k: number) {
    const n = xs.length;
    const norms = xs.map(len);
    const M = medianOf(norms);
    const feats = xs.map((x) => {
      let pos = 0;
      let zero = 0;
      let neg = 0;
      for (let t = s; t < s + k; t++) {
        if (x[t] > 0) pos++;
        else if (x[t] < 0) neg++;
        else zero++;
      }
      return [pos / k, zero / k, neg / k];
    });
    const sse = (idx: number[]) => {
      if (idx.length === 0) return 0;
      const c = [0, 1, 2].map((t) => idx.reduce((a, i) => a + feats[i][t], 0) / idx.length);
      return idx.reduce((a, i) => a + feats[i].reduce((b, v, t) => b + (v - c[t]) ** 2, 0), 0);
    };
    let s2 = Array.from({ length: n }, (_, i) => i);
    let even = false;
    const allEqual = feats.every((f) => f.every((v, t) => v === feats[0][t]));
    if (!allEqual) {
      let best = Infinity;
      // Input 0 is always on side A; every non-empty B.
      for (let mask = 1; mask < 1 << (n - 1); mask++) {
        const A = [0];
        const B: number[] = [];
        for (let i = 1; i < n; i++) (mask & (1 << (i - 1)) ? B : A).push(i);
        const cost = sse(A) + sse(B);
        if (cost < best) [best, s2, even] = [cost, B.length > A.length ? B : A, A.length === B.length];
      }
    }
    const both = s2.filter((i) => norms[i] >= L * M && norms[i] <= R * M);
    const sel = both.length > 0 ? both : s2;
    return {
      selected: sel,
      out: clippedMean(
        sel.map((i) => xs[i]),
        M,
      ),
      even,
      fallback: both.length === 0,
      normDropped: both.length > 0 && both.length < s2.length,
    };
  }

  test('property: the explicit sets and clipped mean, on two well separated sign profiles', () => {
    const rng = Rng.derive(7, 'signguard');
    const seen = { even: 0, fallback: 0, sampled: 0, normDropped: 0 };
    for (let t = 0; t < 120; t++) {
      const n = 1 + rng.int(11);
      const f = rng.int(Math.ceil(n / 2));
      const d = 400 + rng.int(400);
      // Two profiles, nb inputs in the second (up to half: an even split); one input: one.
      const nb = n === 1 ? 0 : 1 + rng.int(Math.floor(n / 2));
      const kind = rng.int(3);
      const scales = [0.05, 0.5, 1, 1, 2, 5];
      const xs = Array.from({ length: n }, (_, i) => {
        const x = new Float64Array(d);
        rng.fillNormal(x);
        if (i >= n - nb) {
          // The other profile: all positive, mostly zero, or mostly negative.
          for (let q = 0; q < d; q++) {
            if (kind === 0) x[q] = Math.abs(x[q]);
            else if (kind === 1 && rng.float() < 0.8) x[q] = 0;
            else if (kind === 2) x[q] = -Math.abs(x[q]) + 0.05;
          }
        }
        const c = scales[rng.int(scales.length)];
        return x.map((v) => v * c);
      });
      const L = [0.1, 0, 0.5][rng.int(3)];
      const R = [3, 1.5, 100][rng.int(3)];
      const p = [1, 1, 0.3][rng.int(3)];
      const spec = `signguard:L=${L},R=${R},p=${p}`;
      const seed = 100 + t;
      const k = p === 1 ? d : Math.floor(p * d);
      const s = p === 1 ? 0 : Rng.derive(seed, 'ps', 0).int(d - k + 1);
      const want = bruteSignGuard(xs, L, R, s, k);
      const got = run(spec, xs, f, seed);
      assert.deepEqual(got.selected, want.selected, `${spec} n = ${n} nb = ${nb} kind = ${kind}`);
      assertClose(got.out, want.out, 1e-13, `${spec} n = ${n}`);
      seen.even += Number(want.even);
      seen.fallback += Number(want.fallback);
      seen.sampled += Number(p < 1);
      seen.normDropped += Number(want.normDropped);
    }
    // The cases the rule distinguishes all occurred.
    for (const [what, count] of Object.entries(seen)) assert.ok(count >= 3, `${what}: ${count}`);
  });

  test('property: twoMeans ends at a Lloyd fixed point with two non-empty clusters', () => {
    const rng = Rng.derive(8, 'two-means');
    for (let t = 0; t < 300; t++) {
      const n = 2 + rng.int(30);
      const dim = 1 + rng.int(3);
      // Coarse values: duplicates and equidistant points occur.
      const pts = Float64Array.from({ length: n * dim }, () => rng.int(5) / 4);
      const labels = twoMeans(pts, n, dim);
      assert.deepEqual(twoMeans(pts, n, dim), labels, 'deterministic');
      const distinct = new Set(Array.from({ length: n }, (_, i) => pts.slice(i * dim, i * dim + dim).join()))
        .size;
      const sizes = [0, 0];
      for (const l of labels) sizes[l]++;
      if (distinct === 1) {
        assert.deepEqual(sizes, [n, 0]);
        continue;
      }
      assert.ok(sizes[0] > 0 && sizes[1] > 0, `sizes ${sizes}`);
      const c = [0, 1].map((l) =>
        Array.from({ length: dim }, (_, q) => {
          let s = 0;
          for (let i = 0; i < n; i++) if (labels[i] === l) s += pts[i * dim + q];
          return s / sizes[l];
        }),
      );
      for (let i = 0; i < n; i++) {
        const dd = c.map((cc) => cc.reduce((a, v, q) => a + (pts[i * dim + q] - v) ** 2, 0));
        assert.ok(dd[labels[i]] <= dd[1 - labels[i]], `point ${i} is nearer the other centre`);
      }
    }
  });

  test('determinism: the same inputs and stream give the same bits; p = 1 draws nothing', () => {
    const rng = Rng.derive(9, 'sg-det');
    const xs = Array.from({ length: 9 }, () => {
      const x = new Float32Array(5000);
      rng.fillNormal(x);
      return x;
    });
    for (const spec of ['signguard', 'signguard:p=0.1']) {
      const a = buildAggregator(spec, { n: 9, f: 2 }).aggregate(xs, ctx(2));
      const b = buildAggregator(spec, { n: 9, f: 2 }).aggregate(xs, ctx(2));
      assert.deepEqual(a, b, spec);
    }
    const c = ctx(2);
    buildAggregator('signguard', { n: 9, f: 2 }).aggregate(xs, c);
    assert.equal(c.rng.nextU32(), ctx(2).rng.nextU32());
  });

  test('parameter and precondition errors are one line', () => {
    for (const [spec, re] of [
      ['signguard:L=-1', /^UsageError: signguard: L must be >= 0 \(got -1\)$/],
      ['signguard:L=2,R=1', /^UsageError: signguard: R must be >= L \(got L = 2, R = 1\)$/],
      ['signguard:p=0', /^UsageError: signguard: p must be in \(0, 1\] \(got 0\)$/],
      ['signguard:p=1.5', /^UsageError: signguard: p must be in \(0, 1\] \(got 1.5\)$/],
    ] as const)
      assert.throws(() => parseAggregator(spec), re);
    assert.throws(
      () => buildAggregator('signguard', { n: 4, f: 2 }),
      /^UsageError: signguard needs n > 2f \(n = 4, f = 2: n >= 5\)$/,
    );
  });
});

describe('clipped-clustering', () => {
  test("by hand: Blades' unit-test vector", () => {
    // Norms sqrt14 = 3.742, sqrt18 = 4.243, sqrt17 = 4.123, sqrt19 = 4.359: tau = (4.123 +
    // 4.243) / 2 = 4.183. Cosines: 0-2 15/(3.742 * 4.123) = .972, 2-3 .946, 0-3 .858, but input 1
    // is .25, .18, -.11 from them: clusters {0, 2, 3} and {1}. (3, 1, 3) clipped to 4.183 is
    // (2.879, .960, 2.879); mean with (1, 2, 3) and (2, 2, 3): Blades' [1.9596, 1.6532, 2.9596].
    const { out, selected } = run(
      'clipped-clustering',
      rows([1, 2, 3], [-1, 4, -1], [2, 2, 3], [3, 1, 3]),
      1,
    );
    assert.deepEqual(selected, [0, 2, 3]);
    const tau = (Math.sqrt(17) + Math.sqrt(18)) / 2;
    const k = tau / Math.sqrt(19);
    assertClose(out, [(3 + 3 * k) / 3, (4 + k) / 3, (6 + 3 * k) / 3], 1e-15, 'blades');
    assertClose(out, [1.9596, 1.6532, 2.9596], 1e-4, "Blades' expected output");
  });
  test('by hand: a zero input is at cosine distance 1 from everything (torch, so Blades)', () => {
    // {0, 1} and {2, 3} point nearly opposite ways (cosine distance ~1.97 between the groups);
    // the zero input 4 is at 1 from both. After merging {0, 1} and {2, 3}, the closest pair is
    // {0, 1} with {4} (1, tied with {2, 3}-{4}; the lower slot first): {0, 1, 4} against {2, 3}.
    // Norms 1, 1.005, 1.020, 1.044, 0: tau = 1.005 = input 1's own norm, nothing is clipped.
    // Mean of (1, 0), (1, .1), (0, 0): (2/3, .1/3). (Were a zero input at distance 2, {0, 1}
    // would merge with {2, 3} instead and the larger cluster would be {0, 1, 2, 3}.)
    const { out, selected } = run(
      'clipped-clustering',
      rows([1, 0], [1, 0.1], [-1, 0.2], [-1, 0.3], [0, 0]),
      2,
    );
    assert.deepEqual(selected, [0, 1, 4]);
    assertClose(out, [2 / 3, 0.1 / 3], 1e-15, 'zero input');
  });
  test('by hand: equal norms split two against two keep the cluster completed later', () => {
    // Unit vectors at angles 0, .2 and 3, 3.1: cosine distances 1 - cos .2 = .0199 and
    // 1 - cos .1 = .0050, so {2, 3} merges first and {0, 1} second: {0, 1} is completed later,
    // sklearn labels it 0, and Blades' flag picks label 0 on an even split.
    const unit = (...a: number[]) => a.map((t) => [Math.cos(t), Math.sin(t)]);
    const a = run('clipped-clustering', rows(...unit(0, 0.2, 3, 3.1)), 1);
    assert.deepEqual(a.selected, [0, 1]);
    assertClose(a.out, [(1 + Math.cos(0.2)) / 2, Math.sin(0.2) / 2], 1e-15, 'tie');
    // The other way round: {0, 1} at angle .1 apart merges first, {2, 3} later and is kept.
    assert.deepEqual(run('clipped-clustering', rows(...unit(0, 0.1, 3, 3.2)), 1).selected, [2, 3]);
    // Two inputs: two single clusters, sklearn labels input 1 with 0.
    assert.deepEqual(run('clipped-clustering', rows([1, 0], [0, 1]), 0), { out: [0, 1], selected: [1] });
  });
  test('by hand: the threshold is the median of every norm seen (history=1), or of this call', () => {
    // Call 1: norms 1, 1, 1. Call 2: norms 4, 4, 4 (parallel): with history, tau = median of
    // {1, 1, 1, 4, 4, 4} = 2.5, so the output is (2.5, 0); with history=0, tau = 4: (4, 0).
    const first = rows([1, 0], [0, 1], [1, 0]);
    const second = rows([4, 0], [4, 0], [4, 0]);
    for (const [spec, want] of [
      ['clipped-clustering', 2.5],
      ['clipped-clustering:history=0', 4],
    ] as const) {
      const agg = buildAggregator(spec, { n: 3, f: 1 });
      agg.aggregate(first, ctx(1));
      assert.deepEqual(Array.from(agg.aggregate(second, ctx(1))), [want, 0], spec);
    }
    // maxtau caps it.
    assert.deepEqual(run('clipped-clustering:maxtau=0.5', second, 1).out, [0.5, 0]);
  });

  test('cosine distances from the distance matrix match 1 - x.y / (|x||y|)', () => {
    const rng = Rng.derive(4, 'cos');
    for (let t = 0; t < 20; t++) {
      const n = 2 + rng.int(10);
      const xs = Array.from({ length: n }, () => {
        const x = new Float64Array(50);
        rng.fillNormal(x);
        return x;
      });
      if (t % 2) xs[n - 1] = xs[0].map((v) => v * 3); // parallel inputs: distance 0
      const sq = new Float64Array(n);
      const C = cosineDistances(pairwiseSqDistances(xs, sq), Array.from(sq, Math.sqrt), n);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) {
          const want = i === j ? 0 : 1 - dot(xs[i], xs[j]) / (len(xs[i]) * len(xs[j]));
          assert.ok(Math.abs(C[i * n + j] - want) <= 1e-14, `${i} ${j}: ${C[i * n + j]} vs ${want}`);
        }
    }
  });

  /**
   * Agglomerative clustering read directly: cosine distances by dot products, and at every step
   * the linkage of every pair of current clusters recomputed from their members (mean or least
   * pairwise distance), the least merged (ties: lowest members first); the larger of the last
   * two, an even split to the one completed later (input 1 of two single inputs).
   */
  function bruteCluster(xs: Vec[], single: boolean): number[] {
    const n = xs.length;
    const cos = (i: number, j: number) => {
      const a = len(xs[i]);
      const b = len(xs[j]);
      return a === 0 || b === 0 ? 1 : 1 - dot(xs[i], xs[j]) / (a * b);
    };
    let clusters = Array.from({ length: n }, (_, i) => ({ m: [i], id: i }));
    for (let step = 0; clusters.length > 2; step++) {
      let best: [number, number, number] = [Infinity, -1, -1];
      for (let a = 0; a < clusters.length; a++)
        for (let b = a + 1; b < clusters.length; b++) {
          const ds = clusters[a].m.flatMap((i) => clusters[b].m.map((j) => cos(i, j)));
          const link = single ? Math.min(...ds) : ds.reduce((s, v) => s + v, 0) / ds.length;
          if (best[1] < 0 || link < best[0]) best = [link, a, b];
        }
      const [, a, b] = best;
      const merged = { m: [...clusters[a].m, ...clusters[b].m].sort((p, q) => p - q), id: n + step };
      clusters = clusters.filter((_, i) => i !== a && i !== b);
      clusters.push(merged);
      clusters.sort((p, q) => p.m[0] - q.m[0]);
    }
    if (clusters.length === 1) return clusters[0].m;
    const [p, q] = clusters;
    if (p.m.length !== q.m.length) return p.m.length > q.m.length ? p.m : q.m;
    return p.id > q.id ? p.m : q.m;
  }

  test('property: a sequence of calls against the brute-force clustering, threshold and mean', () => {
    const rng = Rng.derive(5, 'clipped-clustering');
    const cases = { even: 0, zero: 0, clipped: 0, single: 0, history: 0 };
    for (let t = 0; t < 40; t++) {
      const n = 1 + rng.int(14);
      const f = rng.int(Math.ceil(n / 2));
      const d = 2 + rng.int(30);
      const single = rng.int(2);
      const history = rng.int(2);
      const spec = `clipped-clustering:single=${single},history=${history}`;
      const agg = buildAggregator(spec, { n, f });
      const seen: number[] = [];
      for (let call = 0; call < 3; call++) {
        // A few directions with noise and spread norms, sometimes a zero input.
        const dirs = Array.from({ length: 1 + rng.int(3) }, () => {
          const u = new Float64Array(d);
          rng.fillNormal(u);
          return u;
        });
        const xs = Array.from({ length: n }, () => {
          const u = dirs[rng.int(dirs.length)];
          const x = new Float64Array(d);
          rng.fillNormal(x, 0, 0.3);
          const c = 0.2 + 5 * rng.float();
          return x.map((v, q) => c * (v + u[q]));
        });
        const zero = rng.int(4) === 0;
        if (zero) xs[rng.int(n)] = new Float64Array(d);
        if (history === 0) seen.length = 0;
        seen.push(...xs.map(len));
        const tau = Math.min(medianOf(seen), 1e5);
        const sel = bruteCluster(xs, single === 1);
        const got = run(agg, xs, f);
        const what = `${spec} n = ${n} call ${call}`;
        assert.deepEqual(got.selected, sel, what);
        assertClose(
          got.out,
          clippedMean(
            sel.map((i) => xs[i]),
            tau,
          ),
          1e-12,
          what,
        );
        cases.even += Number(n >= 2 && 2 * sel.length === n);
        cases.zero += Number(zero);
        cases.clipped += Number(sel.some((i) => len(xs[i]) > tau));
        cases.single += single;
        cases.history += Number(history === 1 && call > 0);
      }
    }
    for (const [what, count] of Object.entries(cases)) assert.ok(count >= 3, `${what}: ${count}`);
  });

  test('by hand: agglomerateTwo, single linkage chains where average linkage does not', () => {
    // Points 0, 1, 2, 3, 4 on a line, distance |a - b|; every neighbour pair is at 1.
    // Single: {0,1} (id 5), then {0,1} and 2 at 1 (the lower slot first; id 6), then 3 (id 7):
    // {0,1,2,3} against {4}. Average: {0,1} (id 5); then {0,1}-2 is 1.5, so 2-3 at 1 (id 6);
    // then {0,1}-{2,3} is (2+3+1+2)/4 = 2, {2,3}-4 is 1.5 (id 7): {0,1} against {2,3,4}.
    const n = 5;
    const C = Float64Array.from({ length: n * n }, (_, k) => Math.abs(Math.floor(k / n) - (k % n)));
    assert.deepEqual(agglomerateTwo(C, n, true), {
      members: [[0, 1, 2, 3], [4]],
      ids: [7, 4],
    });
    assert.deepEqual(agglomerateTwo(C, n, false), {
      members: [
        [0, 1],
        [2, 3, 4],
      ],
      ids: [5, 7],
    });
  });

  test('RunningMedian equals the sorted median after every push', () => {
    const rng = Rng.derive(6, 'running-median');
    const m = new RunningMedian();
    const all: number[] = [];
    assert.ok(Number.isNaN(m.median()));
    for (let t = 0; t < 500; t++) {
      const v = rng.int(4) === 0 ? rng.int(5) : rng.normal(); // duplicates too
      m.push(v);
      all.push(v);
      assert.equal(m.median(), medianOf(all), `after ${t + 1}`);
    }
  });

  test('determinism: fresh instances give the same bits for the same sequence of calls', () => {
    const rng = Rng.derive(10, 'cc-det');
    const calls = Array.from({ length: 3 }, () =>
      Array.from({ length: 11 }, () => {
        const x = new Float32Array(3000);
        rng.fillNormal(x, 0, 1 + rng.int(3));
        return x;
      }),
    );
    const outs = [0, 1].map(() => {
      const agg = buildAggregator('clipped-clustering', { n: 11, f: 2 });
      return calls.map((xs) => agg.aggregate(xs, ctx(2)));
    });
    assert.deepEqual(outs[0], outs[1]);
  });

  test('parameter and precondition errors are one line', () => {
    for (const [spec, re] of [
      ['clipped-clustering:maxtau=0', /^UsageError: clipped-clustering: maxtau must be > 0 \(got 0\)$/],
      [
        'clipped-clustering:single=2',
        /^UsageError: clipped-clustering: single must be 0 \(average linkage\) or 1 \(got 2\)$/,
      ],
      [
        'clipped-clustering:history=0.5',
        /^UsageError: clipped-clustering: history must be 0 \(this call's norms\) or 1 \(got 0.5\)$/,
      ],
    ] as const)
      assert.throws(() => parseAggregator(spec), re);
    assert.throws(
      () => buildAggregator('clipped-clustering', { n: 6, f: 3 }),
      /^UsageError: clipped-clustering needs n > 2f \(n = 6, f = 3: n >= 7\)$/,
    );
  });
});

test('a non-finite input throws NonFiniteInputError (also a single input)', () => {
  for (const spec of ['signguard', 'clipped-clustering'])
    for (const bad of [NaN, Infinity])
      for (const n of [1, 4]) {
        const xs = rows(...Array.from({ length: n }, () => [1, 2, 3]));
        xs[n - 1][1] = bad;
        assert.throws(
          () => buildAggregator(spec, { n, f: 0 }).aggregate(xs, ctx(0)),
          (e: Error) => e.name === 'NonFiniteInputError' && /input \d+ holds/.test(e.message),
          `${spec} ${bad} n = ${n}`,
        );
      }
});
