/**
 * `draco bench aggregate`: median wall time of each aggregation rule on n seeded random float32
 * inputs of length d, and the input bandwidth it reaches (n * d * 4 bytes / median time). The
 * inputs are slots of a MessageArena, as the training PS's validated messages are, so rules with
 * a SIMD kernel (mean) run it as in training (DRACO_SIMD=0: plain arrays and JS loops).
 *
 * Besides the registered rules (any spec, e.g. `geomedian:iters=10,tol=0`): `distances` (the
 * pairwise squared-distance matrix alone, what Krum, Multi-Krum, Bulyan and NNM share),
 * `sign-majority-packed` (the PS side of signSGD-MV on d/8-byte messages; GB/s still counts
 * n * d * 4 bytes, the float gradients it stands for) and `vote` (the repetition code's
 * majorityVote over n messages of which n - f are byte-identical and f differ in the last
 * coordinate: the worst case for the byte compare).
 */
import { Command } from 'commander';
import { UsageError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { MessageArena } from '../core/simd/arena.js';
import { timeRuns } from '../core/stats.js';
import type { Vec } from '../core/vec.js';
import { aggregators, buildAggregator } from '../aggregators/registry.js';
import { pairwiseSqDistances } from '../aggregators/distances.js';
import { packSigns, signMajorityPacked } from '../aggregators/sign-majority.js';
import type { AggregateInfo } from '../aggregators/types.js';
import { majorityVote } from '../schemes/repetition.js';
import { positiveInt, nonNegativeInt } from './args.js';

/** What the bench times besides registered rules (see the header comment). */
export const BENCH_EXTRA_RULES: readonly string[] = ['distances', 'sign-majority-packed', 'vote'];

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

export function benchAggregateCommand(): Command {
  return new Command('aggregate')
    .summary('median ms and input GB/s of each aggregation rule')
    .description(
      'Median wall time of each aggregation rule over n seeded random float32 inputs of length d, and the ' +
        'input bandwidth (n * d * 4 bytes / median). Extras: distances (the Krum distance matrix alone), ' +
        'sign-majority-packed (PS side on packed signs), vote (the repetition majority vote).\n' +
        'The inputs sit in WebAssembly memory, where the training PS copies validated messages, so ' +
        'mean runs its SIMD kernel as in training; DRACO_SIMD=0 uses plain arrays and the JS loops.\n' +
        'Rules are specs: --rules median,geomedian:iters=10,tol=0,krum',
    )
    .option('--n <N>', 'number of inputs', positiveInt, 15)
    .option('--d <D>', 'input length', positiveInt, 1_000_000)
    .option(
      '--f <F>',
      'assumed Byzantine inputs (default: the largest Bulyan allows, floor((n-3)/4))',
      nonNegativeInt,
    )
    .option('--rules <list>', "comma-separated rule specs, or 'all'", 'all')
    .option('--runs <k>', 'timed runs (median reported)', positiveInt, 5)
    .option('--warmup <k>', 'untimed warm-up runs', nonNegativeInt, 1)
    .option('--json', 'one JSON object per line instead of a table')
    .action(
      (o: {
        n: number;
        d: number;
        f?: number;
        rules: string;
        runs: number;
        warmup: number;
        json?: boolean;
      }) => {
        const f0 = o.f ?? Math.max(0, Math.floor((o.n - 3) / 4));
        const extras = ['distances', 'vote', 'sign-majority-packed'];
        // With the default f, a rule whose bound it breaks runs at the largest f it allows (the
        // row says which); an explicit --f must hold for every rule.
        const fFor = (rule: string): number => {
          if (extras.includes(rule)) return f0;
          for (let f = f0; f > 0; f--) {
            if (o.f !== undefined || buildAggregator(rule, { n: o.n, f: 0 }).precondition(o.n, f) === null) {
              buildAggregator(rule, { n: o.n, f });
              return f;
            }
          }
          buildAggregator(rule, { n: o.n, f: 0 });
          return 0;
        };
        const rules = o.rules === 'all' ? defaultBenchRules() : splitRuleList(o.rules);
        if (rules.length === 0) throw new UsageError(`--rules is empty`);
        if (!o.json) {
          process.stdout.write(
            `${'rule'.padEnd(26)} ${'n'.padStart(4)} ${'d'.padStart(9)} ${'f'.padStart(3)} ${'median ms'.padStart(10)} ${'min ms'.padStart(9)} ${'GB/s'.padStart(7)}\n`,
          );
        }
        // Validate every spec before the slow runs start.
        const fs = rules.map(fFor);
        rules.forEach((rule, k) => {
          const f = fs[k];
          const [row] = benchAggregate({ n: o.n, d: o.d, f, rules: [rule], runs: o.runs, warmup: o.warmup });
          if (o.json) process.stdout.write(JSON.stringify(row) + '\n');
          else {
            const it = row.iterations !== undefined ? `  (${row.iterations} iterations)` : '';
            process.stdout.write(
              `${rule.padEnd(26)} ${String(o.n).padStart(4)} ${String(o.d).padStart(9)} ${String(row.f).padStart(3)} ${row.medianMs.toFixed(2).padStart(10)} ${row.minMs.toFixed(2).padStart(9)} ${row.gbps.toFixed(2).padStart(7)}${it}\n`,
            );
          }
        });
      },
    );
}
