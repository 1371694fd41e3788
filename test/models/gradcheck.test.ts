/**
 * Gradient correctness: tfjs's float32 gradient of a tiny mlp (4 inputs, 100 hidden, 3 classes)
 * against central finite differences of a float64 re-implementation of the same network.
 *
 * In float64 with step h = 1e-6 the finite difference is accurate to ~1e-8 relative (O(h^2)
 * truncation, ~1e-10 rounding), far below float32's ~1e-7, so the tolerance is set by float32:
 * |g - fd| <= 1e-4 * (|fd| + 0.01 * max|fd|). A ReLU kink inside [-h, h] would break the
 * difference, so the test asserts every hidden pre-activation is far from 0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../../src/models/backend.js';
import { getModelDef } from '../../src/models/registry.js';
import { makeBatch, randomArray } from './helpers.js';
import type { Batch } from '../../src/data/types.js';

const IN = 4;
const HID = 100;
const OUT = 3;
const N = 6;

/** Float64 loss sum of the mlp with flat params [W1 (IN x HID), b1, W2 (HID x OUT), b2]. */
function loss64(p: Float64Array, b: Batch, minPre?: { v: number }): number {
  const w1 = 0;
  const b1 = IN * HID;
  const w2 = b1 + HID;
  const b2 = w2 + HID * OUT;
  let total = 0;
  for (let n = 0; n < b.n; n++) {
    const h = new Float64Array(HID);
    for (let j = 0; j < HID; j++) {
      let s = p[b1 + j];
      for (let i = 0; i < IN; i++) s += b.x[n * IN + i] * p[w1 + i * HID + j];
      if (minPre) minPre.v = Math.min(minPre.v, Math.abs(s));
      h[j] = Math.max(s, 0);
    }
    const z = new Float64Array(OUT);
    for (let k = 0; k < OUT; k++) {
      let s = p[b2 + k];
      for (let j = 0; j < HID; j++) s += h[j] * p[w2 + j * OUT + k];
      z[k] = s;
    }
    const m = Math.max(...z);
    const lse = m + Math.log(z.reduce((a, v) => a + Math.exp(v - m), 0));
    total += lse - z[b.y[n]];
  }
  return total;
}

for (const backend of ['wasm', 'cpu'] as const) {
  test(`mlp gradient matches float64 finite differences (${backend})`, async () => {
    await initBackend(backend);
    const model = getModelDef('mlp').create([IN], OUT, 0);
    assert.equal(model.numParams, IN * HID + HID + HID * OUT + OUT);
    const params = randomArray(model.numParams, 21, 'params').map((v) => v * 0.5);
    model.setParams(params);
    const batch = makeBatch(N, [IN], OUT, 21);
    const { grad, lossSum } = model.gradient(batch);
    model.dispose();

    const p64 = Float64Array.from(params);
    const minPre = { v: Infinity };
    const l64 = loss64(p64, batch, minPre);
    const h = 1e-6;
    assert.ok(minPre.v > 100 * h, `a ReLU input is within ${minPre.v} of its kink`);
    assert.ok(Math.abs(lossSum - l64) < 1e-6 * l64, `lossSum ${lossSum} vs float64 ${l64}`);

    // A spread of coordinates in each of the four tensors (first, last and interior).
    const b1 = IN * HID;
    const w2 = b1 + HID;
    const b2 = w2 + HID * OUT;
    const coords = [
      0,
      1,
      57,
      123,
      399,
      b1,
      b1 + 7,
      b1 + 99,
      w2,
      w2 + 50,
      w2 + 151,
      b2 - 1,
      b2,
      b2 + 1,
      b2 + 2,
    ];
    const fd = coords.map((c) => {
      const plus = Float64Array.from(p64);
      const minus = Float64Array.from(p64);
      plus[c] += h;
      minus[c] -= h;
      return (loss64(plus, batch) - loss64(minus, batch)) / (2 * h);
    });
    const scale = Math.max(...fd.map(Math.abs));
    assert.ok(scale > 0.1, 'gradient not trivially small');
    let nonzero = 0;
    coords.forEach((c, k) => {
      const err = Math.abs(grad[c] - fd[k]);
      assert.ok(err <= 1e-4 * (Math.abs(fd[k]) + 0.01 * scale), `coord ${c}: tfjs ${grad[c]} vs fd ${fd[k]}`);
      if (Math.abs(fd[k]) > 1e-3 * scale) nonzero++;
    });
    assert.ok(nonzero >= 10, `only ${nonzero} coordinates with a non-negligible gradient`);
  });
}
