/**
 * `train(options)`: the public entry point. Options are the config's names and numbers
 * (src/build/config.ts), and any of the model, dataset, aggregation rule and attack may instead be
 * an object the user built: a tfjs `LayersModel` or a `TrainableModel`, a `Dataset`, an
 * `Aggregator`, an `Attack`. This file turns options into a built `TrainRun` and hands it to the
 * loop (src/train/loop.ts).
 */
import { availableParallelism } from 'node:os';
import { UsageError } from '../core/errors.js';
import { createPlacement, replicaGroups, type Placement } from '../attacks/placement.js';
import { schemes, type SchemeDef } from '../schemes/registry.js';
import { attacks } from '../attacks/registry.js';
import type { Attack } from '../attacks/types.js';
import { partitioners } from '../data/partition/registry.js';
import type { Partitioner } from '../data/partition/types.js';
import type { Aggregator } from '../aggregators/types.js';
import type { WorkerContext } from '../cluster/worker-step.js';
import { hasDataset } from '../data/registry.js';
import type { Dataset } from '../data/types.js';
import { hasModel } from '../models/registry.js';
import { wrapLayersModel } from '../models/tfjs.js';
import type { TrainableModel } from '../models/types.js';
import type { Checkpoint } from '../train/checkpoint.js';
import { runTraining, type TrainHooks, type TrainResult, type TrainSummary } from '../train/loop.js';
import { resolveConfig, withModelLr, type TrainConfig, type TrainConfigInput } from './config.js';
import { loadPlugins } from './plugins.js';
import { absolutePaths, buildContext, type Components } from './components.js';
import { createEngine, type ThreadPlan } from './engine.js';
import { checkExportTarget, exportModel } from './export.js';
import { readResumeCheckpoint } from './resume.js';

/** Structural type of a tfjs `LayersModel` (any copy of tfjs: checked by shape, not by class). */
export interface LayersModelLike {
  readonly name: string;
  readonly layers: readonly unknown[];
  getWeights(): unknown[];
  toJSON(unused?: unknown, returnString?: boolean): unknown;
}

/** `train` options: the config's fields, with user objects allowed where a name would go. */
export type TrainOptions = Omit<
  TrainConfigInput,
  'model' | 'dataset' | 'aggregator' | 'attack' | 'placement' | 'scheme' | 'partition'
> & {
  /** A zoo or plugin model name, a path to a tfjs Layers model.json, a tfjs LayersModel, or a TrainableModel. */
  model?: string | TrainableModel | LayersModelLike;
  /** A dataset name (with `dataDir`), or a Dataset (see `datasetFromArrays`). */
  dataset?: string | Dataset;
  /** A rule spec `[pre+]name[:k=v,...]`, or an Aggregator object (uncoded; detox mode 'rule'). */
  aggregator?: string | Aggregator;
  /** An attack spec `name[:k=v,...]`, or an Attack object. */
  attack?: string | Attack;
  /**
   * `iid`, `dirichlet:alpha=A`, `shards:k=K`, or a Partitioner object (worker processes need it
   * registered under its name's part before ':', i.e. a plugin).
   */
  partition?: string | Partitioner;
  /** `fixed`, `random`, `worst`, or a Placement object (it runs at the PS on every engine). */
  placement?: string | Placement;
  /**
   * A scheme name (its options are the `redundancy`, `compression`, ... fields), or a scheme
   * definition `{ name, description, create(opts) }` (worker processes need it registered).
   */
  scheme?: string | (SchemeDef & { readonly name: string });
};

export interface TrainOutput extends TrainResult {
  summary: TrainSummary & { config: TrainConfig };
  /** The trained model (the one passed in, trained in place, or the one built from its name). */
  model: TrainableModel;
}

const isFn = (o: object, k: string) => typeof (o as Record<string, unknown>)[k] === 'function';

function isTrainable(m: object): m is TrainableModel {
  return isFn(m, 'getParams') && isFn(m, 'setParams') && isFn(m, 'gradient');
}

