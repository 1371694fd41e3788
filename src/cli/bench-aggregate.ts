/** `draco bench aggregate`: flags in, src/bench/aggregate.ts measures, a table or JSON lines out. */
import { Command } from 'commander';
import { UsageError } from '../core/errors.js';
import { buildAggregator } from '../aggregators/registry.js';
import { BENCH_EXTRA_RULES, benchAggregate, defaultBenchRules, splitRuleList } from '../bench/aggregate.js';
import { positiveInt, nonNegativeInt } from './args.js';

export function benchAggregateCommand(): Command {
  return new Command('aggregate')
    .summary('median ms and input GB/s of each aggregation rule')
    .description(
      'Median wall time of each aggregation rule over n seeded random float32 inputs of length d, and the ' +
        'input bandwidth (n * d * 4 bytes / median). Extras: distances (the Krum distance matrix alone), ' +
        'distances-screen (its float32 screen with bounds, what Krum, Bulyan and NNM decide from first), ' +
        'sign-majority-packed (PS side on packed signs), vote (the repetition majority vote).\n\n' +
        'The inputs sit in WebAssembly memory, where the training PS copies validated messages, so ' +
        'mean runs its SIMD kernel as in training; DRACO_SIMD=0 uses plain arrays and the JS loops.\n\n' +
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
        // With the default f, a rule whose bound it breaks runs at the largest f it allows (the
        // row says which); an explicit --f must hold for every rule.
        const fFor = (rule: string): number => {
          if (BENCH_EXTRA_RULES.includes(rule)) return f0;
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
            const it =
              row.iterations !== undefined
                ? `  (${row.iterations} iteration${row.iterations === 1 ? '' : 's'})`
                : '';
            process.stdout.write(
              `${rule.padEnd(26)} ${String(o.n).padStart(4)} ${String(o.d).padStart(9)} ${String(row.f).padStart(3)} ${row.medianMs.toFixed(2).padStart(10)} ${row.minMs.toFixed(2).padStart(9)} ${row.gbps.toFixed(2).padStart(7)}${it}\n`,
            );
          }
        });
      },
    );
}
