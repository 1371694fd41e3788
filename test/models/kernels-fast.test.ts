/**
 * Our wasm overrides of BatchMatMul (transposed operands), Conv2DBackpropInput (stride 1) and
 * MaxPoolGrad against the cpu backend's kernels, on the same inputs, and our fused
 * DracoReluMaxPoolGrad (wasm and cpu) against the stock kernels it replaces.
 * Bounds: max |wasm - cpu| / max |cpu| < 1e-5 for the sums (float32 sums of up to a few thousand
 * terms, in a different order); MaxPoolGrad with non-overlapping windows sums nothing, so it must
 * equal cpu bit for bit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/models/backend.js';
import { bitEqual, randomArray, relErr } from './helpers.js';

const BOUND = 1e-5;
const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** Run kernel `name` on `backend` with float32 inputs; returns a copy of the output and its shape. */
async function run(
  backend: 'wasm' | 'cpu',
  name: string,
  inputs: Record<string, { data: Float32Array; shape: number[] }>,
  attrs: Record<string, unknown>,
): Promise<{ data: Float32Array; shape: number[] }> {
  await initBackend(backend);
  return tf.tidy(() => {
    const ins: Record<string, tf.Tensor> = {};
    for (const [k, v] of Object.entries(inputs)) ins[k] = tf.tensor(v.data, v.shape, 'float32');
    const out = tf.engine().runKernel(name, ins, attrs as tf.NamedAttrMap) as tf.Tensor;
    return { data: (out.dataSync() as Float32Array).slice(), shape: out.shape };
  });
}

const input = (shape: number[], seed: number, key: string) => ({
  data: randomArray(size(shape), seed, key),
  shape,
});

// ---- BatchMatMul ----

const MATMUL: { a: number[]; b: number[]; tA: boolean; tB: boolean }[] = [
  { a: [32, 784], b: [32, 100], tA: true, tB: false }, // dense weight gradient
  { a: [32, 100], b: [784, 100], tA: false, tB: true }, // dense input gradient
  { a: [7, 5], b: [9, 7], tA: true, tB: true },
  { a: [3, 6, 4], b: [3, 5, 4], tA: false, tB: true }, // batched
  { a: [2, 6, 4], b: [2, 6, 5], tA: true, tB: false },
  { a: [2, 3, 4], b: [2, 9, 4], tA: false, tB: true }, // batched, B larger: computed as (B A^T)^T
  { a: [13, 8], b: [8, 11], tA: false, tB: false }, // stock path
];

for (const [i, c] of MATMUL.entries()) {
  test(`BatchMatMul wasm = cpu: a [${c.a}] b [${c.b}] transposeA ${c.tA} transposeB ${c.tB}`, async () => {
    const ins = { a: input(c.a, i, 'a'), b: input(c.b, i, 'b') };
    const attrs = { transposeA: c.tA, transposeB: c.tB };
    const cpu = await run('cpu', 'BatchMatMul', ins, attrs);
    const wasm = await run('wasm', 'BatchMatMul', ins, attrs);
    assert.deepEqual(wasm.shape, cpu.shape);
    const r = c.a.length;
    assert.equal(cpu.shape[r - 2], c.tA ? c.a[r - 1] : c.a[r - 2]);
    assert.ok(relErr(wasm.data, cpu.data) < BOUND, `wasm vs cpu: ${relErr(wasm.data, cpu.data)}`);
  });
}

// ---- Conv2DBackpropInput ----

type Pad = 'same' | 'valid' | number[][];
const CONV: { x: number[]; f: number[]; strides: [number, number]; pad: Pad }[] = [
  { x: [32, 14, 14, 6], f: [5, 5, 6, 16], strides: [1, 1], pad: 'valid' }, // LeNet conv2
  { x: [4, 28, 28, 1], f: [5, 5, 1, 6], strides: [1, 1], pad: 'same' }, // LeNet conv1
  { x: [2, 8, 8, 3], f: [3, 3, 3, 4], strides: [1, 1], pad: 'same' },
  { x: [2, 9, 7, 2], f: [4, 2, 2, 3], strides: [1, 1], pad: 'same' }, // even filter, asymmetric pad
  {
    x: [2, 8, 8, 2],
    f: [3, 3, 2, 5],
    strides: [1, 1],
    pad: [
      [0, 0],
      [1, 2],
      [0, 1],
      [0, 0],
    ],
  },
  {
    x: [1, 6, 6, 2],
    f: [3, 3, 2, 2],
    strides: [1, 1],
    pad: [
      [0, 0],
      [3, 0],
      [0, 0],
      [0, 0],
    ],
  }, // top pad > fh - 1: stock fallback
  { x: [2, 9, 9, 3], f: [3, 3, 3, 4], strides: [2, 2], pad: 'same' }, // stride 2, odd size
  { x: [2, 8, 8, 16], f: [3, 3, 16, 32], strides: [2, 2], pad: 'same' }, // ResNet downsampling conv
  { x: [2, 8, 8, 16], f: [1, 1, 16, 32], strides: [2, 2], pad: 'same' }, // ResNet 1x1 shortcut
  { x: [2, 11, 10, 2], f: [3, 2, 2, 3], strides: [3, 2], pad: 'valid' }, // unequal strides
  { x: [2, 10, 10, 2], f: [3, 3, 2, 3], strides: [2, 2], pad: 'valid' }, // last row unused by the forward conv
];

