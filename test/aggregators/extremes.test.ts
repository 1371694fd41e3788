/**
 * Inputs at the edges of the float formats: geomedian with a float64 row near 1e160 and against
 * float32 colluders at 3e38, and non-finite inputs (rules from code, and `draco aggregate`). Every
 * reference answer is computed here, independently of the rules.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SELECT_ABOVE } from '../../src/aggregators/columns.js';
import { weiszfeld, type WeiszfeldSettings } from '../../src/aggregators/geomedian.js';
import {
  buildAggregator,
  coordinateMedian,
  NonFiniteInputError,
  trimmedMean,
  type AggregateInfo,
} from '../../src/aggregators/index.js';
import { readNpy, writeNpy } from '../../src/core/npy.js';
import { Rng } from '../../src/core/rng.js';
import type { Vec } from '../../src/core/vec.js';
import { relErr } from '../schemes/cyclic-helpers.js';
import { tempDir } from '../tmp.js';

const BIN = fileURLToPath(new URL('../../../bin/draco.js', import.meta.url));
const tmp = tempDir('draco-extremes-');

const DEFAULTS: WeiszfeldSettings = { iters: 100, tol: 1e-6, nu: 1e-6 };
const ctx = (f: number, info?: AggregateInfo) => ({ f, rng: Rng.derive(1, 'extremes'), info });

/**
 * Compass search (no derivatives) for the minimum of a convex function of two variables; near a
 * smooth minimum, f changes by O(h^2), so the result is good to ~1e-8.
 */
function minimise2d(f: (x: number, y: number) => number, x: number, y: number): [number, number] {
  let best = f(x, y);
  for (let h = 0.5; h > 1e-13;) {
    let moved = false;
    for (const [dx, dy] of [
      [h, 0],
      [-h, 0],
      [0, h],
      [0, -h],
    ]) {
      const v = f(x + dx, y + dy);
      if (v < best) {
        [x, y, best] = [x + dx, y + dy, v];
        moved = true;
        break;
      }
    }
    if (!moved) h /= 2;
  }
  return [x, y];
}

/**
 * Seen from points of ordinary size, inputs at distance R along the unit vector u are at distance
 * R - u.z + O(|z|^2 / R): they pull with a constant force, m of them with m u. So near the honest
 * points the objective is sum_h ||z - h|| - m u.z, up to a constant and terms of order 1/R.
 */
function honestScaleObjective(honest: number[][], m: number, u: number[]) {
  return (x: number, y: number) =>
    honest.reduce((s, [a, b]) => s + Math.hypot(x - a, y - b), 0) - m * (u[0] * x + u[1] * y);
}

const DIAGONAL = [Math.SQRT1_2, Math.SQRT1_2];
/**
 * Both 2-D cases below balance at z = (t, t): unit vectors from (0,1) and (1,0) sum to
 * (2t - 1)/r (1, 1), r = sqrt(t^2 + (1 - t)^2), and must cancel one net unit pull along the
 * diagonal: (2t - 1) sqrt(2) = r, i.e. 6t^2 - 6t + 1 = 0, t = (3 + sqrt(3)) / 6.
 */
const T_STAR = (3 + Math.sqrt(3)) / 6;

describe('geomedian with a float64 row near 1e160', () => {
  // The far row's squared distances overflow (Inf - Inf = NaN in coefficient space).
  const rows = [
    [1e160, 1e160],
    [0, 0],
    [1, 1],
    [0, 1],
    [1, 0],
  ];
  const xs = rows.map((r) => Float64Array.from(r));
  // The far row pulls with unit force along the diagonal; (0,0) and (1,1) cancel on it.
  const ref = minimise2d(honestScaleObjective(rows.slice(1), 1, DIAGONAL), 0.5, 0.5);

  test('the reference: compass search on the honest-scale objective = the closed form', () => {
    assert.ok(Math.abs(ref[0] - T_STAR) < 1e-7 && Math.abs(ref[1] - T_STAR) < 1e-7, `${ref}`);
  });
  test('geomedian (defaults) gives the median of the unit square pulled toward the far row', () => {
    const info: AggregateInfo = {};
    const z = buildAggregator('geomedian', { n: 5, f: 1 }).aggregate(xs, ctx(1, info));
    assert.ok(relErr(z, ref) < 1e-5, `${Array.from(z)} vs ${ref}`);
    assert.equal(info.converged, true);
    const direct = weiszfeld(xs, DEFAULTS, 'direct');
    const coef = weiszfeld(xs, DEFAULTS, 'coefficients');
    assert.ok(direct.scale < 1, 'the inputs were scaled down');
    assert.ok(relErr(coef.z, direct.z) < 1e-9, `${coef.z} vs ${direct.z}`);
    assert.deepEqual([coef.iterations, coef.converged], [direct.iterations, direct.converged]);
  });
  test('no cap gives NaN, with or without a tolerance, on every route', () => {
    for (let iters = 0; iters <= 12; iters++) {
      for (const tol of [0, 1e-6]) {
        for (const route of ['auto', 'direct', 'coefficients'] as const) {
          const { z } = weiszfeld(xs, { iters, tol, nu: 1e-6 }, route);
          // A convex combination of the rows: within their bounding box.
          assert.ok(
            z.every((v) => v >= 0 && v <= 1e160),
            `iters ${iters}, tol ${tol}, ${route}: ${Array.from(z)}`,
          );
        }
      }
    }
  });
  test('scaling inputs and nu by a power of two scales the result exactly, where squares overflow or underflow too', () => {
    const rng = Rng.derive(4, 'extremes-scale');
    const base = Array.from({ length: 7 }, () => {
      const x = new Float64Array(50);
      rng.fillNormal(x);
      return x;
    });
    const s: WeiszfeldSettings = { iters: 100, tol: 1e-8, nu: 1e-6 };
    const want = weiszfeld(base, s);
    for (const e of [600, 900, -700, -1000]) {
      const c = 2 ** e;
      const got = weiszfeld(
        base.map((x) => x.map((v) => v * c)),
        { ...s, nu: s.nu * c },
      );
      assert.equal(got.iterations, want.iterations, `2^${e}`);
      for (let k = 0; k < 50; k++) assert.ok(Object.is(got.z[k], want.z[k] * c), `2^${e}, coordinate ${k}`);
    }
  });
});

