/**
 * User tfjs models (src/models/tfjs.ts) and their files (src/models/tfjs-files.ts).
 *
 * Gradients are checked against central finite differences of float64 re-implementations of the
 * same small networks (tolerance set by float32, as in gradcheck.test.ts), and against tf.grads
 * of a hand-written forward pass. Replicas rebuilt from the description must agree bit for bit.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../../src/core/errors.js';
import type { Batch } from '../../src/data/types.js';
import { initBackend } from '../../src/models/backend.js';
import {
  checkCompatible,
  layersModelFromTopology,
  modelFromDescription,
  probabilityCrossEntropy,
  wrapLayersModel,
} from '../../src/models/tfjs.js';
import { loadLayersModelFile, saveLayersModel } from '../../src/models/tfjs-files.js';
import { bitEqual, makeBatch, randomArray, relErr } from './helpers.js';
import { tempDir } from '../tmp.js';

const tmp = tempDir('draco-tfjs-');
after(() => rmSync(tmp, { recursive: true, force: true }));
let dirCount = 0;
const freshDir = () => join(tmp, `d${dirCount++}`);

// ---- The two small networks and their float64 re-implementations ----

const IN = 4;
const HID = 8;
const C = 3;

/** dense HID relu -> dense C (linear or softmax), on inputs [IN]. */
function denseModel(last: 'linear' | 'softmax' = 'linear'): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.dense({ units: HID, activation: 'relu', inputShape: [IN] }),
      tf.layers.dense({ units: C, activation: last }),
    ],
  });
}

const IMG = [8, 8, 1];
const K = 3;
const F = 2;
const OUT = IMG[0] - K + 1; // 'valid' padding

/** conv2d F 3x3 relu -> dropout -> flatten -> dense C, on [8, 8, 1]. */
function convModel(): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ filters: F, kernelSize: K, activation: 'relu', inputShape: IMG }),
      tf.layers.dropout({ rate: 0.5 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: C }),
    ],
  });
}

/** Sum over rows of lse(z) - z[label], in float64. */
function ce64(z: Float64Array, label: number): number {
  const m = Math.max(...z);
  return m + Math.log(z.reduce((a, v) => a + Math.exp(v - m), 0)) - z[label];
}

/** Dense head: z = h W + b, W [h.length x C] row-major at `w`, b at `w + h.length * C`. */
function head64(p: Float64Array, w: number, h: Float64Array): Float64Array {
  const b = w + h.length * C;
  const z = new Float64Array(C);
  for (let k = 0; k < C; k++) {
    let s = p[b + k];
    for (let j = 0; j < h.length; j++) s += h[j] * p[w + j * C + k];
    z[k] = s;
  }
  return z;
}

/** Float64 loss sum of denseModel with flat params [W1 (IN x HID), b1, W2 (HID x C), b2]. */
function denseLoss64(p: Float64Array, b: Batch, minPre: { v: number }): number {
  let total = 0;
  for (let n = 0; n < b.n; n++) {
    const h = new Float64Array(HID);
    for (let j = 0; j < HID; j++) {
      let s = p[IN * HID + j];
      for (let i = 0; i < IN; i++) s += b.x[n * IN + i] * p[i * HID + j];
      minPre.v = Math.min(minPre.v, Math.abs(s));
      h[j] = Math.max(s, 0);
    }
    total += ce64(head64(p, IN * HID + HID, h), b.y[n]);
  }
  return total;
}

/** Float64 loss sum of convModel with flat params [kernel (K x K x 1 x F), bias, W (OUT*OUT*F x C), b]. */
function convLoss64(p: Float64Array, b: Batch, minPre: { v: number }): number {
  const per = IMG[0] * IMG[1];
  const bias = K * K * F;
  let total = 0;
  for (let n = 0; n < b.n; n++) {
    const h = new Float64Array(OUT * OUT * F);
    for (let i = 0; i < OUT; i++) {
      for (let j = 0; j < OUT; j++) {
        for (let f = 0; f < F; f++) {
          let s = p[bias + f];
          for (let di = 0; di < K; di++) {
            for (let dj = 0; dj < K; dj++) {
              s += b.x[n * per + (i + di) * IMG[1] + (j + dj)] * p[(di * K + dj) * F + f];
            }
          }
          minPre.v = Math.min(minPre.v, Math.abs(s));
          // Flatten of NHWC: (row, column, channel), row-major.
          h[(i * OUT + j) * F + f] = Math.max(s, 0);
        }
      }
    }
    total += ce64(head64(p, bias + F, h), b.y[n]);
  }
  return total;
}

