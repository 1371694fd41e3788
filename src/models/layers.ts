/**
 * A minimal functional layer kit: each layer declares its parameters (shape + init) and a pure
 * forward function of (input, its parameter tensors). No tf.layers: less overhead, and we own the
 * parameter order, which is the order of the flat vector the rest of draco sees.
 */
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../core/errors.js';

export type Init = 'he_uniform' | 'glorot_uniform' | 'zeros';
export type Activation = 'relu' | 'linear';

export interface ParamSpec {
  /** e.g. `conv1/kernel`, for error messages and debugging. */
  readonly name: string;
  readonly shape: number[];
  readonly init: Init;
  readonly fanIn: number;
  readonly fanOut: number;
}

/** A layer bound to its input shape (per sample, no batch dimension). */
export interface Layer {
  readonly params: ParamSpec[];
  readonly outShape: number[];
  /** `x` has a leading batch dimension; `p` holds this layer's parameters in `params` order. */
  apply(x: tf.Tensor, p: tf.Tensor[]): tf.Tensor;
}

/** Builds a layer once the shape of its input is known. `name` is unique within the network. */
export type LayerFactory = (inShape: number[], name: string) => Layer;

export interface Network {
  readonly inputShape: number[];
  readonly numClasses: number;
  readonly params: ParamSpec[];
  /** Logits `[n, numClasses]` for `x` of shape `[n, ...inputShape]`. */
  forward(x: tf.Tensor, p: tf.Tensor[]): tf.Tensor;
}

const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);

function activate(x: tf.Tensor, act: Activation): tf.Tensor {
  return act === 'relu' ? tf.relu(x) : x;
}

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

/** Fully connected: `act(x W + b)`, W `[in, units]`. Expects a flat input. */
export function dense(units: number, act: Activation, init: Init = 'he_uniform'): LayerFactory {
  return (inShape, name) => {
    if (inShape.length !== 1) throw new Error(`${name}: dense needs a flat input, got [${inShape}]`);
    const fanIn = inShape[0];
    return {
      params: [
        { name: `${name}/kernel`, shape: [fanIn, units], init, fanIn, fanOut: units },
        { name: `${name}/bias`, shape: [units], init: 'zeros', fanIn, fanOut: units },
      ],
      outShape: [units],
      apply: (x, [w, b]) => activate(tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), b), act),
    };
  };
}

/** 2-D convolution, NHWC, stride 1: `act(conv(x, K) + b)`, K `[k, k, inC, filters]`. */
export function conv2d(
  filters: number,
  kernel: number,
  padding: 'same' | 'valid',
  act: Activation,
  init: Init = 'he_uniform',
): LayerFactory {
  return (inShape, name) => {
    if (inShape.length !== 3) throw new Error(`${name}: conv2d needs an [h, w, c] input, got [${inShape}]`);
    const [h, w, c] = inShape;
    const oh = padding === 'same' ? h : h - kernel + 1;
    const ow = padding === 'same' ? w : w - kernel + 1;
    if (oh < 1 || ow < 1) {
      throw new UsageError(`${name}: input ${h}x${w} is too small for a ${kernel}x${kernel} 'valid' conv`);
    }
    const fanIn = kernel * kernel * c;
    const fanOut = kernel * kernel * filters;
    return {
      params: [
        { name: `${name}/kernel`, shape: [kernel, kernel, c, filters], init, fanIn, fanOut },
        { name: `${name}/bias`, shape: [filters], init: 'zeros', fanIn, fanOut },
      ],
      outShape: [oh, ow, filters],
      apply: (x, [k, b]) =>
        activate(tf.add(tf.conv2d(x as tf.Tensor4D, k as tf.Tensor4D, 1, padding), b), act),
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
    const layer = make(shape, `${kind}${k}`);
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
