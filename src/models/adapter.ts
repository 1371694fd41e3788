/**
 * The one adapter between a tfjs `Network` and draco's `TrainableModel`: flat Float32Array
 * parameters <-> tf.Variables, and the gradient of a batch as one flat Float32Array.
 *
 * Loss: softmax cross-entropy SUMMED over the batch (not averaged), so the gradient of a union
 * of partitions is the sum of their gradients (docs/schemes.md "Notation").
 *
 * Copies at the boundary: the cpu backend keeps a reference to the arrays it is given and hands
 * out its own storage from dataSync; wasm views live in the wasm heap. So parameters are copied
 * in, and gradients are copied out into a fresh array the caller owns.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../core/rng.js';
import type { Batch } from '../data/types.js';
import { asWasm } from './kernels/wasm.js';
import type { Network, ParamSpec } from './layers.js';
import type { EvalResult, GradientResult, TrainableModel } from './types.js';

/** Samples per forward pass in `evaluate`. */
const EVAL_CHUNK = 1000;

/**
 * A read-only view of `t`'s values, valid until the next tensor allocation: on wasm straight
 * from the heap (dataSync would copy), on cpu the backend's own array.
 */
function readView(t: tf.Tensor): Float32Array {
  if (tf.getBackend() === 'wasm') return asWasm(tf.backend()).typedArrayFromHeap(t) as Float32Array;
  return t.dataSync() as Float32Array;
}

/**
 * Softmax cross-entropy of `n` rows of `c` logits against integer labels, SUMMED over rows, in
 * float64 (log-sum-exp with the row maximum subtracted). With `grad`, also writes dLoss/dlogits
 * = softmax(z) - onehot(label) there. Plain JS: on [32, 10] logits this is a few microseconds,
 * where tfjs's logSoftmax, one-hot and their gradients take about fifteen kernel calls.
 */
export function softmaxCrossEntropy(
  z: ArrayLike<number>,
  labels: ArrayLike<number>,
  n: number,
  c: number,
  grad?: Float32Array,
): number {
  let total = 0;
  for (let i = 0; i < n; i++) {
    const o = i * c;
    let m = -Infinity;
    for (let k = 0; k < c; k++) m = Math.max(m, z[o + k]);
    let s = 0;
    for (let k = 0; k < c; k++) s += Math.exp(z[o + k] - m);
    const lse = m + Math.log(s);
    total += lse - z[o + labels[i]];
    if (grad !== undefined) {
      for (let k = 0; k < c; k++) grad[o + k] = Math.exp(z[o + k] - lse) - (k === labels[i] ? 1 : 0);
    }
  }
  return total;
}

const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);

/**
 * Deterministic initial parameters: a function of (seed, model name, parameter index) only, so
 * the same seed gives the same bits on every backend and machine. Each tensor draws from its own
 * derived stream. Weights are uniform in [-limit, limit) with limit sqrt(6 / fanIn) (He) or
 * sqrt(6 / (fanIn + fanOut)) (Glorot), times the spec's `gain` if it has one; biases are zero;
 * `ones` tensors (e.g. Fixup multipliers) are one.
 */
export function initParams(modelName: string, specs: ParamSpec[], seed: number): Float32Array {
  const out = new Float32Array(specs.reduce((a, s) => a + prod(s.shape), 0));
  let off = 0;
  specs.forEach((s, i) => {
    const size = prod(s.shape);
    if (s.init === 'ones') out.fill(1, off, off + size);
    else if (s.init !== 'zeros') {
      let limit = s.init === 'he_uniform' ? Math.sqrt(6 / s.fanIn) : Math.sqrt(6 / (s.fanIn + s.fanOut));
      if (s.gain !== undefined) limit *= s.gain;
      const rng = Rng.derive(seed, 'model-init', modelName, i);
      for (let k = 0; k < size; k++) out[off + k] = (2 * rng.float() - 1) * limit;
    }
    off += size;
  });
  return out;
}

class TfModel implements TrainableModel {
  readonly numParams: number;
  private readonly sizes: number[];
  private vars: tf.Variable[] | null;

  constructor(
    readonly name: string,
    private readonly net: Network,
    seed: number,
  ) {
    this.sizes = net.params.map((s) => prod(s.shape));
    this.numParams = this.sizes.reduce((a, b) => a + b, 0);
    const init = initParams(name, net.params, seed);
    let off = 0;
    this.vars = net.params.map((s, i) => {
      const v = tf.tidy(() => tf.variable(tf.tensor(init.slice(off, off + this.sizes[i]), s.shape), true));
      off += this.sizes[i];
      return v;
    });
  }

  layout(): { name: string; shape: number[] }[] {
    return this.net.params.map((p) => ({ name: p.name, shape: [...p.shape] }));
  }

  private live(): tf.Variable[] {
    if (this.vars == null) throw new Error(`model ${this.name} has been disposed`);
    return this.vars;
  }

  getParams(): Float32Array {
    const out = new Float32Array(this.numParams);
    let off = 0;
    this.live().forEach((v, i) => {
      out.set(v.dataSync() as Float32Array, off);
      off += this.sizes[i];
    });
    return out;
  }

