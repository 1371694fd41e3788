/** Model zoo, registry and the flat-vector adapter. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../../src/core/errors.js';
import { currentBackend, initBackend } from '../../src/models/backend.js';
import { getModelDef, listModels } from '../../src/models/registry.js';
import { bitEqual, makeBatch, relErr } from './helpers.js';

const MNIST = [28, 28, 1];

test('registry lists the zoo and rejects unknown names with a UsageError', () => {
  assert.deepEqual(listModels(), ['mlp', 'fc', 'lenet', 'cnn', 'resnet8', 'resnet20']);
  assert.equal(getModelDef('lenet').name, 'lenet');
  assert.throws(
    () => getModelDef('resnet9000'),
    (e: unknown) => e instanceof UsageError && /unknown model 'resnet9000'.*mlp, fc, lenet/.test(e.message),
  );
});

test('initBackend switches backends and is idempotent', async () => {
  await initBackend('cpu');
  assert.equal(currentBackend(), 'cpu');
  await initBackend('wasm');
  await initBackend('wasm');
  assert.equal(currentBackend(), 'wasm');
  assert.ok(tf.getKernel('Conv2DBackpropFilter', 'wasm') != null);
});

test('parameter counts', async () => {
  await initBackend('wasm');
  const cases: [string, number[], number, number][] = [
    ['mlp', MNIST, 10, 784 * 100 + 100 + 100 * 10 + 10], // 79,510
    ['fc', MNIST, 10, 784 * 800 + 800 + 800 * 500 + 500 + 500 * 10 + 10], // 1,033,510
    ['lenet', MNIST, 10, 156 + 2416 + (400 * 120 + 120) + (120 * 84 + 84) + (84 * 10 + 10)], // 61,706
    ['lenet', [32, 32, 3], 10, 456 + 2416 + (576 * 120 + 120) + (120 * 84 + 84) + (84 * 10 + 10)], // CIFAR
  ];
  for (const [name, shape, classes, expected] of cases) {
    const m = getModelDef(name).create(shape, classes, 1);
    assert.equal(m.numParams, expected, `${name} on [${shape}]`);
    assert.equal(m.getParams().length, expected);
    assert.equal(m.name, name);
    m.dispose();
  }
  assert.equal(79510, 784 * 100 + 100 + 100 * 10 + 10);
});

test('lenet rejects inputs too small for its convs and pools', async () => {
  await initBackend('wasm');
  assert.throws(() => getModelDef('lenet').create([10, 10, 1], 10, 0), UsageError);
  assert.throws(() => getModelDef('mlp').create([0, 3], 10, 0), UsageError);
  assert.throws(() => getModelDef('mlp').create([4], 1, 0), UsageError);
  const m = getModelDef('lenet').create([12, 12, 1], 10, 0); // smallest that works
  assert.equal(m.gradient(makeBatch(2, [12, 12, 1], 10, 0)).grad.length, m.numParams);
  m.dispose();
});

test('same seed gives the same initial parameters, on either backend; another seed differs', async () => {
  await initBackend('wasm');
  const a = getModelDef('lenet').create(MNIST, 10, 7);
  const pa = a.getParams();
  await initBackend('cpu');
  const b = getModelDef('lenet').create(MNIST, 10, 7);
  const pb = b.getParams();
  const c = getModelDef('lenet').create(MNIST, 10, 8);
  assert.ok(bitEqual(pa, pb));
  assert.ok(!bitEqual(pa, c.getParams()));
  b.dispose();
  c.dispose();
  await initBackend('wasm');
  a.dispose();
});

test('initial weights are He/Glorot uniform and biases zero', async () => {
  await initBackend('wasm');
  const m = getModelDef('mlp').create(MNIST, 10, 3);
  const p = m.getParams();
  const w1 = p.subarray(0, 78400);
  const b1 = p.subarray(78400, 78500);
  const w2 = p.subarray(78500, 79500);
  const b2 = p.subarray(79500);
  const lim1 = Math.sqrt(6 / 784);
  const lim2 = Math.sqrt(6 / 110);
  assert.ok(b1.every((v) => v === 0) && b2.every((v) => v === 0));
  assert.ok(w1.every((v) => Math.abs(v) <= lim1) && w2.every((v) => Math.abs(v) <= lim2));
  // Uniform on [-l, l] has variance l^2 / 3; 78,400 draws pin it to about 1%.
  const var1 = w1.reduce((s, v) => s + v * v, 0) / w1.length;
  assert.ok(Math.abs(var1 / ((lim1 * lim1) / 3) - 1) < 0.03, `variance ratio ${var1 / ((lim1 * lim1) / 3)}`);
  assert.ok(Math.max(...w1) > 0.99 * lim1 && Math.min(...w1) < -0.99 * lim1);
  m.dispose();
});

for (const backend of ['wasm', 'cpu'] as const) {
  test(`getParams/setParams round trip and copy semantics (${backend})`, async () => {
    await initBackend(backend);
    const m = getModelDef('lenet').create(MNIST, 10, 1);
    const p = new Float32Array(m.numParams);
    for (let i = 0; i < p.length; i++) p[i] = Math.sin(i) * 0.1;
    m.setParams(p);
    const back = m.getParams();
    assert.ok(bitEqual(back, p));
    // Neither the array handed in nor the one handed out is shared with the model.
    p[0] = 42;
    back[1] = 43;
    const again = m.getParams();
    assert.notEqual(again[0], 42);
    assert.notEqual(again[1], 43);
    assert.equal(again[0], 0);
    assert.throws(() => m.setParams(new Float32Array(m.numParams - 1)), /length 61706, got length 61705/);
    assert.throws(() => m.setParams(new Float32Array(m.numParams + 1)), /length 61706/);
    assert.throws(
      () => m.setParams(new Float64Array(m.numParams) as unknown as Float32Array),
      /non-Float32Array/,
    );
    assert.ok(bitEqual(m.getParams(), again), 'a rejected setParams leaves the parameters alone');
    m.dispose();
    assert.throws(() => m.getParams(), /disposed/);
  });
}

for (const name of ['lenet', 'mlp']) {
  test(`${name}: gradient is bit-identical across calls, models and a setParams round trip (wasm)`, async () => {
    await initBackend('wasm');
    const batch = makeBatch(16, MNIST, 10, 5);
    const a = getModelDef(name).create(MNIST, 10, 11);
    const g1 = a.gradient(batch);
    const g2 = a.gradient(batch);
    assert.ok(bitEqual(g1.grad, g2.grad));
    assert.equal(g1.lossSum, g2.lossSum);
    assert.notEqual(g1.grad, g2.grad, 'each call returns a fresh array');
    const b = getModelDef(name).create(MNIST, 10, 99);
    b.setParams(a.getParams());
    const g3 = b.gradient(batch);
    assert.ok(bitEqual(g1.grad, g3.grad));
    assert.equal(g1.lossSum, g3.lossSum);
    assert.ok(g1.grad.some((v) => v !== 0) && g1.grad.every(Number.isFinite));
    // Initial loss of 10 classes is near ln 10 per sample.
    assert.ok(Math.abs(g1.lossSum / 16 - Math.log(10)) < 1.5, `loss ${g1.lossSum / 16}`);
    a.dispose();
    b.dispose();
  });

  test(`${name}: gradient on wasm agrees with cpu (max |wasm-cpu| / max |cpu| < 1e-5)`, async () => {
    const batch = makeBatch(32, MNIST, 10, 6);
    await initBackend('cpu');
    const c = getModelDef(name).create(MNIST, 10, 12);
    const gc = c.gradient(batch);
    c.dispose();
    await initBackend('wasm');
    const w = getModelDef(name).create(MNIST, 10, 12);
    const gw = w.gradient(batch);
    w.dispose();
    const e = relErr(gw.grad, gc.grad);
    assert.ok(e < 1e-5, `relative error ${e}`);
    assert.ok(Math.abs(gw.lossSum - gc.lossSum) / Math.abs(gc.lossSum) < 1e-6);
  });
}

test('the loss is a SUM: gradient of a union of batches = sum of their gradients (lenet, wasm)', async () => {
  await initBackend('wasm');
  const m = getModelDef('lenet').create(MNIST, 10, 2);
  const all = makeBatch(24, MNIST, 10, 9);
  const per = 28 * 28;
  const part = (from: number, to: number) => ({
    n: to - from,
    x: all.x.slice(from * per, to * per),
    y: all.y.slice(from, to),
  });
  const g = m.gradient(all);
  const ga = m.gradient(part(0, 10));
  const gb = m.gradient(part(10, 24));
  const sum = ga.grad.map((v, i) => v + gb.grad[i]);
  assert.ok(relErr(sum, g.grad) < 1e-5, `relative error ${relErr(sum, g.grad)}`);
  assert.ok(Math.abs(ga.lossSum + gb.lossSum - g.lossSum) < 1e-5 * g.lossSum);
  const empty = m.gradient({ n: 0, x: new Float32Array(0), y: new Int32Array(0) });
  assert.equal(empty.lossSum, 0);
  assert.ok(empty.grad.length === m.numParams && empty.grad.every((v) => v === 0));
  m.dispose();
});

test('gradient and evaluate reject malformed batches', async () => {
  await initBackend('wasm');
  const m = getModelDef('mlp').create(MNIST, 10, 0);
  const b = makeBatch(3, MNIST, 10, 0);
  assert.throws(() => m.gradient({ ...b, n: 4 }), /batch.x has 2352 values, expected 4/);
  assert.throws(() => m.gradient({ ...b, y: new Int32Array([1, 2]) }), /2 labels, expected 3/);
  assert.throws(
    () => m.gradient({ ...b, y: new Int32Array([1, 10, 2]) }),
    /label 10 at 1 is outside \[0, 10\)/,
  );
  assert.throws(() => m.evaluate({ ...b, y: new Int32Array([1, -1, 2]) }), /label -1/);
  assert.throws(() => m.evaluate({ n: 0, x: new Float32Array(0), y: new Int32Array(0) }), /empty/);
  m.dispose();
});

test('evaluate chunks large batches and agrees with gradient()', async () => {
  await initBackend('wasm');
  const m = getModelDef('mlp').create(MNIST, 10, 4);
  const b = makeBatch(2345, MNIST, 10, 4); // three chunks of at most 1000
  const ev = m.evaluate(b);
  const g = m.gradient(b);
  assert.equal(ev.n, 2345);
  assert.ok(Math.abs(ev.loss - g.lossSum / 2345) < 1e-5 * ev.loss, `${ev.loss} vs ${g.lossSum / 2345}`);
  assert.ok(ev.accuracy >= 0 && ev.accuracy <= 1);
  // Accuracy by hand: make the model always predict class 3 (output bias only).
  const p = new Float32Array(m.numParams);
  p[m.numParams - 10 + 3] = 1;
  m.setParams(p);
  const expected = Array.from(b.y).filter((l) => l === 3).length / b.n;
  const ev2 = m.evaluate(b);
  assert.equal(ev2.accuracy, expected);
  // All logits equal but one: loss is -log softmax exactly.
  const l3 = -Math.log(Math.E / (Math.E + 9));
  const lo = -Math.log(1 / (Math.E + 9));
  const mean = (expected * b.n * l3 + (1 - expected) * b.n * lo) / b.n;
  assert.ok(Math.abs(ev2.loss - mean) < 1e-5 * mean, `${ev2.loss} vs ${mean}`);
  m.dispose();
});

for (const backend of ['wasm', 'cpu'] as const) {
  test(`no tensor leaks across create/gradient/evaluate/setParams/dispose (${backend})`, async () => {
    await initBackend(backend);
    const before = tf.memory().numTensors;
    const idsBefore = tf.engine().backend.numDataIds();
    // Small images keep the slow cpu backend quick; 1500 samples still take two evaluate chunks.
    const shape = [12, 12, 1];
    const m = getModelDef('lenet').create(shape, 10, 0);
    const b = makeBatch(8, shape, 10, 0);
    const b2 = makeBatch(1500, shape, 10, 1);
    m.gradient(b);
    m.evaluate(b2);
    const mid = tf.memory().numTensors;
    const idsMid = tf.engine().backend.numDataIds();
    for (let i = 0; i < 3; i++) {
      m.setParams(m.getParams());
      m.gradient(b);
      m.evaluate(b2);
    }
    assert.equal(tf.memory().numTensors, mid);
    assert.equal(tf.engine().backend.numDataIds(), idsMid);
    assert.equal(mid - before, 10, 'one tensor per parameter tensor');
    m.dispose();
    assert.equal(tf.memory().numTensors, before);
    assert.equal(tf.engine().backend.numDataIds(), idsBefore);
  });
}
