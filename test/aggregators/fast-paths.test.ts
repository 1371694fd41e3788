/**
 * The fast paths of the order-statistic rules and of the geometric median against their reference
 * routes: selection networks vs sorting (bitwise where the rule's arithmetic allows), Weiszfeld in
 * coefficient space vs the direct iteration.
 *
 * Float32 inputs take the network; the same values as float64 (an exact widening) take the
 * sorting path the rules used before, so comparing the two is comparing against the old code.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { closestToMedianMean } from '../../src/aggregators/bulyan.js';
import { forEachRankBlock } from '../../src/aggregators/columns.js';
import { pairwiseSqDistances } from '../../src/aggregators/distances.js';
import { geometricMedian, weiszfeld, type WeiszfeldSettings } from '../../src/aggregators/geomedian.js';
import { coordinateMedian } from '../../src/aggregators/median.js';
import {
  applyNetwork,
  float32RankKernel,
  mergeExchangeNetwork,
  NETWORK_MAX_N,
  oddEvenMergeNetwork,
  rankNetwork,
} from '../../src/aggregators/sorting-network.js';
import { trimmedMean } from '../../src/aggregators/trimmed-mean.js';
import type { AggregateInfo } from '../../src/aggregators/types.js';
import { Rng } from '../../src/core/rng.js';

const sortAsc = (xs: number[]) => [...xs].sort((a, b) => a - b);

function bitsEqual(a: Float64Array, b: Float64Array): boolean {
  return Buffer.compare(Buffer.from(a.buffer), Buffer.from(b.buffer)) === 0;
}

function firstBitDiff(a: Float64Array, b: Float64Array): string {
  for (let k = 0; k < a.length; k++) {
    if (!Object.is(a[k], b[k])) return `coordinate ${k}: ${a[k]} vs ${b[k]}`;
  }
  return 'none';
}

type Kind = 'random' | 'ties' | 'zeros' | 'wide';

/** n float32 inputs of length d: normal values, a few repeated integers, signed zeros, or wide exponents. */
function inputs32(rng: Rng, n: number, d: number, kind: Kind): Float32Array[] {
  return Array.from({ length: n }, () => {
    const x = new Float32Array(d);
    for (let k = 0; k < d; k++) {
      if (kind === 'random') x[k] = rng.normal();
      else if (kind === 'ties') x[k] = rng.int(5) - 2;
      else if (kind === 'zeros') x[k] = [0, -0, 1, -1, 0, -0][rng.int(6)];
      else x[k] = rng.normal() * 2 ** (rng.int(60) - 30);
    }
    return x;
  });
}

const widen = (xs: Float32Array[]) => xs.map((x) => Float64Array.from(x));

