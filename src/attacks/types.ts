/**
 * Attacks (docs/attacks.md "Attacks", "Context"): what a Byzantine worker sends instead of its
 * honest message. One file per attack, registered by name with typed parameters.
 */
import type { Rng } from '../core/rng.js';
import type { Vec } from '../core/vec.js';

export interface AttackContext {
  /** The honest message this worker would have sent (encoded, for coded schemes). Read-only. */
  own: Vec;
  step: number;
  worker: number;
  /** Seeded by (seed, 'attack', step, worker): same noise in every engine. */
  rng: Rng;
  /** Number of workers and of Byzantine workers this step. */
  n: number;
  byzantine: readonly number[];
  /**
   * Omniscient attacks only (`omniscient: true`): every honest message of the step, by rank
   * (null for Byzantine ranks), and each rank's assigned partitions.
   */
  honest?: readonly (Vec | null)[];
  assignment?: readonly (readonly number[])[];
  /** The scheme's Scheme.planeLength (coded schemes: the planar complex layout of a message). */
  planeLength?: number;
  /**
   * Adaptive attacks only (`adaptive: true`): the PS's aggregation as the attacker models it, the
   * run's rule (with its pre-aggregators, f = the step's Byzantine count, randomness seeded per
   * step) applied to one message per rank. Absent when the run names no rule (coded schemes
   * decode exactly): an adaptive attack then targets the mean (docs/attacks.md "Optimal
   * coefficients").
   */
  rule?: (messages: readonly Vec[]) => Float64Array;
}

export interface Attack {
  readonly name: string;
  /**
   * The spec it was built from (`createAttack` sets it). Worker processes rebuild an attack from
   * its spec, or from its name when it has none (a plugin's attack with its defaults).
   */
  readonly spec?: string;
  /** Needs every honest message of the step (the engine then computes those first). */
  readonly omniscient: boolean;
  /** Optimises against the PS's rule: the engine passes `ctx.rule` (an omniscient attack). */
  readonly adaptive?: boolean;
  /**
   * Data poisoning: the labels this worker trains on instead of the true ones (label flip).
   * Absent for attacks that only change the message.
   */
  poisonLabels?(labels: Int32Array, numClasses: number): Int32Array;
  /** The message actually sent. Must not modify `ctx.own`; returns a vector of the same type and length. */
  corrupt(ctx: AttackContext): Vec;
}

/** A parameterised attack: `create(params)` validates its parameters and builds the attack. */
export interface AttackDef {
  readonly name: string;
  /** One line for `--help`. */
  readonly description: string;
  /** Parameter names with their defaults (numbers). */
  readonly defaults: Readonly<Record<string, number>>;
  create(params: Readonly<Record<string, number>>): Attack;
}

/** A vector of the same type and length as `like`. */
export function sameShape(like: Vec): Vec {
  return like instanceof Float64Array ? new Float64Array(like.length) : new Float32Array(like.length);
}
