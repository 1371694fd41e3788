/**
 * The measurement behind `draco bench aggregate`: median wall time of each aggregation rule on
 * n seeded random float32 inputs of length d, and the input bandwidth it reaches (n * d * 4 bytes / median time). The
 * inputs are slots of a MessageArena, as the training PS's validated messages are, so rules with
 * a SIMD kernel (mean) run it as in training (DRACO_SIMD=0: plain arrays and JS loops).
 *
 * Besides the registered rules (any spec, e.g. `geomedian:iters=10,tol=0`): `distances` (the
 * pairwise squared-distance matrix alone, what Krum, Multi-Krum, Bulyan and NNM share),
 * `distances-screen` (the float32 screen Krum, Multi-Krum, Bulyan and NNM decide from first,
 * aggregators/screen.ts, with its bounds), `sign-majority-packed` (the PS side of signSGD-MV on d/8-byte messages; GB/s still counts
 * n * d * 4 bytes, the float gradients it stands for) and `vote` (the repetition code's
 * majorityVote over n messages of which n - f are byte-identical and f differ in the last
 * coordinate: the worst case for the byte compare).
 */
import { Rng } from '../core/rng.js';
import { MessageArena } from '../core/simd/arena.js';
import { timeRuns } from '../core/stats.js';
import type { Vec } from '../core/vec.js';
import { aggregators, buildAggregator } from '../aggregators/registry.js';
import { pairwiseSqDistances } from '../aggregators/distances.js';
import { distanceScreen } from '../aggregators/screen.js';
import { packSigns, signMajorityPacked } from '../aggregators/sign-majority.js';
import type { AggregateInfo } from '../aggregators/types.js';
import { majorityVote } from '../schemes/repetition.js';

/** What the bench times besides registered rules (see the header comment). */
export const BENCH_EXTRA_RULES: readonly string[] = [
  'distances',
  'distances-screen',
  'sign-majority-packed',
  'vote',
];

/** The rules `all` stands for: every registered rule (geomedian at 10 fixed iterations) + extras. */
export function defaultBenchRules(): string[] {
  const names = aggregators.names().map((r) => (r === 'geomedian' ? 'geomedian:iters=10,tol=0' : r));
  return [...names, ...BENCH_EXTRA_RULES];
}

/** Split `a,b:x=1,y=2,c` into specs: a token with '=' but no ':' continues the previous spec. */
export function splitRuleList(list: string): string[] {
  const out: string[] = [];
  for (const tok of list.split(',').map((t) => t.trim())) {
    if (tok === '') continue;
    if (tok.includes('=') && !tok.includes(':') && out.length > 0) out[out.length - 1] += `,${tok}`;
    else out.push(tok);
  }
  return out;
}

export interface BenchAggregateRow {
  rule: string;
  n: number;
  d: number;
  f: number;
  runs: number;
  medianMs: number;
  minMs: number;
  /** Input bandwidth: n * d * 4 bytes / median time, in GB/s (1e9 bytes). */
  gbps: number;
  /** geomedian: Weiszfeld iterations of the last run. */
  iterations?: number;
  /** True when the inputs sat in a MessageArena (wasm memory) as in training, false for plain arrays. */
  arena: boolean;
}

/**
 * n seeded normal float32 inputs of d values where the training PS keeps validated messages:
 * slots of a MessageArena (wasm memory, read in place by the SIMD kernels); plain arrays where
 * no arena can be had.
 */
export function benchInputs(n: number, d: number, rng: Rng): { inputs: Float32Array[]; arena: boolean } {
  const arena = MessageArena.create(n, d, 'float32');
  const inputs: Float32Array[] = [];
  for (let i = 0; i < n; i++) {
    const x = (arena?.slot(i) as Float32Array | undefined) ?? new Float32Array(d);
    rng.fillNormal(x);
    inputs.push(x);
  }
  return { inputs, arena: arena !== null };
}

/** One aggregation by a registered rule spec, as the uncoded scheme runs it: one result buffer reused across steps. */
export function ruleRun(rule: string, inputs: readonly Vec[], f: number, seed: number): () => AggregateInfo {
  const agg = buildAggregator(rule, { n: inputs.length, f });
  const out = new Float64Array(inputs[0].length);
  return () => {
    const info: AggregateInfo = {};
    agg.aggregate(inputs, { f, rng: Rng.derive(seed, 'ps', 0), info, out });
    return info;
  };
}

export function benchAggregate(o: {
  n: number;
  d: number;
  f: number;
  rules: string[];
  runs: number;
  warmup: number;
  seed?: number;
}): BenchAggregateRow[] {
  const { n, d, f } = o;
  const rng = Rng.derive(o.seed ?? 1, 'bench-aggregate');
  const { inputs, arena } = benchInputs(n, d, rng);
  const rows: BenchAggregateRow[] = [];
  for (const rule of o.rules) {
    let run: () => AggregateInfo | void;
    if (rule === 'distances') run = () => void pairwiseSqDistances(inputs);
    else if (rule === 'distances-screen') run = () => void distanceScreen(inputs);
    else if (rule === 'vote') {
      const msgs: Vec[] = [];
      for (let i = 0; i < n; i++) {
        const x = Float32Array.from(inputs[0]);
        if (i >= n - f) x[d - 1] += i; // f Byzantine copies differ only at the end
        msgs.push(x);
      }
      run = () => void majorityVote(msgs);
    } else if (rule === 'sign-majority-packed') {
      const packed = inputs.map((x) => packSigns(x));
      run = () => void signMajorityPacked(packed, d);
    } else run = ruleRun(rule, inputs, f, o.seed ?? 1);
    const { medianMs, minMs, last: info } = timeRuns(o.warmup, o.runs, run);
    const row: BenchAggregateRow = {
      rule,
      n,
      d,
      f,
      runs: o.runs,
      medianMs: Math.round(medianMs * 1e4) / 1e4,
      minMs: Math.round(minMs * 1e4) / 1e4,
      gbps: Number(((n * d * 4) / (medianMs * 1e6)).toPrecision(4)),
      arena,
    };
    if (info && info.iterations !== undefined) row.iterations = info.iterations;
    rows.push(row);
  }
  return rows;
}
