/** The data layer: datasets, batches and the seeded batch schedule. */
export type { Batch, Dataset, Split } from './types.js';
export { readIdx, parseIdx, encodeIdx, type IdxArray, type IdxData, type IdxDtype } from './idx.js';
export {
  loadMnist,
  loadFashionMnist,
  loadIdxDir,
  mnistDataDir,
  IDX_FILES,
  FASHION_MNIST_DEBIAN_DIR,
} from './mnist.js';
export { loadCifar10, decodeCifar10, CIFAR10_CLASSES } from './cifar10.js';
export { makeSynthetic, syntheticMeans, SYNTHETIC_DEFAULTS, type SyntheticOptions } from './synthetic.js';
export {
  loadDataset,
  listDatasets,
  hasDataset,
  clearDatasetCache,
  DEFAULT_DATASET,
  type LoadDatasetOptions,
} from './registry.js';
export { datasetFromArrays, type DatasetArrays } from './arrays.js';
export { loadNpyDir } from './npy-dir.js';
export { loadCsvDir } from './csv.js';
export { gatherBatch, sliceBatch, splitChunks, sampleSize } from './batch.js';
export { BatchSchedule, type BatchScheduleOptions } from './schedule.js';
