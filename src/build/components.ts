/**
 * Names to objects, in one place: the model, dataset, scheme, attack and batch schedule a
 * resolved config describes. The PS and every worker process call the same functions in the same
 * order, so a seed gives the same data, scheme and noise everywhere. A user's objects (a tfjs
 * model, a dataset, a rule or attack object) take the place of the named ones (src/build/train.ts).
 */
import { resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { UsageError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { parseAttack } from '../attacks/registry.js';
import type { Attack } from '../attacks/types.js';
import { composeAggregator, parseAggregator, parsePreAggregators } from '../aggregators/registry.js';
import type { Aggregator } from '../aggregators/types.js';
import type { Vec } from '../core/vec.js';
import type { WorkerContext } from '../cluster/worker-step.js';
import { loadDataset } from '../data/registry.js';
import { BatchSchedule } from '../data/schedule.js';
import { parsePartition } from '../data/partition/registry.js';
import type { Partitioner } from '../data/partition/types.js';
import type { Dataset } from '../data/types.js';
import { initBackend } from '../models/backend.js';
import { getModelDef } from '../models/registry.js';
import {
  checkCompatible,
  modelFromDescription,
  wrapLayersModel,
  type TfjsModelDescription,
} from '../models/tfjs.js';
import { loadLayersModelFile } from '../models/tfjs-files.js';
import type { TrainableModel } from '../models/types.js';
import type { SchemeDef } from '../schemes/registry.js';
import { buildScheme } from './scheme.js';
import type { Placement } from '../attacks/placement.js';
import { isModelFile, usesRule, type TrainConfig } from './config.js';

export { buildScheme };
import { loadPlugins } from './plugins.js';

/** A user's objects standing in for the config's names (each optional). */
export interface Components {
  model?: TrainableModel;
  dataset?: Dataset;
  aggregator?: Aggregator;
  attack?: Attack;
  /** Runs at the PS only. */
  placement?: Placement;
  scheme?: SchemeDef;
  partitioner?: Partitioner;
}

/**
 * The model a config names for `dataset`: a tfjs model description handed over by the PS, a tfjs Layers
 * `model.json` (its weights, or a seeded initialisation when it has none), or a registered model
 * built from the seed.
 */
export async function buildModel(config: TrainConfig, dataset: Dataset): Promise<TrainableModel> {
  let model: TrainableModel;
  if (config.tfjsModel !== undefined) {
    model = await modelFromDescription(config.tfjsModel as unknown as TfjsModelDescription, {
      name: config.model,
    });
    seededInit(model, config.seed);
  } else if (isModelFile(config.model)) {
    const lm = await loadLayersModelFile(config.model);
    model = wrapLayersModel(lm, { name: config.model });
    if (!hasWeights(config.model)) seededInit(model, config.seed);
  } else return getModelDef(config.model).create(dataset.inputShape, dataset.numClasses, config.seed);
  return model;
}

/** A tfjs model must take the dataset's samples and give one output per class. */
function checkFits(model: TrainableModel, dataset: Dataset): void {
  const lm = (model as { layersModel?: Parameters<typeof checkCompatible>[0] }).layersModel;
  const bad = lm === undefined ? null : checkCompatible(lm, dataset.inputShape, dataset.numClasses);
  if (bad !== null) throw new UsageError(`model ${model.name}: ${bad}`);
}

function hasWeights(path: string): boolean {
  try {
    const j = JSON.parse(readFileSync(path, 'utf8')) as { weightsManifest?: { paths?: unknown[] }[] };
    return (j.weightsManifest ?? []).some((g) => (g.paths ?? []).length > 0);
  } catch {
    return false; // loadLayersModelFile already said what is wrong with the file
  }
}

/**
 * A topology alone carries no weights, and tfjs's initialisers are not seeded: start from a
 * seeded Glorot-uniform initialisation instead (zeros for vectors), so the seed fixes the model.
 */
function seededInit(model: TrainableModel & { layout?(): { shape: number[] }[] }, seed: number): void {
  const shapes = model.layout?.() ?? [{ shape: [model.numParams] }];
  const rng = Rng.derive(seed, 'init');
  const p = new Float32Array(model.numParams);
  let o = 0;
  for (const { shape } of shapes) {
    const size = shape.reduce((a, b) => a * b, 1);
    if (shape.length >= 2) {
      const field = shape.slice(0, -2).reduce((a, b) => a * b, 1);
      const fanIn = field * shape[shape.length - 2];
      const fanOut = field * shape[shape.length - 1];
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < size; i++) p[o + i] = (2 * rng.float() - 1) * limit;
    }
    o += size;
  }
  model.setParams(p);
}

/** What a config's run computes with. `role` 'worker': a worker process (it never decodes). */
export async function buildContext(
  config: TrainConfig,
  role: 'ps' | 'worker',
  objects: Components = {},
): Promise<WorkerContext> {
  await loadPlugins(config.plugins);
  const attack = objects.attack ?? parseAttack(config.attack).attack;
  await initBackend(config.backend);
  const dataset =
    objects.dataset ?? loadDataset(config.dataset, { dataDir: config.dataDir, seed: config.seed });
  const model = objects.model ?? (await buildModel(config, dataset));
  try {
    checkFits(model, dataset);
    const scheme = buildScheme(config, model.numParams, role, objects.aggregator, objects.scheme);
    const schedule = buildSchedule(config, dataset, scheme.numPartitions, objects.partitioner);
    const rule = attack.adaptive ? attackersRule(config, objects.aggregator) : undefined;
    return { seed: config.seed, model, dataset, scheme, attack, schedule, rule };
  } catch (e) {
    if (objects.model === undefined) model.dispose();
    throw e;
  }
}

/**
 * The PS's rule as an adaptive attack models it (docs/attacks.md "Optimal coefficients"): the
 * config's rule and pre-aggregators with f = the run's Byzantine bound, on one message per rank,
 * with the PS's randomness of the step (an omniscient attacker knows the seed); undefined when
 * the scheme applies no rule (the attack then targets the mean). A separate instance: a stateful
 * rule's state follows the attacker's simulations, not the PS's.
 */
function attackersRule(
  config: TrainConfig,
  object: Aggregator | undefined,
): ((messages: readonly Vec[], step: number) => Float64Array) | undefined {
  if (!usesRule(config)) return undefined;
  const rule = composeAggregator(
    parsePreAggregators(config.preAggregator),
    object ?? parseAggregator(config.aggregator),
  );
  const f = config.byzantine;
  return (messages, step) =>
    // The PS aborts the step when the rule's precondition fails on the messages it accepted
    // (schemes/uncoded.ts): no aggregate, NaN (an attacker's search never counts it as a gain).
    rule.precondition(messages.length, f) === null
      ? rule.aggregate(messages, { f, rng: Rng.derive(config.seed, 'ps', step) })
      : new Float64Array(messages[0]?.length ?? 0).fill(NaN);
}

/**
 * The batch schedule: the IID stream, or one shard per partition laid out by the config's
 * partitioner from the run seed (the same shards in every process).
 */
export function buildSchedule(
  config: Pick<TrainConfig, 'batch' | 'seed' | 'partition'>,
  dataset: Dataset,
  numPartitions: number,
  partitioner: Partitioner = parsePartition(config.partition),
): BatchSchedule {
  const opts = {
    numSamples: dataset.train.n,
    globalBatch: config.batch,
    numPartitions,
    seed: config.seed,
  };
  // The IID schedule first: its checks (batch vs samples and partitions) come before the layout's.
  const iid = new BatchSchedule(opts);
  const shards = partitioner.shards({
    labels: dataset.train.y,
    numClasses: dataset.numClasses,
    batchSizes: iid.partitionSizes,
    rng: Rng.derive(config.seed, 'partition'),
  });
  return shards === null ? iid : new BatchSchedule({ ...opts, shards });
}

/** A worker process's context from the description the PS sent (a resolved config). */
export async function buildWorkerContext(config: TrainConfig): Promise<WorkerContext> {
  return buildContext(config, 'worker');
}

/** Paths in a config, made absolute so that worker processes and resumed runs find the same files. */
export function absolutePaths(config: TrainConfig): TrainConfig {
  return {
    ...config,
    plugins: config.plugins.map((p) => resolve(p)),
    model: isModelFile(config.model) ? resolve(config.model) : config.model,
  };
}
