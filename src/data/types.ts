/**
 * Datasets and batches. Samples are stored compactly (uint8 pixels for image sets) and turned
 * into float32 only when a batch is gathered, so MNIST's 60k images cost 47 MB, not 188 MB.
 */

/** One split (train or test) of a dataset. */
export interface Split {
  /** Number of samples. */
  readonly n: number;
  /** Sample features, row-major, `n * prod(inputShape)` values. Uint8 pixels are scaled by 1/255. */
  readonly x: Uint8Array | Float32Array;
  /** Class labels in `[0, numClasses)`. */
  readonly y: Uint8Array | Int32Array;
}

export interface Dataset {
  readonly name: string;
  /** Shape of one sample, channels last (e.g. `[28, 28, 1]`). */
  readonly inputShape: number[];
  readonly numClasses: number;
  readonly train: Split;
  readonly test: Split;
}

/** A gathered batch, ready for the model. */
export interface Batch {
  readonly n: number;
  /** `n * prod(inputShape)` float32 features. */
  readonly x: Float32Array;
  /** `n` integer labels. */
  readonly y: Int32Array;
}
