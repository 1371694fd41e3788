/**
 * Worker threads that compute gradient tasks for the in-process engine (docs/design.md
 * "Engines"). Each thread builds its own model, data and scheme from the run's description (as a
 * worker process does) and answers "these tasks at these parameters at this step" with their
 * gradients. Deterministic compute makes a thread's gradient bitwise the one this thread would
 * have computed, so the model does not depend on which thread computed what.
 *
 * A thread that fails (throws, runs out of memory, exits) fails the step with its error: the run
 * stops loudly rather than continue on fewer threads with a different timing story.
 */
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { Task, TaskSpec, WorkerContext } from './worker-step.js';

/**
 * What must agree between two builds of one run for their gradients to agree: the parameter count,
 * the partitions, and a hash of the training set (inputs and labels). A thread whose loader gives
 * other data is refused at the start instead of computing other gradients.
 */
export function contextFingerprint(ctx: WorkerContext): string {
  const { x, y, n } = ctx.dataset.train;
  const h = createHash('sha256');
  for (const a of [x, y]) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return `${ctx.model.numParams} params, ${ctx.scheme.numPartitions} partitions, ${n} training samples, data ${h.digest('hex').slice(0, 16)}`;
}

/** Main thread -> task thread. */
export type PoolRequest = {
  type: 'tasks';
  id: number;
  step: number;
  params: Float32Array;
  tasks: TaskSpec[];
};

/** Task thread -> main thread. */
export type PoolReply =
  | { type: 'ready'; fingerprint: string }
  | { type: 'done'; id: number; results: Task[] }
  | { type: 'error'; id: number | null; message: string; stack?: string };

interface Helper {
  worker: Worker;
  pending: Map<number, { resolve: (t: Task[]) => void; reject: (e: Error) => void }>;
}

export class TaskPool {
  private nextId = 0;
  private failure: Error | null = null;

  private constructor(private readonly helpers: Helper[]) {}

  /**
   * Start `count` threads running `entry` with `workerData`; resolves once every thread has built
   * its context and reported this `fingerprint` (contextFingerprint); rejects with the first
   * thread's error or mismatch, the others stopped.
   */
  static async start(entry: URL, workerData: unknown, count: number, fingerprint: string): Promise<TaskPool> {
    const helpers: Helper[] = [];
    const ready: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      const worker = new Worker(entry, { workerData });
      const h: Helper = { worker, pending: new Map() };
      helpers.push(h);
      ready.push(
        new Promise<void>((resolve, reject) => {
          const onMessage = (m: PoolReply) => {
            if (m.type === 'ready')
              done(
                m.fingerprint === fingerprint
                  ? null
                  : new Error(
                      `a task thread built a different run (${m.fingerprint}; this thread: ${fingerprint}): the model and dataset must build the same way on every thread`,
                    ),
              );
            else if (m.type === 'error') done(new Error(m.message));
          };
          const onError = (e: unknown) => done(e instanceof Error ? e : new Error(String(e)));
          const onExit = (code: number) =>
            done(new Error(`task thread exited with code ${code} while starting`));
          // Only this start's listeners come off: the Worker's own bookkeeping listeners stay.
          const done = (e: Error | null) => {
            worker.off('message', onMessage).off('error', onError).off('exit', onExit);
            if (e) reject(e);
            else resolve();
          };
          worker.on('message', onMessage).on('error', onError).on('exit', onExit);
        }),
      );
    }
    try {
      await Promise.all(ready);
    } catch (e) {
      await Promise.all(helpers.map((h) => h.worker.terminate()));
      throw e;
    }
    const pool = new TaskPool(helpers);
    for (const h of helpers) {
      h.worker.on('message', (m: PoolReply) => pool.onReply(h, m));
      h.worker.on('error', (e) => pool.fail(e instanceof Error ? e : new Error(String(e))));
      h.worker.on('exit', (code) => pool.fail(new Error(`a task thread exited (code ${code})`)));
    }
    return pool;
  }

  get size(): number {
    return this.helpers.length;
  }

  /** Thread `i` computes `tasks` at `params` for `step`. */
  run(i: number, step: number, params: Float32Array, tasks: TaskSpec[]): Promise<Task[]> {
    if (this.failure) return Promise.reject(this.failure);
    const h = this.helpers[i];
    const id = this.nextId++;
    return new Promise<Task[]>((resolve, reject) => {
      h.pending.set(id, { resolve, reject });
      const req: PoolRequest = { type: 'tasks', id, step, params, tasks };
      h.worker.postMessage(req);
    });
  }

  private onReply(h: Helper, m: PoolReply): void {
    if (m.type === 'done') {
      h.pending.get(m.id)?.resolve(m.results);
      h.pending.delete(m.id);
    } else if (m.type === 'error') {
      const e = new Error(`task thread: ${m.message}`);
      // Where it went wrong is the thread's stack, not this handler's.
      if (m.stack) e.stack = `Error: task thread: ${m.stack.replace(/^[^\n]*: /, '')}`;
      if (m.id === null) this.fail(e);
      else {
        h.pending.get(m.id)?.reject(e);
        h.pending.delete(m.id);
      }
    }
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    for (const h of this.helpers) {
      for (const p of h.pending.values()) p.reject(e);
      h.pending.clear();
    }
  }

  async close(): Promise<void> {
    this.failure ??= new Error('task pool closed');
    await Promise.all(this.helpers.map((h) => h.worker.terminate()));
  }
}