for (const [i, c] of CONV.entries()) {
  test(`Conv2DBackpropInput wasm = cpu: x [${c.x}] filter [${c.f}] strides [${c.strides}] pad ${JSON.stringify(c.pad)}`, async () => {
    const info = tf.backend_util.computeConv2DInfo(
      c.x as [number, number, number, number],
      c.f as [number, number, number, number],
      c.strides,
      1,
      c.pad as 'same',
    );
    const dyShape = [c.x[0], info.outHeight, info.outWidth, c.f[3]];
    const ins = { dy: input(dyShape, i, 'dy'), filter: input(c.f, i, 'f') };
    const attrs = { inputShape: c.x, strides: c.strides, pad: c.pad, dataFormat: 'NHWC' };
    const cpu = await run('cpu', 'Conv2DBackpropInput', ins, attrs);
    const wasm = await run('wasm', 'Conv2DBackpropInput', ins, attrs);
    assert.deepEqual(wasm.shape, c.x);
    assert.deepEqual(cpu.shape, c.x);
    assert.ok(relErr(wasm.data, cpu.data) < BOUND, `wasm vs cpu: ${relErr(wasm.data, cpu.data)}`);
  });
}

// ---- MaxPoolGrad ----

const POOL: { x: number[]; k: number; s: number; pad: 'same' | 'valid'; exact: boolean }[] = [
  { x: [32, 28, 28, 6], k: 2, s: 2, pad: 'valid', exact: true }, // LeNet pool1
  { x: [3, 11, 9, 4], k: 2, s: 2, pad: 'valid', exact: true }, // odd sizes: last row/col unused
  { x: [2, 9, 9, 3], k: 3, s: 2, pad: 'same', exact: false }, // overlapping windows, padding
  { x: [2, 7, 8, 2], k: 3, s: 1, pad: 'same', exact: false }, // stride 1, heavy overlap
  { x: [2, 10, 10, 3], k: 3, s: 3, pad: 'same', exact: true }, // padding, no overlap
];

for (const [i, c] of POOL.entries()) {
  test(`MaxPoolGrad wasm = cpu: x [${c.x}] ${c.k}x${c.k} stride ${c.s} ${c.pad}`, async () => {
    const x = input(c.x, i, 'x');
    // Ties, as after a ReLU: a quarter of the inputs are exactly 0, some windows all 0.
    for (let p = 0; p < x.data.length; p++) if (p % 4 === 0 || x.data[p] < -1) x.data[p] = 0;
    const poolAttrs = { filterSize: [c.k, c.k], strides: [c.s, c.s], pad: c.pad };
    const y = await run('cpu', 'MaxPool', { x }, poolAttrs);
    const dy = input(y.shape, i, 'dy');
    const ins = { dy, input: x, output: y };
    const cpu = await run('cpu', 'MaxPoolGrad', ins, poolAttrs);
    const wasm = await run('wasm', 'MaxPoolGrad', ins, poolAttrs);
    assert.deepEqual(wasm.shape, c.x);
    if (c.exact) assert.ok(bitEqual(wasm.data, cpu.data), 'non-overlapping windows: bit-equal to cpu');
    else assert.ok(relErr(wasm.data, cpu.data) < BOUND, `wasm vs cpu: ${relErr(wasm.data, cpu.data)}`);
    // Every dy value lands somewhere: the sums agree.
    const sum = (a: Float32Array) => a.reduce((s, v) => s + v, 0);
    assert.ok(Math.abs(sum(wasm.data) - sum(dy.data)) < 1e-3 * (1 + Math.abs(sum(dy.data))));
  });
}

// ---- DracoReluMaxPoolGrad ----

const RELU_POOL: { y: number[]; size: number }[] = [
  { y: [32, 28, 28, 6], size: 2 }, // LeNet conv1
  { y: [3, 11, 9, 4], size: 2 }, // odd sizes: last row/col outside every window
  { y: [2, 10, 10, 3], size: 3 }, // generic (not unrolled) loop, one row/col left over
  { y: [2, 4, 4, 2], size: 1 },
];