/** Hand-written tf forward passes of the same networks, from the weight tensors. */
function denseForwardTf(x: tf.Tensor, [w1, b1, w2, b2]: tf.Tensor[]): tf.Tensor {
  return tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, w1), b1)), w2), b2);
}
function convForwardTf(x: tf.Tensor, [k, kb, w, b]: tf.Tensor[]): tf.Tensor {
  const h = tf.relu(tf.add(tf.conv2d(x as tf.Tensor4D, k as tf.Tensor4D, 1, 'valid'), kb));
  return tf.add(tf.matMul(tf.reshape(h, [x.shape[0], -1]), w), b);
}

/** tf.grads of the summed softmax cross-entropy of `forward`, at `params` split by `shapes`. */
function tfGradsReference(
  forward: (x: tf.Tensor, ws: tf.Tensor[]) => tf.Tensor,
  shapes: number[][],
  params: Float32Array,
  batch: Batch,
  inputShape: number[],
): { grad: Float32Array; loss: number } {
  return tf.tidy(() => {
    let off = 0;
    const ws = shapes.map((s) => {
      const size = s.reduce((a, b) => a * b, 1);
      const t = tf.tensor(params.slice(off, off + size), s);
      off += size;
      return t;
    });
    const x = tf.tensor(batch.x, [batch.n, ...inputShape]);
    const onehot = tf.oneHot(tf.tensor1d(batch.y, 'int32'), C);
    const f = (...w: tf.Tensor[]) => tf.neg(tf.sum(tf.mul(onehot, tf.logSoftmax(forward(x, w)))));
    const grads = tf.grads(f)(ws);
    const grad = new Float32Array(params.length);
    off = 0;
    for (const g of grads) {
      grad.set(g.dataSync() as Float32Array, off);
      off += g.size;
    }
    return { grad, loss: (f(...ws).dataSync() as Float32Array)[0] };
  });
}

interface Net {
  label: string;
  build: () => tf.Sequential;
  inputShape: number[];
  shapes: number[][];
  loss64: (p: Float64Array, b: Batch, minPre: { v: number }) => number;
  forwardTf: (x: tf.Tensor, ws: tf.Tensor[]) => tf.Tensor;
}

const NETS: Net[] = [
  {
    label: 'dense',
    build: () => denseModel(),
    inputShape: [IN],
    shapes: [[IN, HID], [HID], [HID, C], [C]],
    loss64: denseLoss64,
    forwardTf: denseForwardTf,
  },
  {
    label: 'conv2d',
    build: convModel,
    inputShape: IMG,
    shapes: [[K, K, 1, F], [F], [OUT * OUT * F, C], [C]],
    loss64: convLoss64,
    forwardTf: convForwardTf,
  },
];

const N = 6;

