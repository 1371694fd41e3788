/**
 * A minimal functional layer kit: each layer declares its parameters (shape + init) and a pure
 * forward function of (input, its parameter tensors) that also returns its backward pass. No
 * tf.layers and no tfjs tape: less overhead, and we own the parameter order, which is the order
 * of the flat vector the rest of draco sees.
 *
 * Why hand-written backprop instead of tf.variableGrads: for small nets tfjs's per-op
 * bookkeeping (tape records, customGrad's Identity copies, gradient accumulation, tidy scopes
 * for every gradient function) costs as much as the arithmetic. Each layer's backward pass is a
 * few kernel calls, all tfjs kernels, so the result is deterministic run to run and the same
 * code runs on the cpu reference backend. test/models/backprop.test.ts checks it against tfjs's
 * own autodiff of the same network.
 */
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../core/errors.js';
import { RELU_MAX_POOL_GRAD } from './kernels/relu-max-pool-grad.js';

export type Init = 'he_uniform' | 'glorot_uniform' | 'zeros' | 'ones';
export type Activation = 'relu' | 'linear';

export interface ParamSpec {
  /** e.g. `conv1/kernel`, for error messages and debugging. */
  readonly name: string;
  readonly shape: number[];
  readonly init: Init;
  readonly fanIn: number;
  readonly fanOut: number;
  /** Multiplies the uniform init's limit (e.g. Fixup's depth scaling); default 1. */
  readonly gain?: number;
}

/** One layer's forward output and the way back through it. */
export interface Trace {
  readonly y: tf.Tensor;
  /**
   * Given dLoss/dy: the gradients of this layer's parameters (in `params` order) and dLoss/dx,
   * or null when the forward pass was run with `needDx` false.
   */
  backward(dy: tf.Tensor): { dx: tf.Tensor | null; grads: tf.Tensor[] };
}

/** A layer bound to its input shape (per sample, no batch dimension). */
export interface Layer {
  readonly params: ParamSpec[];
  readonly outShape: number[];
  /**
   * `x` has a leading batch dimension; `p` holds this layer's parameters in `params` order.
   * `needDx` is false when nothing before this layer has parameters (dx would be thrown away).
   */
  forward(x: tf.Tensor, p: tf.Tensor[], needDx: boolean): Trace;
}

/**
 * Builds a layer once the shape of its input is known. `name` is unique within the network.
 * `sequential` fuses a factory that has `withMaxPool` with a following one that has
 * `maxPoolSize`.
 */
export type LayerFactory = ((inShape: number[], name: string) => Layer) & {
  /** Set on max pools. */
  readonly maxPoolSize?: number;
  /** The same layer followed by a `size` x `size` max pool, as one layer. */
  readonly withMaxPool?: (size: number) => LayerFactory;
};

export interface Network {
  readonly inputShape: number[];
  readonly numClasses: number;
  readonly params: ParamSpec[];
  /** Logits `[n, numClasses]` for `x` of shape `[n, ...inputShape]`. */
  forward(x: tf.Tensor, p: tf.Tensor[]): tf.Tensor;
  /**
   * Hand-written backprop, if the network has one (else the adapter takes tfjs's tape): runs
   * the forward pass, asks `lossGrad` for dLoss/dlogits, and returns dLoss/dp for every
   * parameter tensor, in `params` order.
   */
  backprop?(x: tf.Tensor, p: tf.Tensor[], lossGrad: (logits: tf.Tensor) => tf.Tensor): tf.Tensor[];
}

const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** dy * step(y): the ReLU's backward pass, given its output y (y > 0 exactly where its input is). */
const reluGrad = (dy: tf.Tensor, y: tf.Tensor) => tf.mul(dy, tf.step(y));

export function flatten(): LayerFactory {
  return (inShape) => {
    const size = prod(inShape);
    return {
      params: [],
      outShape: [size],
      forward: (x, _p, needDx) => ({
        y: x.rank === 2 ? x : tf.reshape(x, [x.shape[0], size]),
        backward: (dy) => ({ dx: needDx ? tf.reshape(dy, x.shape) : null, grads: [] }),
      }),
    };
  };
}

/**
 * Fully connected: `act(x W + b)`, W `[in, units]`. Expects a flat input.
 *
 * Forward: one _FusedMatMul kernel (XNNPACK: product, bias and ReLU clamp in one pass); the
 * kernel itself because it takes rank-3 operands. Backward: dz = dy * step(y), dW = x^T dz,
 * db = sum_rows dz, dx = dz W^T.
 */
