/**
 * `--dataset npy --data-dir DIR`: x_train.npy, y_train.npy, x_test.npy, y_test.npy (docs/data.md).
 * Features: uint8 (scaled by 1/255 when batched, like the image sets), float32, or float64
 * (converted to float32), shape [n, ...sample shape], C order. Labels: any integer dtype, shape
 * [n] or [n, 1].
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../core/errors.js';
import { ioReason } from '../core/files.js';
import { decodeNpyAny, type AnyNpyArray } from '../core/npy.js';
import { datasetFromParts } from './arrays.js';
import type { Dataset } from './types.js';

export const NPY_FILES = ['x_train.npy', 'y_train.npy', 'x_test.npy', 'y_test.npy'] as const;

function read(path: string): { data: AnyNpyArray; shape: number[]; descr: string } {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new UsageError(`${path}: cannot read it (${ioReason(e)})`);
  }
  try {
    return decodeNpyAny(buf);
  } catch (e) {
    throw new UsageError(`${path}: ${(e as Error).message.replace(/^npy: /, '')}`);
  }
}

function features(path: string): { x: Float32Array | Uint8Array; n: number; sample: number[] } {
  const { data, shape, descr } = read(path);
  if (shape.length < 2)
    throw new UsageError(`${path}: shape (${shape.join(', ')}) needs [samples, ...sample shape]`);
  let x: Float32Array | Uint8Array;
  if (data instanceof Uint8Array || data instanceof Float32Array) x = data;
  else if (data instanceof Float64Array) x = Float32Array.from(data);
  else throw new UsageError(`${path}: features must be uint8, float32 or float64 (got ${descr})`);
  return { x, n: shape[0], sample: shape.slice(1) };
}

function labels(path: string): AnyNpyArray {
  const { data, shape, descr } = read(path);
  if (data instanceof Float32Array || data instanceof Float64Array)
    throw new UsageError(`${path}: labels must have an integer dtype (got ${descr})`);
  if (!(shape.length === 1 || (shape.length === 2 && shape[1] === 1)))
    throw new UsageError(`${path}: labels must have shape [n] or [n, 1] (got (${shape.join(', ')}))`);
  return data;
}

export function loadNpyDir(dir: string): Dataset {
  const missing = NPY_FILES.filter((f) => !existsSync(join(dir, f)));
  if (missing.length > 0) throw new UsageError(`dataset npy: ${dir} lacks ${missing.join(', ')}`);
  const p = (f: string) => join(dir, f);
  const tr = features(p('x_train.npy'));
  const te = features(p('x_test.npy'));
  if (tr.sample.join() !== te.sample.join())
    throw new UsageError(
      `${p('x_test.npy')}: sample shape [${te.sample.join(', ')}] differs from x_train.npy's [${tr.sample.join(', ')}]`,
    );
  if (tr.x.constructor !== te.x.constructor)
    throw new UsageError(`${p('x_test.npy')}: dtype differs from x_train.npy's (both uint8, or both float)`);
  const ytr = labels(p('y_train.npy'));
  const yte = labels(p('y_test.npy'));
  for (const [x, y, name] of [
    [tr, ytr, 'train'],
    [te, yte, 'test'],
  ] as const)
    if (x.n !== y.length)
      throw new UsageError(`${p(`y_${name}.npy`)}: ${y.length} labels for ${x.n} samples in x_${name}.npy`);
  return datasetFromParts(
    'npy',
    tr.sample,
    { x: tr.x, y: ytr as ArrayLike<number | bigint> },
    { x: te.x, y: yte as ArrayLike<number | bigint> },
    (s, part) => p(`${part}_${s}.npy`),
  );
}
