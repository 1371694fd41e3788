/**
 * Schemes (docs/schemes.md "Notation"): how work is assigned to workers, what a worker sends, and
 * how the parameter server decodes the messages (some possibly missing) into one gradient.
 */
import type { Rng } from '../core/rng.js';
import type { Vec } from '../core/vec.js';
import type { Aggregator } from '../aggregators/types.js';

/**
 * The worker-side gradient oracle: the gradient of the SUM of per-sample losses over the union of
 * the given partitions' samples at the step's parameters. Returned arrays are read-only (an
 * in-process engine may hand the same array to every replica of a task).
 */
export type GradientOracle = (partitions: readonly number[]) => Float32Array;

export interface DecodeContext {
  step: number;
  /** Samples in each partition this step (to weigh what a partial decode covers). */
  partitionSizes: readonly number[];
  /** Seeded randomness private to the PS for this step. */
  rng: Rng;
  /**
   * The PS's own gradient oracle at this step's parameters: the honest gradient over partitions,
   * computed on the PS's deterministic backend (so bitwise what an honest worker sends). Schemes
   * that settle disputes by recomputing (verify) call it; the loop counts and times each call.
   * Absent where the PS holds no model (a decode outside training).
   */
  recompute?: GradientOracle;
  /**
   * Ranks whose message for this step arrived and was refused for its content (wrong dtype or
   * length, a NaN or an infinity): null in `messages` like an erasure, but a message an honest
   * worker sends only when its own gradient is not finite. Verify bans them once the PS's own
   * value for their group is finite (a proof they lied).
   */
  refused?: readonly number[];
}

export interface DecodeResult {
  /**
   * Estimate of `G`, the sum over the covered samples of the per-sample loss gradients
   * (float64 accumulation). The PS divides by `samplesCovered`.
   */
  gradient: Float64Array;
  /** Number of samples of the global batch the gradient stands for (the whole batch normally). */
  samplesCovered: number;
  /** Workers whose messages the decoder found inconsistent with the decoded value. */
  suspects: number[];
  /** Problems the decoder resolved by its fallback rule (e.g. a group with no majority). */
  failures: string[];
  /** True when the step should not update the model (fallback 'abort', or nothing decodable). */
  abort: boolean;
}

export interface Scheme {
  readonly name: string;
  /** Number of workers. */
  readonly n: number;
  /** Number of partitions the global batch is cut into. */
  readonly numPartitions: number;
  /** Partitions each worker computes on (index = worker rank). */
  readonly assignment: readonly (readonly number[])[];
  /**
   * Ranks that compute the same thing and vote together (repetition, DETOX), for the `worst`
   * placement. Optional: the loop falls back to grouping ranks with identical assignments.
   */
  readonly groups?: readonly (readonly number[])[];
  /** Length and element type of one message (what a worker sends). */
  readonly messageLength: number;
  readonly messageDtype: 'float32' | 'float64';
  /**
   * Coded schemes (cyclic, Solon): messages are planar complex, in planes of this many values
   * (real parts, then imaginary parts; float64x2 messages: the high parts' two planes, then the
   * low parts'). For attacks that shape their error to the code (attacks/hidden.ts).
   */
  readonly planeLength?: number;
  /**
   * 'sign-bits': messages are instead Uint8Arrays of messageLength bytes of packed signs (uncoded
   * + sign-majority; see aggregators/sign-majority.ts); messageDtype then does not apply.
   */
  readonly messageFormat?: 'sign-bits';
  /** Human-readable layout, e.g. "3 groups of 5 ranks: 0-4, 5-9, 10-14". */
  describe(): string;
  /** Worker side: the honest message of `worker`. */
  encode(worker: number, gradient: GradientOracle): Vec;
  /**
   * Optional: the gradient tasks `encode(worker, ...)` asks its oracle for, in order (each a list
   * of partitions). The in-process engine computes a step's tasks on threads first with it;
   * without it the engine finds them by running `encode` against zeros.
   */
  tasks?(worker: number): readonly (readonly number[])[];
  /** Optional: ranks whose messages the scheme ignores from now on (proven liars, verify). */
  banned?(): readonly number[];
  /** Optional: state that must survive a resume (JSON), and its restore before the next step. */
  saveState?(): unknown;
  loadState?(state: unknown): void;
  /** PS side: messages indexed by worker rank; `null` marks an erasure (missing or rejected). */
  decode(messages: readonly (Vec | null)[], ctx: DecodeContext): DecodeResult;
}

/**
 * Cyclic/Solon message number format: float64 (default), float32 (loses precision), or float64x2
 * (double-double: every value sent as a float64 high part plus a float64 low part, 2x the bytes;
 * for decodes whose rounding amplification float64 cannot absorb, see schemes/mds/).
 */
export type MessageDtype = 'float64' | 'float32' | 'float64x2';

export interface SchemeOptions {
  n: number;
  /** Designed-for number of Byzantine workers. */
  s: number;
  /** Number of model parameters. */
  d: number;
  /** Repetition/DETOX/cyclic: compute load (redundancy). */
  r?: number;
  /** Uncoded/DETOX: the aggregation rule, a spec `name[:key=value,...]` or a rule object. */
  aggregator?: string | Aggregator;
  /** Pre-aggregator spec(s) applied before the rule (`+`-chained), e.g. `bucketing:b=2`. */
  preAggregator?: string;
  /** Repetition/DETOX: what to do with a group that has no strict majority. */
  noMajority?: 'skip' | 'abort';
  /** DETOX: hierarchical aggregation mode and bucket count. */
  detoxMode?: 'median-of-means' | 'multi-krum' | 'bulyan' | 'rule';
  detoxBuckets?: number;
  /** Solon: compression m (message length d/m). */
  compression?: number;
  /** Cyclic/Solon: message number format (see MessageDtype). */
  messageDtype?: MessageDtype;
  /** Verify: ignore proven liars from the step after their lie (default false). */
  ban?: boolean;
  /** Run seed (schemes needing private randomness derive it from `DecodeContext.rng` instead). */
  seed?: number;
  /**
   * 'worker': built by a worker process, which only encodes. The PS-side rule is then not built
   * (a rule object of the PS's need not exist there); `decode` throws. Default 'ps'.
   */
  role?: 'ps' | 'worker';
}
