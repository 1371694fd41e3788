/**
 * Where the decode error of the MDS schemes comes from (docs/schemes.md "Cyclic code" step 6,
 * "Solon"), stage by stage against a 256-bit reference (exact-ref.ts): the coefficients are
 * correctly rounded, the messages are the exact ones rounded about once, and the decoder adds
 * (almost) nothing to the messages' own rounding, which is the intrinsic limit of float64
 * messages: it is amplified by the code's large coefficients (1e5 at n = 45, 1e9 for Solon at
 * n = 45, m = 12), reported as MdsDecodeInfo.amplification.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Rng } from '../../src/core/rng.js';
import { createMdsCode, mdsDecode, mdsEncode, type MdsDecodeInfo } from '../../src/schemes/mds/index.js';
import { adjacent, relErr } from './cyclic-helpers.js';
import { combineExact, exactCoef, exactMessages, exactRecovery, fromPlanar, fx, toF } from './exact-ref.js';

const CASES: [number, number, number, number, string][] = [
  // n, s, m, erasures, what it stresses (s - erasures / 2 adjacent errors after the erasures)
  [45, 8, 1, 0, 'cyclic n = 45, adjacent: cond(C1[H]) 5e3, coefficients 3e5'],
  [31, 5, 8, 0, 'solon n = 31, m = 8: coefficients 6e5 from the series inverse'],
  [15, 2, 3, 0, 'solon n = 15, m = 3: well conditioned'],
  [45, 10, 1, 20, 'cyclic n = 45, 20 adjacent erasures: |v| = 6e4, the limit is ~1e-7 (intrinsic)'],
];

describe('precision, stage by stage against a 256-bit reference', () => {
  for (const [n, s, m, e, what] of CASES) {
    test(what, () => {
      const d = 2 * m * 6 - 1; // L = 6, last block padded
      const r = 2 * s + m;
      const code = createMdsCode({ n, s, d, r, m, dtype: 'float64' }, 'solon');
      const ex = exactCoef(n, s, r, m);
      // 1. Coefficients: correctly rounded, up to 2^-90 of the largest (a part that is exactly
      // zero comes out as ~1e-30 |c|max from the double-double computation).
      let cmax = 0;
      for (const [re, im] of ex) cmax = Math.max(cmax, Math.hypot(toF(re), toF(im)));
      ex.forEach(([re, im], i) => {
        for (const [got, want] of [
          [code.coef[2 * i], toF(re)],
          [code.coef[2 * i + 1], toF(im)],
        ]) {
          const tol = Math.abs(want) * 2 ** -52 + cmax * 2 ** -90;
          assert.ok(Math.abs(got - want) <= tol, `coef ${i}: ${got} vs ${want}`);
        }
      });
      // 2. Messages: the exact messages of the float32 gradients, rounded about once.
      const rng = Rng.derive(31, n, s, m);
      const grads = Array.from({ length: n }, () => {
        const g = new Float32Array(d);
        rng.fillNormal(g);
        return g;
      });
      const sum = new Float64Array(d);
      for (const g of grads) for (let i = 0; i < d; i++) sum[i] += g[i];
      const msgs = Array.from(
        { length: n },
        (_, i) => mdsEncode(code, i, (p) => grads[p[0]]) as Float64Array,
      );
      const yex = exactMessages(n, r, m, code.L, ex, grads);
      let worstUlps = 0;
      msgs.forEach((y, i) => {
        yex[i].forEach(([re, im], t) => {
          for (const [got, want] of [
            [y[t], toF(re)],
            [y[code.L + t], toF(im)],
          ]) {
            if (want !== 0)
              worstUlps = Math.max(worstUlps, Math.abs(got - want) / (Math.abs(want) * 2 ** -52));
          }
        });
      });
      assert.ok(worstUlps <= 1, `messages within 1 ulp of the correctly rounded ones (worst ${worstUlps})`);
      // 3. Decode with s adjacent adversaries: the error is that of the exact decode of the same
      // float64 messages (the intrinsic limit), up to a small factor.
      const block = adjacent(n, n - 3, e + s - e / 2).sort((a, b) => ((a + 3) % n) - ((b + 3) % n));
      const erased = block.slice(0, e);
      const byz = block.slice(e).sort((a, b) => a - b);
      const sent = msgs.map((y, j) =>
        erased.includes(j) ? null : byz.includes(j) ? y.map((x) => -100 * x) : y,
      );
      let info: MdsDecodeInfo | undefined;
      const res = mdsDecode(
        code,
        sent,
        { step: 0, partitionSizes: new Array<number>(n).fill(1), rng: Rng.derive(32, n) },
        (i) => (info = i),
      );
      assert.deepEqual(res.suspects, byz);
      const keep = Array.from({ length: n }, (_, j) => j).filter((j) => !block.includes(j));
      const exact = new Float64Array(d);
      for (let b = 0; b < m; b++) {
        const g = combineExact(
          exactRecovery(n, code.k, keep, b),
          keep.map((j) => fromPlanar(msgs[j], code.L)),
        );
        g.forEach(([re, im], t) => {
          const i0 = 2 * b * code.L + t;
          if (i0 < d) exact[i0] = toF(re);
          if (i0 + code.L < d) exact[i0 + code.L] = toF(im);
        });
      }
      const floor = relErr(exact, sum);
      const err = relErr(res.gradient, sum);
      assert.ok(err <= 3 * floor + 1e-15, `decode ${err} vs the messages' own rounding ${floor}`);
      if (e === 0) assert.ok(err <= 1e-9, `${err}`);
      // The reported amplification predicts the limit: eps/2 * A bounds it up to a small factor.
      assert.ok(floor <= 2 ** -53 * info!.amplification * 10, `floor ${floor}, A ${info!.amplification}`);
      // 4. float64x2 messages: high + low is the exact message to ~2^-75 of its largest value (the
      // coefficients' 82 bits, r m products). Where the float64 decode is amplified (accurate), the
      // low parts take it far below the float64 limit; elsewhere the decoder reads the high parts
      // only, which are the float64 messages: the same bits.
      const wideCode = createMdsCode({ n, s, d, r, m, dtype: 'float64x2' }, 'solon');
      const wide = Array.from(
        { length: n },
        (_, i) => mdsEncode(wideCode, i, (p) => grads[p[0]]) as Float64Array,
      );
      const L2 = 2 * code.L;
      wide.forEach((y, i) => {
        const exactY = yex[i].flatMap(([re, im]) => [re, im]);
        const big = Math.max(...exactY.map((x) => Math.abs(toF(x))));
        yex[i].forEach(([re, im], t) => {
          for (const [at, want] of [
            [t, re],
            [code.L + t, im],
          ] as const) {
            const miss = Math.abs(toF(fx(y[at]) + fx(y[L2 + at]) - want));
            assert.ok(miss <= 2 ** -72 * big, `worker ${i}, value ${at}: ${miss} vs ${big}`);
          }
        });
      });
      const wideRes = mdsDecode(
        wideCode,
        wide.map((y, j) => (erased.includes(j) ? null : byz.includes(j) ? y.map((x) => -100 * x) : y)),
        { step: 0, partitionSizes: new Array<number>(n).fill(1), rng: Rng.derive(32, n) },
      );
      assert.deepEqual(wideRes.suspects, byz);
      const wideErr = relErr(wideRes.gradient, sum);
      if (info!.accurate) {
        assert.ok(
          wideErr <= Math.max(1e-13, floor / 1e4),
          `float64x2 decode ${wideErr} (float64 limit ${floor})`,
        );
      } else assert.deepEqual(wideRes.gradient, res.gradient);
    });
  }
});