describe('geomedian against float32 colluders at 3e38', () => {
  test('n = 5, f = 2 in 2-D: the honest-scale median, within the default cap', () => {
    const honest = [
      [0, 0],
      [1, 0],
      [0, 1],
    ];
    const xs = [...honest, [3e38, 3e38], [3e38, 3e38]].map((r) => Float32Array.from(r));
    const ref = minimise2d(honestScaleObjective(honest, 2, DIAGONAL), 0.5, 0.5);
    assert.ok(Math.abs(ref[0] - T_STAR) < 1e-7 && Math.abs(ref[1] - T_STAR) < 1e-7, `${ref}`);
    const info: AggregateInfo = {};
    const z = buildAggregator('geomedian', { n: 5, f: 2 }).aggregate(xs, ctx(2, info));
    assert.ok(relErr(z, ref) < 1e-5, `${Array.from(z)} vs ${ref}`);
    assert.equal(info.converged, true);
    assert.ok(info.restartedAt !== undefined, 'restarted from the honest majority');
    const direct = weiszfeld(xs, DEFAULTS, 'direct');
    const coef = weiszfeld(xs, DEFAULTS, 'coefficients');
    assert.ok(relErr(coef.z, direct.z) < 1e-9);
    assert.deepEqual(
      [coef.iterations, coef.converged, coef.restartedAt],
      [direct.iterations, direct.converged, direct.restartedAt],
    );
  });
  test('n = 7, f = 3, d = 20: against a long float64 iteration on the honest-scale problem', () => {
    const d = 20;
    const rng = Rng.derive(2, 'extremes-colluders');
    const honest = Array.from({ length: 4 }, () => {
      const x = new Float32Array(d);
      rng.fillNormal(x);
      return x;
    });
    const colluder = Float32Array.from({ length: d }, () => (rng.normal() > 0 ? 3e38 : -3e38));
    const norm = Math.hypot(...colluder);
    const u = Array.from(colluder, (v) => v / norm);
    // Fixed point of sum_h (z - h) / ||z - h|| = 3u, the honest-scale objective's stationarity.
    let ref = new Float64Array(d);
    for (let it = 0; it < 20000; it++) {
      const num = u.map((v) => 3 * v);
      let W = 0;
      for (const h of honest) {
        const w = 1 / Math.hypot(...h.map((v, k) => ref[k] - v));
        W += w;
        for (let k = 0; k < d; k++) num[k] += w * h[k];
      }
      ref = Float64Array.from(num, (v) => v / W);
    }
    const info: AggregateInfo = {};
    const xs: Vec[] = [...honest, colluder, colluder, colluder];
    const z = buildAggregator('geomedian', { n: 7, f: 3 }).aggregate(xs, ctx(3, info));
    assert.ok(relErr(z, ref) < 1e-5, `relative distance ${relErr(z, ref)}`);
    assert.equal(info.converged, true);
  });
});

