/**
 * Bring your own tfjs model: a `tf.LayersModel` (tf.sequential, tf.model, or one loaded from a
 * model.json, see tfjs-files.ts) behind draco's `TrainableModel` interface.
 *
 * Parameters: the model's `trainableWeights`, in that order, each flattened row-major and
 * concatenated. tfjs lists them layer by layer in `model.layers` order, and within a layer in the
 * order the layer created them (a Dense or Conv2D layer: kernel, then bias; BatchNormalization:
 * gamma, then beta). The list is taken once, when the model is wrapped.
 *
 * Not parameters: the non-trainable weights (BatchNormalization's moving mean and variance,
 * layers with `trainable: false`). They stay as they are; `describe()` carries their values so a
 * rebuilt replica computes the same function.
 *
 * Loss: softmax cross-entropy SUMMED over the batch (not averaged), as everywhere in draco, so the
 * gradient of a union of batches is the sum of their gradients. The outputs are either logits
 * (the loss applies the softmax) or probabilities (the model ends in a softmax; the loss is
 * -log(clip(p[label], 1e-7, 1)), the Keras convention). The loss and its derivative with respect
 * to the outputs are computed in float64 in plain JS; tfjs autodiff does the rest.
 *
 * Inference mode: the model always runs with `training: false`. Dropout is then the identity and
 * BatchNormalization normalises with its moving statistics, which it does not update. That is
 * what makes the gradient a function of (parameters, batch) only: honest replicas must produce
 * bitwise identical gradients, because the repetition code compares their bytes.
 *
 * Regularisers, constraints and the model's own optimizer/loss (from `compile`) are not used.
 */
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../core/errors.js';
import type { Batch } from '../data/types.js';
import { softmaxCrossEntropy } from './adapter.js';
import { asWasm } from './kernels/wasm.js';
import type { EvalResult, GradientResult, TrainableModel } from './types.js';

/** How `wrapLayersModel` reads the model's outputs; 'auto' looks at the output layer. */
export type TfjsLoss = 'auto' | 'logits' | 'probabilities';

export interface WrapOptions {
  /** Default: the model's own name. */
  name?: string;
  /** Default 'auto': probabilities if the output layer's activation is softmax, else logits. */
  loss?: TfjsLoss;
}

/** Everything a worker process needs to rebuild the same function (not the parameters). */
export interface TfjsModelDescription {
  kind: 'tfjs';
  /** The model's JSON topology (`model.toJSON`), as a plain object. */
  topology: unknown;
  /** How the outputs are read, as resolved when the model was wrapped. */
  loss: 'logits' | 'probabilities';
  /**
   * Values of `model.nonTrainableWeights`, in that order: float32 little-endian bytes in base64.
   * They are part of the function (moving statistics, frozen layers) but not of the parameter
   * vector, and a rebuilt model would otherwise start them from its initializers.
   */
  nonTrainable: string[];
}

export interface TfjsTrainableModel extends TrainableModel {
  /** The wrapped model. The wrapper owns it: `dispose()` disposes it. */
  readonly layersModel: tf.LayersModel;
  /** How the outputs are read. */
  readonly outputs: 'logits' | 'probabilities';
  describe(): TfjsModelDescription;
}

/** Samples per forward pass in `evaluate`; user models may be large, so modest. */
const EVAL_CHUNK = 256;

/** Lower clip of a probability in the loss (Keras's epsilon). */
const PROB_EPS = 1e-7;

type Weight = tf.LayersModel['trainableWeights'][number];

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const shapeText = (s: readonly (number | null)[]) => `[${s.map(String).join(', ')}]`;

/** As adapter.ts: a view of `t`'s values valid until the next tensor allocation. */
function readView(t: tf.Tensor): Float32Array {
  if (tf.getBackend() === 'wasm') return asWasm(tf.backend()).typedArrayFromHeap(t) as Float32Array;
  return t.dataSync() as Float32Array;
}

/**
 * Cross-entropy of `n` rows of `c` probabilities against integer labels, SUMMED over rows, in
 * float64: -log(clip(p[label], 1e-7, 1)). With `grad`, also writes dLoss/dp there: -1/p at the
 * label inside the clip range (bounds included, as tf.clipByValue's gradient), 0 elsewhere.
 */
export function probabilityCrossEntropy(
  p: ArrayLike<number>,
  labels: ArrayLike<number>,
  n: number,
  c: number,
  grad?: Float32Array,
): number {
  let total = 0;
  for (let i = 0; i < n; i++) {
    const q = p[i * c + labels[i]];
    total -= Math.log(Math.min(Math.max(q, PROB_EPS), 1));
    if (grad !== undefined) {
      grad.fill(0, i * c, (i + 1) * c);
      if (q >= PROB_EPS && q <= 1) grad[i * c + labels[i]] = -1 / q;
    }
  }
  return total;
}

