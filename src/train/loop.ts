/**
 * The parameter server's synchronous training loop (DESIGN §3): draw the step's batch, collect
 * one message per worker from the engine, validate, decode with the scheme, update with SGD, and
 * log the step record of DESIGN §4.
 */
import { UsageError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { median } from '../core/stats.js';
import { allFinite, sha256Hex, type Vec } from '../core/vec.js';
import { arenaFor, storeFinite } from '../core/simd/arena.js';
import { createPlacement, replicaGroups } from '../attacks/placement.js';
import { createEngine } from '../cluster/index.js';
import { buildWorkerContext } from '../cluster/worker-step.js';
import { readResumeCheckpoint, writeCheckpoint } from '../cluster/checkpoint.js';
import type { Engine } from '../cluster/types.js';
import { evaluateSplit } from './evaluate.js';
import type { Dataset } from '../data/types.js';
import type { TrainConfig } from '../experiment/config.js';
import type { TrainableModel } from '../models/types.js';
import type { Scheme } from '../schemes/types.js';
import { learningRate } from './lr.js';
import { modeledCommMs } from './time-model.js';
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
  time: {
    /** Per worker, indexed by rank. */
    computeMs: number[];
    encodeMs: number[];
    bytesSent: number[];
    psWaitMs: number;
    decodeMs: number;
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
  steps: number;
  seed: number;
  config: TrainConfig;
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
  /** What a user must know about this run's result (undecodable steps, aborted steps). */
  warnings: string[];
  /**
   * Why the run's result cannot be used, or null: most steps aborted (nothing decodable), or the
   * parameters are not finite. The CLI exits with status 3 when set.
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
    config: TrainConfig;
    engine: Engine;
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

/**
 * Check a worker's message before it can reach the decoder; returns the reason to reject it.
 * With `into` (the sender's MessageArena slot, same dtype and length) a float message is also
 * copied there while the finiteness check reads it; the decoder then gets the slot.
 */
export function validateMessage(msg: Vec, scheme: Scheme, into?: Vec): string | null {
  if (scheme.messageFormat === 'sign-bits') {
    // Packed signs (uncoded + sign-majority): every bit pattern is a valid vote.
    const m: unknown = msg;
    if (!(m instanceof Uint8Array)) return 'wrong dtype (want sign-bits)';
    return m.length === scheme.messageLength
      ? null
      : `wrong length ${m.length} (want ${scheme.messageLength})`;
  }
  const wantType = scheme.messageDtype === 'float64' ? Float64Array : Float32Array;
  if (!(msg instanceof wantType)) return `wrong dtype (want ${scheme.messageDtype})`;
  if (msg.length !== scheme.messageLength) return `wrong length ${msg.length} (want ${scheme.messageLength})`;
  if (into !== undefined ? !storeFinite(into, msg) : !allFinite(msg)) return 'non-finite values';
  return null;
}

/** Train with the given resolved config. */
export async function train(config: TrainConfig, hooks: TrainHooks = {}): Promise<TrainResult> {
  const wallStart = performance.now();
  const n = config.workers;
  const s = config.byzantine;
  if (s > n) throw new UsageError(`more Byzantine workers than workers (byzantine = ${s}, workers = ${n})`);
  if (config.batch < n) {
    throw new UsageError(
      `global batch ${config.batch} is smaller than the number of workers ${n}: every partition needs a sample`,
    );
  }
  // The same builder the worker processes use: same data, init, scheme and batch schedule.
  const wctx = await buildWorkerContext(config);
  const { model, dataset, scheme, schedule } = wctx;
  let engineRef: Engine | undefined;
  // SIGINT/SIGTERM with checkpoints on: finish the step, write a final checkpoint, stop.
  let stopSignal: string | null = null;
  const onSignal = (sig: string) => {
    stopSignal = sig;
  };
  if (config.checkpointEvery > 0) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  try {
    const groups = scheme.groups ?? replicaGroups(scheme.assignment); // for the `worst` placement
    const placement = createPlacement(config.placement, { n, s, seed: config.seed, groups });
    if (config.checkpointEvery > 0 && config.out === undefined)
      throw new UsageError('--checkpoint-every needs --out DIR (the checkpoint is written there)');
    const sgd = new Sgd(model.numParams, config.momentum, config.weightDecay);
    const params = model.getParams();

    const lrOpts = {
      lr: config.lr,
      schedule: config.lrSchedule,
      stepEvery: config.lrStepEvery,
      gamma: config.lrGamma,
      totalSteps: config.steps,
    };
    const network = { bandwidthMBps: config.bandwidthMBps, latencyMs: config.latencyMs };
    const stats = { suspects: 0, suspectsByz: 0, byzSlots: 0, aborted: 0, failures: 0, partial: 0 };
    const modeled: number[] = [];
    const walls: number[] = [];
    let bytesTotal = 0;
    let last = { loss: NaN, accuracy: NaN };

    // Resume (src/cluster/checkpoint.ts): params, momentum, next step and the summary totals.
    // Read before the engine starts, so a bad checkpoint never waits for workers.
    let startStep = 0;
    if (config.resume !== undefined) {
      const ck = readResumeCheckpoint(config, model.numParams);
      params.set(ck.params);
      sgd.setState({ buf: ck.momentum, started: ck.meta.momentumStarted });
      startStep = ck.meta.step;
      const t = ck.meta.totals;
      Object.assign(stats, t.stats);
      modeled.push(...t.modeled);
      walls.push(...t.walls);
      bytesTotal = t.bytesTotal;
      last = { loss: t.last.loss ?? NaN, accuracy: t.last.accuracy ?? NaN };
    }
    // A finished run has nothing left to do: no engine, no workers to wait for.
    if (startStep < config.steps) engineRef = await createEngine(config, wctx);
    const engine: Engine | null =
      engineRef === undefined ? null : (hooks.wrapEngine?.(engineRef) ?? engineRef);
    if (engine !== null) await hooks.onStart?.({ scheme, dataset, model, config, engine });
    const checkpoint = (next: number) =>
      writeCheckpoint(config.out!, {
        meta: {
          step: next,
          momentumStarted: sgd.getState().started,
          config,
          totals: { stats, modeled, walls, bytesTotal, last },
        },
        params,
        momentum: sgd.getState().buf,
      });
    for (let step = startStep; engine !== null && step < config.steps; step++) {
      const stepStart = performance.now();
      const partitions = schedule.partitions(step);
      const byzantine = s > 0 ? placement.byzantineAt(step) : [];
      const result = await engine.runStep({ step, params, partitions, byzantine });

      // Validate: a bad message becomes an erasure and never reaches the decoder.
      const messages: (Vec | null)[] = new Array(n).fill(null);
      // Float messages go into wasm memory for the SIMD kernels (core/simd); one arena per run.
      const arena =
        scheme.messageFormat === 'sign-bits'
          ? null
          : arenaFor(scheme, n, scheme.messageLength, scheme.messageDtype);
      const erasures: number[] = [];
      const rejected: string[] = [];
      for (const rep of result.reports) {
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

      const decStart = performance.now();
      const decoded = scheme.decode(messages, {
        step,
        partitionSizes: partitions.map((p) => p.length),
        rng: Rng.derive(config.seed, 'ps', step),
      });
      const decodeMs = performance.now() - decStart;

      const lr = learningRate(lrOpts, step);
      const updStart = performance.now();
      const aborted = decoded.abort || decoded.samplesCovered <= 0;
      if (!aborted) {
        const g = decoded.gradient;
        const inv = 1 / decoded.samplesCovered;
        for (let i = 0; i < g.length; i++) g[i] *= inv;
        sgd.step(params, g, lr);
      }
      const updateMs = performance.now() - updStart;

      const byzSet = new Set(byzantine);
      const suspects = [
        ...new Set([...decoded.suspects, ...rejected.map((r) => Number(r.split(':')[0]))]),
      ].sort((a, b) => a - b);
      stats.suspects += suspects.length;
      stats.suspectsByz += suspects.filter((w) => byzSet.has(w)).length;
      stats.byzSlots += byzantine.length;
      stats.aborted += aborted ? 1 : 0;
      stats.failures += decoded.failures.length;
      stats.partial += !aborted && decoded.failures.length > 0 ? 1 : 0;

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
        time: {
          computeMs: result.reports.map((r) => round3(r.computeMs)),
          encodeMs: result.reports.map((r) => round3(r.encodeMs)),
          bytesSent: result.reports.map((r) => r.bytesSent),
          psWaitMs: round3(result.waitMs),
          decodeMs: round3(decodeMs),
          updateMs: round3(updateMs),
          stepWallMs: 0,
          commMs: 0,
          modeledParallelMs: 0,
        },
      };
      const slowest = Math.max(...result.reports.map((r) => r.computeMs + r.encodeMs));
      const commMs = modeledCommMs(network, model.numParams, record.time.bytesSent);
      record.time.commMs = round3(commMs);
      record.time.modeledParallelMs = round3(slowest + commMs + decodeMs + updateMs);
      bytesTotal += result.reports.reduce((a, r) => a + r.bytesSent, 0);

      const isLast = step === config.steps - 1;
      if (isLast || (config.evalEvery > 0 && (step + 1) % config.evalEvery === 0)) {
        model.setParams(params);
        last = evaluateSplit(model, dataset, dataset.test);
        record.testLoss = last.loss;
        record.testAccuracy = last.accuracy;
      }
      record.time.stepWallMs = round3(performance.now() - stepStart);
      modeled.push(record.time.modeledParallelMs);
      walls.push(record.time.stepWallMs);
      if (result.rejectedFrames !== undefined) record.rejectedFrames = result.rejectedFrames;
      await hooks.onStep?.(record);
      // Let a pending signal handler run (the in-process engine never yields to the event loop).
      if (config.checkpointEvery > 0) await new Promise((r) => setImmediate(r));
      // Also after the last step: resuming a finished run then finds nothing to do.
      if (
        config.checkpointEvery > 0 &&
        ((step + 1) % config.checkpointEvery === 0 || stopSignal !== null || isLast)
      )
        checkpoint(step + 1);
      if (stopSignal !== null && !isLast)
        throw new UsageError(
          `stopped by ${stopSignal} after step ${step + 1}; resume with --resume ${config.out}`,
        );
    }
    await engine?.close();

    const summary: TrainSummary = {
      finalTestAccuracy: last.accuracy,
      finalTestLoss: last.loss,
      steps: config.steps,
      seed: config.seed,
      config,
      scheme: scheme.describe(),
      paramsSha256: sha256Hex(params),
      numParams: model.numParams,
      bytesPerWorkerPerStep: bytesTotal / (config.steps * n),
      totalSuspectsFlagged: stats.suspects,
      suspectsThatWereByzantine: stats.suspectsByz,
      totalByzantineSlots: stats.byzSlots,
      abortedSteps: stats.aborted,
      decoderFailures: stats.failures,
      partialSteps: stats.partial,
      ...verdict(config.steps, stats, params),
      wallSeconds: (performance.now() - wallStart) / 1000,
      medianModeledStepMs: median(modeled),
      medianStepWallMs: median(walls),
    };
    return { summary, params };
  } finally {
    // Process engines: never leave workers behind, also on errors.
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await engineRef?.close();
    model.dispose();
  }
}

/**
 * What the run's outcome means for its model. An aborted step leaves the model as it was; a
 * partial step updates it from the decodable groups only (an honest gradient of a smaller batch,
 * but not the adversary-free run's). Most steps aborted, or non-finite parameters, means there is
 * no usable model: the run failed.
 */
export function verdict(
  steps: number,
  stats: { aborted: number; partial: number },
  params: Float32Array,
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
  let failed: string | null = null;
  if (!allFinite(params)) failed = 'the final parameters are not finite (training diverged)';
  else if (2 * stats.aborted > steps)
    failed = `${stats.aborted} of ${steps} steps aborted: the model barely trained (workers missing or too many erasures?)`;
  return { warnings, failed };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
