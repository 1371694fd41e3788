/**
 * A task thread of the in-process engine (cluster/task-pool.ts): builds the run's model, data,
 * scheme and attack from the description (the resolved config, as a worker process does, plugins
 * included: the same user's code, in the same process), then computes the gradient tasks it is
 * sent with `computeTask`, the function the main thread and worker processes use.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { PoolReply, PoolRequest } from '../cluster/task-pool.js';
import { computeTask, type WorkerContext } from '../cluster/worker-step.js';
import { contextFingerprint } from '../cluster/task-pool.js';
import { buildWorkerContext } from './components.js';
import { resolveConfig } from './config.js';

const port = parentPort!;
const reply = (m: PoolReply, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

let ctx: WorkerContext;
try {
  ctx = await buildWorkerContext(
    resolveConfig((workerData as { description: unknown }).description, 'the run'),
  );
  reply({ type: 'ready', fingerprint: contextFingerprint(ctx) });
} catch (e) {
  reply({ type: 'error', id: null, message: message(e) });
  process.exit(1);
}

port.on('message', (m: PoolRequest) => {
  try {
    ctx.model.setParams(m.params);
    const partitions = ctx.schedule.partitions(m.step);
    // Copies: a model may reuse its gradient buffer, and transferring would detach it.
    const results = m.tasks.map((t) => {
      const r = computeTask(ctx, t, partitions);
      return { ...r, grad: r.grad.slice() };
    });
    reply(
      { type: 'done', id: m.id, results },
      results.map((r) => r.grad.buffer as ArrayBuffer),
    );
  } catch (e) {
    reply({ type: 'error', id: m.id, message: message(e), stack: e instanceof Error ? e.stack : undefined });
  }
});