/** The model's input shape without the batch dimension, or a problem. */
function structure(model: tf.LayersModel): { input: (number | null)[]; output: (number | null)[] } | string {
  // An empty tf.sequential() has no inputs yet.
  const inputs = model.inputs ?? [];
  const outputs = model.outputs ?? [];
  if (inputs.length === 0) return 'model has no input shape (give its first layer an inputShape)';
  if (inputs.length !== 1) return `model has ${inputs.length} inputs; draco feeds one`;
  if (outputs.length !== 1) return `model has ${outputs.length} outputs; draco needs one (the class scores)`;
  return { input: inputs[0].shape.slice(1), output: outputs[0].shape.slice(1) };
}

/** What makes `model` unusable by draco on its own (whatever the dataset), or null. */
function modelProblem(model: tf.LayersModel): string | null {
  const s = structure(model);
  if (typeof s === 'string') return s;
  if (s.input.some((d) => d == null)) return `model input ${shapeText(s.input)} has unknown sizes`;
  if (s.output.length !== 1) return `model output ${shapeText(s.output)} is not one vector of class scores`;
  if (s.output[0] == null) return `model output ${shapeText(s.output)} has no fixed class count`;
  if (s.output[0] < 2) return `model output ${shapeText(s.output)} has fewer than 2 classes`;
  const weights = model.weights;
  const bad = weights.find((w) => w.dtype !== 'float32');
  if (bad !== undefined) return `model weight ${bad.originalName} is ${bad.dtype}, not float32`;
  if (model.trainableWeights.length === 0) return 'model has no trainable weights';
  return null;
}

/**
 * Whether `model` fits a dataset of samples shaped `inputShape` (channels last, no batch
 * dimension) with `numClasses` classes: null if it does, else one line saying why not.
 */
export function checkCompatible(
  model: tf.LayersModel,
  inputShape: number[],
  numClasses: number,
): string | null {
  const problem = modelProblem(model);
  if (problem !== null) return problem;
  const s = structure(model) as { input: number[]; output: number[] };
  if (s.input.length !== inputShape.length || s.input.some((d, i) => d !== inputShape[i])) {
    return `model input ${shapeText(s.input)} does not match the dataset's samples ${shapeText(inputShape)}`;
  }
  if (s.output[0] !== numClasses) {
    return `model output has ${s.output[0]} classes, the dataset has ${numClasses}`;
  }
  return null;
}

/** The layer that computes the model's output, looking inside nested models. */
function outputLayer(model: tf.LayersModel): tf.layers.Layer {
  let layer = model.outputs[0].sourceLayer;
  while (layer instanceof tf.LayersModel) layer = layer.outputs[0].sourceLayer;
  return layer;
}

/** 'probabilities' if the output layer ends in a softmax, else 'logits'. */
function resolveLoss(model: tf.LayersModel, loss: TfjsLoss): 'logits' | 'probabilities' {
  if (loss === 'logits' || loss === 'probabilities') return loss;
  const layer = outputLayer(model);
  if (layer.getClassName() === 'Softmax') return 'probabilities';
  const activation = (layer.getConfig() as { activation?: unknown }).activation;
  return activation === 'softmax' ? 'probabilities' : 'logits';
}

/** Float32 values as little-endian bytes in base64 (byte order fixed so any host reads them). */
function encodeFloats(a: Float32Array): string {
  const b = Buffer.alloc(a.length * 4);
  for (let i = 0; i < a.length; i++) b.writeFloatLE(a[i], i * 4);
  return b.toString('base64');
}

function decodeFloats(s: string, n: number, what: string): Float32Array {
  const b = Buffer.from(s, 'base64');
  if (b.length !== n * 4) throw new UsageError(`${what} has ${b.length} bytes, expected ${n * 4}`);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = b.readFloatLE(i * 4);
  return out;
}

/** The first line of an error's message, for one-line UsageErrors. */
export function firstLine(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split('\n')[0].trim();
}

class LayersTrainable implements TfjsTrainableModel {
  readonly numParams: number;
  readonly outputs: 'logits' | 'probabilities';
  private readonly weights: Weight[];
  private readonly sizes: number[];
  private readonly inputShape: number[];
  private readonly numClasses: number;
  private disposed = false;

  constructor(
    readonly layersModel: tf.LayersModel,
    readonly name: string,
    loss: TfjsLoss,
  ) {
    const problem = modelProblem(layersModel);
    if (problem !== null) throw new UsageError(`tfjs model ${name}: ${problem}`);
    const s = structure(layersModel) as { input: number[]; output: number[] };
    this.inputShape = s.input;
    this.numClasses = s.output[0];
    this.outputs = resolveLoss(layersModel, loss);
    this.weights = layersModel.trainableWeights;
    this.sizes = this.weights.map((w) => prod(w.shape as number[]));
    this.numParams = this.sizes.reduce((a, b) => a + b, 0);
  }

