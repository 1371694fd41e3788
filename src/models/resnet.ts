/**
 * ResNet for CIFAR-10 (He et al. 2016, section 4.2: depth 6n + 2, three stages of n basic blocks
 * with 16, 32, 64 filters, strided 3x3 convs to downsample, global average pool) WITHOUT batch
 * norm: a TrainableModel keeps all its state in the flat parameter vector and has no train/eval
 * mode, so there are no running statistics to keep. Training stays stable with Fixup (Zhang,
 * Dauphin, Ma, ICLR 2019):
 *
 * - each residual branch is  x -> +a1 -> conv -> +a2 -> relu -> +a3 -> conv -> *m -> +a4,
 *   with scalar biases a1..a4 (init 0) and a scalar multiplier m (init 1);
 * - the branch's first conv is He-initialised and scaled by L^(-1/2) (L = number of residual
 *   branches; Fixup's L^(-1/(2m-2)) with m = 2 layers per branch), its last conv starts at zero,
 *   so every block starts as the identity;
 * - the classifier starts at zero;
 * - downsampling shortcuts are 1x1 stride-2 convs (He init) of x + a1.
 *
 * Parameter order: stem conv, stem bias, then per block a1, conv1, a2, a3, conv2, m, a4
 * [, shortcut conv], then the dense weights and bias.
 */
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../core/errors.js';
import { createModel } from './adapter.js';
import type { Network, ParamSpec } from './layers.js';
import type { ModelDef, TrainableModel } from './types.js';

const WIDTHS = [16, 32, 64];

function convSpec(
  name: string,
  k: number,
  cin: number,
  cout: number,
  init: 'he_uniform' | 'zeros',
  gain?: number,
) {
  const spec: ParamSpec = {
    name,
    shape: [k, k, cin, cout],
    init,
    fanIn: k * k * cin,
    fanOut: k * k * cout,
    ...(gain === undefined ? {} : { gain }),
  };
  return spec;
}

const scalar = (name: string, init: 'zeros' | 'ones'): ParamSpec => ({
  name,
  shape: [1],
  init,
  fanIn: 1,
  fanOut: 1,
});

interface Block {
  stride: 1 | 2;
  /** Index of this block's first parameter. */
  at: number;
  shortcut: boolean;
}

/** The Fixup ResNet of depth `6n + 2` as a Network. */
export function fixupResNet(depth: number, inputShape: number[], numClasses: number): Network {
  if (!Number.isInteger((depth - 2) / 6) || depth < 8)
    throw new Error(`resnet depth must be 6n + 2, got ${depth}`);
  if (inputShape.length !== 3 || !inputShape.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new UsageError(`resnet needs an [h, w, c] input, got [${inputShape}]`);
  }
  if (inputShape[0] < 4 || inputShape[1] < 4) {
    throw new UsageError(
      `resnet: input ${inputShape[0]}x${inputShape[1]} is too small (at least 4x4: two stride-2 stages)`,
    );
  }
  if (!Number.isInteger(numClasses) || numClasses < 2) {
    throw new UsageError(`number of classes must be an integer >= 2, got ${numClasses}`);
  }
  const n = (depth - 2) / 6;
  const branches = 3 * n;
  const gain = 1 / Math.sqrt(branches);
  const params: ParamSpec[] = [
    convSpec('stem/kernel', 3, inputShape[2], WIDTHS[0], 'he_uniform'),
    scalar('stem/bias', 'zeros'),
  ];
  const blocks: Block[] = [];
  let cin = WIDTHS[0];
  WIDTHS.forEach((cout, stage) => {
    for (let b = 0; b < n; b++) {
      const stride = stage > 0 && b === 0 ? 2 : 1;
      const name = `stage${stage + 1}/block${b + 1}`;
      const shortcut = stride !== 1 || cin !== cout;
      blocks.push({ stride, at: params.length, shortcut });
      params.push(
        scalar(`${name}/bias1a`, 'zeros'),
        convSpec(`${name}/conv1`, 3, cin, cout, 'he_uniform', gain),
        scalar(`${name}/bias1b`, 'zeros'),
        scalar(`${name}/bias2a`, 'zeros'),
        convSpec(`${name}/conv2`, 3, cout, cout, 'zeros'),
        scalar(`${name}/scale`, 'ones'),
        scalar(`${name}/bias2b`, 'zeros'),
      );
      if (shortcut) params.push(convSpec(`${name}/shortcut`, 1, cin, cout, 'he_uniform'));
      cin = cout;
    }
  });
  const c = WIDTHS[WIDTHS.length - 1];
  const dense = params.length;
  params.push(
    { name: 'dense/kernel', shape: [c, numClasses], init: 'zeros', fanIn: c, fanOut: numClasses },
    { name: 'dense/bias', shape: [numClasses], init: 'zeros', fanIn: c, fanOut: numClasses },
  );
  const conv = (x: tf.Tensor, k: tf.Tensor, stride: 1 | 2) =>
    tf.conv2d(x as tf.Tensor4D, k as tf.Tensor4D, stride, 'same');
  return {
    inputShape: [...inputShape],
    numClasses,
    params,
    forward(x, p) {
      let h = tf.relu(tf.add(conv(x, p[0], 1), p[1]));
      for (const { stride, at, shortcut } of blocks) {
        const [a1, k1, a2, a3, k2, m, a4] = p.slice(at, at + 7);
        const xa = tf.add(h, a1);
        let r = tf.relu(tf.add(conv(xa, k1, stride), a2));
        r = tf.add(tf.mul(conv(tf.add(r, a3), k2, 1), m), a4);
        const s = shortcut ? conv(xa, p[at + 7], stride) : h;
        h = tf.relu(tf.add(r, s));
      }
      const pooled = tf.mean(h, [1, 2]);
      return tf.add(tf.matMul(pooled as tf.Tensor2D, p[dense] as tf.Tensor2D), p[dense + 1]);
    },
  };
}

/** A ModelDef for the Fixup ResNet of depth `depth`. */
export function resnetDef(depth: number): ModelDef {
  const name = `resnet${depth}`;
  const n = (depth - 2) / 6;
  return {
    name,
    defaultLr: 0.05,
    benchInputShape: [32, 32, 3],
    description: `ResNet-${depth} (Fixup, no batch norm): 3 stages x ${n} basic block${n > 1 ? 's' : ''}, 16/32/64 filters, global average pool`,
    create(inputShape, numClasses, seed): TrainableModel {
      return createModel(name, fixupResNet(depth, inputShape, numClasses), seed);
    },
  };
}
