import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../../src/core/errors.js';
import { makeSynthetic, syntheticMeans } from '../../src/data/synthetic.js';
import type { Split } from '../../src/data/types.js';

test('synthetic: defaults have the documented sizes and balanced labels', () => {
  const ds = makeSynthetic();
  assert.equal(ds.name, 'synthetic');
  assert.deepEqual(ds.inputShape, [32]);
  assert.equal(ds.numClasses, 4);
  assert.equal(ds.train.n, 2048);
  assert.equal(ds.test.n, 512);
  assert.ok(ds.train.x instanceof Float32Array);
  assert.equal(ds.train.x.length, 2048 * 32);
  const counts = [0, 0, 0, 0];
  for (const c of ds.train.y) counts[c]++;
  assert.deepEqual(counts, [512, 512, 512, 512]);
  // Labels are shuffled, not round robin.
  assert.notDeepEqual(Array.from(ds.train.y.subarray(0, 8)), [0, 1, 2, 3, 0, 1, 2, 3]);
});

test('synthetic: same seed gives identical data, another seed different data', () => {
  const a = makeSynthetic({ seed: 7 });
  const b = makeSynthetic({ seed: 7 });
  const c = makeSynthetic({ seed: 8 });
  assert.deepEqual(a.train.x, b.train.x);
  assert.deepEqual(a.train.y, b.train.y);
  assert.deepEqual(a.test.x, b.test.x);
  assert.notDeepEqual(a.train.x, c.train.x);
  assert.notDeepEqual(syntheticMeans({ seed: 7 }), syntheticMeans({ seed: 8 }));
  // Train and test are different draws.
  assert.notDeepEqual(a.train.x.subarray(0, 32), a.test.x.subarray(0, 32));
  // An explicit undefined option takes the default.
  assert.deepEqual(
    makeSynthetic({ seed: undefined, dim: undefined }).train.x,
    makeSynthetic({ seed: 0 }).train.x,
  );
});

/** Accuracy of assigning each sample to the nearest true class mean. */
function nearestMeanAccuracy(split: Split, means: Float32Array, dim: number, classes: number): number {
  let ok = 0;
  for (let i = 0; i < split.n; i++) {
    let best = -1;
    let bestD = Infinity;
    for (let c = 0; c < classes; c++) {
      let d = 0;
      for (let k = 0; k < dim; k++) d += (split.x[i * dim + k] - means[c * dim + k]) ** 2;
      if (d < bestD) {
        bestD = d;
        best = c;
      }
    }
    if (best === split.y[i]) ok++;
  }
  return ok / split.n;
}

test('synthetic: clusters are separable (nearest mean > 97%) and noise is unit scale', () => {
  const ds = makeSynthetic({ seed: 3 });
  const means = syntheticMeans({ seed: 3 });
  const acc = nearestMeanAccuracy(ds.test, means, 32, 4);
  assert.ok(acc > 0.97, `nearest-mean accuracy ${acc}`);
  // Residual variance around the class mean is ~1.
  let ss = 0;
  for (let i = 0; i < ds.train.n; i++)
    for (let k = 0; k < 32; k++) ss += (ds.train.x[i * 32 + k] - means[ds.train.y[i] * 32 + k]) ** 2;
  const v = ss / (ds.train.n * 32);
  assert.ok(Math.abs(v - 1) < 0.05, `noise variance ${v}`);
});

test('synthetic: options override sizes; bad options are UsageErrors', () => {
  const ds = makeSynthetic({ dim: 5, numClasses: 3, trainSize: 30, testSize: 9, seed: 1 });
  assert.deepEqual(ds.inputShape, [5]);
  assert.equal(ds.numClasses, 3);
  assert.equal(ds.train.x.length, 150);
  assert.equal(ds.test.n, 9);
  assert.ok(Math.max(...ds.train.y) === 2);
  assert.throws(
    () => makeSynthetic({ dim: 0 }),
    (e: unknown) => e instanceof UsageError && /dim must be a positive integer, got 0/.test(e.message),
  );
  assert.throws(() => makeSynthetic({ numClasses: 300 }), /numClasses must be <= 256/);
  assert.throws(() => makeSynthetic({ noise: -1 }), /noise must be a finite number >= 0/);
});
