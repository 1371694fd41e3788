/**
 * A minimal functional layer kit: each layer declares its parameters (shape + init) and a pure
 * forward function of (input, its parameter tensors). No tf.layers: less overhead, and we own the
 * parameter order, which is the order of the flat vector the rest of draco sees.
 */
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../core/errors.js';

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

/** A layer bound to its input shape (per sample, no batch dimension). */
export interface Layer {
  readonly params: ParamSpec[];
  readonly outShape: number[];
  /** `x` has a leading batch dimension; `p` holds this layer's parameters in `params` order. */
  apply(x: tf.Tensor, p: tf.Tensor[]): tf.Tensor;
}

/**
 * Builds a layer once the shape of its input is known. `name` is unique within the network.
 * `inputIsData` is true when no parameter comes before this layer, so the gradient with respect
 * to its input is never needed.
 */
export type LayerFactory = (inShape: number[], name: string, inputIsData: boolean) => Layer;

export interface Network {
  readonly inputShape: number[];
  readonly numClasses: number;
  readonly params: ParamSpec[];
  /** Logits `[n, numClasses]` for `x` of shape `[n, ...inputShape]`. */
  forward(x: tf.Tensor, p: tf.Tensor[]): tf.Tensor;
}

const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);

export function flatten(): LayerFactory {
  return (inShape) => {
    const size = prod(inShape);
    return {
      params: [],
      outShape: [size],
      apply: (x) => (x.rank === 2 ? x : tf.reshape(x, [x.shape[0], size])),
    };
  };
}

/**
 * `act(x W + b)` as ONE tape node with a hand-written gradient.
 *
 * Why: tfjs's per-op cost (tape bookkeeping, kernel dispatch) dominates small dense layers. As
 * separate ops (matMul, add, relu) the backward pass runs ~12 kernels, including Reshape/Sum
 * for the broadcast bias, Cast/Step/Multiply for the ReLU and Identity nodes; here the forward
 * is one _FusedMatMul kernel (XNNPACK: product, bias and ReLU clamp in one pass) and the
 * backward is dz = dy * step(y) (y > 0 exactly where x W + b > 0), dW = x^T dz, db = sum_rows dz,
 * dx = dz W^T, skipped (zeros) when `inputIsData`. All of it stays in tfjs kernels,
 * deterministic run to run.
 */
function denseOp(act: Activation, inputIsData: boolean) {
  return tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, w, b] = args as tf.Tensor2D[];
    const save = args[3] as tf.GradSaveFunc;
    // The kernel itself (it takes rank-3 operands): tf.fused.matMul would un-fuse a ReLU while a
    // gradient is being taken.
    const [m, k] = x.shape;
    const n = w.shape[1];
    const y3 = tf
      .engine()
      .runKernel(
        '_FusedMatMul',
        { a: tf.reshape(x, [1, m, k]), b: tf.reshape(w, [1, k, n]), bias: b },
        { transposeA: false, transposeB: false, activation: act === 'relu' ? 'relu' : 'linear' },
      ) as tf.Tensor3D;
    const y = tf.reshape(y3, [m, n]) as tf.Tensor2D;
    save([x, w, y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [sx, sw, sy] = saved as tf.Tensor2D[];
        const g = dy as tf.Tensor2D;
        const dz = act === 'relu' ? tf.mul(g, tf.step(sy)) : g;
        const dx = inputIsData ? tf.zerosLike(sx) : tf.matMul(dz, sw, false, true);
        return [dx, tf.matMul(sx, dz, true, false), tf.sum(dz, 0)];
      },
    };
  });
}

/** Fully connected: `act(x W + b)`, W `[in, units]`. Expects a flat input. */
export function dense(units: number, act: Activation, init: Init = 'he_uniform'): LayerFactory {
  return (inShape, name, inputIsData) => {
    if (inShape.length !== 1) throw new Error(`${name}: dense needs a flat input, got [${inShape}]`);
    const fanIn = inShape[0];
    let op: ReturnType<typeof denseOp> | null = null;
    return {
      params: [
        { name: `${name}/kernel`, shape: [fanIn, units], init, fanIn, fanOut: units },
        { name: `${name}/bias`, shape: [units], init: 'zeros', fanIn, fanOut: units },
      ],
      outShape: [units],
      apply: (x, [w, b]) => {
        if (op == null) op = denseOp(act, inputIsData);
        return op(x, w, b);
      },
    };
  };
}