for (const backend of ['wasm', 'cpu'] as const) {
  for (const net of NETS) {
    test(`${net.label} model: gradient matches float64 finite differences and tf.grads (${backend})`, async () => {
      await initBackend(backend);
      const model = wrapLayersModel(net.build());
      const sizes = net.shapes.map((s) => s.reduce((a, b) => a * b, 1));
      assert.equal(
        model.numParams,
        sizes.reduce((a, b) => a + b, 0),
      );
      assert.equal(model.outputs, 'logits');
      const params = randomArray(model.numParams, 31, 'tfjs-params').map((v) => v * 0.5);
      model.setParams(params);
      // Parameter order is trainableWeights order, each flattened row-major.
      let off = 0;
      model.layersModel.trainableWeights.forEach((w, i) => {
        assert.deepEqual(w.shape, net.shapes[i]);
        assert.ok(bitEqual(w.read().dataSync() as Float32Array, params.subarray(off, off + sizes[i])));
        off += sizes[i];
      });
      assert.ok(bitEqual(model.getParams(), params));

      const batch = makeBatch(N, net.inputShape, C, 31);
      const { grad, lossSum } = model.gradient(batch);

      const p64 = Float64Array.from(params);
      const minPre = { v: Infinity };
      const l64 = net.loss64(p64, batch, minPre);
      const h = 1e-6;
      assert.ok(minPre.v > 100 * h, `a ReLU input is within ${minPre.v} of its kink`);
      assert.ok(Math.abs(lossSum - l64) < 1e-6 * l64, `lossSum ${lossSum} vs float64 ${l64}`);
      const fd = new Float64Array(model.numParams);
      const ignore = { v: Infinity };
      for (let i = 0; i < fd.length; i++) {
        const save = p64[i];
        p64[i] = save + h;
        const up = net.loss64(p64, batch, ignore);
        p64[i] = save - h;
        const down = net.loss64(p64, batch, ignore);
        p64[i] = save;
        fd[i] = (up - down) / (2 * h);
      }
      const scale = fd.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
      for (let i = 0; i < fd.length; i++) {
        assert.ok(
          Math.abs(grad[i] - fd[i]) <= 1e-4 * (Math.abs(fd[i]) + 0.01 * scale),
          `coordinate ${i}: ${grad[i]} vs finite difference ${fd[i]}`,
        );
      }

      const ref = tfGradsReference(net.forwardTf, net.shapes, params, batch, net.inputShape);
      assert.ok(relErr(grad, ref.grad) < 1e-5, `vs tf.grads: relErr ${relErr(grad, ref.grad)}`);
      assert.ok(Math.abs(lossSum - ref.loss) < 1e-5 * ref.loss, `lossSum ${lossSum} vs tf ${ref.loss}`);
      model.dispose();
    });
  }
}

test('replicas rebuilt from the topology give bitwise identical gradients, call after call (wasm)', async () => {
  await initBackend('wasm');
  const a = wrapLayersModel(convModel());
  const description = JSON.parse(JSON.stringify(a.describe())); // as a worker would receive it
  assert.equal(description.kind, 'tfjs');
  const b = wrapLayersModel(await layersModelFromTopology(description.topology));
  const c = await modelFromDescription(description);
  assert.notEqual(b.layersModel, a.layersModel);
  assert.equal(b.numParams, a.numParams);
  // Fresh initializers differ, so the bitwise agreement below is setParams's doing.
  assert.ok(!bitEqual(b.getParams(), a.getParams()));

  const params = randomArray(a.numParams, 5, 'replica-params').map((v) => v * 0.3);
  for (const m of [a, b, c]) m.setParams(params);
  const batch = makeBatch(16, IMG, C, 5);
  const first = a.gradient(batch);
  for (let rep = 0; rep < 3; rep++) {
    for (const m of [a, b, c]) {
      const g = m.gradient(batch);
      assert.ok(bitEqual(g.grad, first.grad), `replica gradient differs (repeat ${rep})`);
      assert.equal(g.lossSum, first.lossSum);
    }
  }
  for (const m of [a, b, c]) m.dispose();
});