describe('sorting networks', () => {
  test('odd-even merge sort and merge exchange sort every n from 1 to 70 (random values and ties)', () => {
    const rng = Rng.derive(1, 'network');
    for (let n = 1; n <= 70; n++) {
      for (const net of [oddEvenMergeNetwork(n), mergeExchangeNetwork(n)]) {
        for (let trial = 0; trial < 30; trial++) {
          const xs = Array.from({ length: n }, () => (trial % 2 ? rng.int(3) : rng.normal()));
          const ys = [...xs];
          applyNetwork(net, ys);
          assert.deepEqual(ys, sortAsc(xs), `n = ${n}`);
        }
      }
    }
  });
  test('0-1 principle: every 0/1 input of up to 16 wires is sorted', () => {
    for (let n = 1; n <= 16; n++) {
      for (const net of [oddEvenMergeNetwork(n), mergeExchangeNetwork(n)]) {
        for (let mask = 0; mask < 1 << n; mask++) {
          const ys = Array.from({ length: n }, (_, i) => (mask >> i) & 1);
          applyNetwork(net, ys);
          for (let i = 1; i < n; i++) assert.ok(ys[i - 1] <= ys[i], `n = ${n}, mask = ${mask}`);
        }
      }
    }
  });
  test('pruned rank networks put ranks lo..hi in place, for every n from 1 to 70', () => {
    const rng = Rng.derive(2, 'network');
    for (let n = 1; n <= 70; n++) {
      const full = Math.min(oddEvenMergeNetwork(n).length, mergeExchangeNetwork(n).length);
      const ranges: [number, number][] = [
        [(n - 1) >> 1, n >> 1],
        [0, 0],
        [n - 1, n - 1],
        [Math.floor(n / 4), n - 1 - Math.floor(n / 4)],
      ];
      for (const [lo, hi] of ranges) {
        const net = rankNetwork(n, lo, hi);
        assert.ok(net.length <= full);
        for (let trial = 0; trial < 20; trial++) {
          const xs = Array.from({ length: n }, () => (trial % 2 ? rng.int(4) : rng.normal()));
          const ys = [...xs];
          applyNetwork(net, ys);
          assert.deepEqual(
            ys.slice(lo, hi + 1),
            sortAsc(xs).slice(lo, hi + 1),
            `n = ${n}, ranks ${lo}..${hi}`,
          );
        }
      }
    }
    // The median of 15 needs 49 of the 59 comparators.
    assert.equal(rankNetwork(15, 7, 7).length / 2, 49);
  });
  test('generated kernels return the float32 values of ranks lo..hi, signed zeros ordered -0 < +0', () => {
    const rng = Rng.derive(3, 'kernel');
    for (let n = 1; n <= NETWORK_MAX_N; n++) {
      const lo = rng.int(n);
      const hi = lo + rng.int(n - lo);
      const kernel = float32RankKernel(n, lo, hi);
      assert.ok(kernel, `n = ${n}`);
      for (const kind of ['random', 'ties', 'zeros', 'wide'] as const) {
        const d = 300;
        const xs = inputs32(rng, n, d, kind);
        const out = new Int32Array(d * (hi - lo + 1));
        kernel(
          xs.map((x) => new Int32Array(x.buffer)),
          0,
          d,
          out,
        );
        const vals = new Float32Array(out.buffer);
        for (let c = 0; c < d; c++) {
          // Object.is tells -0 from +0: sort by value, then -0 first.
          const col = sortAsc(xs.map((x) => x[c])).sort(
            (a, b) => a - b || (Object.is(a, -0) ? -1 : 0) - (Object.is(b, -0) ? -1 : 0),
          );
          for (let r = lo; r <= hi; r++) {
            assert.ok(
              Object.is(vals[c * (hi - lo + 1) + r - lo], col[r]),
              `n = ${n} ${kind} column ${c} rank ${r}`,
            );
          }
        }
      }
    }
  });
  test('no kernel above NETWORK_MAX_N or for float64 inputs: the callers sort instead', () => {
    assert.equal(float32RankKernel(NETWORK_MAX_N + 1, 3, 3), null);
    assert.equal(
      forEachRankBlock([new Float64Array(4), new Float64Array(4)], 0, 1, () => assert.fail('visited')),
      false,
    );
    let visited = 0;
    assert.equal(
      forEachRankBlock([new Float32Array(4), new Float32Array(4)], 0, 1, (_v, m, start, count) => {
        visited += count;
        assert.deepEqual([m, start], [2, 0]);
      }),
      true,
    );
    assert.equal(visited, 4);
  });
});

