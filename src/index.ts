/**
 * draco's public API. The papers' concepts are values you compose: a model, a dataset, a scheme
 * (by name and options), an aggregation rule and an attack (names or objects), and `train` runs
 * them on an engine (in-process or worker processes). A user's component is as good as ours:
 * pass the object to `train`, or register it by name (`registerAggregator`, ..., or a plugin file
 * for worker processes; docs/plugins.md). docs/api.md lists every export.
 */

// Training
export {
  train,
  trainResolved,
  resolveOptions,
  type LayersModelLike,
  type TrainOptions,
  type TrainOutput,
} from './build/train.js';
export {
  readConfigFile,
  resolveConfig,
  TrainConfigSchema,
  type TrainConfig,
  type TrainConfigInput,
} from './build/config.js';
export { validateMessage } from './schemes/message.js';
export {
  runTraining,
  type StepRecord,
  type TrainHooks,
  type TrainRun,
  type TrainSummary,
} from './train/loop.js';
export { exportModel } from './build/export.js';

// Your own components, by name (also what a plugin module's default export receives)
export {
  loadPlugins,
  pluginApi,
  registerAggregator,
  registerAttack,
  registerPluginDataset as registerDataset,
  registerPluginModel as registerModel,
  registerPreAggregator,
  registerScheme,
  registerPartitioner,
  type DatasetDef,
  type DracoPlugin,
  type PluginApi,
} from './build/plugins.js';

// Models
export * as tf from '@tensorflow/tfjs';
export { initBackend, type BackendName } from './models/backend.js';
export {
  checkCompatible,
  layersModelFromTopology,
  modelFromDescription,
  wrapLayersModel,
  type TfjsModelDescription,
  type TfjsTrainableModel,
} from './models/tfjs.js';
export { loadLayersModelFile, saveLayersModel } from './models/tfjs-files.js';
export { getModelDef, listModels } from './models/registry.js';
export { GENERIC_LR } from './models/types.js';
export type { EvalResult, GradientResult, ModelDef, TrainableModel } from './models/types.js';

// Data
export { datasetFromArrays } from './data/arrays.js';
export { listDatasets, loadDataset, type LoadDatasetOptions } from './data/registry.js';
export type { Batch, Dataset, Split } from './data/types.js';
export { parsePartition as createPartitioner } from './data/partition/registry.js';
export type { Partitioner, PartitionerDef, ShardContext } from './data/partition/types.js';
export { BatchSchedule, partitionSizes, type BatchScheduleOptions } from './data/schedule.js';
export { buildSchedule } from './build/components.js';

// Aggregation rules (the whole folder: 'draco/aggregators')
export {
  buildAggregator,
  parseAggregator as createAggregator,
  resolveAggregator,
} from './aggregators/registry.js';
export type {
  AggregateInfo,
  Aggregator,
  AggregatorContext,
  AggregatorDef,
  PreAggregator,
  PreAggregatorDef,
} from './aggregators/types.js';

// Attacks
export { createAttack } from './attacks/registry.js';
export { createPlacement, type Placement } from './attacks/placement.js';
export type { Attack, AttackContext, AttackDef } from './attacks/types.js';

// Schemes
export { createScheme, type SchemeDef } from './schemes/registry.js';
export type {
  DecodeContext,
  DecodeResult,
  GradientOracle,
  MessageDtype,
  Scheme,
  SchemeOptions,
} from './schemes/types.js';

// Basics
export { RunFailed, UsageError } from './core/errors.js';
export { Rng, type RngKey } from './core/rng.js';
export { type Vec } from './core/vec.js';
export { sha256Hex } from './core/hash.js';
