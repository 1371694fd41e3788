/**
 * The in-process engine: every worker runs in this process on one shared model, through the same
 * `computeMessages` the worker processes use (src/cluster/worker-step.ts).
 *
 * Honest workers with the same task produce identical bytes (deterministic compute), so each
 * distinct (partitions, poisoned?) task is computed once per step and its array handed to every
 * replica (docs/design.md "Engines"). Each worker is still charged the time its task took, and the
 * vote still runs on every message.
 *
 * Threads. With a task pool (task-pool.ts) the step's distinct tasks are found first (`stepTasks`),
 * shared out between this thread and the pool's threads by size, computed at once, and handed to
 * `computeMessages`, which then only encodes and attacks. The bits are those of the serial run. A
 * pool started lazily (`threads: auto`) starts in the background once the run's remaining steps
 * are projected to take longer than `lazyStart.ms` at the serial pace and threads would save a
 * good share of a step (maybeStartLazily), so short runs never pay for starting threads.
 */
import { UsageError } from '../core/errors.js';
import type { TaskPool } from './task-pool.js';
import type { Engine, StepRequest, StepResult } from './types.js';
import {
  computeMessages,
  computeTask,
  stepTasks,
  taskKey,
  type Task,
  type TaskSpec,
  type WorkerContext,
} from './worker-step.js';

/** Remaining serial time (ms) beyond which a lazy pool is started (tests lower it). */
export const lazyStart = { ms: 3_000 };
/**
 * Least share of a step that threads must be expected to save for a lazy start: below it the
 * hand-off to threads costs about what they save (docs/design.md "Engines" has the measurement).
 */
const LAZY_MIN_SAVING = 0.2;

export interface InProcessThreads {
  /** Threads besides this one. */
  helpers: number;
  /** Start the pool (each thread builds the run's context). */
  start: (helpers: number) => Promise<TaskPool>;
  /** True: start before the first step and fail the run if the pool cannot start. */
  eager: boolean;
  /** The run's last step + 1 (for the lazy start's projection). */
  totalSteps: number;
  /** Told when a lazy start fails (the run goes on serially, with the same model). */
  warn?: (line: string) => void;
}

export class InProcessEngine implements Engine {
  readonly name = 'inprocess';
  private readonly ranks: number[];
  private pool: TaskPool | null = null;
  private starting: Promise<void> | null = null;
  private startFailed = false;

  private constructor(
    private readonly ctx: WorkerContext,
    private readonly threads?: InProcessThreads,
  ) {
    this.ranks = Array.from({ length: ctx.scheme.n }, (_, i) => i);
  }

  static async create(ctx: WorkerContext, threads?: InProcessThreads): Promise<InProcessEngine> {
    const e = new InProcessEngine(ctx, threads);
    if (threads && threads.helpers > 0 && threads.eager) {
      try {
        e.pool = await threads.start(threads.helpers);
      } catch (err) {
        throw new UsageError(
          `threads: ${err instanceof Error ? err.message : String(err)} (--threads 1 computes every task in this thread)`,
        );
      }
    }
    return e;
  }

  /** True while a lazily started pool is coming up (its threads building the run). */
  get poolStarting(): boolean {
    return this.starting !== null && this.pool === null && !this.startFailed;
  }

  /** Threads computing tasks now, this one included. */
  get activeThreads(): number {
    return 1 + (this.pool?.size ?? 0);
  }

  async runStep(req: StepRequest): Promise<StepResult> {
    // A starting pool reports in through the event loop, which a serial step never yields to.
    if (this.starting && !this.pool) await new Promise<void>((resolve) => setImmediate(resolve));
    const t0 = performance.now();
    const computed = this.pool ? await this.computeOnPool(req) : undefined;
    const r = computeMessages(this.ctx, this.ranks, req.step, req.params, req.byzantine, computed);
    const waitMs = performance.now() - t0;
    this.maybeStartLazily(req.step, waitMs, r.tasks, r.taskMs);
    return {
      reports: r.outputs.map((o) => ({
        worker: o.rank,
        message: o.message,
        computeMs: o.computeMs,
        encodeMs: o.encodeMs,
        bytesSent: o.message.byteLength,
      })),
      waitMs,
      trainLoss: r.honestSamples > 0 ? r.honestLossSum / r.honestSamples : NaN,
    };
  }

  /** The step's distinct tasks, computed here and on the pool at once; keyed in first-ask order. */
  private async computeOnPool(req: StepRequest): Promise<Map<string, Task>> {
    const pool = this.pool!;
    const tasks = stepTasks(this.ctx, this.ranks, req.byzantine);
    const sizes = req.partitions.map((p) => p.length);
    const cost = (t: TaskSpec) => t.parts.reduce((a, p) => a + sizes[p], 0);
    // Largest first to the least loaded thread (thread 0 is this one).
    const shares: TaskSpec[][] = Array.from({ length: pool.size + 1 }, () => []);
    const load = new Array<number>(pool.size + 1).fill(0);
    for (const t of [...tasks].sort((a, b) => cost(b) - cost(a))) {
      const i = load.indexOf(Math.min(...load));
      shares[i].push(t);
      load[i] += cost(t);
    }
    const remote = shares
      .slice(1)
      .map((share, i) => (share.length > 0 ? pool.run(i, req.step, req.params, share) : Promise.resolve([])));
    // Rejections are observed below; until then a failing thread must not be unhandled.
    for (const p of remote) p.catch(() => {});
    this.ctx.model.setParams(req.params);
    const results = new Map<string, Task>();
    for (const t of shares[0]) results.set(taskKey(t), computeTask(this.ctx, t, req.partitions));
    const done = await Promise.all(remote);
    done.forEach((rs, i) => rs.forEach((r, q) => results.set(taskKey(shares[i + 1][q]), r)));
    return new Map(tasks.map((t) => [taskKey(t), results.get(taskKey(t))!]));
  }

  /**
   * Start a lazy pool when it would pay: the remaining steps take over `lazyStart.ms` at this
   * pace, and sharing this step's `tasks` distinct tasks (`taskMs` of gradients) out over the
   * threads would save at least `LAZY_MIN_SAVING` of the step (few tasks, or a step spent mostly
   * encoding and decoding, gain nothing from threads).
   */
  private maybeStartLazily(step: number, stepMs: number, tasks: number, taskMs: number): void {
    const th = this.threads;
    if (!th || th.helpers === 0 || th.eager || this.pool || this.starting) return;
    if ((th.totalSteps - step - 1) * stepMs < lazyStart.ms) return;
    const threads = th.helpers + 1;
    const saving = tasks > 0 ? taskMs * (1 - Math.ceil(tasks / threads) / tasks) : 0;
    if (saving < LAZY_MIN_SAVING * stepMs) return;
    this.starting = th.start(th.helpers).then(
      (p) => void (this.pool = p),
      (e: unknown) => {
        this.startFailed = true;
        th.warn?.(
          `threads: could not start (${e instanceof Error ? e.message : String(e)}); going on in one thread`,
        );
      },
    );
  }

  async close(): Promise<void> {
    await this.starting;
    await this.pool?.close();
  }
}