  setParams(params: Float32Array): void {
    const vars = this.live();
    if (!(params instanceof Float32Array) || params.length !== this.numParams) {
      const what = params instanceof Float32Array ? `length ${params.length}` : 'a non-Float32Array';
      throw new Error(
        `setParams: model ${this.name} needs a Float32Array of length ${this.numParams}, got ${what}`,
      );
    }
    let off = 0;
    vars.forEach((v, i) => {
      // slice(): the cpu backend would otherwise alias the caller's array.
      tf.tidy(() => v.assign(tf.tensor(params.slice(off, off + this.sizes[i]), v.shape)));
      off += this.sizes[i];
    });
  }

  private checkBatch(batch: Batch, what: string): void {
    const per = prod(this.net.inputShape);
    if (!Number.isInteger(batch.n) || batch.n < 0) throw new Error(`${what}: bad batch size ${batch.n}`);
    if (batch.x.length !== batch.n * per) {
      throw new Error(
        `${what}: batch.x has ${batch.x.length} values, expected ${batch.n} x [${this.net.inputShape}] = ${batch.n * per}`,
      );
    }
    if (batch.y.length !== batch.n)
      throw new Error(`${what}: batch.y has ${batch.y.length} labels, expected ${batch.n}`);
    const c = this.net.numClasses;
    for (let i = 0; i < batch.n; i++) {
      const l = batch.y[i];
      if (!(l >= 0 && l < c)) throw new Error(`${what}: label ${l} at ${i} is outside [0, ${c})`);
    }
  }

  /** Inputs of samples [from, to) of `batch` as a tensor `[m, ...inputShape]`. */
  private input(batch: Batch, from: number, to: number): tf.Tensor {
    const per = prod(this.net.inputShape);
    return tf.tensor(batch.x.subarray(from * per, to * per), [to - from, ...this.net.inputShape], 'float32');
  }

  gradient(batch: Batch): GradientResult {
    const vars = this.live();
    this.checkBatch(batch, 'gradient');
    const grad = new Float32Array(this.numParams);
    if (batch.n === 0) return { grad, lossSum: 0 };
    const { n } = batch;
    const c = this.net.numClasses;
    let lossSum = 0;
    tf.tidy(() => {
      const x = this.input(batch, 0, n);
      const lossGrad = (logits: tf.Tensor): tf.Tensor => {
        const d = new Float32Array(n * c);
        lossSum = softmaxCrossEntropy(readView(logits), batch.y, n, c, d);
        return tf.tensor2d(d, [n, c]);
      };
      let grads: tf.Tensor[];
      if (this.net.backprop != null) grads = this.net.backprop(x, vars, lossGrad);
      else {
        // tfjs's tape, with the loss as one node whose forward pass already has the gradient.
        const loss = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
          // Saved: customGrad disposes whatever else its forward function made.
          (args[1] as tf.GradSaveFunc)([lossGrad(args[0] as tf.Tensor)]);
          return {
            value: tf.scalar(lossSum),
            gradFunc: (dy: tf.Tensor | tf.Tensor[], [d]: tf.Tensor[]) => tf.mul(d, dy as tf.Tensor),
          };
        });
        const byName = tf.variableGrads(() => loss(this.net.forward(x, vars)) as tf.Scalar, vars).grads;
        grads = vars.map((v) => byName[v.name]);
      }
      let off = 0;
      grads.forEach((g, i) => {
        if (g == null || g.size !== this.sizes[i]) {
          throw new Error(`no gradient of the right size for ${this.net.params[i].name}`);
        }
        grad.set(readView(g), off);
        off += this.sizes[i];
      });
    });
    return { grad, lossSum };
  }

  evaluate(batch: Batch): EvalResult {
    const vars = this.live();
    this.checkBatch(batch, 'evaluate');
    if (batch.n === 0) throw new Error('evaluate: empty batch');
    const c = this.net.numClasses;
    let loss = 0;
    let correct = 0;
    for (let from = 0; from < batch.n; from += EVAL_CHUNK) {
      const to = Math.min(batch.n, from + EVAL_CHUNK);
      const labels = batch.y.subarray(from, to);
      tf.tidy(() => {
        const z = readView(this.net.forward(this.input(batch, from, to), vars));
        loss += softmaxCrossEntropy(z, labels, to - from, c);
        for (let i = 0; i < to - from; i++) {
          // The first maximum, as tf.argMax.
          let best = 0;
          for (let k = 1; k < c; k++) if (z[i * c + k] > z[i * c + best]) best = k;
          if (best === labels[i]) correct++;
        }
      });
    }
    return { loss: loss / batch.n, accuracy: correct / batch.n, n: batch.n };
  }

  dispose(): void {
    if (this.vars == null) return;
    for (const v of this.vars) v.dispose();
    this.vars = null;
  }
}

/** Wrap `net` as a TrainableModel with parameters initialised from `seed`. */
export function createModel(name: string, net: Network, seed: number): TrainableModel {
  return new TfModel(name, net, seed);
}
