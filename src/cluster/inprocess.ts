/**
 * The in-process engine: every worker runs in turn in this process on one shared model, through
 * the same `computeMessages` the worker processes use (src/cluster/worker-step.ts).
 *
 * Honest workers with the same task produce identical bytes (deterministic compute), so each
 * distinct (partitions, poisoned?) task is computed once per step and its array handed to every
 * replica (docs/design.md "Engines"). Each worker is still charged the time its task took, and the
 * vote still runs on every message.
 */
import type { Engine, StepRequest, StepResult } from './types.js';
import { computeMessages, type WorkerContext } from './worker-step.js';

export class InProcessEngine implements Engine {
  readonly name = 'inprocess';
  private readonly ranks: number[];

  constructor(private readonly ctx: WorkerContext) {
    this.ranks = Array.from({ length: ctx.scheme.n }, (_, i) => i);
  }

  async runStep(req: StepRequest): Promise<StepResult> {
    const t0 = performance.now();
    const r = computeMessages(this.ctx, this.ranks, req.step, req.params, req.byzantine);
    return {
      reports: r.outputs.map((o) => ({
        worker: o.rank,
        message: o.message,
        computeMs: o.computeMs,
        encodeMs: o.encodeMs,
        bytesSent: o.message.byteLength,
      })),
      waitMs: performance.now() - t0,
      trainLoss: r.honestSamples > 0 ? r.honestLossSum / r.honestSamples : NaN,
    };
  }

  async close(): Promise<void> {}
}