export function dense(units: number, act: Activation, init: Init = 'he_uniform'): LayerFactory {
  return (inShape, name) => {
    if (inShape.length !== 1) throw new Error(`${name}: dense needs a flat input, got [${inShape}]`);
    const fanIn = inShape[0];
    const activation = act === 'relu' ? 'relu' : 'linear';
    return {
      params: [
        { name: `${name}/kernel`, shape: [fanIn, units], init, fanIn, fanOut: units },
        { name: `${name}/bias`, shape: [units], init: 'zeros', fanIn, fanOut: units },
      ],
      outShape: [units],
      forward: (x, [w, b], needDx) => {
        const m = x.shape[0];
        const y3 = tf
          .engine()
          .runKernel(
            '_FusedMatMul',
            { a: tf.reshape(x, [1, m, fanIn]), b: tf.reshape(w, [1, fanIn, units]), bias: b },
            { transposeA: false, transposeB: false, activation },
          ) as tf.Tensor3D;
        const y = tf.reshape(y3, [m, units]) as tf.Tensor2D;
        return {
          y,
          backward: (dy) => {
            const dz = (act === 'relu' ? reluGrad(dy, y) : dy) as tf.Tensor2D;
            return {
              dx: needDx ? tf.matMul(dz, w as tf.Tensor2D, false, true) : null,
              grads: [tf.matMul(x as tf.Tensor2D, dz, true, false), tf.sum(dz, 0)],
            };
          },
        };
      },
    };
  };
}

/**
 * 2-D convolution, NHWC, stride 1: `act(conv(x, K) + b)`, K `[k, k, inC, filters]`.
 *
 * Forward: one FusedConv2D kernel. Backward: dz = dy * step(y), dK = Conv2DBackpropFilter(x, dz),
 * db = sum of dz over (n, h, w), dx = Conv2DBackpropInput(dz, K).
 *
 * With ReLU it can absorb the max pool after it (`withMaxPool`, used by `sequential`): then
 * dz and db come from one DracoReluMaxPoolGrad kernel instead of MaxPoolGrad, Step, Multiply
 * and Sum (kernels/relu-max-pool-grad.ts).
 */
export function conv2d(
  filters: number,
  kernel: number,
  padding: 'same' | 'valid',
  act: Activation,
  init: Init = 'he_uniform',
): LayerFactory {
  const make = (pool: number) => (inShape: number[], name: string) =>
    convLayer(filters, kernel, padding, act, init, pool, inShape, name);
  return Object.assign(make(0), act === 'relu' ? { withMaxPool: (size: number) => make(size) } : {});
}

/** `conv2d`'s layer, followed by a `pool` x `pool` max pool unless `pool` is 0. */
function convLayer(
  filters: number,
  kernel: number,
  padding: 'same' | 'valid',
  act: Activation,
  init: Init,
  pool: number,
  inShape: number[],
  name: string,
): Layer {
  if (inShape.length !== 3) throw new Error(`${name}: conv2d needs an [h, w, c] input, got [${inShape}]`);
  const [h, w, c] = inShape;
  const oh = padding === 'same' ? h : h - kernel + 1;
  const ow = padding === 'same' ? w : w - kernel + 1;
  if (oh < 1 || ow < 1) {
    throw new UsageError(`${name}: input ${h}x${w} is too small for a ${kernel}x${kernel} 'valid' conv`);
  }
  const fanIn = kernel * kernel * c;
  const fanOut = kernel * kernel * filters;
  const conv = { strides: [1, 1], pad: padding, dataFormat: 'NHWC' };
  const activation = act === 'relu' ? 'relu' : 'linear';
  const poolAttrs = { filterSize: [pool, pool], strides: [pool, pool], pad: 'valid' };
  return {
    params: [
      { name: `${name}/kernel`, shape: [kernel, kernel, c, filters], init, fanIn, fanOut },
      { name: `${name}/bias`, shape: [filters], init: 'zeros', fanIn, fanOut },
    ],
    outShape: pool === 0 ? [oh, ow, filters] : [Math.floor(oh / pool), Math.floor(ow / pool), filters],
    forward: (x, [k, b], needDx) => {
      const e = tf.engine();
      const y = e.runKernel(
        'FusedConv2D',
        { x, filter: k, bias: b },
        { ...conv, dilations: [1, 1], activation },
      ) as tf.Tensor4D;
      const back = (dz: tf.Tensor, db: tf.Tensor) => {
        const dk = e.runKernel('Conv2DBackpropFilter', { x, dy: dz }, { ...conv, filterShape: k.shape });
        const dx = needDx
          ? (e.runKernel(
              'Conv2DBackpropInput',
              { dy: dz, filter: k },
              { ...conv, inputShape: x.shape },
            ) as tf.Tensor)
          : null;
        return { dx, grads: [dk as tf.Tensor, db] };
      };
      if (pool === 0) {
        return {
          y,
          backward: (dy) => {
            const dz = act === 'relu' ? reluGrad(dy, y) : dy;
            // Summed as [n*h*w, filters]: a 2-D reduction is a cheaper layout change than 4-D.
            return back(dz, tf.sum(tf.reshape(dz, [-1, filters]), 0));
          },
        };
      }
      return {
        y: e.runKernel('MaxPool', { x: y }, poolAttrs) as tf.Tensor,
        backward: (dy) => {
          const [dz, db] = e.runKernel(RELU_MAX_POOL_GRAD, { y, dy }, { size: pool }) as tf.Tensor[];
          return back(dz, db);
        },
      };
    },
  };
}

