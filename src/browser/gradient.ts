/**
 * The browser entry of a draco worker (issue 21): the model zoo and one partition's gradient on
 * tfjs's wasm backend, the same code a Node worker runs (`getModelDef(name).create`, `setParams`,
 * `gradient`, src/cluster/worker-step.ts `computeTask`). src/browser/bundle.ts bundles this file
 * for the page; the page reaches it as the global `draco`.
 *
 * Bytes must equal a Node worker's (docs/design.md "Determinism across hosts"), so the page runs
 * the configuration Node runs: tfjs-backend-wasm's SIMD build on one thread. tfjs in Node never
 * takes the threaded build; a cross-origin-isolated page would, so threads are switched off here.
 * A browser without WebAssembly SIMD is refused rather than given the scalar build. (The scalar
 * and threaded builds gave the same bytes on every zoo model in Chromium here, but that is a
 * measurement on one machine, not a guarantee the test suite keeps.)
 */
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { initBackend } from '../models/backend.js';
import { getModelDef, listModels } from '../models/registry.js';
import type { TrainableModel } from '../models/types.js';

export { listModels };

export interface WorkerBackendOptions {
  /** URL prefix, ending in '/', where the page serves tfjs-backend-wasm's three `.wasm` files. */
  wasmPath: string;
  /**
   * Experiments only (the defaults are what Node runs, and what agrees with it bit for bit):
   * `simd: false` takes the scalar build; `threads: true` lets a cross-origin-isolated page take
   * the threaded build.
   */
  simd?: boolean;
  threads?: boolean;
  /** With `threads`: XNNPACK's thread pool size (default: the logical cores). */
  threadsCount?: number;
}

export interface BackendInfo {
  backend: string;
  /** Which of tfjs-backend-wasm's builds runs. */
  simd: boolean;
  threads: boolean;
  /** XNNPACK's threads (1 unless the threaded build runs). */
  threadsCount: number;
  tfjsVersion: string;
}

let ready: Promise<BackendInfo> | null = null;

/**
 * Start tfjs on the wasm backend with draco's kernels (src/models/backend.ts), its binaries from
 * `wasmPath`. Once per page; later calls return the first call's result, whatever their options.
 */
export function initWorkerBackend(opts: WorkerBackendOptions): Promise<BackendInfo> {
  ready ??= init(opts);
  return ready;
}

async function init(opts: WorkerBackendOptions): Promise<BackendInfo> {
  const env = tf.env();
  const simd = (await env.getAsync('WASM_HAS_SIMD_SUPPORT')) as boolean;
  if (opts.simd === false) env.set('WASM_HAS_SIMD_SUPPORT', false);
  else if (!simd) {
    throw new Error(
      'this browser has no WebAssembly SIMD: draco workers run the SIMD build of tfjs-backend-wasm, as in Node',
    );
  }
  if (opts.threads !== true) env.set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  else if (opts.threadsCount !== undefined) setThreadsCount(opts.threadsCount);
  setWasmPaths(opts.wasmPath);
  await initBackend('wasm');
  return {
    backend: tf.getBackend(),
    simd: (await env.getAsync('WASM_HAS_SIMD_SUPPORT')) as boolean,
    threads: (await env.getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) as boolean,
    threadsCount: getThreadsCount(),
    tfjsVersion: tf.version_core,
  };
}

export interface GradientRequest {
  /** A model of the zoo (src/models/registry.ts). */
  model: string;
  /** One sample's shape, channels last, and the number of classes: the dataset's. */
  inputShape: number[];
  numClasses: number;
  /** The run seed: the model's initial parameters (used when `params` is absent). */
  seed: number;
  /** The step's parameters, as the PS broadcasts them; absent: the seeded initialisation. */
  params?: Float32Array;
  /** The partition's samples: `n * prod(inputShape)` float32 features and `n` labels. */
  x: Float32Array;
  y: Int32Array;
}

export interface GradientReply {
  /** Gradient of the summed per-sample loss (a fresh array). */
  grad: Float32Array;
  lossSum: number;
  /** The parameters it was computed at. */
  params: Float32Array;
  /** Forward and backward, in this page (ms). */
  ms: number;
}

interface Held {
  model: TrainableModel;
  init: Float32Array;
}

/** Models built so far, by (name, shape, classes, seed): a worker keeps its model across steps. */
const models = new Map<string, Held>();

function held(req: GradientRequest): Held {
  const key = `${req.model}|${req.inputShape.join('x')}|${req.numClasses}|${req.seed}`;
  let h = models.get(key);
  if (h === undefined) {
    const model = getModelDef(req.model).create(req.inputShape, req.numClasses, req.seed);
    h = { model, init: model.getParams() };
    models.set(key, h);
  }
  return h;
}

/**
 * The gradient of one partition at `params` (or the seeded initial parameters): what a Node
 * worker's `computeTask` returns for the same samples. Call `initWorkerBackend` first.
 */
export function computeGradient(req: GradientRequest): GradientReply {
  if (ready === null) throw new Error('computeGradient: call initWorkerBackend first');
  const { model, init } = held(req);
  const params = req.params ?? init;
  model.setParams(params);
  const s = performance.now();
  const g = model.gradient({ n: req.y.length, x: req.x, y: req.y });
  return { grad: g.grad, lossSum: g.lossSum, params, ms: performance.now() - s };
}