test('BatchNorm runs on its moving statistics, which describe() carries and gradient() leaves alone', async () => {
  await initBackend('wasm');
  const build = () =>
    tf.sequential({
      layers: [
        tf.layers.dense({ units: HID, inputShape: [IN] }),
        tf.layers.batchNormalization(),
        tf.layers.activation({ activation: 'relu' }),
        tf.layers.dense({ units: C }),
      ],
    });
  const a = wrapLayersModel(build());
  // Non-trainable weights are not parameters: dense (2) + gamma, beta (2) + dense (2).
  assert.equal(a.layersModel.trainableWeights.length, 6);
  assert.equal(a.numParams, IN * HID + HID + 2 * HID + HID * C + C);
  const stats = a.layersModel.nonTrainableWeights;
  assert.deepEqual(
    stats.map((w) => w.originalName.split('/')[1]),
    ['moving_mean', 'moving_variance'],
  );
  const mean = randomArray(HID, 8, 'mean');
  const variance = randomArray(HID, 8, 'var').map((v) => 0.5 + v * v);
  stats[0].write(tf.tensor(mean));
  stats[1].write(tf.tensor(variance));
  a.setParams(randomArray(a.numParams, 8, 'p').map((v) => v * 0.5));

  const batch = makeBatch(10, [IN], C, 8);
  const g1 = a.gradient(batch);
  const g2 = a.gradient(batch);
  assert.ok(bitEqual(g1.grad, g2.grad));
  assert.ok(bitEqual(stats[0].read().dataSync() as Float32Array, mean), 'moving mean changed');
  assert.ok(bitEqual(stats[1].read().dataSync() as Float32Array, variance), 'moving variance changed');

  const description = JSON.parse(JSON.stringify(a.describe()));
  const rebuilt = await modelFromDescription(description);
  rebuilt.setParams(a.getParams());
  assert.ok(bitEqual(rebuilt.gradient(batch).grad, g1.grad), 'replica from the description differs');
  // The topology alone starts the statistics from their initializers: a different function.
  const bare = wrapLayersModel(await layersModelFromTopology(description.topology));
  bare.setParams(a.getParams());
  assert.ok(!bitEqual(bare.gradient(batch).grad, g1.grad));
  for (const m of [a, rebuilt, bare]) m.dispose();
});

test('the gradient of a union of batches is the sum of their gradients (the loss is a sum)', async () => {
  await initBackend('wasm');
  for (const net of NETS) {
    const model = wrapLayersModel(net.build());
    model.setParams(randomArray(model.numParams, 9, 'union').map((v) => v * 0.5));
    const per = net.inputShape.reduce((a, b) => a * b, 1);
    const p = makeBatch(5, net.inputShape, C, 91);
    const q = makeBatch(7, net.inputShape, C, 92);
    const x = new Float32Array((p.n + q.n) * per);
    x.set(p.x);
    x.set(q.x, p.n * per);
    const y = new Int32Array(p.n + q.n);
    y.set(p.y);
    y.set(q.y, p.n);
    const union = model.gradient({ n: p.n + q.n, x, y });
    const gp = model.gradient(p);
    const gq = model.gradient(q);
    const sum = gp.grad.map((v, i) => v + gq.grad[i]);
    assert.ok(relErr(union.grad, sum) < 1e-5, `${net.label}: relErr ${relErr(union.grad, sum)}`);
    assert.ok(Math.abs(union.lossSum - (gp.lossSum + gq.lossSum)) < 1e-6 * union.lossSum);
    const empty = model.gradient({ n: 0, x: new Float32Array(0), y: new Int32Array(0) });
    assert.equal(empty.lossSum, 0);
    assert.ok(empty.grad.every((v) => v === 0));
    model.dispose();
  }
});