/** Non-overlapping max pooling (`size` x `size`, stride `size`, 'valid'). */
export function maxPool(size: number): LayerFactory {
  const make = (inShape: number[], name: string): Layer => {
    if (inShape.length !== 3) throw new Error(`${name}: maxPool needs an [h, w, c] input, got [${inShape}]`);
    const [h, w, c] = inShape;
    const oh = Math.floor(h / size);
    const ow = Math.floor(w / size);
    if (oh < 1 || ow < 1)
      throw new UsageError(`${name}: input ${h}x${w} is too small for ${size}x${size} pooling`);
    const attrs = { filterSize: [size, size], strides: [size, size], pad: 'valid' };
    return {
      params: [],
      outShape: [oh, ow, c],
      forward: (x, _p, needDx) => {
        const y = tf.engine().runKernel('MaxPool', { x }, attrs) as tf.Tensor;
        return {
          y,
          backward: (dy) => ({
            dx: needDx
              ? (tf.engine().runKernel('MaxPoolGrad', { dy, input: x, output: y }, attrs) as tf.Tensor)
              : null,
            grads: [],
          }),
        };
      },
    };
  };
  return Object.assign(make, { maxPoolSize: size });
}

/** Chain `layers`, naming them `<kind><index>` in order; the last must output `numClasses`. */
export function sequential(
  inputShape: number[],
  numClasses: number,
  layers: { kind: string; make: LayerFactory }[],
): Network {
  if (!inputShape.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new UsageError(`input shape must be positive integers, got [${inputShape}]`);
  }
  if (!Number.isInteger(numClasses) || numClasses < 2) {
    throw new UsageError(`number of classes must be an integer >= 2, got ${numClasses}`);
  }
  const built: Layer[] = [];
  const counts = new Map<string, number>();
  let shape = inputShape;
  const nameOf = (kind: string) => {
    const k = (counts.get(kind) ?? 0) + 1;
    counts.set(kind, k);
    return `${kind}${k}`;
  };
  for (let i = 0; i < layers.length; i++) {
    const { kind, make } = layers[i];
    const name = nameOf(kind);
    let layer = make(shape, name);
    const next = layers[i + 1]?.make;
    if (make.withMaxPool !== undefined && next?.maxPoolSize !== undefined) {
      // Built on its own first: its checks and error messages, and the shape to expect.
      const pool = next(layer.outShape, nameOf(layers[i + 1].kind));
      layer = make.withMaxPool(next.maxPoolSize)(shape, name);
      if (layer.outShape.join() !== pool.outShape.join())
        throw new Error(`${name}: fused pool shape mismatch`);
      i++;
    }
    built.push(layer);
    shape = layer.outShape;
  }
  if (shape.length !== 1 || shape[0] !== numClasses) {
    throw new Error(`network output shape [${shape}] is not [${numClasses}]`);
  }
  const params = built.flatMap((l) => l.params);
  // Backprop stops at the first layer with parameters: nothing before it needs a gradient.
  const first = built.findIndex((l) => l.params.length > 0);
  const run = (x: tf.Tensor, p: tf.Tensor[], train: boolean): Trace[] => {
    const traces: Trace[] = [];
    let off = 0;
    let h = x;
    built.forEach((l, i) => {
      const t = l.forward(h, p.slice(off, off + l.params.length), train && i > first);
      traces.push(t);
      off += l.params.length;
      h = t.y;
    });
    return traces;
  };
  return {
    inputShape: [...inputShape],
    numClasses,
    params,
    forward: (x, p) => run(x, p, false)[built.length - 1].y,
    backprop(x, p, lossGrad) {
      const traces = run(x, p, true);
      let g = lossGrad(traces[built.length - 1].y);
      const grads: tf.Tensor[] = new Array(params.length);
      let off = params.length;
      for (let i = built.length - 1; i >= Math.max(first, 0); i--) {
        const { dx, grads: gs } = traces[i].backward(g);
        off -= gs.length;
        gs.forEach((t, j) => (grads[off + j] = t));
        if (i > first) {
          if (dx == null) throw new Error(`layer ${i}: no input gradient`);
          g = dx;
        }
      }
      return grads;
    },
  };
}
