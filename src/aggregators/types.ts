/**
 * Robust aggregation rules (spec/aggregators-attacks.md). One file per rule, one shared
 * signature, registered by name in `registry.ts`.
 */
import type { Rng } from '../core/rng.js';
import type { Vec } from '../core/vec.js';

export interface AggregatorContext {
  /** Assumed number of Byzantine inputs among the ones given. */
  f: number;
  /** Seeded randomness for rules that shuffle (bucketing); derived from (seed, step). */
  rng: Rng;
}

export interface Aggregator {
  readonly name: string;
  /** One line for `--help`: definition and cost. */
  readonly description: string;
  /**
   * The rule's precondition on `n` inputs with `f` Byzantine, or null when it holds. The message
   * names the rule, n, f and the bound, e.g. "krum needs n >= 2f + 3 (n = 5, f = 2)".
   */
  precondition(n: number, f: number): string | null;
  /** Aggregate `inputs` (all the same length). Returns a fresh float64 vector. */
  aggregate(inputs: readonly Vec[], ctx: AggregatorContext): Float64Array;
}