test("a softmax output is read as probabilities under 'auto', and gives the logits model's loss", async () => {
  await initBackend('wasm');
  const logits = wrapLayersModel(denseModel('linear'));
  const probs = wrapLayersModel(denseModel('softmax'));
  assert.equal(logits.outputs, 'logits');
  assert.equal(probs.outputs, 'probabilities');
  const params = randomArray(logits.numParams, 12, 'softmax').map((v) => v * 0.5);
  logits.setParams(params);
  probs.setParams(params);
  const batch = makeBatch(20, [IN], C, 12);
  const gl = logits.gradient(batch);
  const gp = probs.gradient(batch);
  assert.ok(Math.abs(gp.lossSum - gl.lossSum) < 1e-5 * gl.lossSum, `${gp.lossSum} vs ${gl.lossSum}`);
  assert.ok(relErr(gp.grad, gl.grad) < 1e-5, `gradient relErr ${relErr(gp.grad, gl.grad)}`);
  const el = logits.evaluate(batch);
  const ep = probs.evaluate(batch);
  assert.ok(Math.abs(ep.loss - el.loss) < 1e-5 * el.loss);
  assert.equal(ep.accuracy, el.accuracy);
  assert.equal(el.n, 20);
  // Not bitwise: without a gradient tape tfjs fuses the bias and activation into the matmul.
  assert.ok(Math.abs(el.loss - gl.lossSum / 20) < 1e-6 * el.loss, 'evaluate reports the mean loss');

  // Forcing 'logits' on the softmax model applies a second softmax: another loss.
  const forced = wrapLayersModel(denseModel('softmax'), { loss: 'logits' });
  forced.setParams(params);
  assert.equal(forced.outputs, 'logits');
  assert.ok(Math.abs(forced.gradient(batch).lossSum - gl.lossSum) > 1e-3);
  assert.equal(forced.describe().loss, 'logits');

  // A separate softmax layer, or an Activation layer, counts too.
  for (const last of [tf.layers.softmax(), tf.layers.activation({ activation: 'softmax' })]) {
    const m = tf.sequential({ layers: [tf.layers.dense({ units: C, inputShape: [IN] }), last] });
    const w = wrapLayersModel(m);
    assert.equal(w.outputs, 'probabilities');
    w.dispose();
  }
  for (const m of [logits, probs, forced]) m.dispose();
});

test('probability cross-entropy clips at 1e-7 and has no gradient below the clip', () => {
  const d = new Float32Array(6);
  const loss = probabilityCrossEntropy(new Float32Array([1e-9, 0.5, 0.5, 0.25, 0.25, 0.5]), [0, 2], 2, 3, d);
  assert.ok(Math.abs(loss - (-Math.log(1e-7) - Math.log(0.5))) < 1e-12);
  assert.deepEqual([...d], [0, 0, 0, 0, 0, -2]);
});

test('checkCompatible and wrapLayersModel name the mismatch in one line', async () => {
  await initBackend('wasm');
  const m = tf.sequential({ layers: [tf.layers.dense({ units: 10, inputShape: [32] })] });
  assert.equal(checkCompatible(m, [32], 10), null);
  assert.equal(
    checkCompatible(m, [28, 28, 1], 10),
    "model input [32] does not match the dataset's samples [28, 28, 1]",
  );
  assert.equal(checkCompatible(m, [32], 3), 'model output has 10 classes, the dataset has 3');

  const in1 = tf.input({ shape: [4] });
  const in2 = tf.input({ shape: [4] });
  const twoIn = tf.model({
    inputs: [in1, in2],
    outputs: tf.layers
      .dense({ units: 3 })
      .apply(tf.layers.concatenate().apply([in1, in2])) as tf.SymbolicTensor,
  });
  assert.equal(checkCompatible(twoIn, [4], 3), 'model has 2 inputs; draco feeds one');
  assert.throws(
    () => wrapLayersModel(twoIn, { name: 'two' }),
    (e: unknown) =>
      e instanceof UsageError && e.message === 'tfjs model two: model has 2 inputs; draco feeds one',
  );
  const in3 = tf.input({ shape: [4] });
  const twoOut = tf.model({
    inputs: in3,
    outputs: [
      tf.layers.dense({ units: 3 }).apply(in3),
      tf.layers.dense({ units: 3 }).apply(in3),
    ] as tf.SymbolicTensor[],
  });
  assert.match(checkCompatible(twoOut, [4], 3) ?? '', /^model has 2 outputs/);
  const seq = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [5, 4] })] });
  assert.equal(checkCompatible(seq, [5, 4], 3), 'model output [5, 3] is not one vector of class scores');
  const free = tf.sequential({
    layers: [
      tf.layers.conv2d({ filters: 3, kernelSize: 1, inputShape: [null, null, 1] }),
      tf.layers.globalMaxPool2d({}),
    ],
  });
  assert.equal(checkCompatible(free, [8, 8, 1], 3), 'model input [null, null, 1] has unknown sizes');
  const frozen = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [4] })] });
  frozen.trainable = false;
  assert.equal(checkCompatible(frozen, [4], 3), 'model has no trainable weights');
  assert.equal(
    checkCompatible(tf.sequential(), [4], 3),
    'model has no input shape (give its first layer an inputShape)',
  );
  assert.throws(() => wrapLayersModel(m, { loss: 'mse' as never }), UsageError);

  const w = wrapLayersModel(m);
  assert.throws(
    () => w.gradient(makeBatch(2, [31], 10, 0)),
    /batch.x has 62 values, expected 2 x \[32\] = 64/,
  );
  assert.throws(() => w.gradient({ n: 1, x: new Float32Array(32), y: new Int32Array([10]) }), /label 10/);
  assert.throws(() => w.setParams(new Float32Array(3)), /length 330/);
  w.dispose();
  assert.throws(() => w.gradient(makeBatch(1, [32], 10, 0)), /disposed/);
  for (const x of [twoIn, twoOut, seq, free, frozen]) x.dispose();
});

