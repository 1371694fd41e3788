/**
 * The parameter server's synchronous training loop over built objects (docs/design.md "One
 * step"): draw the step's batch, collect one message per worker from the engine, validate,
 * decode with the scheme, update with SGD, and log the step record (docs/design.md "Step
 * record"). Names are turned into these objects elsewhere (src/build/); this file never sees a
 * config.
 */
import { UsageError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { median } from '../core/stats.js';
import { allFinite, type Vec } from '../core/vec.js';
import { sha256Hex } from '../core/hash.js';
import { arenaFor } from '../core/simd/arena.js';
import type { Placement } from '../attacks/placement.js';
import type { Engine, StepResult } from '../cluster/types.js';
import { computeTask } from '../cluster/worker-step.js';
import type { BatchSchedule } from '../data/schedule.js';
import type { Dataset } from '../data/types.js';
import type { TrainableModel } from '../models/types.js';
import { messageKind, validateMessage } from '../schemes/message.js';
import type { Scheme } from '../schemes/types.js';
import { writeCheckpoint, type Checkpoint } from './checkpoint.js';
import { atChance, chanceAccuracy, evaluateSplit } from './evaluate.js';
import { learningRate, type LrScheduleOptions } from './lr.js';
import { modeledCommMs, type NetworkModel } from './time-model.js';
import { Sgd } from './sgd.js';

/** One record per step in metrics.jsonl. Times in milliseconds. */
export interface StepRecord {
  step: number;
  lr: number;
  /** Mean per-sample training loss over the honest computations of this step's batch. */
  trainLoss: number;
  /** Present on evaluation steps. */
  testLoss?: number;
  testAccuracy?: number;
  byzantine: number[];
  suspects: number[];
  /** Ranks whose message was missing or rejected (treated as erasures). */
  erasures: number[];
  /** Why messages were rejected, `rank: reason`. */
  rejected: string[];
  /** Decoder fallbacks taken (e.g. a repetition group without majority). */
  failures: string[];
  /** True when the model was not updated this step. */
  aborted: boolean;
  /** Process engines: frames refused at the wire since the previous step, by reason. */
  rejectedFrames?: Record<string, number>;
  /** Gradients the PS computed itself this step to settle disputes (verify). */
  recomputations: number;
  /** Schemes that ban (verify): the ranks ignored from the next step on, after this step. */
  banned?: number[];
  time: {
    /** Per worker, indexed by rank. */
    computeMs: number[];
    encodeMs: number[];
    bytesSent: number[];
    psWaitMs: number;
    /** Includes `recomputeMs`: the PS's own gradients are part of its decode. */
    decodeMs: number;
    /** Time of this step's PS recomputations (verify). */
    recomputeMs: number;
    updateMs: number;
    stepWallMs: number;
    /** MODELED communication (src/train/time-model.ts): parameter broadcast + messages. */
    commMs: number;
    /**
     * MODELED parallel step time: slowest worker's compute + encode, plus modeled communication,
     * plus the measured PS decode and update.
     */
    modeledParallelMs: number;
  };
}

export interface TrainSummary {
  finalTestAccuracy: number;
  finalTestLoss: number;
  /** Test accuracy of always answering the most common class: what a model that learned nothing gets. */
  chanceAccuracy: number;
  steps: number;
  seed: number;
  /** What the run was: the resolved config (src/build/config.ts), as given to `runTraining`. */
  config: Readonly<Record<string, unknown>>;
  scheme: string;
  /** sha256 of the final float32 parameters, little-endian. */
  paramsSha256: string;
  numParams: number;
  bytesPerWorkerPerStep: number;
  /** Total (step, worker) pairs the decoder flagged as suspects. */
  totalSuspectsFlagged: number;
  /** Of those, how many were Byzantine at that step. */
  suspectsThatWereByzantine: number;
  /** (step, worker) pairs that were Byzantine. */
  totalByzantineSlots: number;
  abortedSteps: number;
  decoderFailures: number;
  /**
   * Steps that updated the model from only part of the batch: a group could not be decoded
   * (erasures left too few identical messages) and was skipped. The model then differs from the
   * adversary-free one; `warnings` says so.
   */
  partialSteps: number;
  /** Gradients the PS computed itself to settle disputes (verify), over the run. */
  psRecomputations: number;
  /** What a user must know about this run's result (undecodable steps, aborted steps). */
  warnings: string[];
  /**
   * Why the run's result cannot be used, or null: most steps aborted (nothing decodable), the
   * parameters or the final test loss are not finite, or the final test accuracy is at chance
   * (see `verdict`). The CLI exits with status 3 when set.
   */
  failed: string | null;
  wallSeconds: number;
  /** Median over steps of the modeled parallel step time (ms). */
  medianModeledStepMs: number;
  /** Median over steps of the measured in-process step wall time (ms). */
  medianStepWallMs: number;
}

export interface TrainHooks {
  /** Called once everything is built, before the first step. */
  onStart?(info: {
    scheme: Scheme;
    dataset: Dataset;
    model: TrainableModel;
    engine: Engine;
    schedule: BatchSchedule;
  }): void | Promise<void>;
  onStep?(record: StepRecord): void | Promise<void>;
  /**
   * Wrap or replace the engine before the first step. Tests use it to inject faults (erasures)
   * into the in-process engine; the loop treats what it returns as the cluster.
   */
  wrapEngine?(engine: Engine): Engine;
}

export interface TrainResult {
  summary: TrainSummary;
  params: Float32Array;
}

/** Everything one run needs, built (src/build/train.ts builds it from names or user objects). */
export interface TrainRun {
  /** What the run is (the resolved config): kept in the summary and in checkpoints. */
  description: Readonly<Record<string, unknown>>;
  model: TrainableModel;
  dataset: Dataset;
  scheme: Scheme;
  schedule: BatchSchedule;
  /** Which ranks are Byzantine at each step (none when `byzantine` is 0). */
  placement: Placement;
  /** Number of Byzantine workers s. */
  byzantine: number;
  /** Starts the cluster; not called when a resumed run has no step left. */
  engine(): Promise<Engine>;
  steps: number;
  seed: number;
  /** Evaluate on the test set every k steps (0: only after the last). */
  evalEvery: number;
  lr: LrScheduleOptions;
  momentum: number;
  weightDecay: number;
  /** For the MODELED communication time. */
  network: NetworkModel;
  /** Write DIR/checkpoint.bin every `every` steps, and on SIGINT/SIGTERM. */
  checkpoint?: { dir: string; every: number };
  /** A checkpoint (already checked against this run) to continue from. */
  resumeFrom?: Checkpoint;
}

/** Running totals of a run, kept in checkpoints. */
interface Totals {
  stats: {
    suspects: number;
    suspectsByz: number;
    byzSlots: number;
    aborted: number;
    failures: number;
    partial: number;
    recomputations: number;
  };
  modeled: number[];
  walls: number[];
  bytesTotal: number;
  last: { loss: number; accuracy: number };
}

/** Run the training loop of `run`; the caller owns (and disposes) the model. */
export async function runTraining(run: TrainRun, hooks: TrainHooks = {}): Promise<TrainResult> {
  const wallStart = performance.now();
  const { model, scheme, steps } = run;
  let engineRef: Engine | undefined;
  // SIGINT/SIGTERM with checkpoints on: finish the step, write a final checkpoint, stop.
  let stopSignal: string | null = null;
  const onSignal = (sig: string) => {
    stopSignal = sig;
  };
  const ck = run.checkpoint !== undefined && run.checkpoint.every > 0 ? run.checkpoint : undefined;
  if (ck !== undefined) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  try {
    const sgd = new Sgd(model.numParams, run.momentum, run.weightDecay);
    const params = model.getParams();
    const t: Totals = {
      stats: {
        suspects: 0,
        suspectsByz: 0,
        byzSlots: 0,
        aborted: 0,
        failures: 0,
        partial: 0,
        recomputations: 0,
      },
      modeled: [],
      walls: [],
      bytesTotal: 0,
      last: { loss: NaN, accuracy: NaN },
    };
    let startStep = 0;
    if (run.resumeFrom !== undefined) {
      const r = run.resumeFrom;
      if (r.params.length !== model.numParams)
        throw new UsageError(
          `the checkpoint holds ${r.params.length} parameters, the model has ${model.numParams}`,
        );
      params.set(r.params);
      sgd.setState({ buf: r.momentum, started: r.meta.momentumStarted });
      startStep = r.meta.step;
      const rt = r.meta.totals;
      Object.assign(t.stats, rt.stats);
      t.modeled.push(...rt.modeled);
      t.walls.push(...rt.walls);
      t.bytesTotal = rt.bytesTotal;
      t.last = { loss: rt.last.loss ?? NaN, accuracy: rt.last.accuracy ?? NaN };
      if (r.meta.schemeState !== undefined) scheme.loadState?.(r.meta.schemeState);
    }
    // A finished run has nothing left to do: no engine, no workers to wait for.
    if (startStep < steps) engineRef = await run.engine();
    const engine: Engine | null =
      engineRef === undefined ? null : (hooks.wrapEngine?.(engineRef) ?? engineRef);
    if (engine !== null)
      await hooks.onStart?.({ scheme, dataset: run.dataset, model, engine, schedule: run.schedule });
    const checkpoint = (next: number) =>
      writeCheckpoint(ck!.dir, {
        meta: {
          step: next,
          momentumStarted: sgd.getState().started,
          config: { ...run.description, steps },
          totals: t,
          schemeState: scheme.saveState?.(),
        },
        params,
        momentum: sgd.getState().buf,
      });
    for (let step = startStep; engine !== null && step < steps; step++) {
      const stepStart = performance.now();
      const record = await trainStep(run, engine, step, params, sgd);
      tally(t, record, run.network, model.numParams);
      const isLast = step === steps - 1;
      if (isLast || (run.evalEvery > 0 && (step + 1) % run.evalEvery === 0)) {
        model.setParams(params);
        t.last = evaluateSplit(model, run.dataset, run.dataset.test);
        record.testLoss = t.last.loss;
        record.testAccuracy = t.last.accuracy;
      }
      record.time.stepWallMs = round3(performance.now() - stepStart);
      t.modeled.push(record.time.modeledParallelMs);
      t.walls.push(record.time.stepWallMs);
      await hooks.onStep?.(record);
      if (ck === undefined) continue;
      // Let a pending signal handler run (the in-process engine never yields to the event loop).
      await new Promise((r) => setImmediate(r));
      // Also after the last step: resuming a finished run then finds nothing to do.
      if ((step + 1) % ck.every === 0 || stopSignal !== null || isLast) checkpoint(step + 1);
      if (stopSignal !== null && !isLast)
        throw new UsageError(
          `stopped by ${stopSignal} after step ${step + 1}; resume with --resume ${ck.dir}`,
        );
    }
    await engine?.close();
    model.setParams(params);
    return { summary: summarize(run, t, params, wallStart), params };
  } finally {
    // Process engines: never leave workers behind, also on errors.
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await engineRef?.close();
  }
}

/**
 * One synchronous step (docs/design.md "One step"): the engine brings one message per worker,
 * a message that fails validation becomes an erasure, the scheme decodes, SGD updates `params`.
 * The caller adds the evaluation and the step's wall time.
 */
async function trainStep(
  run: TrainRun,
  engine: Engine,
  step: number,
  params: Float32Array,
  sgd: Sgd,
): Promise<StepRecord> {
  const { scheme } = run;
  const partitions = run.schedule.partitions(step);
  const byzantine = run.byzantine > 0 ? run.placement.byzantineAt(step) : [];
  const result = await engine.runStep({ step, params, partitions, byzantine });
  const { messages, erasures, rejected } = validateAll(result.reports, scheme);

  // The PS's own honest gradient, for schemes that settle disputes (verify): counted and timed.
  let recomputations = 0;
  let recomputeMs = 0;
  const recompute = (parts: readonly number[]) => {
    const t0 = performance.now();
    run.model.setParams(params);
    const g = computeTask(run, { parts, poison: false }, partitions).grad;
    recomputations++;
    recomputeMs += performance.now() - t0;
    return g;
  };
  const decStart = performance.now();
  const decoded = scheme.decode(messages, {
    step,
    partitionSizes: partitions.map((p) => p.length),
    rng: Rng.derive(run.seed, 'ps', step),
    recompute,
    refused: rejected.map((r) => Number(r.split(':')[0])),
  });
  const decodeMs = performance.now() - decStart;

  const lr = learningRate(run.lr, step);
  const updStart = performance.now();
  const aborted = decoded.abort || decoded.samplesCovered <= 0;
  if (!aborted) {
    const g = decoded.gradient;
    const inv = 1 / decoded.samplesCovered;
    for (let i = 0; i < g.length; i++) g[i] *= inv;
    sgd.step(params, g, lr);
  }
  const updateMs = performance.now() - updStart;

  const suspects = [...new Set([...decoded.suspects, ...rejected.map((r) => Number(r.split(':')[0]))])].sort(
    (a, b) => a - b,
  );
  const record: StepRecord = {
    step,
    lr,
    trainLoss: result.trainLoss,
    byzantine,
    suspects,
    erasures,
    rejected,
    failures: decoded.failures,
    aborted,
    recomputations,
    time: {
      computeMs: result.reports.map((r) => round3(r.computeMs)),
      encodeMs: result.reports.map((r) => round3(r.encodeMs)),
      bytesSent: result.reports.map((r) => r.bytesSent),
      psWaitMs: round3(result.waitMs),
      decodeMs: round3(decodeMs),
      recomputeMs: round3(recomputeMs),
      updateMs: round3(updateMs),
      stepWallMs: 0,
      commMs: 0,
      modeledParallelMs: 0,
    },
  };
  if (result.rejectedFrames !== undefined) record.rejectedFrames = result.rejectedFrames;
  if (scheme.banned) record.banned = [...scheme.banned()];
  return record;
}

/**
 * Validate every report: a missing or bad message becomes an erasure and never reaches the
 * decoder. Float messages are copied into wasm memory for the SIMD kernels (core/simd) while
 * their finiteness is checked.
 */
function validateAll(
  reports: StepResult['reports'],
  scheme: Scheme,
): { messages: (Vec | null)[]; erasures: number[]; rejected: string[] } {
  const messages: (Vec | null)[] = new Array(scheme.n).fill(null);
  const kind = messageKind(scheme);
  const arena = kind === 'sign-bits' ? null : arenaFor(scheme, scheme.n, scheme.messageLength, kind);
  const erasures: number[] = [];
  const rejected: string[] = [];
  for (const rep of reports) {
    if (rep.message === null) {
      erasures.push(rep.worker);
      if (rep.rejected !== undefined) rejected.push(`${rep.worker}: ${rep.rejected}`);
      continue;
    }
    const slot = messages[rep.worker] === null ? arena?.slot(rep.worker) : undefined;
    const why = validateMessage(rep.message, scheme, slot);
    if (why) {
      erasures.push(rep.worker);
      rejected.push(`${rep.worker}: ${why}`);
    } else messages[rep.worker] = slot ?? rep.message;
  }
  return { messages, erasures, rejected };
}

/** Add a step to the totals and fill in its MODELED times. */
function tally(t: Totals, record: StepRecord, network: NetworkModel, numParams: number): void {
  const byz = new Set(record.byzantine);
  t.stats.suspects += record.suspects.length;
  t.stats.suspectsByz += record.suspects.filter((w) => byz.has(w)).length;
  t.stats.byzSlots += record.byzantine.length;
  t.stats.aborted += record.aborted ? 1 : 0;
  t.stats.failures += record.failures.length;
  t.stats.partial += !record.aborted && record.failures.length > 0 ? 1 : 0;
  t.stats.recomputations += record.recomputations;
  const tm = record.time;
  const slowest = Math.max(...tm.computeMs.map((c, i) => c + tm.encodeMs[i]));
  const commMs = modeledCommMs(network, numParams, tm.bytesSent);
  tm.commMs = round3(commMs);
  tm.modeledParallelMs = round3(slowest + commMs + tm.decodeMs + tm.updateMs);
  t.bytesTotal += tm.bytesSent.reduce((a, b) => a + b, 0);
}

function summarize(run: TrainRun, t: Totals, params: Float32Array, wallStart: number): TrainSummary {
  const chance = chanceAccuracy(run.dataset.test);
  return {
    finalTestAccuracy: t.last.accuracy,
    finalTestLoss: t.last.loss,
    steps: run.steps,
    seed: run.seed,
    config: run.description,
    scheme: run.scheme.describe(),
    paramsSha256: sha256Hex(params),
    numParams: run.model.numParams,
    bytesPerWorkerPerStep: t.bytesTotal / (run.steps * run.scheme.n),
    totalSuspectsFlagged: t.stats.suspects,
    suspectsThatWereByzantine: t.stats.suspectsByz,
    totalByzantineSlots: t.stats.byzSlots,
    abortedSteps: t.stats.aborted,
    decoderFailures: t.stats.failures,
    partialSteps: t.stats.partial,
    psRecomputations: t.stats.recomputations,
    chanceAccuracy: chance,
    ...verdict(run.steps, t.stats, params, t.last, { accuracy: chance, n: run.dataset.test.n }),
    wallSeconds: (performance.now() - wallStart) / 1000,
    medianModeledStepMs: median(t.modeled),
    medianStepWallMs: median(t.walls),
  };
}

/**
 * What the run's outcome means for its model. An aborted step leaves the model as it was; a
 * partial step updates it from the decodable groups only (an honest gradient of a smaller batch,
 * but not the adversary-free run's). There is no usable model, and the run failed, when most
 * steps aborted, when the parameters or the final test loss are not finite, or when the final
 * test accuracy is no better than always answering the most common class (it diverged to a dead
 * network, or barely moved).
 */
export function verdict(
  steps: number,
  stats: { aborted: number; partial: number },
  params: Float32Array,
  last: { loss: number; accuracy: number },
  chance: { accuracy: number; n: number },
): { warnings: string[]; failed: string | null } {
  const warnings: string[] = [];
  if (stats.aborted > 0)
    warnings.push(
      `${stats.aborted} of ${steps} steps aborted: nothing decodable (or the decoder's bound was exceeded); the model skipped those updates (step records: aborted, failures)`,
    );
  if (stats.partial > 0)
    warnings.push(
      `${stats.partial} of ${steps} steps updated the model without some undecodable groups (too many erasures): the model is not the adversary-free one (step records: failures)`,
    );
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  let failed: string | null = null;
  const diverged = 'training diverged: an attack got through the defense, or --lr is too high';
  if (!allFinite(params)) failed = `the final parameters are not finite (${diverged})`;
  else if (!Number.isFinite(last.loss)) failed = `the final test loss is ${last.loss} (${diverged})`;
  else if (2 * stats.aborted > steps)
    failed = `${stats.aborted} of ${steps} steps aborted: the model barely trained (workers missing or too many erasures?)`;
  else if (atChance(last.accuracy, chance.accuracy, chance.n))
    failed =
      `the model did not learn: final test accuracy ${pct(last.accuracy)} is no better than always answering the most common class (${pct(chance.accuracy)}); ` +
      'an attack got through the defense, or the learning rate is wrong (too high diverges to a dead network, too low or too few steps barely moves it)';
  return { warnings, failed };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
