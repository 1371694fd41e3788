/**
 * The cluster: engines that run the workers' side of a step (types.ts), in this process
 * (`InProcessEngine`) or in worker processes over ZeroMQ (`ProcessEngine` binds an address that
 * `draco worker` processes connect to; `LocalEngine` also spawns them on this machine). Which
 * engine a run uses is the builder's choice (src/build/engine.ts).
 */
export { InProcessEngine } from './inprocess.js';
export { LocalEngine } from './local.js';
export { ProcessEngine, type ProcessEngineOptions } from './process-engine.js';
export { runWorker, WorkerExit, type WorkerOptions } from './worker.js';
export type { Engine, StepRequest, StepResult, WorkerReport } from './types.js';
export type { WorkerContext } from './worker-step.js';