test('layersModelFromTopology rejects what is not a Layers topology with a UsageError', async () => {
  await initBackend('wasm');
  for (const bad of [null, [1], { node: [] }, { class_name: 'NoSuchModel', config: {} }]) {
    await assert.rejects(layersModelFromTopology(bad), UsageError);
  }
  await assert.rejects(modelFromDescription({ kind: 'other' } as never), UsageError);
});

test('no tensor leaks over 20 gradient calls (and the other methods)', async () => {
  await initBackend('wasm');
  const model = wrapLayersModel(convModel());
  model.setParams(randomArray(model.numParams, 3, 'leak').map((v) => v * 0.3));
  const batch = makeBatch(8, IMG, C, 3);
  model.gradient(batch); // warm-up: any one-time allocation happens here
  const before = tf.memory().numTensors;
  for (let i = 0; i < 20; i++) {
    model.gradient(batch);
    assert.equal(tf.memory().numTensors, before, `call ${i + 1}`);
  }
  model.evaluate(makeBatch(600, IMG, C, 4)); // more than one chunk
  model.setParams(model.getParams());
  model.describe();
  assert.equal(tf.memory().numTensors, before);
  model.dispose();
  assert.equal(tf.memory().numTensors, before - 4, 'dispose releases the four weights');
});

// ---- Files ----

/** Every weight of `m` by original name, as bytes. */
function weightBytes(m: tf.LayersModel): Map<string, Float32Array> {
  return new Map(
    m.weights.map((w) => [w.originalName, new Float32Array(w.read().dataSync() as Float32Array)]),
  );
}

function assertSameWeights(a: tf.LayersModel, b: tf.LayersModel): void {
  const wa = weightBytes(a);
  const wb = weightBytes(b);
  assert.deepEqual([...wb.keys()], [...wa.keys()]);
  for (const [name, v] of wa) assert.ok(bitEqual(wb.get(name)!, v), `weight ${name} differs`);
}

/** A model with trainable and non-trainable weights, its moving statistics not the initial ones. */
function richModel(): tf.Sequential {
  const m = tf.sequential({
    layers: [
      tf.layers.conv2d({ filters: F, kernelSize: K, inputShape: IMG }),
      tf.layers.batchNormalization(),
      tf.layers.activation({ activation: 'relu' }),
      tf.layers.flatten(),
      tf.layers.dense({ units: C, activation: 'softmax' }),
    ],
  });
  m.layers[1].nonTrainableWeights[0].write(tf.tensor(randomArray(F, 1, 'mm')));
  return m;
}

/** The artifacts of tfjs's own `model.save`. */
async function tfjsArtifacts(m: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let out: tf.io.ModelArtifacts | undefined;
  await m.save(
    tf.io.withSaveHandler(async (a) => {
      out = a;
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
    }),
  );
  return out!;
}