describe('order statistics: network path equals the sorting path', () => {
  const rng = Rng.derive(4, 'order-stats');
  test('coordinate median: bitwise, n = 1..45 (odd and even), random, ties, signed zeros, wide', () => {
    for (let n = 1; n <= 45; n++) {
      for (const kind of ['random', 'ties', 'zeros', 'wide'] as const) {
        const xs = inputs32(rng, n, 700, kind);
        const fast = coordinateMedian(xs);
        const ref = coordinateMedian(widen(xs));
        assert.ok(bitsEqual(fast, ref), `n = ${n} ${kind}: ${firstBitDiff(fast, ref)}`);
        // And the values are the definition's.
        for (let c = 0; c < 700; c += 97) {
          const col = sortAsc(xs.map((x) => x[c]));
          const want = (col[(n - 1) >> 1] + col[n >> 1]) / 2;
          assert.ok(fast[c] === want, `n = ${n} ${kind} coordinate ${c}: ${fast[c]} vs ${want}`); // -0 === 0
        }
      }
    }
  });
  test('inputs that are views into one buffer at odd offsets', () => {
    const buf = new Float32Array(15 * 1001 + 3);
    Rng.derive(6, 'views').fillNormal(buf);
    const views = Array.from({ length: 15 }, (_, i) => buf.subarray(3 + i * 1001, 3 + i * 1001 + 1000));
    const copies = views.map((v) => Float64Array.from(v));
    assert.ok(bitsEqual(coordinateMedian(views), coordinateMedian(copies)));
    assert.ok(bitsEqual(trimmedMean(views, 3), trimmedMean(copies, 3)));
  });
  test('a zero median keeps the sign the sorting path gives', () => {
    // Columns of signed zeros only: the sort is stable, so the middle keeps its input order.
    const xs = [-0, 0, -0, 0, 0].map((v) => new Float32Array(3000).fill(v));
    const fast = coordinateMedian(xs);
    assert.ok(bitsEqual(fast, coordinateMedian(widen(xs))));
    const even = [0, -0, -0, 0].map((v) => new Float32Array(5).fill(v));
    assert.ok(bitsEqual(coordinateMedian(even), coordinateMedian(widen(even))));
  });
  test('trimmed mean: bitwise for n <= 24 (both sum the kept ranks in order), to rounding above', () => {
    for (let n = 1; n <= 45; n++) {
      for (const kind of ['random', 'ties', 'zeros', 'wide'] as const) {
        const xs = inputs32(rng, n, 300, kind);
        for (let b = 0; 2 * b < n; b += 1 + (n >> 3)) {
          const fast = trimmedMean(xs, b);
          const ref = trimmedMean(widen(xs), b);
          if (n <= 24)
            assert.ok(bitsEqual(fast, ref), `n = ${n} b = ${b} ${kind}: ${firstBitDiff(fast, ref)}`);
          else {
            // Above 24 the sorting path sums in quickselect's partition order.
            for (let c = 0; c < fast.length; c++) {
              const scale = xs.reduce((s, x) => s + Math.abs(x[c]), 0) / (n - 2 * b);
              assert.ok(
                Math.abs(fast[c] - ref[c]) <= 1e-14 * scale,
                `n = ${n} b = ${b} ${kind} coordinate ${c}`,
              );
            }
          }
        }
      }
    }
  });
  test("Bulyan's closest-to-median mean above the networks (quickselect window): a full sort's values", () => {
    for (const t of [25, 41, 64, 129]) {
      for (const kind of ['random', 'ties', 'zeros', 'wide'] as const) {
        const xs = widen(inputs32(rng, t, 150, kind));
        for (const beta of [1, 2, 3, t >> 2, t - 1, t]) {
          const got = closestToMedianMean(xs, beta);
          for (let c = 0; c < 150; c++) {
            // The definition: sort the column, grow the run from the median outwards (ties: left),
            // then sum the run in rank order.
            const col = sortAsc(xs.map((x) => x[c]));
            const med = (col[(t - 1) >> 1] + col[t >> 1]) / 2;
            let l = (t - 1) >> 1;
            let r = l + 1;
            for (let q = 0; q < beta; q++) {
              if (r >= t || (l >= 0 && med - col[l] <= col[r] - med)) l--;
              else r++;
            }
            let sum = 0;
            for (let k = l + 1; k < r; k++) sum += col[k];
            assert.ok(
              got[c] === sum * (1 / beta),
              `theta = ${t} beta = ${beta} ${kind} coordinate ${c}: ${got[c]} vs ${sum / beta}`,
            );
          }
        }
      }
    }
  });
  test("Bulyan's closest-to-median mean: bitwise, every theta = 1..45 and beta = 1..theta", () => {
    for (let t = 1; t <= 45; t++) {
      for (const kind of ['random', 'ties', 'zeros', 'wide'] as const) {
        const xs = inputs32(rng, t, 200, kind);
        const wide = widen(xs);
        for (let beta = 1; beta <= t; beta++) {
          const fast = closestToMedianMean(xs, beta);
          const ref = closestToMedianMean(wide, beta);
          assert.ok(bitsEqual(fast, ref), `theta = ${t} beta = ${beta} ${kind}: ${firstBitDiff(fast, ref)}`);
        }
      }
    }
  });
});

