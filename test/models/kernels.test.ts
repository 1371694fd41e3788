/**
 * Our wasm Conv2DBackpropFilter kernel against the cpu backend's kernel and a float64 loop.
 * Bound: max |wasm - ref| / max |ref| < 1e-5 (float32 sums of up to a few thousand terms).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/models/backend.js';
import { randomArray, relErr } from './helpers.js';

const BOUND = 1e-5;

type Pad = 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]];
interface Case {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: [number, number];
  pad: Pad;
}

const CASES: Case[] = [
  { x: [2, 8, 8, 3], filter: [3, 3, 3, 4], strides: [1, 1], pad: 'same' },
  { x: [2, 9, 7, 2], filter: [3, 2, 2, 3], strides: [2, 2], pad: 'valid' }, // last column unused: crop path
  { x: [1, 10, 10, 1], filter: [5, 5, 1, 6], strides: [1, 1], pad: 'same' },
  { x: [3, 7, 7, 4], filter: [3, 3, 4, 2], strides: [2, 2], pad: 'same' },
  {
    x: [2, 8, 8, 2],
    filter: [3, 3, 2, 5],
    strides: [2, 1],
    pad: [
      [0, 0],
      [1, 2],
      [0, 1],
      [0, 0],
    ],
  },
  { x: [2, 11, 11, 3], filter: [4, 4, 3, 2], strides: [3, 3], pad: 'same' }, // even filter, asymmetric pad
  { x: [4, 12, 10, 3], filter: [5, 3, 3, 4], strides: [3, 2], pad: 'valid' }, // crop in both dims
  { x: [32, 14, 14, 6], filter: [5, 5, 6, 16], strides: [1, 1], pad: 'valid' }, // LeNet conv2 at batch 32
];

function convInfo(c: Case) {
  return tf.backend_util.computeConv2DInfo(c.x, c.filter, c.strides, 1, c.pad);
}

function dyShape(c: Case): [number, number, number, number] {
  const info = convInfo(c);
  return [c.x[0], info.outHeight, info.outWidth, c.filter[3]];
}

async function runKernel(
  backend: 'wasm' | 'cpu',
  c: Case,
  x: Float32Array,
  dy: Float32Array,
): Promise<Float32Array> {
  await initBackend(backend);
  return tf.tidy(() => {
    const out = tf
      .engine()
      .runKernel('Conv2DBackpropFilter', { x: tf.tensor4d(x, c.x), dy: tf.tensor4d(dy, dyShape(c)) }, {
        strides: c.strides,
        pad: c.pad,
        dataFormat: 'NHWC',
        filterShape: c.filter,
      } as unknown as tf.NamedAttrMap) as tf.Tensor;
    assert.deepEqual(out.shape, c.filter);
    return (out.dataSync() as Float32Array).slice();
  });
}

/** Direct float64 evaluation of dW[a,b,c,o] = sum x[n, i*sh + a - pt, j*sw + b - pl, c] dy[n,i,j,o]. */
function reference(c: Case, x: Float32Array, dy: Float32Array): Float64Array {
  const info = convInfo(c);
  const [n, h, w, ci] = c.x;
  const [fh, fw, , co] = c.filter;
  const [, ho, wo] = dyShape(c);
  const out = new Float64Array(fh * fw * ci * co);
  for (let a = 0; a < fh; a++)
    for (let b = 0; b < fw; b++)
      for (let k = 0; k < ci; k++)
        for (let o = 0; o < co; o++) {
          let s = 0;
          for (let m = 0; m < n; m++)
            for (let i = 0; i < ho; i++) {
              const r = i * c.strides[0] + a - info.padInfo.top;
              if (r < 0 || r >= h) continue;
              for (let j = 0; j < wo; j++) {
                const q = j * c.strides[1] + b - info.padInfo.left;
                if (q < 0 || q >= w) continue;
                s += x[((m * h + r) * w + q) * ci + k] * dy[((m * ho + i) * wo + j) * co + o];
              }
            }
          out[((a * fw + b) * ci + k) * co + o] = s;
        }
  return out;
}

for (const [idx, c] of CASES.entries()) {
  test(`Conv2DBackpropFilter wasm = cpu = float64: x [${c.x}] filter [${c.filter}] strides [${c.strides}] pad ${JSON.stringify(c.pad)}`, async () => {
    const x = randomArray(
      c.x.reduce((a, b) => a * b),
      1,
      'x',
      idx,
    );
    const dy = randomArray(
      dyShape(c).reduce((a, b) => a * b),
      1,
      'dy',
      idx,
    );
    const ref = reference(c, x, dy);
    const cpu = await runKernel('cpu', c, x, dy);
    const wasm = await runKernel('wasm', c, x, dy);
    const eWasm = relErr(wasm, ref);
    const eCpu = relErr(cpu, ref);
    assert.ok(eWasm < BOUND, `wasm vs float64: ${eWasm}`);
    assert.ok(eCpu < BOUND, `cpu vs float64: ${eCpu}`);
    assert.ok(relErr(wasm, cpu) < BOUND, `wasm vs cpu: ${relErr(wasm, cpu)}`);
  });
}

test('Conv2DBackpropFilter on wasm is deterministic and frees its intermediates', async () => {
  const c = CASES[1];
  const x = randomArray(
    c.x.reduce((a, b) => a * b),
    2,
    'x',
  );
  const dy = randomArray(
    dyShape(c).reduce((a, b) => a * b),
    2,
    'dy',
  );
  await initBackend('wasm');
  const first = await runKernel('wasm', c, x, dy);
  const tensors = tf.memory().numTensors;
  const dataIds = tf.engine().backend.numDataIds();
  const again = await runKernel('wasm', c, x, dy);
  assert.deepEqual(again, first);
  assert.equal(tf.memory().numTensors, tensors);
  assert.equal(tf.engine().backend.numDataIds(), dataIds);
});

test('conv2d filter gradient through tf.grad (strided, same) matches cpu', async () => {
  const xShape: [number, number, number, number] = [3, 9, 9, 2];
  const fShape: [number, number, number, number] = [3, 3, 2, 4];
  const x = randomArray(3 * 9 * 9 * 2, 3, 'x');
  const f = randomArray(3 * 3 * 2 * 4, 3, 'f');
  const wts = randomArray(3 * 5 * 5 * 4, 3, 'w');
  const grad = async (backend: 'wasm' | 'cpu') => {
    await initBackend(backend);
    return tf.tidy(() => {
      const xt = tf.tensor4d(x, xShape);
      const wt = tf.tensor4d(wts, [3, 5, 5, 4]);
      const g = tf.grad((ft: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(xt, ft as tf.Tensor4D, 2, 'same'), wt)));
      return (g(tf.tensor4d(f, fShape)).dataSync() as Float32Array).slice();
    });
  };
  const cpu = await grad('cpu');
  const wasm = await grad('wasm');
  assert.equal(wasm.length, f.length);
  assert.ok(relErr(wasm, cpu) < BOUND, `wasm vs cpu: ${relErr(wasm, cpu)}`);
});
