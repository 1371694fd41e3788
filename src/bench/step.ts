/**
 * Micro-benchmarks of one gradient computation (forward + backward + flatten into one
 * Float32Array), the unit of work of every draco worker. Used by `draco bench step`.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../core/rng.js';
import { median } from '../core/stats.js';
import type { Batch } from '../data/types.js';
import { type BackendName, currentBackend, initBackend } from '../models/backend.js';
import { getModelDef } from '../models/registry.js';
import type { TrainableModel } from '../models/types.js';

export interface BenchStepOptions {
  model: string;
  batch: number;
  /** Timed runs (default 30; `profileStep`: profiled runs, default 10). */
  runs?: number;
  /** Untimed runs first (default 5); warm-up continues until `warmupMs` have passed too. */
  warmup?: number;
  /**
   * Minimum warm-up time, ms (default 500): V8 needs a few hundred calls of tfjs's JS before the
   * per-op overhead settles (a small model's median halves), and training runs thousands.
   */
  warmupMs?: number;
  backend?: BackendName;
  /** Per-sample shape, channels last (default: the model's benchInputShape, else MNIST [28, 28, 1]). */
  inputShape?: number[];
  /** Default 10. */
  numClasses?: number;
  /** Seed of the model init and the random batch (default 0). */
  seed?: number;
}

export interface BenchStepResult {
  model: string;
  batch: number;
  backend: string;
  numParams: number;
  medianMs: number;
  minMs: number;
  runs: number;
}

export interface KernelProfile {
  kernelName: string;
  /** Kernel time summed over its calls in one gradient computation (mean over runs), ms. */
  totalMs: number;
  calls: number;
}

export interface ProfileStepResult {
  model: string;
  batch: number;
  backend: string;
  /** Sorted by totalMs, largest first. */
  kernels: KernelProfile[];
  /** Mean wall time of one profiled gradient computation, ms (profiling adds overhead). */
  wallMs: number;
}

/** A seeded random batch: pixels uniform in [0, 1), labels uniform. */
export function randomBatch(n: number, inputShape: number[], numClasses: number, seed = 0): Batch {
  const rng = Rng.derive(seed, 'bench-batch');
  const x = new Float32Array(n * inputShape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < x.length; i++) x[i] = rng.float();
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) y[i] = rng.int(numClasses);
  return { n, x, y };
}

async function setup(
  opts: BenchStepOptions,
): Promise<{ model: TrainableModel; batch: Batch; backend: string }> {
  if (!Number.isInteger(opts.batch) || opts.batch < 1) throw new Error(`bench: bad batch size ${opts.batch}`);
  const def = getModelDef(opts.model);
  await initBackend(opts.backend ?? 'wasm');
  const inputShape = opts.inputShape ?? def.benchInputShape ?? [28, 28, 1];
  const numClasses = opts.numClasses ?? 10;
  const seed = opts.seed ?? 0;
  const model = def.create(inputShape, numClasses, seed);
  return {
    model,
    batch: randomBatch(opts.batch, inputShape, numClasses, seed),
    backend: currentBackend() ?? '?',
  };
}

/** At least `opts.warmup` untimed gradients, and at least `opts.warmupMs` of them. */
function warmUp(model: TrainableModel, batch: Batch, opts: BenchStepOptions): void {
  const t0 = performance.now();
  const minMs = opts.warmupMs ?? 500;
  for (let i = 0; i < (opts.warmup ?? 5) || performance.now() - t0 < minMs; i++) model.gradient(batch);
}

/** Median and minimum wall time of one `gradient(batch)` call. */
export async function benchStep(opts: BenchStepOptions): Promise<BenchStepResult> {
  const runs = opts.runs ?? 30;
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`bench: runs must be >= 1, got ${runs}`);
  const { model, batch, backend } = await setup(opts);
  try {
    warmUp(model, batch, opts);
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      model.gradient(batch);
      times.push(performance.now() - t0);
    }
    return {
      model: opts.model,
      batch: opts.batch,
      backend,
      numParams: model.numParams,
      medianMs: median(times),
      minMs: Math.min(...times),
      runs,
    };
  } finally {
    model.dispose();
  }
}

/**
 * Per-kernel times of one gradient computation (after warmup), via `tf.profile`, averaged over
 * `runs` profiled computations (default 10): one profiled call is too noisy to rank kernels.
 */
export async function profileStep(opts: BenchStepOptions): Promise<ProfileStepResult> {
  const runs = opts.runs ?? 10;
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`bench: runs must be >= 1, got ${runs}`);
  const { model, batch, backend } = await setup(opts);
  try {
    warmUp(model, batch, opts);
    const byName = new Map<string, KernelProfile>();
    let wall = 0;
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      const info = await tf.profile(() => {
        model.gradient(batch);
      });
      wall += performance.now() - t0;
      for (const k of info.kernels) {
        const t = await k.kernelTimeMs;
        const ms = typeof t === 'number' ? t : 0;
        const e = byName.get(k.name) ?? { kernelName: k.name, totalMs: 0, calls: 0 };
        e.totalMs += ms / runs;
        e.calls += 1 / runs;
        byName.set(k.name, e);
      }
    }
    const kernels = [...byName.values()]
      .map((k) => ({ ...k, calls: Math.round(k.calls) }))
      .sort((a, b) => b.totalMs - a.totalMs);
    return { model: opts.model, batch: opts.batch, backend, kernels, wallMs: wall / runs };
  } finally {
    model.dispose();
  }
}