  layout(): { name: string; shape: number[] }[] {
    return this.weights.map((w) => ({ name: w.originalName, shape: [...(w.shape as number[])] }));
  }

  private vars(): tf.Variable[] {
    if (this.disposed) throw new Error(`model ${this.name} has been disposed`);
    return this.weights.map((w) => w.read() as tf.Variable);
  }

  getParams(): Float32Array {
    const out = new Float32Array(this.numParams);
    let off = 0;
    this.vars().forEach((v, i) => {
      out.set(v.dataSync() as Float32Array, off);
      off += this.sizes[i];
    });
    return out;
  }

  setParams(params: Float32Array): void {
    const vars = this.vars();
    if (!(params instanceof Float32Array) || params.length !== this.numParams) {
      const what = params instanceof Float32Array ? `length ${params.length}` : 'a non-Float32Array';
      throw new Error(
        `setParams: model ${this.name} needs a Float32Array of length ${this.numParams}, got ${what}`,
      );
    }
    let off = 0;
    vars.forEach((v, i) => {
      // Assigned to the variable itself, not through LayerVariable.write, which would apply the
      // layer's constraint: the parameters are exactly what the aggregator decided. slice(): the
      // cpu backend would otherwise alias the caller's array.
      tf.tidy(() => v.assign(tf.tensor(params.slice(off, off + this.sizes[i]), v.shape)));
      off += this.sizes[i];
    });
  }

  private checkBatch(batch: Batch, what: string): void {
    const per = prod(this.inputShape);
    if (!Number.isInteger(batch.n) || batch.n < 0) throw new Error(`${what}: bad batch size ${batch.n}`);
    if (batch.x.length !== batch.n * per) {
      throw new Error(
        `${what}: batch.x has ${batch.x.length} values, expected ${batch.n} x ${shapeText(this.inputShape)} = ${batch.n * per}`,
      );
    }
    if (batch.y.length !== batch.n)
      throw new Error(`${what}: batch.y has ${batch.y.length} labels, expected ${batch.n}`);
    const c = this.numClasses;
    for (let i = 0; i < batch.n; i++) {
      const l = batch.y[i];
      if (!(l >= 0 && l < c)) throw new Error(`${what}: label ${l} at ${i} is outside [0, ${c})`);
    }
  }

  private input(batch: Batch, from: number, to: number): tf.Tensor {
    const per = prod(this.inputShape);
    return tf.tensor(batch.x.subarray(from * per, to * per), [to - from, ...this.inputShape], 'float32');
  }

  /** Inference mode always: see the file comment. */
  private forward(x: tf.Tensor): tf.Tensor {
    return this.layersModel.apply(x, { training: false }) as tf.Tensor;
  }

  private loss(out: ArrayLike<number>, labels: ArrayLike<number>, n: number, grad?: Float32Array): number {
    return this.outputs === 'logits'
      ? softmaxCrossEntropy(out, labels, n, this.numClasses, grad)
      : probabilityCrossEntropy(out, labels, n, this.numClasses, grad);
  }

  gradient(batch: Batch): GradientResult {
    const vars = this.vars();
    this.checkBatch(batch, 'gradient');
    const grad = new Float32Array(this.numParams);
    if (batch.n === 0) return { grad, lossSum: 0 };
    const { n } = batch;
    const c = this.numClasses;
    let lossSum = 0;
    tf.tidy(() => {
      const x = this.input(batch, 0, n);
      // The loss as one tape node whose forward pass, in float64 JS, already has dLoss/dOutputs.
      const loss = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
        const d = new Float32Array(n * c);
        lossSum = this.loss(readView(args[0] as tf.Tensor), batch.y, n, d);
        // Saved: customGrad disposes whatever else its forward function made.
        (args[1] as tf.GradSaveFunc)([tf.tensor2d(d, [n, c])]);
        return {
          value: tf.scalar(lossSum),
          gradFunc: (dy: tf.Tensor | tf.Tensor[], [dOut]: tf.Tensor[]) => tf.mul(dOut, dy as tf.Tensor),
        };
      });
      const byName = tf.variableGrads(() => loss(this.forward(x)) as tf.Scalar, vars).grads;
      let off = 0;
      vars.forEach((v, i) => {
        const g = byName[v.name];
        // A weight the output does not depend on has no gradient: it stays zero.
        if (g != null) {
          if (g.size !== this.sizes[i]) throw new Error(`gradient of ${v.name} has ${g.size} values`);
          grad.set(readView(g), off);
        }
        off += this.sizes[i];
      });
    });
    return { grad, lossSum };
  }

  evaluate(batch: Batch): EvalResult {
    this.vars();
    this.checkBatch(batch, 'evaluate');
    if (batch.n === 0) throw new Error('evaluate: empty batch');
    const c = this.numClasses;
    let loss = 0;
    let correct = 0;
    for (let from = 0; from < batch.n; from += EVAL_CHUNK) {
      const to = Math.min(batch.n, from + EVAL_CHUNK);
      const labels = batch.y.subarray(from, to);
      tf.tidy(() => {
        const z = readView(this.forward(this.input(batch, from, to)));
        loss += this.loss(z, labels, to - from);
        for (let i = 0; i < to - from; i++) {
          // The first maximum, as tf.argMax (softmax keeps the order, so either output works).
          let best = 0;
          for (let k = 1; k < c; k++) if (z[i * c + k] > z[i * c + best]) best = k;
          if (best === labels[i]) correct++;
        }
      });
    }
    return { loss: loss / batch.n, accuracy: correct / batch.n, n: batch.n };
  }

  describe(): TfjsModelDescription {
    this.vars();
    return {
      kind: 'tfjs',
      topology: JSON.parse(this.layersModel.toJSON(undefined, true) as string),
      loss: this.outputs,
      nonTrainable: this.layersModel.nonTrainableWeights.map((w) =>
        encodeFloats(w.read().dataSync() as Float32Array),
      ),
    };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.layersModel.dispose();
  }
}

