/** Shared fixtures for the cyclic code and Solon tests: seeded gradients, messages, errors. */
import { Rng } from '../../src/core/rng.js';
import type { Vec } from '../../src/core/vec.js';
import type { Attack } from '../../src/attacks/types.js';
import type { DecodeContext, Scheme } from '../../src/schemes/types.js';

export interface Fixture {
  grads: Float32Array[];
  /** The honest sum G in float64. */
  sum: Float64Array;
  honest: Vec[];
}

/** n seeded partition gradients of length d (float32, like the oracle's), their sum, the messages. */
export function fixture(scheme: Scheme, d: number, seed: number): Fixture {
  const rng = Rng.derive(seed, 'fixture', scheme.n, d);
  const grads: Float32Array[] = [];
  for (let j = 0; j < scheme.numPartitions; j++) {
    const g = new Float32Array(d);
    rng.fillNormal(g);
    grads.push(g);
  }
  const sum = new Float64Array(d);
  for (const g of grads) for (let i = 0; i < d; i++) sum[i] += g[i];
  const honest = Array.from({ length: scheme.n }, (_, w) =>
    scheme.encode(w, (parts) => {
      assert1(parts);
      return grads[parts[0]];
    }),
  );
  return { grads, sum, honest };
}

function assert1(parts: readonly number[]): void {
  // The MDS encoders ask for one partition at a time (they weigh each partition differently).
  if (parts.length !== 1) throw new Error(`oracle called with ${parts.length} partitions`);
}

export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / den);
}

export function decodeCtx(scheme: Scheme, rng: Rng, size = 3): DecodeContext {
  return { step: 0, partitionSizes: new Array<number>(scheme.numPartitions).fill(size), rng };
}

/** Byzantine workers replace their honest messages as the engine does (omniscient context given). */
export function corrupt(
  scheme: Scheme,
  honest: readonly Vec[],
  byz: readonly number[],
  attack: Attack,
  step = 0,
): Vec[] {
  const set = new Set(byz);
  const honestView = honest.map((m, i) => (set.has(i) ? null : m));
  const out = honest.slice();
  for (const w of byz) {
    out[w] = attack.corrupt({
      own: honest[w],
      step,
      worker: w,
      rng: Rng.derive(7, 'attack', step, w),
      n: scheme.n,
      byzantine: byz,
      honest: honestView,
      assignment: scheme.assignment,
      planeLength: scheme.planeLength,
    });
  }
  return out;
}

/** `count` adjacent ranks starting at `start` (cyclically): the hardest placement for the locator. */
export function adjacent(n: number, start: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => (start + i) % n).sort((a, b) => a - b);
}
