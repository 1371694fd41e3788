/**
 * CIFAR-10, binary version: a directory with `data_batch_1.bin` .. `data_batch_5.bin` and
 * `test_batch.bin`. Each record is 1 label byte then 3072 pixel bytes in CHW order (the 32x32 red
 * plane, then green, then blue). Pixels are converted to channels-last (HWC) uint8.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../core/errors.js';
import type { Dataset, Split } from './types.js';

export const CIFAR10_SIDE = 32;
export const CIFAR10_CHANNELS = 3;
export const CIFAR10_PIXELS = CIFAR10_SIDE * CIFAR10_SIDE * CIFAR10_CHANNELS;
/** Bytes per record: label + pixels. */
export const CIFAR10_RECORD = 1 + CIFAR10_PIXELS;
export const CIFAR10_CLASSES = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
] as const;

const TRAIN_RE = /^data_batch_(\d+)\.bin$/;
/** The folder name inside the official `cifar-10-binary.tar.gz`. */
const TARBALL_SUBDIR = 'cifar-10-batches-bin';

/** Decode CIFAR-10 records from several files' bytes into one HWC split. */
export function decodeCifar10(files: { path: string; bytes: Uint8Array }[]): Split {
  let n = 0;
  for (const f of files) {
    if (f.bytes.length === 0 || f.bytes.length % CIFAR10_RECORD !== 0) {
      throw new UsageError(
        `${f.path}: ${f.bytes.length} bytes is not a whole number of CIFAR-10 records (${CIFAR10_RECORD} bytes each)`,
      );
    }
    n += f.bytes.length / CIFAR10_RECORD;
  }
  const x = new Uint8Array(n * CIFAR10_PIXELS);
  const y = new Uint8Array(n);
  const plane = CIFAR10_SIDE * CIFAR10_SIDE;
  let row = 0;
  for (const f of files) {
    const b = f.bytes;
    const count = b.length / CIFAR10_RECORD;
    for (let r = 0; r < count; r++, row++) {
      const src = r * CIFAR10_RECORD;
      const label = b[src];
      if (label >= CIFAR10_CLASSES.length) {
        throw new UsageError(`${f.path}: record ${r} has label ${label}, CIFAR-10 labels are 0..9`);
      }
      y[row] = label;
      const px = src + 1;
      const dst = row * CIFAR10_PIXELS;
      for (let p = 0; p < plane; p++) {
        const o = dst + p * 3;
        x[o] = b[px + p];
        x[o + 1] = b[px + plane + p];
        x[o + 2] = b[px + 2 * plane + p];
      }
    }
  }
  return { n, x, y };
}

function readAll(dir: string, names: string[]): { path: string; bytes: Uint8Array }[] {
  return names.map((name) => {
    const path = join(dir, name);
    return { path, bytes: readFileSync(path) };
  });
}

/**
 * Load CIFAR-10 from `dir` (or its `cifar-10-batches-bin` subfolder). Every `data_batch_<k>.bin`
 * present is used for training, in order of k (at least one is required); `test_batch.bin` is the test split.
 */
export function loadCifar10(dir: string): Dataset {
  const need = `pass --data-dir DIR holding data_batch_1.bin..data_batch_5.bin and test_batch.bin (CIFAR-10 binary version)`;
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new UsageError(`cifar10: data directory not found: ${dir}; ${need}`);
  }
  let root = dir;
  const sub = join(dir, TARBALL_SUBDIR);
  if (!existsSync(join(dir, 'test_batch.bin')) && existsSync(join(sub, 'test_batch.bin'))) root = sub;
  const trainNames = readdirSync(root)
    .map((f) => ({ f, m: TRAIN_RE.exec(f) }))
    .filter((e) => e.m !== null)
    .sort((a, b) => Number(a.m![1]) - Number(b.m![1]))
    .map((e) => e.f);
  if (trainNames.length === 0) throw new UsageError(`cifar10: no data_batch_*.bin in ${root}; ${need}`);
  if (!existsSync(join(root, 'test_batch.bin'))) {
    throw new UsageError(`cifar10: missing ${join(root, 'test_batch.bin')}; ${need}`);
  }
  const train = decodeCifar10(readAll(root, trainNames));
  const test = decodeCifar10(readAll(root, ['test_batch.bin']));
  return {
    name: 'cifar10',
    inputShape: [CIFAR10_SIDE, CIFAR10_SIDE, CIFAR10_CHANNELS],
    numClasses: CIFAR10_CLASSES.length,
    train,
    test,
  };
}
