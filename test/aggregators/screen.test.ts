/**
 * The distance screen (src/aggregators/screen.ts): its bounds hold on every entry, and the
 * selections and outputs of Krum, Bulyan and NNM through it are bitwise those of the exact
 * matrix, on random shapes and on adversarial near-ties (one-ulp differences, copies, rows
 * equidistant by construction, huge and tiny magnitudes).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { closestToMedianMean, repeatedKrum } from '../../src/aggregators/bulyan.js';
import { krumScores, orderByScore, pairwiseSqDistances } from '../../src/aggregators/distances.js';
import { krum, krumSelect } from '../../src/aggregators/krum.js';
import { meanOf } from '../../src/aggregators/mean.js';
import { buildAggregator } from '../../src/aggregators/registry.js';
import {
  distanceScreen,
  screenedKrumOrder,
  screenedNearest,
  screenedRepeatedKrum,
} from '../../src/aggregators/screen.js';
import type { AggregateInfo } from '../../src/aggregators/types.js';
import { simdAvailable } from '../../src/core/simd/kernels.js';
import { Rng } from '../../src/core/rng.js';

const KINDS = ['random', 'ulp', 'copies', 'equidistant', 'clusters', 'huge', 'tiny'] as const;
type Kind = (typeof KINDS)[number];

/** The next float32 above x (x finite). */
function nextUp(x: number): number {
  const b = new Float32Array([x]);
  const u = new Uint32Array(b.buffer);
  if (x === 0) u[0] = 1;
  else u[0] += x > 0 ? 1 : -1;
  return b[0];
}

/** n float32 inputs of length d, of one kind of near-tie (or none). */
function inputsOf(kind: Kind, rng: Rng, n: number, d: number): Float32Array[] {
  const scale = kind === 'huge' ? 2 ** 40 : kind === 'tiny' ? 2 ** -70 : 1;
  const base = new Float32Array(d);
  for (let k = 0; k < d; k++) base[k] = rng.normal() * scale;
  return Array.from({ length: n }, (_, i) => {
    const x = Float32Array.from(base);
    switch (kind) {
      case 'ulp': // the base, one coordinate one ulp up (or the base itself)
        if (i % 3 !== 0) x[rng.int(d)] = nextUp(x[rng.int(d)]);
        break;
      case 'copies': // a few distinct rows, each sent several times
        if (i % 4 !== 0) {
          const r = Rng.derive(i % 4, 'copy');
          for (let k = 0; k < d; k++) x[k] += r.normal();
        }
        break;
      case 'equidistant': // base + c e_k: every pair at squared distance 2 c^2 (c a power of two)
        x[i % d] += 4;
        break;
      case 'clusters': // two tight groups: many distances equal to a few ulps
        for (let k = 0; k < d; k++) x[k] += (i % 2) + rng.normal() * 1e-6;
        break;
      default:
        for (let k = 0; k < d; k++) x[k] = rng.normal() * scale * (1 + (i % 3));
    }
    return x;
  });
}

/** Krum, repeated Krum and the NNM neighbours from the exact matrix: the code before the screen. */
function reference(xs: readonly Float32Array[], f: number, k: number) {
  const n = xs.length;
  const D = pairwiseSqDistances(xs);
  const all = Array.from({ length: n }, (_, i) => i);
  const scores = krumScores(D, n, all, k);
  const nearest = all.map((i) =>
    all
      .filter((j) => j !== i)
      .sort((a, b) => D[i * n + a] - D[i * n + b] || a - b)
      .slice(0, n - f - 1),
  );
  const bulyan = n >= 4 * f + 3 ? repeatedKrum(D, n, f, n - 2 * f) : null;
  return { D, scores, winner: orderByScore(scores)[0], order: orderByScore(scores), nearest, bulyan };
}

const skip = !simdAvailable() && 'needs WebAssembly SIMD';

