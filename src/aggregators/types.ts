/**
 * Robust aggregation rules (docs/aggregators.md "Aggregators"). One file per rule, one
 * shared signature, registered by name in `registry.ts` with typed numeric parameters (like
 * attacks): `parseAggregator('trimmed-mean:b=2')`, `buildAggregator('krum', { n, f })`.
 *
 * Inputs are `n` vectors of length `d` (float32 or float64, never modified); every rule returns a
 * fresh float64 vector and accumulates in float64.
 *
 * Inputs must be finite. The training loop rejects a non-finite message before any rule runs and
 * `draco aggregate` refuses a non-finite file, so no rule spends a pass of its own on it. Handed
 * one anyway, the rules that order or compare inputs (docs/aggregators.md "Non-finite inputs"
 * lists them: median, trimmed-mean, geomedian, the Krum family, nnm, ...) throw `NonFiniteInputError` (finite.ts), noticed
 * within the pass they make anyway. The others check nothing: a NaN propagates through mean and
 * centered-clipping (which gives an infinite input zero weight), bucketing hands its bucket means
 * to its rule, and sign-majority counts NaN as +1 (not negative). `assertFinite` checks inputs
 * of unknown origin in one pass.
 */
import type { Rng } from '../core/rng.js';
import type { Vec } from '../core/vec.js';

/** What a rule reports about one call (filled in when the caller passes `ctx.info`). */
export interface AggregateInfo {
  /** geomedian: Weiszfeld iterations used; centered-clipping: clipping iterations (L). */
  iterations?: number;
  /** geomedian: true when the relative tolerance was met before the iteration cap. */
  converged?: boolean;
  /** geomedian: the iterate a majority's mean replaced when the mean was a slow start. */
  restartedAt?: number;
  /** krum / multi-krum / bulyan: indices (into the inputs given) of the selected inputs. */
  selected?: number[];
  /** Scores the selection used (krum / multi-krum), by input index. */
  scores?: number[];
}

export interface AggregatorContext {
  /** Assumed number of Byzantine inputs among the ones given. */
  f: number;
  /** Seeded randomness for rules that shuffle (bucketing); derived from (seed, step). */
  rng: Rng;
  /**
   * Per-run state of stateful rules: centered clipping starts at the previous step's aggregate.
   * When absent, a stateful rule uses the aggregate it returned last (per `create()` instance;
   * zeros on the first call).
   */
  previous?: Float64Array;
  /** When given, the rule writes what it did here (iterations, selected inputs). */
  info?: AggregateInfo;
  /**
   * A buffer of length d the rule may write its result into and return instead of allocating
   * (a fresh 8 MB vector per call costs as much as the mean itself: first-touch page faults).
   * The caller owns it and overwrites it on the next call. Rules are free to ignore it.
   */
  out?: Float64Array;
}

export interface Aggregator {
  readonly name: string;
  /** One line for `--help`: definition and cost. */
  readonly description: string;
  /**
   * The rule's precondition on `n` inputs with `f` Byzantine, or null when it holds. The message
   * names the rule, n, f and the bound, e.g. "krum needs n >= 2f + 3 (n = 5, f = 2: n >= 7)".
   */
  precondition(n: number, f: number): string | null;
  /** Aggregate `inputs` (all the same length, n >= 1). Returns a fresh float64 vector. */
  aggregate(inputs: readonly Vec[], ctx: AggregatorContext): Float64Array;
  /**
   * Stateful rules (centered clipping, clipped clustering): what a checkpoint must keep for a
   * resumed run to continue bit for bit (JSON-serialisable), and its restoration on resume.
   */
  saveState?(): unknown;
  loadState?(state: unknown): void;
}

/**
 * A parameterised rule: `create(params)` validates its parameters (UsageError) and builds the
 * rule. Parameters whose natural default depends on `f` or `n` (trimmed-mean `b`, multi-krum `m`)
 * default to -1, meaning "derive from the context" (b = f, m = n - f).
 */
export interface AggregatorDef {
  readonly name: string;
  readonly description: string;
  readonly defaults: Readonly<Record<string, number>>;
  create(params: Readonly<Record<string, number>>): Aggregator;
}

/**
 * A pre-aggregator (docs/aggregators.md "Pre-aggregators"): maps the n inputs to n' vectors the
 * rule then aggregates (bucketing: n' = ceil(n / b) bucket means; NNM: n' = n).
 */
export interface PreAggregator {
  readonly name: string;
  /** Number of vectors produced from n inputs. */
  outputCount(n: number): number;
  /** Precondition on (n, f), like `Aggregator.precondition`. */
  precondition(n: number, f: number): string | null;
  apply(inputs: readonly Vec[], ctx: AggregatorContext): Vec[];
}

export interface PreAggregatorDef {
  readonly name: string;
  readonly description: string;
  readonly defaults: Readonly<Record<string, number>>;
  create(params: Readonly<Record<string, number>>): PreAggregator;
}
