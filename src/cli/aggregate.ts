/**
 * `draco aggregate`: run one aggregation rule on an n x d matrix (one input per row) read from a
 * .npy file and write the aggregate as a length-d .npy vector. Output dtype follows the input:
 * float64 in, float64 out; float32 in, the float64 result rounded to float32.
 */
import { Command } from 'commander';
import { UsageError } from '../core/errors.js';
import { readNpy, writeNpy } from '../core/npy.js';
import { Rng } from '../core/rng.js';
import type { Vec } from '../core/vec.js';
import { firstNonFinite } from '../aggregators/finite.js';
import { buildAggregator } from '../aggregators/registry.js';
import type { AggregateInfo } from '../aggregators/types.js';
import { nonNegativeInt } from './args.js';

/**
 * Rows of an n x d .npy matrix as views, with the input's dtype. Rules take finite inputs (the
 * training loop validates every message), so a NaN or infinity is refused here, naming its row.
 */
export function readInputMatrix(path: string): { rows: Vec[]; dtype: 'float32' | 'float64' } {
  let arr;
  try {
    arr = readNpy(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw new UsageError(`input file not found: ${path}`);
    throw new UsageError(`cannot read ${path}: ${e.message}`);
  }
  const { data, shape } = arr;
  if (!(data instanceof Float32Array || data instanceof Float64Array)) {
    throw new UsageError(`${path}: expected float32 or float64 values, got int32`);
  }
  if (shape.length !== 2 || shape[0] < 1 || shape[1] < 1) {
    throw new UsageError(
      `${path}: expected an n x d matrix (one input per row), got shape (${shape.join(', ')})`,
    );
  }
  const [n, d] = shape;
  const rows: Vec[] = [];
  for (let i = 0; i < n; i++) rows.push(data.subarray(i * d, (i + 1) * d));
  const bad = firstNonFinite(rows);
  if (bad) {
    throw new UsageError(
      `${path}: row ${bad.input} (0-based) is not finite: ${bad.value} at column ${bad.index}; aggregation rules take finite inputs`,
    );
  }
  return { rows, dtype: data instanceof Float64Array ? 'float64' : 'float32' };
}

export function aggregateCommand(): Command {
  return new Command('aggregate')
    .summary('apply an aggregation rule to an n x d .npy matrix (one input per row)')
    .description(
      'Reads IN.npy, an n x d float32 or float64 matrix with one input per row, applies the rule and writes ' +
        'the length-d aggregate to --out (float64 for float64 input; for float32 input the float64 result ' +
        'rounded to float32). Rules: `draco list`; pre-aggregators: bucketing:b=B, nnm (README "Aggregators").',
    )
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  draco aggregate --rule median --f 2 grads.npy --out agg.npy\n' +
        '  draco aggregate --rule trimmed-mean:b=2 grads.npy --out agg.npy\n' +
        '  draco aggregate --rule geomedian:iters=10,tol=1e-6,nu=1e-6 grads.npy --out agg.npy\n' +
        '  draco aggregate --rule krum --pre bucketing:b=2 --f 1 --seed 3 grads.npy --out agg.npy',
    )
    .argument('<IN.npy>', 'n x d input matrix')
    .requiredOption('--rule <spec>', 'rule[:key=value,...], optionally after +-chained pre-aggregators')
    .option('--f <F>', 'assumed number of Byzantine rows', nonNegativeInt, 0)
    .option('--pre <spec>', 'pre-aggregator(s) applied first, e.g. bucketing:b=2 or nnm (chain with +)')
    .option('--seed <s>', 'seed for rules that shuffle (bucketing, detox-multi-krum)', nonNegativeInt, 1)
    .requiredOption('--out <OUT.npy>', 'where to write the aggregate')
    .action((input: string, o: { rule: string; f: number; pre?: string; seed: number; out: string }) => {
      const { rows, dtype } = readInputMatrix(input);
      const n = rows.length;
      const agg = buildAggregator(o.rule, { n, f: o.f, pre: o.pre });
      const info: AggregateInfo = {};
      const out = agg.aggregate(rows, { f: o.f, rng: Rng.derive(o.seed, 'aggregate'), info });
      writeNpy(o.out, dtype === 'float64' ? out : Float32Array.from(out));
      const parts = [
        // The spec as the user wrote it: its parameters (b=2) say more than the rule's name.
        `draco aggregate: ${o.pre !== undefined ? `${o.pre}+` : ''}${o.rule} over ${n} x ${rows[0].length} (${dtype}), f = ${o.f} -> ${o.out}`,
      ];
      if (info.iterations !== undefined) {
        parts.push(
          `iterations ${info.iterations}${info.converged !== undefined ? (info.converged ? ' (converged)' : ' (cap reached)') : ''}`,
        );
      }
      if (info.restartedAt !== undefined)
        parts.push(`restarted from a majority's mean at iteration ${info.restartedAt}`);
      if (info.selected !== undefined) parts.push(`selected rows ${info.selected.join(',')}`);
      process.stdout.write(parts.join('; ') + '\n');
    });
}