/** Write `a` as model.json + shards, the weights cut into `groups` of `shardsPerGroup` files. */
function writeStandard(dir: string, a: tf.io.ModelArtifacts, groups = 1, shardsPerGroup = 1): string {
  mkdirSync(dir, { recursive: true });
  const data = new Uint8Array(tf.io.CompositeArrayBuffer.join(a.weightData!));
  const specs = a.weightSpecs!;
  const bytes = specs.map((s) => 4 * s.shape.reduce((x, y) => x * y, 1));
  const manifest: tf.io.WeightsManifestConfig = [];
  const per = Math.ceil(specs.length / groups);
  let off = 0;
  for (let g = 0; g < groups; g++) {
    const weights = specs.slice(g * per, (g + 1) * per);
    const len = bytes.slice(g * per, (g + 1) * per).reduce((x, y) => x + y, 0);
    const paths: string[] = [];
    const cut = Math.ceil(len / shardsPerGroup);
    for (let s = 0; s < shardsPerGroup; s++) {
      const name =
        groups === 1 && shardsPerGroup === 1
          ? 'weights.bin'
          : `group${g + 1}-shard${s + 1}of${shardsPerGroup}.bin`;
      writeFileSync(join(dir, name), data.subarray(off + s * cut, off + Math.min(len, (s + 1) * cut)));
      paths.push(name);
    }
    off += len;
    manifest.push({ paths, weights });
  }
  const json = {
    modelTopology: a.modelTopology,
    format: a.format,
    generatedBy: a.generatedBy,
    convertedBy: a.convertedBy,
    weightsManifest: manifest,
  };
  const file = join(dir, 'model.json');
  writeFileSync(file, JSON.stringify(json));
  return file;
}

test('saveLayersModel -> loadLayersModelFile keeps topology and every weight bitwise', async () => {
  await initBackend('wasm');
  const m = richModel();
  const dir = join(freshDir(), 'nested', 'out'); // created
  await saveLayersModel(m, dir);
  const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  assert.deepEqual(json.weightsManifest[0].paths, ['weights.bin']);
  assert.equal(json.format, 'layers-model');

  const loaded = await loadLayersModelFile(join(dir, 'model.json'));
  assert.equal(loaded.toJSON(undefined, true), m.toJSON(undefined, true));
  assertSameWeights(m, loaded);

  // tfjs's own loader reads the same artifacts the same way.
  const viaTfjs = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest[0].weights,
      weightData: new Uint8Array(readFileSync(join(dir, 'weights.bin'))).buffer,
    }),
  );
  assertSameWeights(m, viaTfjs);

  // And it trains the same: bitwise equal gradients, moving statistics included.
  const a = wrapLayersModel(m);
  const b = wrapLayersModel(loaded);
  assert.equal(b.outputs, 'probabilities');
  const batch = makeBatch(6, IMG, C, 2);
  assert.ok(bitEqual(b.gradient(batch).grad, a.gradient(batch).grad));
  for (const x of [a, b]) x.dispose();
  viaTfjs.dispose();
});

test('a model.json written in the standard tfjs layout loads, sharded or not', async () => {
  await initBackend('wasm');
  const m = richModel();
  const artifacts = await tfjsArtifacts(m);
  for (const [groups, shards] of [
    [1, 1],
    [1, 3],
    [2, 2],
  ]) {
    const file = writeStandard(freshDir(), artifacts, groups, shards);
    const loaded = await loadLayersModelFile(file);
    assertSameWeights(m, loaded);
    loaded.dispose();
  }
  // No weightsManifest: the initializers' weights, same architecture.
  const dir = freshDir();
  mkdirSync(dir);
  writeFileSync(join(dir, 'model.json'), JSON.stringify({ modelTopology: artifacts.modelTopology }));
  const bare = await loadLayersModelFile(join(dir, 'model.json'));
  assert.deepEqual(
    bare.weights.map((w) => w.shape),
    m.weights.map((w) => w.shape),
  );
  bare.dispose();
  m.dispose();
});

