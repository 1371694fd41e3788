/** benchStep / profileStep return well-formed measurements. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../../src/core/errors.js';
import { initBackend } from '../../src/models/backend.js';
import { benchStep, profileStep, randomBatch } from '../../src/bench/step.js';

test('benchStep times gradient() and cleans up', async () => {
  await initBackend('wasm');
  const before = tf.memory().numTensors;
  const r = await benchStep({ model: 'mlp', batch: 8, runs: 5, warmup: 1 });
  assert.equal(r.model, 'mlp');
  assert.equal(r.batch, 8);
  assert.equal(r.backend, 'wasm');
  assert.equal(r.numParams, 79510);
  assert.equal(r.runs, 5);
  assert.ok(r.minMs > 0 && r.minMs <= r.medianMs && r.medianMs < 10_000, JSON.stringify(r));
  assert.equal(tf.memory().numTensors, before);
  const c = await benchStep({
    model: 'lenet',
    batch: 2,
    runs: 1,
    warmup: 0,
    inputShape: [32, 32, 3],
    numClasses: 5,
  });
  assert.equal(c.numParams, 456 + 2416 + (576 * 120 + 120) + (120 * 84 + 84) + (84 * 5 + 5));
  await assert.rejects(benchStep({ model: 'nope', batch: 8 }), UsageError);
});

test('profileStep reports per-kernel times including our Conv2DBackpropFilter', async () => {
  const p = await profileStep({ model: 'lenet', batch: 4, warmup: 1 });
  assert.equal(p.backend, 'wasm');
  const names = p.kernels.map((k) => k.kernelName);
  const bpf = p.kernels.find((k) => k.kernelName === 'Conv2DBackpropFilter');
  assert.equal(bpf?.calls, 2, `kernels: ${names}`);
  // The conv layers run their forward as one FusedConv2D kernel (src/models/layers.ts).
  assert.ok(names.includes('FusedConv2D') && names.includes('DracoReluMaxPoolGrad'));
  assert.ok(p.kernels.every((k) => k.totalMs >= 0));
  for (let i = 1; i < p.kernels.length; i++) assert.ok(p.kernels[i - 1].totalMs >= p.kernels[i].totalMs);
});

test('randomBatch is seeded', () => {
  const a = randomBatch(3, [2, 2, 1], 10, 1);
  const b = randomBatch(3, [2, 2, 1], 10, 1);
  assert.deepEqual(a, b);
  assert.equal(a.x.length, 12);
  assert.ok(a.x.every((v) => v >= 0 && v < 1) && a.y.every((v) => v >= 0 && v < 10));
  assert.notDeepEqual(randomBatch(3, [2, 2, 1], 10, 2).x, a.x);
});