describe('pairwise distances with squared norms', () => {
  test('norms match a naive sum and leave D unchanged, n = 1..9 (with and without four-partner groups)', () => {
    const rng = Rng.derive(7, 'norms');
    for (let n = 1; n <= 9; n++) {
      const xs = inputs32(rng, n, 5000, 'random');
      const norms = new Float64Array(n);
      const D = pairwiseSqDistances(xs, norms);
      assert.deepEqual(D, pairwiseSqDistances(xs));
      for (let i = 0; i < n; i++) {
        let want = 0;
        for (const v of xs[i]) want += v * v;
        assert.ok(Math.abs(norms[i] - want) <= 1e-12 * want, `n = ${n}, row ${i}: ${norms[i]} vs ${want}`);
      }
    }
  });
});

describe('geomedian: coefficient space vs the direct iteration', () => {
  function relDiff(a: Float64Array, b: Float64Array): number {
    let num = 0;
    let den = 0;
    for (let k = 0; k < a.length; k++) {
      num += (a[k] - b[k]) ** 2;
      den += b[k] ** 2;
    }
    return Math.sqrt(num / den);
  }
  /** Gradient-like inputs: a common mean plus per-worker spread; some kinds add attackers. */
  function scenario(kind: string, n: number, d: number): Float32Array[] {
    const rng = Rng.derive(5, 'geomedian', kind);
    const g = new Float32Array(d);
    rng.fillNormal(g);
    return Array.from({ length: n }, (_, i) => {
      const x = new Float32Array(d);
      for (let k = 0; k < d; k++) {
        const u = rng.normal();
        if (kind === 'realistic')
          x[k] = g[k] + u; // spread comparable to the norm
        else if (kind === 'near-identical') x[k] = g[k] * (1 + 1e-6 * u);
        else if (kind === 'far attackers') x[k] = i < 3 ? 1e3 * u : g[k] + 0.5 * u;
        else if (kind === 'offset')
          x[k] = 1e4 + g[k] + 1e-2 * u; // large common offset
        else x[k] = i < 8 ? g[k] : g[k] + u; // 'duplicates': a majority of identical inputs
      }
      return x;
    });
  }
  const settings: WeiszfeldSettings[] = [
    { iters: 10, tol: 0, nu: 1e-6 },
    { iters: 100, tol: 1e-6, nu: 1e-6 },
    { iters: 100, tol: 1e-10, nu: 1e-6 },
  ];
  for (const kind of ['realistic', 'near-identical', 'far attackers', 'offset', 'duplicates']) {
    test(`${kind}: same iterate to 1e-9 relative, same iteration count`, () => {
      const xs = scenario(kind, 15, 5000);
      for (const s of settings) {
        const direct = weiszfeld(xs, s, 'direct');
        const coef = weiszfeld(xs, s, 'coefficients');
        assert.deepEqual(direct.phases, [{ route: 'direct', from: 0 }]);
        const e = relDiff(coef.z, direct.z);
        assert.ok(e <= 1e-9, `${JSON.stringify(s)}: relative difference ${e}`);
        assert.deepEqual(
          [coef.iterations, coef.converged],
          [direct.iterations, direct.converged],
          JSON.stringify(s),
        );
        if (kind === 'duplicates' && s.tol === 1e-10) {
          // z converges onto the 8 identical inputs: their distances cancel in coefficient
          // space, so the direct iteration takes over.
          assert.equal(coef.phases.length, 2);
          assert.equal(coef.phases[1].route, 'direct');
          assert.ok(coef.phases[1].from >= 1, 'some updates were made in coefficient space');
        } else if (kind !== 'duplicates') {
          assert.deepEqual(coef.phases, [{ route: 'coefficients', from: 0 }], `${kind} ${JSON.stringify(s)}`);
        }
      }
    });
  }
  test('the iteration count is reported on the auto route, which picks coefficient space for n = 15', () => {
    const xs = scenario('realistic', 15, 2000);
    const info: AggregateInfo = {};
    const z = geometricMedian(xs, { iters: 10, tol: 0, nu: 1e-6 }, info);
    assert.deepEqual([info.iterations, info.converged], [10, false]);
    const auto = weiszfeld(xs, { iters: 10, tol: 0, nu: 1e-6 });
    assert.deepEqual(auto.phases, [{ route: 'coefficients', from: 0 }]);
    assert.ok(relDiff(z, weiszfeld(xs, { iters: 10, tol: 0, nu: 1e-6 }, 'direct').z) <= 1e-9);
    // A cap of 2 updates is cheaper directly.
    assert.deepEqual(weiszfeld(xs, { iters: 2, tol: 0, nu: 1e-6 }).phases, [{ route: 'direct', from: 0 }]);
    const info2: AggregateInfo = {};
    geometricMedian(xs, { iters: 100, tol: 1e-6, nu: 1e-6 }, info2);
    assert.equal(info2.converged, true);
    assert.ok(info2.iterations! >= 2 && info2.iterations! < 100, `${info2.iterations}`);
  });
  test('large n with a tolerance: direct first, coefficient space once the rate predicts a long run', () => {
    // n = 41: coefficient space costs ~8.5 direct passes, more than the up-front limit.
    const quick = weiszfeld(scenario('realistic', 41, 3000), { iters: 100, tol: 1e-6, nu: 1e-6 });
    assert.deepEqual([quick.phases, quick.iterations], [[{ route: 'direct', from: 0 }], 4]);
    const slow = scenario('far attackers', 41, 3000);
    const s = { iters: 100, tol: 1e-14, nu: 1e-6 };
    const auto = weiszfeld(slow, s);
    const direct = weiszfeld(slow, s, 'direct');
    assert.deepEqual(auto.phases, [
      { route: 'direct', from: 0 },
      { route: 'coefficients', from: 2 },
    ]);
    assert.ok(relDiff(auto.z, direct.z) <= 1e-9);
    assert.deepEqual([auto.iterations, auto.converged], [direct.iterations, direct.converged]);
    assert.equal(direct.iterations, 11);
  });
  test('small cases agree as well: 1-D, a point on an input, n = 1 and 2', () => {
    const cases: Float32Array[][] = [
      [[0], [1], [10]].map((v) => Float32Array.from(v)),
      [
        [0, 0],
        [4, 0],
        [0, 3],
      ].map((v) => Float32Array.from(v)),
      [Float32Array.from([1, 2, 3])],
      [Float32Array.from([1, 2]), Float32Array.from([3, 5])],
    ];
    for (const xs of cases) {
      for (const s of settings) {
        const a = weiszfeld(xs, s, 'direct');
        const b = weiszfeld(xs, s, 'coefficients');
        assert.ok(relDiff(b.z, a.z) <= 1e-9, `${xs.length} inputs ${JSON.stringify(s)}: ${b.z} vs ${a.z}`);
        assert.deepEqual([b.iterations, b.converged], [a.iterations, a.converged]);
      }
    }
  });
});
