/**
 * Uncoded baseline (spec/schemes.md "Uncoded"): P = n, worker i computes the gradient of
 * partition i and sends it; the PS runs an aggregation rule over the messages it received.
 */
import { UsageError } from '../core/errors.js';
import type { Vec } from '../core/vec.js';
import { getAggregator } from '../aggregators/registry.js';
import type { DecodeContext, DecodeResult, GradientOracle, Scheme, SchemeOptions } from './types.js';

export function createUncoded(opts: SchemeOptions): Scheme {
  const { n, s, d } = opts;
  const aggName = opts.aggregator ?? 'mean';
  if (n < 1) throw new UsageError(`uncoded needs at least 1 worker (n = ${n})`);
  const aggregator = getAggregator(aggName, n, s);
  const assignment = Array.from({ length: n }, (_, i) => [i]);

  return {
    name: 'uncoded',
    n,
    numPartitions: n,
    assignment,
    messageLength: d,
    messageDtype: 'float32',
    describe: () => `${n} workers, one partition each, aggregated by ${aggName} (f = ${s})`,
    encode: (worker: number, gradient: GradientOracle) => gradient(assignment[worker]),
    decode(messages: readonly (Vec | null)[], ctx: DecodeContext): DecodeResult {
      const received = messages.filter((m): m is Vec => m !== null);
      const batch = ctx.partitionSizes.reduce((a, b) => a + b, 0);
      if (received.length === 0 || aggregator.precondition(received.length, s) !== null) {
        const why = received.length === 0 ? 'no messages' : aggregator.precondition(received.length, s);
        return {
          gradient: new Float64Array(d),
          samplesCovered: 0,
          suspects: [],
          failures: [`${aggName}: ${why}`],
          abort: true,
        };
      }
      // The rule estimates one partition's gradient sum, which stands for the mean partition size.
      const gradient = aggregator.aggregate(received, { f: s, rng: ctx.rng });
      return { gradient, samplesCovered: batch / n, suspects: [], failures: [], abort: false };
    },
  };
}
