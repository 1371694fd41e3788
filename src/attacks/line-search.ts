/**
 * The optimised attacks' coefficient search (ByzFL's Optimal_ALIE / Optimal_IPM; docs/attacks.md
 * "Optimal coefficients"): the Byzantines send `base + c dir`, and c is chosen to maximise how far
 * the PS's rule lands from the honest mean, `||rule(messages with c) - mu||`, by a line search of
 * `evals` evaluations: expansion from `start` in steps of `delta`, doubled after every
 * improvement; at the first failure the step shrinks by `ratio` and contraction probes
 * `best + delta` with delta shrinking by `ratio` each time, keeping improvements.
 */
import { UsageError } from '../core/errors.js';
import { allFinite, type Vec } from '../core/vec.js';
import { meanOf } from '../aggregators/mean.js';
import { sameShape, type AttackContext } from './types.js';

/** Spec parameters of the optimised attacks (ByzFL's defaults); `optimal` switches the search on. */
export const SEARCH_DEFAULTS = { optimal: 0, evals: 20, start: 0, delta: 10, ratio: 0.8 };

export interface LineSearch {
  evals: number;
  start: number;
  delta: number;
  ratio: number;
}

/**
 * The search an optimised attack's spec asks for, or null when its `optimal` switch is off;
 * UsageError naming a bad parameter.
 */
export function searchOf(name: string, p: Readonly<Record<string, number>>): LineSearch | null {
  if (p.optimal !== 0 && p.optimal !== 1)
    throw new UsageError(`${name}: optimal is a switch, 0 or 1 (got ${p.optimal})`);
  if (p.optimal === 0) return null;
  const { evals, start, delta, ratio } = p;
  if (!(Number.isInteger(evals) && evals >= 1))
    throw new UsageError(`${name}: evals must be an integer >= 1 (got ${evals})`);
  if (!Number.isFinite(start)) throw new UsageError(`${name}: start must be finite (got ${start})`);
  if (!(Number.isFinite(delta) && delta !== 0))
    throw new UsageError(`${name}: delta must be a non-zero number (got ${delta})`);
  if (!(ratio > 0.5 && ratio < 1)) throw new UsageError(`${name}: ratio must be in (0.5, 1) (got ${ratio})`);
  return { evals, start, delta, ratio };
}

/** The c maximising `score(c)` found by the expansion-contraction search (first best kept). */
export function lineSearch(score: (c: number) => number, p: LineSearch): number {
  let best = p.start;
  let bestY = score(best);
  let delta = p.delta;
  let left = p.evals - 1;
  // Expansion: double the step while it keeps improving.
  while (left > 0) {
    const c = best + delta;
    const y = score(c);
    left--;
    if (y > bestY) {
      best = c;
      bestY = y;
      delta *= 2;
    } else {
      delta *= p.ratio;
      break;
    }
  }
  // Contraction: probe ever shorter steps from the best so far.
  for (; left > 0; left--) {
    const c = best + delta;
    const y = score(c);
    if (y > bestY) {
      best = c;
      bestY = y;
    }
    delta *= p.ratio;
  }
  return best;
}

/**
 * The line search's objective for messages `base + c dir` at every Byzantine rank of the step:
 * the distance from the honest mean `mu` of the rule's output on the step's messages in rank
 * order (honest ones as they are, `null` ranks sending the candidate), the rule being `ctx.rule` (the PS's, as the engine models it) or, without one, the mean.
 * As at the PS, a non-finite message (an honest one once the run has diverged, or a candidate
 * that overflows float32) is refused (schemes/message.ts) and the rule sees the others; with
 * none left the objective is NaN, which the search never takes for an improvement.
 */
export function distortion(
  ctx: AttackContext,
  honest: readonly (Vec | null)[],
  mu: Float64Array,
  base: Float64Array | null,
  dir: Float64Array,
): (c: number) => number {
  const d = mu.length;
  const rule = ctx.rule ?? ((xs: readonly Vec[]) => meanOf(xs));
  const sent = sameShape(ctx.own); // rounded as the message sent is
  const refused = honest.map((m) => m !== null && !allFinite(m)); // the same for every candidate
  return (c) => {
    for (let j = 0; j < d; j++) sent[j] = (base === null ? 0 : base[j]) + c * dir[j];
    const sentFinite = allFinite(sent);
    const messages: Vec[] = [];
    for (const [i, m] of honest.entries()) {
      if (m === null ? sentFinite : !refused[i]) messages.push(m ?? sent);
    }
    if (messages.length === 0) return NaN;
    const agg = rule(messages);
    let s = 0;
    for (let j = 0; j < d; j++) {
      const e = agg[j] - mu[j];
      s += e * e;
    }
    return Math.sqrt(s);
  };
}
