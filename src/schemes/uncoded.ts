/**
 * Uncoded baseline (docs/schemes.md "Uncoded"): P = n, worker i computes the gradient of
 * partition i and sends it; the PS runs an aggregation rule (optionally after pre-aggregators)
 * over the messages it received.
 *
 * With `sign-majority` (signSGD-MV) the worker sends its gradient's signs packed one bit per
 * coordinate (a Uint8Array of ceil(d/8) bytes, messageFormat 'sign-bits'), and the decode returns
 * the vote's sign vector with samplesCovered = 1, so the PS applies the learning rate to the
 * signs themselves (it divides the decoded gradient by samplesCovered).
 */
import { UsageError } from '../core/errors.js';
import type { Vec } from '../core/vec.js';
import { resolveAggregator, ruleName } from '../aggregators/registry.js';
import type { Aggregator } from '../aggregators/types.js';
import { signMajorityPacked } from '../aggregators/sign-majority.js';
import { signBitsMessage } from './message.js';
import { ruleState } from './rule-state.js';
import type { DecodeContext, DecodeResult, GradientOracle, Scheme, SchemeOptions } from './types.js';

export function createUncoded(opts: SchemeOptions): Scheme {
  const { n, s, d } = opts;
  const aggSpec = opts.aggregator ?? 'mean';
  const pre = opts.preAggregator;
  if (n < 1) throw new UsageError(`uncoded needs at least 1 worker (n = ${n})`);
  // Workers only encode: the rule runs at the PS alone.
  const aggregator: Aggregator | null =
    opts.role === 'worker' ? null : resolveAggregator(aggSpec, { n, f: s, pre });
  const signs = ruleName(aggSpec) === 'sign-majority';
  const label = aggregator?.name ?? ruleName(aggSpec);
  if (signs && (label !== 'sign-majority' || (pre !== undefined && pre.trim() !== ''))) {
    throw new UsageError(
      `sign-majority votes on packed sign bits: pre-aggregators do not apply (got '${label}')`,
    );
  }
  const assignment = Array.from({ length: n }, (_, i) => [i]);
  let out: Float64Array | null = null;

  return {
    name: 'uncoded',
    n,
    numPartitions: n,
    assignment,
    messageLength: signs ? (d + 7) >> 3 : d,
    messageDtype: 'float32',
    messageFormat: signs ? 'sign-bits' : undefined,
    describe: () =>
      `${n} workers, one partition each, aggregated by ${label} (f = ${s})${signs ? ', 1-bit signs' : ''}`,
    tasks: (worker: number) => [assignment[worker]],
    ...ruleState(aggregator),
    encode(worker: number, gradient: GradientOracle): Vec {
      const g = gradient(assignment[worker]);
      // The packed bytes travel through the Vec-typed message path; the PS validates them as
      // 'sign-bits' (schemes/message.ts) and only this decode reads them.
      return signs ? signBitsMessage(g) : g;
    },
    decode(messages: readonly (Vec | null)[], ctx: DecodeContext): DecodeResult {
      if (aggregator === null) throw new Error('uncoded: a worker-side scheme cannot decode');
      const received = messages.filter((m): m is Vec => m !== null);
      const batch = ctx.partitionSizes.reduce((a, b) => a + b, 0);
      const why = received.length === 0 ? 'no messages' : aggregator.precondition(received.length, s);
      if (why !== null) {
        return {
          gradient: new Float64Array(d),
          samplesCovered: 0,
          suspects: [],
          failures: [`${label}: ${why}`],
          abort: true,
        };
      }
      if (signs) {
        const gradient = signMajorityPacked(received as unknown as Uint8Array[], d);
        return { gradient, samplesCovered: 1, suspects: [], failures: [], abort: false };
      }
      // The rule estimates one partition's gradient sum, which stands for the mean partition size.
      // One result buffer per run: the loop consumes the gradient before the next decode.
      if (out === null || out.length !== received[0].length) out = new Float64Array(received[0].length);
      const gradient = aggregator.aggregate(received, { f: s, rng: ctx.rng, out });
      return { gradient, samplesCovered: batch / n, suspects: [], failures: [], abort: false };
    },
  };
}