/** Split options into names (the config) and objects, and validate the names. */
export function resolveOptions(options: TrainOptions): { config: TrainConfig; objects: Components } {
  const { model, dataset, aggregator, attack, placement, scheme, partition, ...rest } = options;
  const names: Record<string, unknown> = { ...rest };
  const objects: Components = {};
  if (typeof model === 'object' && model !== null) {
    let m: TrainableModel;
    if (isTrainable(model)) m = model;
    else if (isFn(model, 'getWeights') && isFn(model, 'toJSON'))
      m = wrapLayersModel(model as never, { name: model.name });
    else
      throw new UsageError(
        'model: expected a name, a model.json path, a tfjs LayersModel or a TrainableModel',
      );
    objects.model = m;
    names.model = m.name;
    const d = (m as { describe?(): { kind?: string } }).describe?.();
    if (d?.kind === 'tfjs') names.tfjsModel = d;
  } else if (model !== undefined) names.model = model;
  if (typeof dataset === 'object' && dataset !== null) {
    objects.dataset = dataset;
    names.dataset = dataset.name;
  } else if (dataset !== undefined) names.dataset = dataset;
  if (typeof aggregator === 'object' && aggregator !== null) {
    if (!isFn(aggregator, 'aggregate') || !isFn(aggregator, 'precondition'))
      throw new UsageError(
        'aggregator: expected a spec string or an object with aggregate() and precondition()',
      );
    objects.aggregator = aggregator;
    names.aggregator = aggregator.name;
  } else if (aggregator !== undefined) names.aggregator = aggregator;
  if (typeof attack === 'object' && attack !== null) {
    if (!isFn(attack, 'corrupt'))
      throw new UsageError('attack: expected a spec string or an object with corrupt()');
    objects.attack = attack;
    names.attack = (attack as { spec?: string }).spec ?? attack.name;
  } else if (attack !== undefined) names.attack = attack;
  if (typeof placement === 'object' && placement !== null) {
    if (!isFn(placement, 'byzantineAt'))
      throw new UsageError('placement: expected a name or an object with byzantineAt()');
    objects.placement = placement;
    names.placement = placement.name;
  } else if (placement !== undefined) names.placement = placement;
  if (typeof partition === 'object' && partition !== null) {
    if (!isFn(partition, 'shards') || typeof partition.name !== 'string')
      throw new UsageError('partition: expected a spec string or an object with name and shards()');
    objects.partitioner = partition;
    names.partition = partition.name;
  } else if (partition !== undefined) names.partition = partition;
  if (typeof scheme === 'object' && scheme !== null) {
    if (!isFn(scheme, 'create') || typeof scheme.name !== 'string')
      throw new UsageError('scheme: expected a name or an object with name and create()');
    objects.scheme = scheme;
    names.scheme = scheme.name;
  } else if (scheme !== undefined) names.scheme = scheme;
  return { config: absolutePaths(resolveConfig(names, 'train options')), objects };
}

/**
 * Train. Throws UsageError for a mistake in the options (one line), and returns the summary
 * (check `summary.failed` and `summary.warnings`), the final parameters and the trained model.
 */
export async function train(options: TrainOptions = {}, hooks: TrainHooks = {}): Promise<TrainOutput> {
  const { config, objects } = resolveOptions(options);
  return trainResolved(config, objects, hooks);
}

/**
 * `train` for an already resolved config (the CLI and studies). `resumeFrom`: the checkpoint the
 * caller already read and checked against `config` (read here otherwise).
 */
export async function trainResolved(
  resolved: TrainConfig,
  objects: Components = {},
  hooks: TrainHooks = {},
  resumeFrom?: Checkpoint,
): Promise<TrainOutput> {
  await loadPlugins(resolved.plugins); // a plugin model's defaultLr
  const config = withModelLr(resolved);
  const n = config.workers;
  const s = config.byzantine;
  if (s > n) throw new UsageError(`more Byzantine workers than workers (byzantine = ${s}, workers = ${n})`);
  if (config.batch < n)
    throw new UsageError(
      `global batch ${config.batch} is smaller than the number of workers ${n}: every partition needs a sample`,
    );
  if (config.checkpointEvery > 0 && config.out === undefined)
    throw new UsageError('--checkpoint-every needs --out DIR (the checkpoint is written there)');
  if (config.exportModel !== undefined) checkExportTarget(config.exportModel);
  const ctx = await buildContext(config, 'ps', objects);
  try {
    const { model, scheme } = ctx;
    const resume =
      resumeFrom ?? (config.resume !== undefined ? readResumeCheckpoint(config, model.numParams) : undefined);
    const groups = scheme.groups ?? replicaGroups(scheme.assignment); // for the `worst` placement
    const placement =
      objects.placement ?? createPlacement(config.placement, { n, s, seed: config.seed, groups });
    const description = workerDescription(config, ctx, objects);
    const threads = threadPlan(config, ctx, objects);
    const result = await runTraining(
      {
        description: config,
        model,
        dataset: ctx.dataset,
        scheme,
        schedule: ctx.schedule,
        placement,
        byzantine: s,
        engine: () => createEngine(config, ctx, description, threads),
        steps: config.steps,
        seed: config.seed,
        evalEvery: config.evalEvery,
        lr: {
          lr: config.lr,
          schedule: config.lrSchedule,
          stepEvery: config.lrStepEvery,
          gamma: config.lrGamma,
          totalSteps: config.steps,
        },
        momentum: config.momentum,
        weightDecay: config.weightDecay,
        network: { bandwidthMBps: config.bandwidthMBps, latencyMs: config.latencyMs },
        checkpoint:
          config.checkpointEvery > 0 ? { dir: config.out!, every: config.checkpointEvery } : undefined,
        resumeFrom: resume,
      },
      hooks,
    );
    if (config.exportModel !== undefined) await exportModel(model, config.exportModel);
    return { ...result, summary: { ...result.summary, config }, model };
  } finally {
    if (objects.model === undefined) ctx.model.dispose();
  }
}