/**
 * `act(conv(x, K) + b)` (NHWC, stride 1) as ONE tape node with a hand-written gradient, for the
 * same reason as `denseOp`: the forward is one FusedConv2D kernel, the backward is
 * dz = dy * step(y), dK = Conv2DBackpropFilter(x, dz), db = sum of dz over (n, h, w), and
 * dx = Conv2DBackpropInput(dz, K), skipped (zeros) when `inputIsData`.
 */
function convOp(act: Activation, padding: 'same' | 'valid', inputIsData: boolean) {
  const conv = { strides: [1, 1], pad: padding, dataFormat: 'NHWC' };
  return tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, k, b] = args as tf.Tensor4D[];
    const save = args[3] as tf.GradSaveFunc;
    const y = tf
      .engine()
      .runKernel(
        'FusedConv2D',
        { x, filter: k, bias: b },
        { ...conv, dilations: [1, 1], activation: act === 'relu' ? 'relu' : 'linear' },
      ) as tf.Tensor4D;
    save([x, k, y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [sx, sk, sy] = saved;
        const g = dy as tf.Tensor;
        const dz = act === 'relu' ? tf.mul(g, tf.step(sy)) : g;
        const dk = tf.engine().runKernel(
          'Conv2DBackpropFilter',
          { x: sx, dy: dz },
          {
            ...conv,
            filterShape: sk.shape,
          },
        ) as tf.Tensor;
        const dx = inputIsData
          ? tf.zerosLike(sx)
          : (tf.engine().runKernel(
              'Conv2DBackpropInput',
              { dy: dz, filter: sk },
              {
                ...conv,
                inputShape: sx.shape,
              },
            ) as tf.Tensor);
        return [dx, dk, tf.sum(dz, [0, 1, 2])];
      },
    };
  });
}

/** 2-D convolution, NHWC, stride 1: `act(conv(x, K) + b)`, K `[k, k, inC, filters]`. */
export function conv2d(
  filters: number,
  kernel: number,
  padding: 'same' | 'valid',
  act: Activation,
  init: Init = 'he_uniform',
): LayerFactory {
  return (inShape, name, inputIsData) => {
    if (inShape.length !== 3) throw new Error(`${name}: conv2d needs an [h, w, c] input, got [${inShape}]`);
    const [h, w, c] = inShape;
    const oh = padding === 'same' ? h : h - kernel + 1;
    const ow = padding === 'same' ? w : w - kernel + 1;
    if (oh < 1 || ow < 1) {
      throw new UsageError(`${name}: input ${h}x${w} is too small for a ${kernel}x${kernel} 'valid' conv`);
    }
    const fanIn = kernel * kernel * c;
    const fanOut = kernel * kernel * filters;
    let op: ReturnType<typeof convOp> | null = null;
    return {
      params: [
        { name: `${name}/kernel`, shape: [kernel, kernel, c, filters], init, fanIn, fanOut },
        { name: `${name}/bias`, shape: [filters], init: 'zeros', fanIn, fanOut },
      ],
      outShape: [oh, ow, filters],
      apply: (x, [k, b]) => {
        if (op == null) op = convOp(act, padding, inputIsData);
        return op(x, k, b);
      },
    };
  };
}

/** Non-overlapping max pooling (`size` x `size`, stride `size`, 'valid'). */
export function maxPool(size: number): LayerFactory {
  return (inShape, name) => {
    if (inShape.length !== 3) throw new Error(`${name}: maxPool needs an [h, w, c] input, got [${inShape}]`);
    const [h, w, c] = inShape;
    const oh = Math.floor(h / size);
    const ow = Math.floor(w / size);
    if (oh < 1 || ow < 1)
      throw new UsageError(`${name}: input ${h}x${w} is too small for ${size}x${size} pooling`);
    return {
      params: [],
      outShape: [oh, ow, c],
      apply: (x) => tf.maxPool(x as tf.Tensor4D, size, size, 'valid'),
    };
  };
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
  for (const { kind, make } of layers) {
    const k = (counts.get(kind) ?? 0) + 1;
    counts.set(kind, k);
    const layer = make(
      shape,
      `${kind}${k}`,
      built.every((l) => l.params.length === 0),
    );
    built.push(layer);
    shape = layer.outShape;
  }
  if (shape.length !== 1 || shape[0] !== numClasses) {
    throw new Error(`network output shape [${shape}] is not [${numClasses}]`);
  }
  const params = built.flatMap((l) => l.params);
  return {
    inputShape: [...inputShape],
    numClasses,
    params,
    forward(x, p) {
      let off = 0;
      let h = x;
      for (const l of built) {
        h = l.apply(h, p.slice(off, off + l.params.length));
        off += l.params.length;
      }
      return h;
    },
  };
}
