/**
 * The workers' computation for one step, the one implementation behind every engine (in-process
 * and process engines call it, so a seed gives the same bytes everywhere): the gradient oracle over
 * a worker's partitions
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
import { packSigns, unpackSigns } from '../aggregators/sign-majority.js';
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
import { createSchemeFromConfig } from '../schemes/registry.js';
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
  rank: number;
  message: Vec;
  /** Gradient time this worker spends (charged in full even when a replica's result is reused). */
  computeMs: number;
  encodeMs: number;
  /** Loss summed over the samples of the worker's own (honest or poisoned) computation. */
  lossSum: number;
  samples: number;
  poisoned: boolean;
}

export interface StepMessages {
  outputs: WorkerOutput[];
  /** Loss and samples over the distinct honest (unpoisoned) tasks computed, for the train loss. */
  honestLossSum: number;
  honestSamples: number;
}

/**
 * Build what a worker needs from the resolved config: the same calls in the same order for the PS
 * and every worker process (same seed -> same data, init and scheme).
 */
export async function buildWorkerContext(config: TrainConfig): Promise<WorkerContext> {
  const { attack } = parseAttack(config.attack);
  await initBackend(config.backend);
  const dataset = loadDataset(config.dataset, { dataDir: config.dataDir, seed: config.seed });
  const model = getModelDef(config.model).create(dataset.inputShape, dataset.numClasses, config.seed);
  try {
    const scheme = createSchemeFromConfig(config, model.numParams);
    const schedule = new BatchSchedule({
      numSamples: dataset.train.n,
      globalBatch: config.batch,
      numPartitions: scheme.numPartitions,
      seed: config.seed,
    });
    return { config, model, dataset, scheme, attack, schedule };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

interface Task {
  grad: Float32Array;
  lossSum: number;
  samples: number;
  ms: number;
  poisoned: boolean;
}

/**
 * The messages `ranks` send at `step` with parameters `params`, given the step's Byzantine ranks
 * (the PS's placement, sent with the parameters so that every engine uses the one placement).
 * Distinct tasks are computed once and shared by the ranks asked for (deterministic compute makes
 * honest replicas bit-identical); each rank is still charged its task's time.
 */
export function computeMessages(
  ctx: WorkerContext,
  ranks: readonly number[],
  step: number,
  params: Float32Array,
  byzantine: readonly number[],
): StepMessages {
  const { model, dataset, scheme, attack, config } = ctx;
  model.setParams(params);
  const partitions = ctx.schedule.partitions(step);
  const byz = new Set(byzantine);
  const cache = new Map<string, Task>();

  const oracleFor = (poison: boolean, charge: { ms: number; tasks: Task[] }): GradientOracle => {
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
        t = {
          grad: g.grad,
          lossSum: g.lossSum,
          samples: batch.n,
          ms: performance.now() - s,
          poisoned: poison,
        };
        cache.set(key, t);
      }
      charge.ms += t.ms;
      if (!charge.tasks.includes(t)) charge.tasks.push(t);
      return t.grad;
    };
  };

  const outputs: WorkerOutput[] = ranks.map((rank) => {
    const poison = byz.has(rank) && attack.poisonLabels !== undefined;
    const charge = { ms: 0, tasks: [] as Task[] };
    const s0 = performance.now();
    const message = scheme.encode(rank, oracleFor(poison, charge));
    return {
      rank,
      message,
      computeMs: charge.ms,
      encodeMs: Math.max(0, performance.now() - s0 - charge.ms),
      lossSum: charge.tasks.reduce((a, t) => a + t.lossSum, 0),
      samples: charge.tasks.reduce((a, t) => a + t.samples, 0),
      poisoned: poison,
    };
  });

  // Honest loss over distinct tasks, before any extra tasks an omniscient attack computes.
  let honestLossSum = 0;
  let honestSamples = 0;
  for (const t of cache.values()) {
    if (t.poisoned) continue;
    honestLossSum += t.lossSum;
    honestSamples += t.samples;
  }

  const attackers = outputs.filter((o) => byz.has(o.rank));
  if (attackers.length > 0) {
    // Sign-bit messages (uncoded + sign-majority): attacks act on the +-1 vector they encode and
    // the result is sent as its signs, so every attack applies to signSGD too.
    const signs = scheme.messageFormat === 'sign-bits';
    const d = signs ? ctx.model.numParams : 0;
    const view = (m: Vec): Vec => (signs ? unpackSigns(m as unknown as Uint8Array, d) : m);
    let honest: (Vec | null)[] | undefined;
    if (attack.omniscient) {
      // Every honest rank's message: reused from this call where computed, else computed here (a
      // process worker pays up to one gradient per distinct task; nothing extra crosses the wire).
      const known = new Map(outputs.filter((o) => !byz.has(o.rank)).map((o) => [o.rank, o.message]));
      honest = [];
      for (let w = 0; w < scheme.n; w++) {
        if (byz.has(w)) honest.push(null);
        else honest.push(view(known.get(w) ?? scheme.encode(w, oracleFor(false, { ms: 0, tasks: [] }))));
      }
    }
    for (const o of attackers) {
      const s1 = performance.now();
      const sent = attack.corrupt({
        own: view(o.message),
        step,
        worker: o.rank,
        rng: Rng.derive(config.seed, 'attack', step, o.rank),
        n: scheme.n,
        byzantine,
        honest,
        assignment: attack.omniscient ? scheme.assignment : undefined,
        planeLength: scheme.planeLength,
      });
      o.message = signs ? (packSigns(sent) as unknown as Vec) : sent;
      o.encodeMs += performance.now() - s1;
    }
  }
  return { outputs, honestLossSum, honestSamples };
}

/** The message one `rank` sends at `step` (a worker process's share of `computeMessages`). */
export function computeWorkerMessage(
  ctx: WorkerContext,
  rank: number,
  step: number,
  params: Float32Array,
  byzantine: readonly number[],
): WorkerOutput {
  return computeMessages(ctx, [rank], step, params, byzantine).outputs[0];
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
