/**
 * What the omniscient attacks (ALIE, IPM, collude, mimic) read from their context: the honest
 * messages of the step, and their coordinate-wise mean `mu` and standard deviation `sigma`
 * (docs/attacks.md "Moments").
 *
 * - sigma is the POPULATION standard deviation (divide by the number h of honest messages): the
 *   attacker knows the exact honest set, so it uses that set's own moments rather than an
 *   estimate of a wider population. ByzFL's ALittleIsEnough uses the sample one (ddof = 1,
 *   dividing by h - 1): a larger sigma by sqrt(h / (h - 1)) (docs/attacks.md "Moments").
 * - The honest messages are taken as received, one per honest rank. Under the repetition code
 *   and DETOX the honest members of a group send identical copies, so a group counts once per
 *   honest member: mu and sigma are over all honest messages, not over the distinct values.
 *   Against a coded scheme they are the encoded messages.
 * - Float64 accumulation in plain loops, two passes (mean, then squared deviations) for accuracy.
 */
import { UsageError } from '../core/errors.js';
import type { Vec } from '../core/vec.js';
import type { AttackContext } from './types.js';

export interface Moments {
  mu: Float64Array;
  sigma: Float64Array;
  /** Number of honest messages the moments are over. */
  count: number;
}

/** The honest messages of the step in rank order; errors when the engine gave none. */
export function honestMessages(ctx: AttackContext, attack: string): Vec[] {
  if (ctx.honest === undefined) {
    throw new Error(`attack '${attack}' is omniscient but the engine passed no honest messages`);
  }
  const out = ctx.honest.filter((m): m is Vec => m !== null);
  if (out.length === 0) {
    throw new UsageError(`attack '${attack}' needs at least one honest worker (all ${ctx.n} are Byzantine)`);
  }
  return out;
}

/**
 * Coordinate-wise mean and standard deviation of `xs` (all the same length): the population one
 * (divide by h), or with `ddof = 1` the sample one (divide by h - 1, ByzFL's).
 */
export function moments(xs: readonly Vec[], ddof: 0 | 1 = 0): Moments {
  const h = xs.length;
  const d = xs[0].length;
  const mu = new Float64Array(d);
  for (const x of xs) for (let j = 0; j < d; j++) mu[j] += x[j];
  const inv = 1 / h;
  for (let j = 0; j < d; j++) mu[j] *= inv;
  const sigma = new Float64Array(d);
  for (const x of xs) {
    for (let j = 0; j < d; j++) {
      const e = x[j] - mu[j];
      sigma[j] += e * e;
    }
  }
  const div = 1 / (h - ddof);
  for (let j = 0; j < d; j++) sigma[j] = Math.sqrt(sigma[j] * div);
  return { mu, sigma, count: h };
}

/**
 * A per-attack memo of something every Byzantine worker of a step computes alike (moments, an
 * optimised coefficient): computed once per step. The key is the step and the identity of every
 * honest message (the engine hands all Byzantines the same arrays), so a different honest set is
 * never served a stale value.
 */
export function stepMemo<T>(compute: (ctx: AttackContext) => T): (ctx: AttackContext) => T {
  let step = NaN;
  let refs: readonly (Vec | null)[] = [];
  let value: { v: T } | null = null;
  return (ctx) => {
    const honest = ctx.honest;
    if (
      value !== null &&
      honest !== undefined &&
      ctx.step === step &&
      honest.length === refs.length &&
      honest.every((m, i) => m === refs[i])
    ) {
      return value.v;
    }
    value = { v: compute(ctx) };
    step = ctx.step;
    refs = honest === undefined ? [] : honest.slice();
    return value.v;
  };
}

/** The step's honest moments, once per step (`stepMemo`); `ddof` as for `moments`. */
export function momentsMemo(attack: string, ddof: 0 | 1 = 0): (ctx: AttackContext) => Moments {
  return stepMemo((ctx) => {
    const xs = honestMessages(ctx, attack);
    if (xs.length <= ddof)
      throw new UsageError(
        `attack '${attack}': the sample standard deviation needs at least two honest workers`,
      );
    return moments(xs, ddof);
  });
}