test('every bad model file is a one-line UsageError naming the file', async () => {
  await initBackend('wasm');
  const m = denseModel();
  const artifacts = await tfjsArtifacts(m);
  /** A good model.json and weights.bin in `dir`; the model.json's content, to spoil. */
  const good = (dir: string) => JSON.parse(readFileSync(writeStandard(dir, artifacts), 'utf8'));
  const cases: [string, (dir: string) => void, RegExp][] = [
    ['missing file', () => {}, /cannot read .*model\.json: ENOENT/],
    ['a directory', (d) => mkdirSync(join(d, 'model.json')), /cannot read .*model\.json: EISDIR/],
    [
      'not JSON',
      (d) => writeFileSync(join(d, 'model.json'), '{"modelTopology": '),
      /model\.json is not JSON/,
    ],
    ['a JSON list', (d) => writeFileSync(join(d, 'model.json'), '[1, 2]'), /not a JSON object/],
    [
      'a graph model',
      (d) =>
        writeFileSync(
          join(d, 'model.json'),
          JSON.stringify({ format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [] }),
        ),
      /model\.json is a tfjs graph model, not a Layers model/,
    ],
    [
      'no modelTopology',
      (d) => writeFileSync(join(d, 'model.json'), JSON.stringify({ weightsManifest: [] })),
      /no modelTopology/,
    ],
    [
      'a topology that is not Keras JSON',
      (d) => writeFileSync(join(d, 'model.json'), JSON.stringify({ modelTopology: { layers: 3 } })),
      /no class_name/,
    ],
    [
      'a missing shard',
      (d) => {
        writeFileSync(join(d, 'model.json'), JSON.stringify(good(d)));
        rmSync(join(d, 'weights.bin'));
      },
      /cannot read weight shard weights\.bin of .*model\.json: ENOENT/,
    ],
    [
      'a short shard',
      (d) => {
        const j = good(d);
        writeFileSync(join(d, 'model.json'), JSON.stringify(j));
        writeFileSync(join(d, 'weights.bin'), new Uint8Array(10));
      },
      /model\.json: weightsManifest group 1: shards weights\.bin hold 10 bytes, its 4 weights need 268/,
    ],
    [
      'a long shard',
      (d) => {
        writeFileSync(join(d, 'model.json'), JSON.stringify(good(d)));
        writeFileSync(join(d, 'weights.bin'), new Uint8Array(272));
      },
      /hold 272 bytes, its 4 weights need 268/,
    ],
    [
      'a manifest that is not a list',
      (d) => writeFileSync(join(d, 'model.json'), JSON.stringify({ ...good(d), weightsManifest: {} })),
      /weightsManifest is not a list/,
    ],
    [
      'a string weight',
      (d) => {
        const j = good(d);
        j.weightsManifest[0].weights[0].dtype = 'string';
        writeFileSync(join(d, 'model.json'), JSON.stringify(j));
      },
      /weight dense_Dense\d+\/kernel has unsupported dtype "string"/,
    ],
    [
      'an unknown layer',
      (d) => {
        const j = good(d);
        j.modelTopology.config.layers[0].class_name = 'NoSuchLayer';
        writeFileSync(join(d, 'model.json'), JSON.stringify(j));
      },
      /model\.json: cannot build the tfjs Layers model: .*NoSuchLayer/,
    ],
    [
      'weights named for another model',
      (d) => {
        const j = good(d);
        j.weightsManifest[0].weights[0].name = 'other/kernel';
        writeFileSync(join(d, 'model.json'), JSON.stringify(j));
      },
      /model\.json: cannot build the tfjs Layers model: /,
    ],
  ];
  for (const [what, make, pattern] of cases) {
    const dir = freshDir();
    mkdirSync(dir, { recursive: true });
    make(dir);
    const file = join(dir, 'model.json');
    await assert.rejects(
      loadLayersModelFile(file),
      (e: unknown) => {
        assert.ok(e instanceof UsageError, `${what}: ${String(e)}`);
        assert.ok(e.message.includes(file), `${what}: message does not name the file: ${e.message}`);
        assert.ok(!e.message.includes('\n'), `${what}: more than one line: ${e.message}`);
        assert.match(e.message, pattern, what);
        return true;
      },
      what,
    );
  }
  m.dispose();
});