describe('non-finite inputs', () => {
  const specs = [
    'median',
    'trimmed-mean',
    'geomedian',
    'krum',
    'multi-krum',
    'bulyan',
    'nnm+mean',
    'meamed',
    'monna',
    'mda',
  ];
  function inputs(T: typeof Float32Array | typeof Float64Array, n: number, bad: number): Vec[] {
    const rng = Rng.derive(n, 'extremes-nonfinite');
    const xs = Array.from({ length: n }, () => {
      const x = new T(700); // more than one 512-coordinate column block
      for (let k = 0; k < x.length; k++) x[k] = rng.normal();
      return x;
    });
    xs[2][600] = bad;
    return xs;
  }
  test('rules that order or compare inputs throw NonFiniteInputError naming input and coordinate', () => {
    // float32 n = 15: selection network; n = 45 or float64: sorting / quickselect.
    for (const T of [Float32Array, Float64Array]) {
      for (const n of [15, 45]) {
        for (const bad of [NaN, Infinity, -Infinity]) {
          const xs = inputs(T, n, bad);
          const where = `${T.name}, n = ${n}, ${bad}`;
          for (const spec of specs) {
            const agg = buildAggregator(spec, { n, f: 2 });
            assert.throws(
              () => agg.aggregate(xs, ctx(2)),
              (e) => e instanceof NonFiniteInputError && e.input === 2 && e.index === 600,
              `${spec}, ${where}`,
            );
          }
          for (const route of ['direct', 'coefficients'] as const) {
            for (const s of [DEFAULTS, { iters: 0, tol: 0, nu: 1e-6 }, { iters: 5, tol: 0, nu: 1e-6 }]) {
              assert.throws(
                () => weiszfeld(xs, s, route),
                NonFiniteInputError,
                `${route} ${JSON.stringify(s)}`,
              );
              assert.throws(() => weiszfeld([xs[2]], s, route), NonFiniteInputError, `one input, ${route}`);
            }
          }
        }
      }
    }
  });
  test('float32 and float64 inputs give the same median on finite values (signed zeros, subnormals, ties, extremes)', () => {
    const rng = Rng.derive(7, 'extremes-median');
    const F32_MAX = 3.4028234663852886e38;
    const special = [0, -0, 1e-45, -1e-45, 1.1754942e-38, F32_MAX, -F32_MAX, 1, -1, 2];
    for (let n = 1; n <= 45; n++) {
      const x32 = Array.from({ length: n }, () => {
        const x = new Float32Array(600);
        for (let k = 0; k < x.length; k++) {
          const r = rng.float();
          x[k] =
            r < 0.4
              ? special[Math.floor(rng.float() * special.length)]
              : r < 0.7
                ? rng.normal()
                : rng.normal() * 1e30;
        }
        return x;
      });
      const x64 = x32.map((x) => Float64Array.from(x));
      const pairs = [[coordinateMedian(x32), coordinateMedian(x64)]];
      // Trimmed mean sums in rank order on both paths up to SELECT_ABOVE (trimmed-mean.ts).
      if (n <= SELECT_ABOVE) pairs.push([trimmedMean(x32, (n - 1) >> 2), trimmedMean(x64, (n - 1) >> 2)]);
      for (const [a, b] of pairs) {
        for (let k = 0; k < a.length; k++) {
          assert.ok(
            Object.is(a[k], b[k]),
            `n = ${n}, coordinate ${k}: ${a[k]} (float32) vs ${b[k]} (float64)`,
          );
        }
      }
    }
  });
});

describe('draco aggregate at the extremes', () => {
  function draco(...args: string[]) {
    const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }
  test('a NaN or an infinity in the input: exit 2, one line naming the file and the first bad row, no output', () => {
    const cases: [string, Float32Array | Float64Array, string][] = [
      [
        'nan64.npy',
        Float64Array.from([1, 2, 3, NaN, Infinity, 0]),
        'row 1 (0-based) is not finite: NaN at column 1',
      ],
      [
        'inf32.npy',
        Float32Array.from([1, 2, 3, 4, 5, -Infinity]),
        'row 2 (0-based) is not finite: -Infinity at column 1',
      ],
    ];
    for (const [name, data, why] of cases) {
      const file = join(tmp, name);
      const out = join(tmp, `out-${name}`);
      writeNpy(file, data, [3, 2]);
      for (const rule of ['median', 'geomedian', 'mean']) {
        const r = draco('aggregate', '--rule', rule, file, '--out', out);
        assert.equal(r.code, 2, `${rule} ${name}: ${r.stderr}`);
        const lines = r.stderr.trim().split('\n');
        assert.equal(lines.length, 1, r.stderr);
        assert.ok(lines[0].includes(`${file}: ${why}`), lines[0]);
        assert.ok(!existsSync(out));
      }
    }
  });
  test('the float64 row at 1e160: the honest-scale median, converged', () => {
    const file = join(tmp, 'far.npy');
    const out = join(tmp, 'far-out.npy');
    writeNpy(file, Float64Array.from([1e160, 1e160, 0, 0, 1, 1, 0, 1, 1, 0]), [5, 2]);
    const r = draco('aggregate', '--rule', 'geomedian', '--f', '1', file, '--out', out);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\(converged\); restarted from a majority's mean at iteration 25/);
    const z = readNpy(out).data;
    assert.ok(relErr(z, [T_STAR, T_STAR]) < 1e-5, `${Array.from(z)}`);
  });
});