for (const [i, c] of RELU_POOL.entries()) {
  test(`DracoReluMaxPoolGrad = step(y) * MaxPoolGrad and its sum; wasm = cpu: y [${c.y}] size ${c.size}`, async () => {
    const y = input(c.y, i, 'y');
    // A ReLU output: about half exact zeros (whole windows of them too), and some ties > 0.
    for (let p = 0; p < y.data.length; p++) {
      if (y.data[p] < 0) y.data[p] = 0;
      else if (p % 7 === 0) y.data[p] = 0.5;
    }
    const poolAttrs = { filterSize: [c.size, c.size], strides: [c.size, c.size], pad: 'valid' };
    const pooled = await run('cpu', 'MaxPool', { x: y }, poolAttrs);
    const dy = input(pooled.shape, i, 'dy');
    const ref = await run('cpu', 'MaxPoolGrad', { dy, input: y, output: pooled }, poolAttrs);
    const chans = c.y[3];
    const refDz = ref.data.map((v, p) => (y.data[p] > 0 ? v : 0));
    const refDb = new Float64Array(chans);
    refDz.forEach((v, p) => (refDb[p % chans] += v));
    for (const backend of ['cpu', 'wasm'] as const) {
      await initBackend(backend);
      const [dz, db] = tf.tidy(() => {
        const out = tf
          .engine()
          .runKernel(
            'DracoReluMaxPoolGrad',
            { y: tf.tensor(y.data, y.shape), dy: tf.tensor(dy.data, dy.shape) },
            { size: c.size },
          ) as tf.Tensor[];
        return out.map((t) => ({ data: (t.dataSync() as Float32Array).slice(), shape: t.shape }));
      });
      assert.deepEqual(dz.shape, c.y);
      assert.deepEqual(db.shape, [chans]);
      // dz routes without sums: equal to the unfused kernels bit for bit (up to the sign of 0).
      assert.ok(
        dz.data.every((v, p) => v === refDz[p]),
        `${backend}: dz differs from step(y) * MaxPoolGrad`,
      );
      assert.ok(relErr(db.data, refDb) < 1e-6, `${backend}: db ${relErr(db.data, refDb)}`);
    }
  });
}

test('overridden kernels are deterministic and free their intermediates (wasm)', async () => {
  await initBackend('wasm');
  const cases: [string, Record<string, { data: Float32Array; shape: number[] }>, Record<string, unknown>][] =
    [
      [
        'BatchMatMul',
        { a: input([32, 50], 9, 'a'), b: input([32, 20], 9, 'b') },
        { transposeA: true, transposeB: false },
      ],
      [
        'BatchMatMul',
        { a: input([32, 20], 9, 'a'), b: input([50, 20], 9, 'b') },
        { transposeA: false, transposeB: true },
      ],
      [
        'Conv2DBackpropInput',
        { dy: input([2, 6, 6, 4], 9, 'dy'), filter: input([3, 3, 2, 4], 9, 'f') },
        { inputShape: [2, 8, 8, 2], strides: [1, 1], pad: 'valid', dataFormat: 'NHWC' },
      ],
    ];
  for (const [name, ins, attrs] of cases) {
    const first = await run('wasm', name, ins, attrs);
    const tensors = tf.memory().numTensors;
    const dataIds = tf.engine().backend.numDataIds();
    const again = await run('wasm', name, ins, attrs);
    assert.ok(bitEqual(again.data, first.data), `${name}: bit-identical across calls`);
    assert.equal(tf.memory().numTensors, tensors, name);
    assert.equal(tf.engine().backend.numDataIds(), dataIds, name);
  }
});

test('initBackend registers our wasm kernels in place of the stock ones', async () => {
  await initBackend('wasm');
  const { batchMatMulWasm } = await import('../../src/models/kernels/batch-matmul.js');
  const { conv2DBackpropInputWasm } = await import('../../src/models/kernels/conv2d-backprop-input.js');
  const { conv2DBackpropFilterWasm } = await import('../../src/models/kernels/conv2d-backprop-filter.js');
  const { maxPoolGradWasm } = await import('../../src/models/kernels/max-pool-grad.js');
  assert.equal(tf.getKernel('BatchMatMul', 'wasm')?.kernelFunc, batchMatMulWasm);
  assert.equal(tf.getKernel('Conv2DBackpropInput', 'wasm')?.kernelFunc, conv2DBackpropInputWasm);
  assert.equal(tf.getKernel('Conv2DBackpropFilter', 'wasm')?.kernelFunc, conv2DBackpropFilterWasm);
  assert.equal(tf.getKernel('MaxPoolGrad', 'wasm')?.kernelFunc, maxPoolGradWasm);
  // The stock kernels' setup (wasm function bindings) is kept with the override.
  assert.ok(tf.getKernel('BatchMatMul', 'wasm')?.setupFunc != null);
});
