/**
 * The workers' computation for one step, the one implementation behind every engine (in-process
 * and process engines call it, so a seed gives the same bytes everywhere): the gradient oracle over
 * a worker's partitions
 * (poisoned labels for a data-poisoning Byzantine worker), `scheme.encode`, then, for a Byzantine
 * rank, `attack.corrupt` with `Rng.derive(seed, 'attack', step, worker)`.
 *
 * Everything else a worker needs is a pure function of the run's description and `(seed, step)`:
 * the batch (BatchSchedule) and the attack noise. So a worker process only receives the
 * parameters, the step number and the step's Byzantine ranks. The context is built from names in
 * one place, src/build/components.ts, for the PS and every worker process alike.
 *
 * Omniscient attacks (`attack.omniscient`) need every honest message of the step. A Byzantine
 * worker process computes them itself: it holds the data, the parameters and the scheme, so it
 * encodes every honest rank's message (once per distinct task). Cost: up to one gradient per
 * distinct task, i.e. n / r gradients for the repetition code and n for uncoded, on that worker;
 * no extra traffic, and the PS learns nothing it could not compute.
 */
import { Rng } from '../core/rng.js';
import type { Vec } from '../core/vec.js';
import type { Attack } from '../attacks/types.js';
import { concatIds, gatherBatch } from '../data/batch.js';
import type { BatchSchedule } from '../data/schedule.js';
import type { Dataset } from '../data/types.js';
import type { TrainableModel } from '../models/types.js';
import { attackView } from '../schemes/message.js';
import type { GradientOracle, Scheme } from '../schemes/types.js';

/** What a worker computes with; the PS holds the same (its engine may compute for every rank). */
export interface WorkerContext {
  /** The run seed: attack noise is derived from (seed, 'attack', step, rank). */
  seed: number;
  model: TrainableModel;
  dataset: Dataset;
  scheme: Scheme;
  attack: Attack;
  schedule: BatchSchedule;
  /**
   * Adaptive attacks (`attack.adaptive`) only: the PS's rule as the attacker models it, on one
   * message per rank at `step` (built by build/components.ts from the run's names).
   */
  rule?: (messages: readonly Vec[], step: number) => Float64Array;
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
  /** Distinct tasks the ranks' encodes asked for, and their gradient time (ms). */
  tasks: number;
  taskMs: number;
}

/** One distinct gradient task's result. */
export interface Task {
  grad: Float32Array;
  lossSum: number;
  samples: number;
  ms: number;
  poisoned: boolean;
}

/** A gradient task: the partitions' union, with labels poisoned or not. */
export interface TaskSpec {
  parts: readonly number[];
  poison: boolean;
}

/** The cache key of a task (the same task for every replica that asks for it). */
export function taskKey(t: TaskSpec): string {
  return (t.poison ? 'p:' : 'h:') + t.parts.join(',');
}

/**
 * Compute one task at the model's current parameters: the gradient over the union of the
 * partitions' samples of `partitions` (the step's), labels poisoned when asked (with `ctx.attack`).
 * Workers, task threads and the PS settling a dispute (train/loop.ts) all compute through it, so
 * an honest task gives the same bits wherever it is computed.
 */
export function computeTask(
  ctx: Pick<WorkerContext, 'model' | 'dataset'> & { attack?: Attack },
  t: TaskSpec,
  partitions: readonly Int32Array[],
): Task {
  const { model, dataset, attack } = ctx;
  const s = performance.now();
  const ids = concatIds(t.parts.map((p) => partitions[p]));
  const batch = gatherBatch(dataset, dataset.train, ids);
  const labels =
    t.poison && attack?.poisonLabels ? attack.poisonLabels(batch.y, dataset.numClasses) : batch.y;
  const g = model.gradient({ n: batch.n, x: batch.x, y: labels });
  return {
    grad: g.grad,
    lossSum: g.lossSum,
    samples: batch.n,
    ms: performance.now() - s,
    poisoned: t.poison,
  };
}

