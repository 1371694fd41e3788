/**
 * One worker's computation for one step, shared by the process engines (and written to produce
 * the bytes src/cluster/inprocess.ts produces): the gradient oracle over the worker's partitions
 * (poisoned labels for a data-poisoning Byzantine worker), `scheme.encode`, then, for a Byzantine
 * rank, `attack.corrupt` with `Rng.derive(seed, 'attack', step, worker)`.
 *
 * Everything else a worker needs is a pure function of the config and `(seed, step)`: the batch
 * (BatchSchedule) and the attack noise. So a worker process only receives the parameters, the
 * step number and the step's Byzantine ranks.
 *
 * Omniscient attacks (`attack.omniscient`) need every honest message of the step. A Byzantine
 * worker process computes them itself: it holds the data, the parameters and the scheme, so it
 * encodes every honest rank's message (once per distinct task). Cost: up to one gradient per
 * distinct task, i.e. n / r gradients for the repetition code and n for uncoded, on that worker;
 * no extra traffic, and the PS learns nothing it could not compute.
 */
import { Rng } from '../core/rng.js';
import type { Vec } from '../core/vec.js';
import { parseAttack } from '../attacks/registry.js';
import type { Attack } from '../attacks/types.js';
import { gatherBatch } from '../data/batch.js';
import { loadDataset } from '../data/registry.js';
import { BatchSchedule } from '../data/schedule.js';
import type { Dataset } from '../data/types.js';
import type { TrainConfig } from '../experiment/config.js';
import { initBackend } from '../models/backend.js';
import { getModelDef } from '../models/registry.js';
import type { TrainableModel } from '../models/types.js';
import { createScheme } from '../schemes/registry.js';
import type { GradientOracle, Scheme } from '../schemes/types.js';

export interface WorkerContext {
  config: TrainConfig;
  model: TrainableModel;
  dataset: Dataset;
  scheme: Scheme;
  attack: Attack;
  schedule: BatchSchedule;
}

export interface WorkerOutput {
  message: Vec;
  computeMs: number;
  encodeMs: number;
  /** Loss summed over the samples of the worker's own (honest or poisoned) computation. */
  lossSum: number;
  samples: number;
  poisoned: boolean;
}

/** Build what a worker needs from the resolved config: same calls, same order as the PS. */
export async function buildWorkerContext(config: TrainConfig): Promise<WorkerContext> {
  const { attack } = parseAttack(config.attack);
  await initBackend(config.backend);
  const dataset = loadDataset(config.dataset, { dataDir: config.dataDir, seed: config.seed });
  const model = getModelDef(config.model).create(dataset.inputShape, dataset.numClasses, config.seed);
  const scheme = createScheme(config.scheme, {
    n: config.workers,
    s: config.byzantine,
    d: model.numParams,
    r: config.redundancy,
    aggregator: config.aggregator,
    preAggregator: config.preAggregator,
    noMajority: config.noMajority,
    detoxMode: config.detoxMode,
    detoxBuckets: config.detoxBuckets,
    compression: config.compression,
    messageDtype: config.messageDtype,
    seed: config.seed,
  });
  const schedule = new BatchSchedule({
    numSamples: dataset.train.n,
    globalBatch: config.batch,
    numPartitions: scheme.numPartitions,
    seed: config.seed,
  });
  return { config, model, dataset, scheme, attack, schedule };
}

interface Task {
  grad: Float32Array;
  lossSum: number;
  samples: number;
  ms: number;
}

/**
 * The message `rank` sends at `step` with parameters `params`, given the step's Byzantine ranks
 * (the PS's placement, sent with the parameters so that every engine uses the one placement).
 */
export function computeWorkerMessage(
  ctx: WorkerContext,
  rank: number,
  step: number,
  params: Float32Array,
  byzantine: readonly number[],
): WorkerOutput {
  const { model, dataset, scheme, attack, config } = ctx;
  const seed = config.seed;
  model.setParams(params);
  const partitions = ctx.schedule.partitions(step);
  const byz = new Set(byzantine);
  const cache = new Map<string, Task>();

  const oracleFor = (poison: boolean, charge: { ms: number; task?: Task }): GradientOracle => {
    return (parts) => {
      const key = (poison ? 'p:' : 'h:') + parts.join(',');
      let t = cache.get(key);
      if (t === undefined) {
        const s = performance.now();
        const ids = concatIds(parts.map((p) => partitions[p]));
        const batch = gatherBatch(dataset, dataset.train, ids);
        const labels =
          poison && attack.poisonLabels ? attack.poisonLabels(batch.y, dataset.numClasses) : batch.y;
        const g = model.gradient({ n: batch.n, x: batch.x, y: labels });
        t = { grad: g.grad, lossSum: g.lossSum, samples: batch.n, ms: performance.now() - s };
        cache.set(key, t);
      }
      charge.ms += t.ms;
      charge.task = t;
      return t.grad;
    };
  };

  const isByz = byz.has(rank);
  const poison = isByz && attack.poisonLabels !== undefined;
  const charge: { ms: number; task?: Task } = { ms: 0 };
  const s0 = performance.now();
  const own = scheme.encode(rank, oracleFor(poison, charge));
  let encodeMs = Math.max(0, performance.now() - s0 - charge.ms);
  const computeMs = charge.ms;
  const lossSum = [...cache.values()].reduce((a, t) => a + t.lossSum, 0);
  const samples = [...cache.values()].reduce((a, t) => a + t.samples, 0);
  if (!isByz) return { message: own, computeMs, encodeMs, lossSum, samples, poisoned: false };

  const s1 = performance.now();
  let honest: (Vec | null)[] | undefined;
  if (attack.omniscient) {
    // Every honest rank's message, computed here (see the file comment for the cost).
    honest = [];
    for (let w = 0; w < scheme.n; w++) {
      honest.push(byz.has(w) ? null : scheme.encode(w, oracleFor(false, { ms: 0 })));
    }
  }
  const sent = attack.corrupt({
    own,
    step,
    worker: rank,
    rng: Rng.derive(seed, 'attack', step, rank),
    n: scheme.n,
    byzantine,
    honest,
    assignment: attack.omniscient ? scheme.assignment : undefined,
  });
  encodeMs += performance.now() - s1;
  return { message: sent, computeMs, encodeMs, lossSum, samples, poisoned: poison };
}

function concatIds(parts: readonly Int32Array[]): Int32Array {
  if (parts.length === 1) return parts[0];
  const out = new Int32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
