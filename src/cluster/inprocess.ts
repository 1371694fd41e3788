/**
 * The in-process engine: every worker runs in turn in this process on one shared model.
 *
 * Honest workers with the same task produce identical bytes (deterministic compute), so each
 * distinct (partitions, poisoned?) task is computed once per step and its array handed to every
 * replica (DESIGN §3). Each worker is still charged the time its task took, and the vote still
 * runs on every message.
 */
import { Rng } from '../core/rng.js';
import type { Vec } from '../core/vec.js';
import type { Attack } from '../attacks/types.js';
import { gatherBatch } from '../data/batch.js';
import type { Dataset } from '../data/types.js';
import type { TrainableModel } from '../models/types.js';
import type { GradientOracle, Scheme } from '../schemes/types.js';
import type { Engine, StepRequest, StepResult, WorkerReport } from './types.js';

interface Computed {
  grad: Float32Array;
  lossSum: number;
  samples: number;
  ms: number;
  poisoned: boolean;
}

export interface InProcessOptions {
  model: TrainableModel;
  dataset: Dataset;
  scheme: Scheme;
  attack: Attack;
  seed: number;
}

export class InProcessEngine implements Engine {
  readonly name = 'inprocess';

  constructor(private readonly o: InProcessOptions) {}

  async runStep(req: StepRequest): Promise<StepResult> {
    const { model, dataset, scheme, attack, seed } = this.o;
    const t0 = performance.now();
    model.setParams(req.params);
    const byz = new Set(req.byzantine);
    const cache = new Map<string, Computed>();

    const oracleFor = (poison: boolean, charge: { ms: number }): GradientOracle => {
      return (parts) => {
        const key = (poison ? 'p:' : 'h:') + parts.join(',');
        let c = cache.get(key);
        if (c === undefined) {
          const s = performance.now();
          const ids = concatIds(parts.map((p) => req.partitions[p]));
          const batch = gatherBatch(dataset, dataset.train, ids);
          const labels =
            poison && attack.poisonLabels ? attack.poisonLabels(batch.y, dataset.numClasses) : batch.y;
          const g = model.gradient({ n: batch.n, x: batch.x, y: labels });
          c = {
            grad: g.grad,
            lossSum: g.lossSum,
            samples: batch.n,
            ms: performance.now() - s,
            poisoned: poison,
          };
          cache.set(key, c);
        }
        charge.ms += c.ms;
        return c.grad;
      };
    };

    // Honest messages first (every worker's, since Byzantine ones corrupt their own honest message).
    const honest: Vec[] = [];
    const reports: WorkerReport[] = [];
    for (let w = 0; w < scheme.n; w++) {
      const poison = byz.has(w) && attack.poisonLabels !== undefined;
      const charge = { ms: 0 };
      const s = performance.now();
      const msg = scheme.encode(w, oracleFor(poison, charge));
      const total = performance.now() - s;
      honest.push(msg);
      reports.push({
        worker: w,
        message: msg,
        computeMs: charge.ms,
        encodeMs: Math.max(0, total - charge.ms),
        bytesSent: 0,
      });
    }
    for (const w of req.byzantine) {
      const s = performance.now();
      const sent = attack.corrupt({
        own: honest[w],
        step: req.step,
        worker: w,
        rng: Rng.derive(seed, 'attack', req.step, w),
        n: scheme.n,
        byzantine: req.byzantine,
        honest: attack.omniscient ? honest.map((m, i) => (byz.has(i) ? null : m)) : undefined,
        assignment: attack.omniscient ? scheme.assignment : undefined,
      });
      reports[w].message = sent;
      reports[w].encodeMs += performance.now() - s;
    }
    for (const r of reports) r.bytesSent = r.message === null ? 0 : r.message.byteLength;

    let lossSum = 0;
    let samples = 0;
    for (const c of cache.values()) {
      if (c.poisoned) continue;
      lossSum += c.lossSum;
      samples += c.samples;
    }
    return { reports, waitMs: performance.now() - t0, trainLoss: samples > 0 ? lossSum / samples : NaN };
  }

  async close(): Promise<void> {}
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
