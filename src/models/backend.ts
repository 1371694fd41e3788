/**
 * tfjs backend setup. draco computes gradients on the wasm backend (XNNPACK + SIMD, one thread
 * in Node) and keeps the pure-JS cpu backend as a reference. Both are deterministic run to run;
 * they do not agree bit for bit with each other, so every replica in one run must use the same
 * backend (docs/design.md "Determinism").
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerKernels } from './kernels/index.js';

export type BackendName = 'wasm' | 'cpu';

const BACKENDS: readonly BackendName[] = ['wasm', 'cpu'];

/**
 * Make `name` the active tfjs backend, registering our extra kernels first. Idempotent and cheap
 * when `name` is already active. In Node the wasm backend finds its .wasm binaries next to its
 * own JS file, so no `setWasmPaths` is needed.
 */
export async function initBackend(name: BackendName = 'wasm'): Promise<void> {
  if (!BACKENDS.includes(name)) throw new Error(`unknown tfjs backend ${String(name)}`);
  registerKernels();
  if (tf.getBackend() === name) return;
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`tfjs backend ${name} failed to initialise`);
  await tf.ready();
  if (name === 'cpu') {
    // The cpu backend prints a "install tfjs-node" banner on its first tensor. It is noise here:
    // cpu is our reference backend by choice, and tfjs-node cannot be installed offline.
    const b = tf.findBackend('cpu') as { firstUse?: boolean } | null;
    if (b != null) b.firstUse = false;
  }
}

/** Name of the active backend, or undefined if none has been initialised yet. */
export function currentBackend(): string | undefined {
  // A plain read of the engine's field: it does not initialise a default backend.
  const name = tf.getBackend() as string | null;
  return name == null ? undefined : name;
}