describe('distance screen: bounds', { skip }, () => {
  test('lo <= exact <= hi on every entry, random and adversarial inputs', () => {
    const rng = Rng.derive(3, 'screen-bounds');
    let checked = 0;
    for (let trial = 0; trial < 60; trial++) {
      const kind = KINDS[trial % KINDS.length];
      const n = 3 + rng.int(20);
      const d = 1 + rng.int(trial % 5 === 0 ? 9000 : 700);
      const xs = inputsOf(kind, rng, n, d);
      const screen = distanceScreen(xs, { minTerms: 0 });
      assert.ok(screen !== null, `${kind}: the screen applies to finite float32 inputs in range`);
      const D = pairwiseSqDistances(xs);
      for (let q = 0; q < n * n; q++) {
        assert.ok(
          screen.lo[q] <= D[q] && D[q] <= screen.hi[q],
          `${kind} n=${n} d=${d} entry ${q}: ${screen.lo[q]} <= ${D[q]} <= ${screen.hi[q]}`,
        );
        checked++;
      }
    }
    assert.ok(checked > 1000);
  });

  test('the screen steps aside where float32 overflows, and for float64 inputs', () => {
    const big = [new Float32Array([3e38, 0]), new Float32Array([-3e38, 0]), new Float32Array([0, 1])];
    assert.equal(distanceScreen(big, { minTerms: 0 }), null);
    const f64 = [0, 1, 2].map((i) => new Float64Array([i, 2 * i]));
    assert.equal(distanceScreen(f64, { minTerms: 0 }), null);
  });
});

describe('distance screen: selections are the exact matrix’s', { skip }, () => {
  test('Krum winner and order, repeated Krum, NNM neighbours (property test)', () => {
    const rng = Rng.derive(5, 'screen-select');
    for (let trial = 0; trial < 140; trial++) {
      const kind = KINDS[trial % KINDS.length];
      const n = 3 + rng.int(38);
      const f = rng.int(Math.max(1, Math.floor((n - 3) / 2)));
      const d = 1 + rng.int(trial % 7 === 0 ? 5000 : 300);
      const xs = inputsOf(kind, rng, n, d);
      const k = n - f - 2;
      const what = `${kind} n=${n} f=${f} d=${d}`;
      const ref = reference(xs, f, k);
      // A budget of 0 sends the first refinement to the whole exact matrix: that path too.
      const screen = distanceScreen(xs, { minTerms: 0, budget: trial % 5 === 4 ? 0 : undefined });
      assert.ok(screen !== null, what);
      const all = Array.from({ length: n }, (_, i) => i);
      const m = 1 + rng.int(n);
      const { order, scores } = screenedKrumOrder(screen, all, k, m);
      assert.deepEqual(order, ref.order.slice(0, m), `${what}: Krum order, first ${m}`);
      const rep = scores.report();
      all.forEach((i) => {
        if (rep[i] !== ref.scores[i]) {
          // An estimate: only where the screen settled the order without the exact score.
          const s = ref.scores[i];
          assert.ok(Math.abs(rep[i] - s) <= 1e-5 * s + 1e-30, `${what}: score ${i} ${rep[i]} vs ${s}`);
        }
      });
      assert.deepEqual(screenedNearest(screen, n - f - 1), ref.nearest, `${what}: NNM neighbours`);
      if (ref.bulyan !== null) {
        assert.deepEqual(screenedRepeatedKrum(screen, f, n - 2 * f), ref.bulyan, `${what}: Bulyan`);
      }
    }
  });

  test('the rules through the screen: outputs bitwise, selections equal', () => {
    const rng = Rng.derive(7, 'screen-rules');
    for (const kind of KINDS) {
      for (const [n, d] of [
        [15, 20_001],
        [23, 12_347],
      ]) {
        const f = Math.floor((n - 3) / 4);
        const xs = inputsOf(kind, rng, n, d);
        const what = `${kind} n=${n} d=${d}`;
        const ref = reference(xs, f, n - f - 2);
        const info: AggregateInfo = {};
        assert.deepEqual(krum(xs, f, info), Float64Array.from(xs[ref.winner]), `${what}: krum`);
        assert.deepEqual(info.selected, [ref.winner], what);
        assert.equal(krumSelect(xs, f, ref.D).winner, ref.winner, what);
        const bInfo: AggregateInfo = {};
        const bulyan = buildAggregator('bulyan', { n, f }).aggregate(xs, {
          f,
          rng: Rng.derive(1, 'ps'),
          info: bInfo,
        });
        assert.deepEqual(bInfo.selected, ref.bulyan, `${what}: bulyan selection`);
        const want = closestToMedianMean(
          ref.bulyan!.map((i) => xs[i]),
          n - 4 * f,
        );
        assert.deepEqual(bulyan, want, `${what}: bulyan output`);
        const nnm = buildAggregator('nnm+mean', { n, f }).aggregate(xs, { f, rng: Rng.derive(1, 'ps') });
        const mixed = ref.nearest.map((near, i) => meanOf([i, ...near].map((j) => xs[j])));
        assert.deepEqual(nnm, meanOf(mixed), `${what}: nnm`);
      }
    }
  });
});