/**
 * What worker processes build from (process engines). A model loaded from a file travels as its
 * description (topology, output reading, non-trainable weights) (workers need no copy of the file; parameters come with every step). Objects only this
 * process holds must be nameable in the workers: a registered name (a plugin each worker loads).
 */
function workerDescription(config: TrainConfig, ctx: WorkerContext, objects: Components): TrainConfig {
  return config.engine === 'inprocess' ? config : nameableDescription(config, ctx, objects);
}

/** Most threads `threads: auto` starts: each holds a model and a copy of the dataset. */
const AUTO_THREADS_MAX = 8;

/**
 * How many threads the in-process engine computes tasks on (docs/design.md "Engines"):
 * `threads: N`, or for `auto` the cores (at most AUTO_THREADS_MAX; DRACO_THREADS, set by
 * `draco experiment --jobs` for its runs, overrides the count). Threads build the run from its
 * description like worker processes, so a run made of objects of this process runs in one thread
 * under `auto` and is refused under `threads: N`.
 */
function threadPlan(config: TrainConfig, ctx: WorkerContext, objects: Components): ThreadPlan | undefined {
  if (config.engine !== 'inprocess') {
    if (config.threads !== 'auto')
      throw new UsageError(
        `threads: only the in-process engine runs threads (engine '${config.engine}' runs one process per worker)`,
      );
    return undefined;
  }
  const env = Number(process.env.DRACO_THREADS);
  const auto = Number.isInteger(env) && env >= 1 ? env : Math.min(AUTO_THREADS_MAX, availableParallelism());
  const count = config.threads === 'auto' ? auto : config.threads;
  if (count <= 1) return undefined;
  let description: TrainConfig;
  try {
    description = nameableDescription(config, ctx, objects);
  } catch (e) {
    if (config.threads === 'auto' && e instanceof UsageError) return undefined;
    throw e instanceof UsageError
      ? new UsageError(`threads: ${e.message.replace('worker processes', 'threads')}`)
      : e;
  }
  return { count, eager: config.threads !== 'auto', description };
}

/** What a run that names every component sends to whoever rebuilds it (worker processes, threads). */
function nameableDescription(config: TrainConfig, ctx: WorkerContext, objects: Components): TrainConfig {
  const d = (ctx.model as { describe?(): { kind?: string } }).describe?.();
  const out: TrainConfig = { ...config };
  if (out.tfjsModel === undefined && d?.kind === 'tfjs') out.tfjsModel = d as Record<string, unknown>;
  const plugin = 'register it in a plugin (docs/plugins.md) and pass the plugin (--plugin FILE / plugins)';
  if (objects.model !== undefined && out.tfjsModel === undefined && !hasModel(config.model))
    throw new UsageError(
      `model '${config.model}' is an object of this process; worker processes build models by name: ${plugin}`,
    );
  if (objects.attack !== undefined && !attacks.has(config.attack.split(':')[0]))
    throw new UsageError(
      `attack '${config.attack}' is an object of this process; worker processes build attacks by name: ${plugin}`,
    );
  if (objects.partitioner !== undefined && !partitioners.has(config.partition.split(':')[0]))
    throw new UsageError(
      `partition '${config.partition}' is an object of this process; worker processes lay out their data by name: ${plugin}`,
    );
  if (objects.scheme !== undefined && !schemes.has(config.scheme))
    throw new UsageError(
      `scheme '${config.scheme}' is an object of this process; worker processes build schemes by name: ${plugin}`,
    );
  if (objects.dataset !== undefined && !hasDataset(config.dataset))
    throw new UsageError(
      `dataset '${config.dataset}' is an object of this process; worker processes load data by name: save it as npy files (dataset 'npy', dataDir) or ${plugin}`,
    );
  return out;
}
