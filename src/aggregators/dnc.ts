/**
 * DnC, divide and conquer (Shejwalkar and Houmansadr, "Manipulating the Byzantine: Optimizing
 * Model Poisoning Attacks and Defenses for Federated Learning", NDSS 2021, Algorithm 2;
 * docs/aggregators.md "DnC"): `iters` times, sample `b` coordinates without replacement (ctx.rng;
 * all of them when b >= d), score each input by its squared projection on the top singular vector
 * of the centered sub-vectors, and keep the n - floor(c f) lowest scores (ties: lower index); the
 * mean of the inputs kept in every iteration (the paper's intersection; when it is empty, of those
 * dropped in the fewest iterations). Requires n > 2f and n - floor(c f) >= 1.
 *
 * In n-space: with C the centered n x b sub-vectors, C C^T is their centered Gram matrix (gram.ts,
 * from the sub-vectors' distance matrix) and ((x_i - mu).v)^2 = lambda u_i^2 for its top
 * eigenpair (lambda, u) (symeig.ts); no b x b matrix, no random-start power iteration. Cost per
 * iteration: the O(b log b) sample, an O(nb) gather, the O(n^2 b) distances and O(n^3); then one
 * O(nd) mean.
 */
import { UsageError } from '../core/errors.js';
import type { Rng } from '../core/rng.js';
import { symEig } from '../core/symeig.js';
import type { Vec } from '../core/vec.js';
import { pairwiseSqDistances } from './distances.js';
import { assertFinite, NonFiniteInputError } from './finite.js';
import { centeredGram } from './gram.js';
import { meanOf } from './mean.js';
import type { AggregateInfo, AggregatorDef } from './types.js';

export interface DncSettings {
  /** Coordinates sampled per iteration (all when b >= d). */
  b: number;
  /** Iterations; the kept sets are intersected. */
  iters: number;
  /** Filtering fraction: each iteration drops floor(c f) inputs. */
  c: number;
}

/** Indices (ascending) of the inputs DnC averages. */
export function dncSelect(inputs: readonly Vec[], f: number, s: DncSettings, rng: Rng): number[] {
  const n = inputs.length;
  const d = inputs[0].length;
  const drop = Math.floor(s.c * f);
  const all = Array.from({ length: n }, (_, i) => i);
  const dropped = new Int32Array(n); // iterations in which each input was dropped
  for (let it = 0; it < s.iters; it++) {
    let sub: readonly Vec[] = inputs;
    if (s.b < d) {
      const coords = rng.sampleFew(d, s.b); // ascending: the gather reads each input forward
      sub = inputs.map((x) => {
        const y = new Float64Array(s.b);
        for (let k = 0; k < s.b; k++) y[k] = x[coords[k]];
        return y;
      });
    }
    let D: Float64Array;
    try {
      D = pairwiseSqDistances(sub);
    } catch (e) {
      // A non-finite sampled value: name its place in the inputs, not in the sample.
      if (e instanceof NonFiniteInputError) assertFinite(inputs);
      throw e;
    }
    const { values, vectors } = symEig(centeredGram(D, n, all), n);
    const lambda = Math.max(0, values[0]);
    const score = all.map((i) => lambda * vectors[i] * vectors[i]);
    const order = [...all].sort((a, b) => score[a] - score[b] || a - b);
    for (let r = n - drop; r < n; r++) dropped[order[r]]++;
  }
  let fewest = Infinity;
  for (let i = 0; i < n; i++) fewest = Math.min(fewest, dropped[i]);
  return all.filter((i) => dropped[i] === fewest);
}

export function dnc(
  inputs: readonly Vec[],
  f: number,
  s: DncSettings,
  rng: Rng,
  info?: AggregateInfo,
  out?: Float64Array,
): Float64Array {
  const selected = dncSelect(inputs, f, s, rng);
  if (info) info.selected = selected;
  return meanOf(
    selected.map((i) => inputs[i]),
    undefined,
    out,
  );
}

export const dncDef: AggregatorDef = {
  name: 'dnc',
  description:
    'divide and conquer: iters times drop the floor(c f) largest projections on the top singular vector of b sampled coordinates, mean of the rest; n > 2f; O(iters n^2 b + nd)',
  defaults: { b: 10000, iters: 1, c: 1 },
  create(params) {
    const { b, iters, c } = params;
    if (!(Number.isInteger(b) && b >= 1))
      throw new UsageError(`dnc: b must be a positive integer (coordinates sampled), got ${b}`);
    if (!(Number.isInteger(iters) && iters >= 1))
      throw new UsageError(`dnc: iters must be a positive integer, got ${iters}`);
    if (!(Number.isFinite(c) && c >= 0))
      throw new UsageError(`dnc: c must be a finite number >= 0 (filtering fraction), got ${c}`);
    const settings: DncSettings = { b, iters, c };
    return {
      name: 'dnc',
      description: dncDef.description,
      precondition(n, f) {
        if (!(n > 2 * f)) return `dnc needs n > 2f (n = ${n}, f = ${f}: n >= ${2 * f + 1})`;
        const drop = Math.floor(c * f);
        return n - drop >= 1
          ? null
          : `dnc: c = ${c} drops floor(c f) = ${drop} of n = ${n} inputs (f = ${f})`;
      },
      aggregate: (inputs, ctx) => dnc(inputs, ctx.f, settings, ctx.rng, ctx.info, ctx.out),
    };
  },
};
