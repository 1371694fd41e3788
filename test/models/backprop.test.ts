/**
 * The hand-written backprop of `sequential` networks (src/models/layers.ts, adapter.ts) against
 * tfjs's own autodiff of the same network written with stock ops (conv2d, relu, maxPool, matMul,
 * logSoftmax), on the same parameters and batch.
 *
 * Bound: max |ours - autodiff| / max |autodiff| < 1e-5 per parameter tensor, on either backend
 * (float32 sums of at most a few thousand terms in a different order: a few 1e-7; a wrong
 * routing or a missing ReLU mask is O(1)). The loss sums agree to 1e-6 relative (ours is
 * summed in float64).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { createModel, softmaxCrossEntropy } from '../../src/models/adapter.js';
import { initBackend } from '../../src/models/backend.js';
import { conv2d, dense, flatten, maxPool, sequential, type LayerFactory } from '../../src/models/layers.js';
import { makeBatch, randomArray, relErr } from './helpers.js';

const BOUND = 1e-5;

type Spec =
  | { kind: 'conv'; filters: number; k: number; pad: 'same' | 'valid'; relu: boolean }
  | { kind: 'pool'; size: number }
  | { kind: 'flatten' }
  | { kind: 'dense'; units: number; relu: boolean };

function factory(s: Spec): LayerFactory {
  switch (s.kind) {
    case 'conv':
      return conv2d(s.filters, s.k, s.pad, s.relu ? 'relu' : 'linear');
    case 'pool':
      return maxPool(s.size);
    case 'flatten':
      return flatten();
    case 'dense':
      return dense(s.units, s.relu ? 'relu' : 'linear');
  }
}

/** The same network with stock tfjs ops, parameters in the same order. */
function reference(specs: Spec[], x: tf.Tensor, p: tf.Tensor[]): tf.Tensor {
  let h = x;
  let i = 0;
  for (const s of specs) {
    if (s.kind === 'conv') {
      h = tf.add(tf.conv2d(h as tf.Tensor4D, p[i] as tf.Tensor4D, 1, s.pad), p[i + 1]);
      if (s.relu) h = tf.relu(h);
      i += 2;
    } else if (s.kind === 'dense') {
      h = tf.add(tf.matMul(h as tf.Tensor2D, p[i] as tf.Tensor2D), p[i + 1]);
      if (s.relu) h = tf.relu(h);
      i += 2;
    } else if (s.kind === 'pool') h = tf.maxPool(h as tf.Tensor4D, s.size, s.size, 'valid');
    else h = tf.reshape(h, [h.shape[0], -1]);
  }
  return h;
}

const NETS: { name: string; input: number[]; specs: Spec[] }[] = [
  {
    // LeNet's layout: both conv + ReLU + pool pairs are fused; 13x13 leaves a row unpooled.
    name: 'conv-pool x2 (fused), odd sizes',
    input: [13, 13, 2],
    specs: [
      { kind: 'conv', filters: 4, k: 3, pad: 'same', relu: true },
      { kind: 'pool', size: 2 },
      { kind: 'conv', filters: 5, k: 3, pad: 'valid', relu: true },
      { kind: 'pool', size: 2 },
      { kind: 'flatten' },
      { kind: 'dense', units: 7, relu: true },
      { kind: 'dense', units: 3, relu: false },
    ],
  },
  {
    // Unfused paths: a linear conv before a pool, a ReLU conv before a conv, a 3x3 pool.
    name: 'linear conv + pool, conv + conv, 3x3 pool',
    input: [10, 10, 1],
    specs: [
      { kind: 'conv', filters: 3, k: 3, pad: 'same', relu: false },
      { kind: 'pool', size: 2 },
      { kind: 'conv', filters: 4, k: 2, pad: 'valid', relu: true },
      { kind: 'conv', filters: 4, k: 1, pad: 'valid', relu: true },
      { kind: 'pool', size: 3 },
      { kind: 'flatten' },
      { kind: 'dense', units: 4, relu: false },
    ],
  },
  {
    // Parameter-free layers before the first parameter: their input gradient is never needed.
    name: 'pool and flatten first, dense chain',
    input: [6, 6, 3],
    specs: [
      { kind: 'pool', size: 2 },
      { kind: 'flatten' },
      { kind: 'dense', units: 9, relu: true },
      { kind: 'dense', units: 8, relu: true },
      { kind: 'dense', units: 5, relu: false },
    ],
  },
];

for (const [net, backend] of NETS.flatMap((n) => [[n, 'cpu'] as const, [n, 'wasm'] as const])) {
  test(`backprop = tfjs autodiff: ${net.name} (${backend})`, async () => {
    await initBackend(backend);
    const classes = (net.specs.at(-1) as { units: number }).units;
    const built = sequential(
      net.input,
      classes,
      net.specs.map((s) => ({ kind: s.kind, make: factory(s) })),
    );
    const model = createModel('t', built, 3);
    // Off the init (biases 0): random parameters of scale 0.5 so ReLUs and pools see both signs.
    model.setParams(randomArray(model.numParams, 4, net.name).map((v) => 0.5 * v));
    const batch = makeBatch(5, net.input, classes, 4);
    const ours = model.gradient(batch);
    const params = model.getParams();
    model.dispose();

    const ref = tf.tidy(() => {
      let off = 0;
      const p = built.params.map((s) => {
        const size = s.shape.reduce((a, b) => a * b, 1);
        off += size;
        return tf.tensor(params.slice(off - size, off), s.shape);
      });
      const x = tf.tensor(batch.x, [batch.n, ...net.input]);
      const y = tf.oneHot(tf.tensor1d(batch.y, 'int32'), classes);
      const f = (...ps: tf.Tensor[]) => tf.neg(tf.sum(tf.mul(y, tf.logSoftmax(reference(net.specs, x, ps)))));
      const { value, grads } = tf.valueAndGrads(f)(p);
      return { loss: value.dataSync()[0], grads: grads.map((g) => (g.dataSync() as Float32Array).slice()) };
    });
    let off = 0;
    built.params.forEach((s, i) => {
      const got = ours.grad.subarray(off, off + ref.grads[i].length);
      off += ref.grads[i].length;
      const e = relErr(got, ref.grads[i]);
      assert.ok(e < BOUND, `${s.name}: relative error ${e}`);
    });
    assert.equal(off, ours.grad.length);
    assert.ok(Math.abs(ours.lossSum - ref.loss) < 1e-6 * ref.loss, `loss ${ours.lossSum} vs ${ref.loss}`);
  });
}

test('softmaxCrossEntropy: sum of -log softmax[label] and its gradient softmax - onehot', () => {
  // Row 0: equal logits; row 1: one large logit (the max is subtracted, so no overflow).
  const z = [0, 0, 0, 1000, 0, -1000];
  const grad = new Float32Array(6);
  const loss = softmaxCrossEntropy(z, [2, 1], 2, 3, grad);
  assert.ok(Math.abs(loss - (Math.log(3) + 1000)) < 1e-9, `loss ${loss}`);
  const third = Math.fround(1 / 3);
  assert.deepEqual([...grad], [third, third, Math.fround(1 / 3 - 1), 1, -1, 0]);
  assert.equal(softmaxCrossEntropy(z, [0, 0], 2, 3), Math.log(3));
});
