/** The CIFAR-10 models (cnn, resnet8, resnet20): shapes, Fixup init, gradients, and that they train. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../src/core/errors.js';
import { initBackend } from '../../src/models/backend.js';
import { getModelDef } from '../../src/models/registry.js';
import { fixupResNet } from '../../src/models/resnet.js';
import type { TrainableModel } from '../../src/models/types.js';
import { bitEqual, makeBatch, randomArray, relErr } from './helpers.js';

const CIFAR = [32, 32, 3];

/** ResNet block parameter count: 4 scalar biases + 1 scalar multiplier + two 3x3 convs (+ 1x1 shortcut). */
const block = (cin: number, cout: number) =>
  5 + 9 * cin * cout + 9 * cout * cout + (cin !== cout ? cin * cout : 0);

test('CIFAR models build on [32, 32, 3] with the expected parameter counts', async () => {
  await initBackend('wasm');
  const stem = 9 * 3 * 16 + 1;
  const head = 64 * 10 + 10;
  const cases: [string, number][] = [
    ['cnn', 896 + 9248 + 18496 + 36928 + (4096 * 128 + 128) + (128 * 10 + 10)], // 591,274
    ['resnet8', stem + block(16, 16) + block(16, 32) + block(32, 64) + head], // 77,386
    [
      'resnet20',
      stem + 3 * block(16, 16) + block(16, 32) + 2 * block(32, 32) + block(32, 64) + 2 * block(64, 64) + head,
    ], // 270,952
  ];
  for (const [name, expected] of cases) {
    const m = getModelDef(name).create(CIFAR, 10, 1);
    assert.equal(m.numParams, expected, name);
    assert.equal(m.getParams().length, expected);
    m.dispose();
  }
  assert.equal(cases[1][1], 77386);
  assert.equal(cases[2][1], 270952);
});

test('resnet rejects bad depths and inputs', () => {
  assert.throws(() => fixupResNet(10, CIFAR, 10), /6n \+ 2/);
  assert.throws(() => fixupResNet(8, [3, 3, 3], 10), UsageError);
  assert.throws(() => fixupResNet(8, [32, 32], 10), UsageError);
  assert.throws(() => fixupResNet(8, CIFAR, 1), UsageError);
});

test('Fixup init: residual branches start as the identity, classifier at zero, first convs scaled', async () => {
  await initBackend('wasm');
  const net = fixupResNet(20, CIFAR, 10);
  const m = getModelDef('resnet20').create(CIFAR, 10, 3);
  const p = m.getParams();
  m.dispose();
  let off = 0;
  let checked = 0;
  for (const s of net.params) {
    const size = s.shape.reduce((a, b) => a * b, 1);
    const v = p.subarray(off, off + size);
    off += size;
    const maxAbs = v.reduce((a, x) => Math.max(a, Math.abs(x)), 0);
    if (/conv2$|^dense\/|bias/.test(s.name)) assert.equal(maxAbs, 0, `${s.name} starts at zero`);
    else if (/scale$/.test(s.name)) assert.deepEqual([...v], [1], `${s.name} starts at one`);
    else {
      // He uniform limit sqrt(6 / fanIn), times L^(-1/2) (L = 9 branches) on a branch's first conv.
      const limit = Math.sqrt(6 / s.fanIn) * (/conv1$/.test(s.name) ? 1 / 3 : 1);
      assert.ok(maxAbs <= limit && maxAbs > 0.8 * limit, `${s.name}: max ${maxAbs} vs limit ${limit}`);
    }
    checked++;
  }
  assert.equal(off, p.length);
  assert.equal(checked, net.params.length);
});

/** Parameters moved off the Fixup init (so every path carries gradient), same on every backend. */
function perturbed(m: TrainableModel, seed: number): Float32Array {
  const p = m.getParams();
  const r = randomArray(p.length, seed, 'perturb');
  for (let i = 0; i < p.length; i++) p[i] += 0.05 * r[i];
  return p;
}

for (const name of ['cnn', 'resnet8']) {
  // A small input keeps the cpu backend fast; every layer kind (strided convs, shortcuts, pools,
  // the average pool) still runs.
  const shape = [8, 8, 3];
  test(`${name}: gradient on wasm agrees with cpu (< 1e-4) and is bit-identical across calls`, async () => {
    const batch = makeBatch(3, shape, 10, 4);
    await initBackend('cpu');
    const c = getModelDef(name).create(shape, 10, 5);
    c.setParams(perturbed(c, 1));
    const gc = c.gradient(batch);
    c.dispose();
    await initBackend('wasm');
    const w = getModelDef(name).create(shape, 10, 5);
    w.setParams(perturbed(w, 1));
    const gw = w.gradient(batch);
    const again = w.gradient(batch);
    w.dispose();
    assert.ok(bitEqual(gw.grad, again.grad));
    assert.ok(gw.grad.every(Number.isFinite));
    // Off the init, the first conv and the classifier both get gradient.
    assert.ok(
      gw.grad.subarray(0, 81).some((v) => v !== 0),
      'first conv',
    );
    assert.ok(
      gw.grad.subarray(gw.grad.length - 10).some((v) => v !== 0),
      'classifier bias',
    );
    const e = relErr(gw.grad, gc.grad);
    assert.ok(e < 1e-4, `relative error ${e}`);
    assert.ok(Math.abs(gw.lossSum - gc.lossSum) / Math.abs(gc.lossSum) < 1e-5);
  });
}

for (const name of ['cnn', 'resnet8', 'resnet20']) {
  test(`${name}: a few SGD steps on a fixed batch reduce its loss (wasm)`, async () => {
    await initBackend('wasm');
    const n = 4;
    const batch = makeBatch(n, CIFAR, 10, 6);
    const m = getModelDef(name).create(CIFAR, 10, 7);
    const p = m.getParams();
    const first = m.gradient(batch).lossSum / n;
    for (let step = 0; step < 6; step++) {
      const { grad } = m.gradient(batch);
      for (let i = 0; i < p.length; i++) p[i] -= (0.05 / n) * grad[i];
      m.setParams(p);
    }
    const last = m.gradient(batch).lossSum / n;
    m.dispose();
    // A Fixup ResNet starts with a zero classifier: logits 0, loss exactly ln 10 per sample.
    if (name !== 'cnn') assert.ok(Math.abs(first - Math.log(10)) < 1e-5, `initial loss ${first}`);
    assert.ok(last < 0.8 * first, `loss ${first} -> ${last}`);
  });
}