/**
 * The distinct tasks `ranks` ask for at this step, in the order they first ask: from
 * `scheme.tasks` where the scheme declares them, else by running each rank's `scheme.encode`
 * against an oracle that records what it is asked and answers zeros. Lets an engine compute the
 * tasks elsewhere first (threads); a task missed here is still computed when the real encode asks
 * for it, and one listed but never asked for changes nothing.
 */
export function stepTasks(
  ctx: WorkerContext,
  ranks: readonly number[],
  byzantine: readonly number[],
): TaskSpec[] {
  const byz = new Set(byzantine);
  const { scheme } = ctx;
  const seen = new Map<string, TaskSpec>();
  const add = (parts: readonly number[], poison: boolean) => {
    const t = { parts: [...parts], poison };
    if (!seen.has(taskKey(t))) seen.set(taskKey(t), t);
  };
  let zeros: Float32Array | undefined;
  for (const rank of ranks) {
    const poison = byz.has(rank) && ctx.attack.poisonLabels !== undefined;
    if (scheme.tasks) for (const parts of scheme.tasks(rank)) add(parts, poison);
    else
      scheme.encode(rank, (parts) => {
        add(parts, poison);
        return (zeros ??= new Float32Array(ctx.model.numParams));
      });
  }
  return [...seen.values()];
}

/**
 * The messages `ranks` send at `step` with parameters `params`, given the step's Byzantine ranks
 * (the PS's placement, sent with the parameters so that every engine uses the one placement).
 * Distinct tasks are computed once and shared by the ranks asked for (deterministic compute makes
 * honest replicas bit-identical); each rank is still charged its task's time. `computed`: tasks of
 * this step already computed elsewhere (the same bits, deterministic compute), keyed by `taskKey`.
 */
export function computeMessages(
  ctx: WorkerContext,
  ranks: readonly number[],
  step: number,
  params: Float32Array,
  byzantine: readonly number[],
  computed?: ReadonlyMap<string, Task>,
): StepMessages {
  const { model, scheme, attack } = ctx;
  model.setParams(params);
  const partitions = ctx.schedule.partitions(step);
  const byz = new Set(byzantine);
  // Tasks already computed for this step (by threads, at these parameters) are used as they are.
  const cache = new Map<string, Task>(computed);
  /** Tasks the encodes asked for: a task computed ahead but never asked for adds no loss. */
  const used = new Set<Task>();

  const oracleFor = (poison: boolean, charge: { ms: number; tasks: Task[] }): GradientOracle => {
    return (parts) => {
      const spec = { parts, poison };
      const key = taskKey(spec);
      let t = cache.get(key);
      if (t === undefined) {
        t = computeTask(ctx, spec, partitions);
        cache.set(key, t);
      }
      used.add(t);
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
    if (t.poisoned || !used.has(t)) continue;
    honestLossSum += t.lossSum;
    honestSamples += t.samples;
  }

  const attackers = outputs.filter((o) => byz.has(o.rank));
  if (attackers.length > 0) {
    // What the attack sees and sends (sign-bit messages: a +-1 vector, re-packed after).
    const { toAttack: view, fromAttack } = attackView(scheme, ctx.model.numParams);
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
        rng: Rng.derive(ctx.seed, 'attack', step, o.rank),
        n: scheme.n,
        byzantine,
        honest,
        assignment: attack.omniscient ? scheme.assignment : undefined,
        planeLength: scheme.planeLength,
        rule: attack.adaptive && ctx.rule ? (xs) => ctx.rule!(xs, step) : undefined,
      });
      o.message = fromAttack(sent);
      o.encodeMs += performance.now() - s1;
    }
  }
  let taskMs = 0;
  for (const t of used) taskMs += t.ms;
  return { outputs, honestLossSum, honestSamples, tasks: used.size, taskMs };
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