/**
 * `model` as a TrainableModel: parameters are its trainable weights (order in the file comment),
 * the gradient is tfjs autodiff of the summed softmax cross-entropy, in inference mode. The
 * wrapper keeps the model's variables and owns the model. A UsageError (one line) if the model
 * cannot be trained by draco: not exactly one input and one output, an input with unknown sizes,
 * an output that is not [batch, classes], a non-float32 weight, no trainable weight.
 */
export function wrapLayersModel(model: tf.LayersModel, opts: WrapOptions = {}): TfjsTrainableModel {
  const loss = opts.loss ?? 'auto';
  if (loss !== 'auto' && loss !== 'logits' && loss !== 'probabilities') {
    throw new UsageError(`unknown tfjs loss '${String(loss)}' (auto, logits or probabilities)`);
  }
  return new LayersTrainable(model, opts.name ?? model.name, loss);
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A fresh model with the architecture in `topology` (from `describe()`, or the `modelTopology`
 * of a model.json) and its initializers' weights; set the parameters with `setParams`. A
 * UsageError (one line) if tfjs cannot build a Layers model from it.
 */
export async function layersModelFromTopology(topology: unknown): Promise<tf.LayersModel> {
  if (!isObject(topology)) throw new UsageError('a tfjs model topology must be a JSON object');
  if ('node' in topology) {
    throw new UsageError('the topology is a tfjs graph model; draco trains Layers models only');
  }
  try {
    // Wrapped as {modelTopology} so no weightsManifest in the object can make tfjs fetch files.
    return await tf.models.modelFromJSON({ modelTopology: topology as tf.io.ModelJSON['modelTopology'] });
  } catch (e) {
    throw new UsageError(`cannot build a tfjs Layers model from the topology: ${firstLine(e)}`);
  }
}

/**
 * The model a `describe()` was taken from, rebuilt (in another process, typically): same
 * topology, same non-trainable weights, same reading of the outputs. The trainable parameters
 * are the initializers' until `setParams`.
 */
export async function modelFromDescription(
  description: TfjsModelDescription,
  opts: { name?: string } = {},
): Promise<TfjsTrainableModel> {
  const d = description as Partial<TfjsModelDescription> | null;
  if (!isObject(d) || d.kind !== 'tfjs') throw new UsageError('not a tfjs model description');
  if (d.loss !== 'logits' && d.loss !== 'probabilities') {
    throw new UsageError(`tfjs model description: unknown loss '${String(d.loss)}'`);
  }
  const model = await layersModelFromTopology(d.topology);
  try {
    const fixed = model.nonTrainableWeights;
    const values = d.nonTrainable;
    if (
      !Array.isArray(values) ||
      values.length !== fixed.length ||
      values.some((v) => typeof v !== 'string')
    ) {
      throw new UsageError(
        `tfjs model description: the model has ${fixed.length} non-trainable weights, the description ${Array.isArray(values) ? values.length : 'no list of them'}`,
      );
    }
    fixed.forEach((w, i) => {
      const shape = w.shape as number[];
      const v = decodeFloats(
        values[i],
        prod(shape),
        `tfjs model description: non-trainable weight ${w.originalName}`,
      );
      tf.tidy(() => (w.read() as tf.Variable).assign(tf.tensor(v, shape)));
    });
    return wrapLayersModel(model, { name: opts.name, loss: d.loss });
  } catch (e) {
    model.dispose();
    throw e;
  }
}
