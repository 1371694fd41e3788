/**
 * The model interface the rest of draco sees: all parameters as one flat Float32Array, and the
 * gradient of a batch as one flat Float32Array. Everything tfjs stays behind this boundary.
 */
import type { Batch } from '../data/types.js';

export interface GradientResult {
  /** Gradient of the SUM of per-sample losses over the batch (docs/schemes.md "Notation"). */
  grad: Float32Array;
  /** Sum of per-sample losses over the batch. */
  lossSum: number;
}

export interface EvalResult {
  /** Mean per-sample loss. */
  loss: number;
  /** Fraction of samples classified correctly, in [0, 1]. */
  accuracy: number;
  n: number;
}

export interface TrainableModel {
  readonly name: string;
  readonly numParams: number;
  /** A copy of all parameters, in a fixed order (layer by layer, weights then bias). */
  getParams(): Float32Array;
  /** Overwrite all parameters from a flat vector of length `numParams`. */
  setParams(params: Float32Array): void;
  /** Forward + backward on `batch` at the current parameters. Returns a fresh copy. */
  gradient(batch: Batch): GradientResult;
  /** Loss and accuracy at the current parameters. */
  evaluate(batch: Batch): EvalResult;
  /** Release tensors. */
  dispose(): void;
  /** Each parameter tensor's name and shape, in the flat vector's order (for exports). */
  layout?(): { name: string; shape: number[] }[];
}

export interface ModelDef {
  readonly name: string;
  /** One line for `--help` and the README. */
  readonly description: string;
  /** The input it was designed for (channels last), used by `draco bench step`; default MNIST [28, 28, 1]. */
  readonly benchInputShape?: number[];
  /**
   * The learning rate `draco train` uses when none is given: one that learns on the data the model
   * was designed for with the default batch, momentum and schedule. Without it, GENERIC_LR.
   */
  readonly defaultLr?: number;
  /**
   * Build the model for samples of `inputShape` (channels last) and `numClasses` classes, with
   * parameters initialised deterministically from `seed`.
   */
  create(inputShape: number[], numClasses: number, seed: number): TrainableModel;
}

/**
 * The learning rate for a model that names none (a tfjs model of the user's, a plugin model
 * without `defaultLr`): small enough that SGD with momentum 0.9 does not diverge on the zoo's
 * models, at the price of slower progress on the ones that tolerate more.
 */
export const GENERIC_LR = 0.05;
