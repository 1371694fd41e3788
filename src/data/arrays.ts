/**
 * Datasets from the user's own arrays, checked: the one place that turns features and labels
 * into a `Dataset` for the npy and csv loaders and for `datasetFromArrays` in the API. Every
 * problem is one line (UsageError) naming where the array came from.
 */
import { UsageError } from '../core/errors.js';
import type { Dataset, Split } from './types.js';

export interface ArraySplit {
  /** Features, row-major, `n * prod(inputShape)` values; uint8 values are scaled by 1/255. */
  x: Float32Array | Uint8Array | ArrayLike<number>;
  /** Integer class labels >= 0. */
  y: ArrayLike<number | bigint>;
}

export interface DatasetArrays {
  /** Label in summaries (default 'arrays'). */
  name?: string;
  /** Shape of one sample (channels last for images), e.g. [28, 28, 1] or [13]. */
  inputShape: number[];
  /** Number of classes (default: the largest label + 1). */
  numClasses?: number;
  train: ArraySplit;
  test: ArraySplit;
}

/** Labels this size or below stay bytes. */
const BYTE_LABELS = 256;

/** A checked split; `where(part)` names the array in messages (e.g. `x_train.npy`). */
export function checkSplit(
  s: ArraySplit,
  inputShape: readonly number[],
  where: (part: 'x' | 'y') => string,
): { n: number; x: Float32Array | Uint8Array; labels: number[] } {
  const per = inputShape.reduce((a, b) => a * b, 1);
  const n = s.y.length;
  if (n === 0) throw new UsageError(`${where('y')}: no samples`);
  if (s.x.length !== n * per)
    throw new UsageError(
      `${where('x')}: ${s.x.length} values, want n * prod([${inputShape.join(', ')}]) = ${n} * ${per} = ${n * per} (${n} labels)`,
    );
  const x = s.x instanceof Float32Array || s.x instanceof Uint8Array ? s.x : Float32Array.from(s.x);
  if (x instanceof Float32Array)
    for (let i = 0; i < x.length; i++)
      if (!Number.isFinite(x[i]))
        throw new UsageError(
          `${where('x')}: value ${x[i]} at index ${i} (sample ${Math.floor(i / per)}) is not finite`,
        );
  const labels = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const v = Number(s.y[i]);
    if (!Number.isInteger(v) || v < 0)
      throw new UsageError(`${where('y')}: label ${String(s.y[i])} of sample ${i} is not an integer >= 0`);
    labels[i] = v;
  }
  return { n, x, labels };
}

function toSplit(c: { n: number; x: Float32Array | Uint8Array; labels: number[] }, classes: number): Split {
  const y = classes <= BYTE_LABELS ? Uint8Array.from(c.labels) : Int32Array.from(c.labels);
  return { n: c.n, x: c.x, y };
}

/** A Dataset from checked parts; `where` names each array for messages. */
export function datasetFromParts(
  name: string,
  inputShape: number[],
  train: ArraySplit,
  test: ArraySplit,
  where: (split: 'train' | 'test', part: 'x' | 'y') => string,
  numClasses?: number,
): Dataset {
  if (inputShape.length === 0 || inputShape.some((d) => !Number.isInteger(d) || d < 1))
    throw new UsageError(`${name}: sample shape [${inputShape.join(', ')}] must be positive integers`);
  const tr = checkSplit(train, inputShape, (p) => where('train', p));
  const te = checkSplit(test, inputShape, (p) => where('test', p));
  let maxLabel = 0;
  for (const l of tr.labels) if (l > maxLabel) maxLabel = l;
  for (const l of te.labels) if (l > maxLabel) maxLabel = l;
  const classes = numClasses ?? maxLabel + 1;
  if (!Number.isInteger(classes) || classes < 2)
    throw new UsageError(`${name}: ${classes} class${classes === 1 ? '' : 'es'}; training needs at least 2`);
  if (maxLabel >= classes)
    throw new UsageError(`${name}: label ${maxLabel} is not below numClasses = ${classes}`);
  return {
    name,
    inputShape: [...inputShape],
    numClasses: classes,
    train: toSplit(tr, classes),
    test: toSplit(te, classes),
  };
}

/** A Dataset from your own arrays (checked: lengths, finite features, integer labels). */
export function datasetFromArrays(o: DatasetArrays): Dataset {
  const name = o.name ?? 'arrays';
  return datasetFromParts(name, o.inputShape, o.train, o.test, (s, p) => `${name} ${s}.${p}`, o.numClasses);
}
