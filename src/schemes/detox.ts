/**
 * DETOX (Rajput et al., NeurIPS 2019; docs/schemes.md "DETOX"): groups of r (default 3)
 * consecutive ranks all compute their group's partition sum (as the repetition code); the PS
 * takes each group's value sent by a strict majority of its members (by bytes; erasures count
 * against it), then runs a robust rule over the G group
 * outputs. Adversaries win a group only with a majority of its seats, so at most
 * f' = floor(s / ceil(r/2)) group outputs are wrong: DETOX does not need r >= 2s + 1.
 *
 * Hierarchical stage (`detoxMode`), over the G' group outputs that had a majority, with f = f':
 * - `median-of-means` (default): shuffle with the step's PS rng, split into b buckets of sizes
 *   differing by at most one, average each, coordinate median of the b means. Default
 *   b = 2f' + 1: the fewest buckets whose median still outvotes f' tainted buckets (each wrong
 *   group output taints at most one), i.e. the most averaging the guarantee allows. Needs
 *   2f' + 1 <= b <= G.
 * - `multi-krum`: the aggregator `detox-multi-krum` (shuffle, `b` buckets, default 2 as in the
 *   DETOX code, Multi-Krum per bucket, mean of the bucket results).
 * - `bulyan`: the aggregator `detox-bulyan` (DETOX's variant: theta = G - f' - 2,
 *   beta = theta - 2f'; needs G >= 3f' + 3), not the original Bulyan.
 * - `rule`: any aggregator spec (`aggregator`, after `preAggregator`) over the group outputs.
 *
 * Scaling: each group output is a sum over its partitions, so the robust stage estimates one
 * group's sum and `samplesCovered` is the mean sample count of the groups that voted (their
 * partition sizes summed, divided by G'). When group sample counts differ (n not a multiple of r,
 * or uneven partitions), each output is first rescaled to the mean count so the rule compares
 * like with like.
 * Suspects: members whose bytes differ from their group's winner. A group without a strict
 * majority is dropped from the robust stage and reported (or aborts the step: `noMajority`).
 * Cost: vote O(n d); the rule runs on G = n / r inputs.
 */
import { UsageError } from '../core/errors.js';
import type { Rng } from '../core/rng.js';
import type { Vec } from '../core/vec.js';
import { splitBuckets } from '../aggregators/detox-multi-krum.js';
import { meanOf } from '../aggregators/mean.js';
import { coordinateMedian } from '../aggregators/median.js';
import { buildAggregator, resolveAggregator, ruleName } from '../aggregators/registry.js';
import type { Aggregator } from '../aggregators/types.js';
import { ruleState } from './rule-state.js';
import { groupAssignment, groupSpans, repetitionGroups, voteGroup, type VoteRule } from './repetition.js';
import type { DecodeContext, DecodeResult, GradientOracle, Scheme, SchemeOptions } from './types.js';

export type DetoxMode = NonNullable<SchemeOptions['detoxMode']>;

/** f' = floor(s / ceil(r/2)): the most group outputs s adversaries can capture. */
export function detoxF(s: number, r: number): number {
  return Math.floor(s / Math.ceil(r / 2));
}

/**
 * Median of means over `inputs` (docs/schemes.md "DETOX" mode 1): a seeded shuffle, `b` buckets
 * of sizes differing by at most one (larger first), the mean of each, then the coordinate median
 * of the bucket means.
 */
export function medianOfMeans(inputs: readonly Vec[], b: number, rng: Rng): Float64Array {
  const order = rng.permutation(inputs.length);
  const means = splitBuckets(order, b).map((idx) => meanOf(idx.map((i) => inputs[i])));
  return coordinateMedian(means);
}

/** The hierarchical stage for G inputs, f' Byzantine; UsageError when its precondition fails. */
function buildStage(mode: DetoxMode, opts: SchemeOptions, G: number, f: number, where: string): Aggregator {
  const buckets = opts.detoxBuckets;
  if (buckets !== undefined && (mode === 'bulyan' || mode === 'rule')) {
    throw new UsageError(`detox: --detox-buckets applies to median-of-means and multi-krum, not '${mode}'`);
  }
  const pre = opts.preAggregator;
  if (pre !== undefined && pre.trim() !== '' && mode !== 'rule') {
    throw new UsageError(`detox: --pre-aggregator applies only with --detox-mode rule (mode is '${mode}')`);
  }
  if (buckets !== undefined && (!Number.isInteger(buckets) || buckets < 1)) {
    throw new UsageError(`detox: --detox-buckets must be a positive integer (got ${buckets})`);
  }
  const wrap = (e: unknown): never => {
    if (e instanceof UsageError) throw new UsageError(`${where}: ${e.message}`);
    throw e;
  };
  switch (mode) {
    case 'median-of-means': {
      const b = buckets ?? 2 * f + 1;
      const precondition = (n: number, ff: number): string | null => {
        const bb = Math.min(b, n);
        return bb >= 2 * ff + 1
          ? null
          : `median-of-means needs 2f' + 1 <= b <= G buckets (G = ${n}, f' = ${ff}, b = ${b}: use b >= ${2 * ff + 1} and G >= ${2 * ff + 1})`;
      };
      if (2 * f + 1 > G) {
        throw new UsageError(
          `${where}: median-of-means needs G >= 2f' + 1 groups (G = ${G}: G >= ${2 * f + 1})`,
        );
      }
      if (b > G) {
        throw new UsageError(`${where}: median-of-means needs b <= G buckets (b = ${b}, G = ${G})`);
      }
      const problem = precondition(G, f);
      if (problem) throw new UsageError(`${where}: ${problem}`);
      return {
        name: `median-of-means:b=${b}`,
        description: 'shuffle, b buckets, mean of each, coordinate median',
        precondition,
        // With groups dropped (no majority), fewer than b outputs: one bucket each.
        aggregate: (inputs, ctx) => medianOfMeans(inputs, Math.min(b, inputs.length), ctx.rng),
      };
    }
    case 'multi-krum': {
      const b = buckets ?? 2;
      try {
        return buildAggregator(`detox-multi-krum:buckets=${b}`, { n: G, f });
      } catch (e) {
        return wrap(e);
      }
    }
    case 'bulyan':
      try {
        return buildAggregator('detox-bulyan', { n: G, f });
      } catch (e) {
        return wrap(e);
      }
    case 'rule': {
      const spec = opts.aggregator ?? 'mean';
      if (ruleName(spec) === 'sign-majority') {
        throw new UsageError(
          `${where}: sign-majority votes on workers' packed signs; it does not apply to group outputs`,
        );
      }
      try {
        return resolveAggregator(spec, { n: G, f, pre });
      } catch (e) {
        return wrap(e);
      }
    }
    default:
      throw new UsageError(
        `unknown detox mode '${String(mode)}' (known: median-of-means, multi-krum, bulyan, rule)`,
      );
  }
}

/**
 * DETOX's vote is a filter, not a decoder: a group output is accepted when a strict majority of the
 * group's members (not of the messages that arrived) sent it, so erasures never let a minority
 * speak for the group and capturing a group still takes floor(size / 2) + 1 Byzantine members.
 */
export function detoxVoteRule(size: number): VoteRule {
  const need = Math.floor(size / 2) + 1;
  return {
    need,
    rule: `strict majority of the group's ${size} members; decodable while erasures + liars <= ${size - need}`,
  };
}

export function createDetox(opts: SchemeOptions): Scheme {
  const { n, s, d } = opts;
  const r = opts.r ?? 3;
  const mode: DetoxMode = opts.detoxMode ?? 'median-of-means';
  const noMajority = opts.noMajority ?? 'skip';
  if (!Number.isInteger(r) || r < 1 || n < r) {
    throw new UsageError(`detox needs 1 <= r <= n (n = ${n}, r = ${r})`);
  }
  const groups = repetitionGroups(n, r);
  const G = groups.length;
  const f = detoxF(s, r);
  const where = `detox (G = ${G} groups of r = ${r}, f' = floor(s / ceil(r/2)) = floor(${s} / ${Math.ceil(r / 2)}) = ${f})`;
  // Workers only encode: the robust stage runs at the PS alone.
  const aggregator: Aggregator | null = opts.role === 'worker' ? null : buildStage(mode, opts, G, f, where);

  const assignment = groupAssignment(groups, n); // as the repetition code
  const rules = groups.map((g) => detoxVoteRule(g.length));

  return {
    name: 'detox',
    n,
    numPartitions: n,
    assignment,
    groups,
    messageLength: d,
    messageDtype: 'float32',
    describe() {
      return `${G} groups (r = ${r}): ranks ${groupSpans(groups)}; majority vote, then ${aggregator?.name ?? mode} over the group outputs with f' = ${f}`;
    },
    encode: (worker: number, gradient: GradientOracle) => gradient(assignment[worker]),
    tasks: (worker: number) => [assignment[worker]],
    // A stateful robust stage (rule mode: centered clipping...) keeps its state in checkpoints.
    ...ruleState(aggregator),
    decode(messages: readonly (Vec | null)[], ctx: DecodeContext): DecodeResult {
      if (aggregator === null) throw new Error('detox: a worker-side scheme cannot decode');
      const suspects: number[] = [];
      const failures: string[] = [];
      const winners: Vec[] = [];
      const counts: number[] = [];
      for (let k = 0; k < G; k++) {
        const members = groups[k];
        const vote = voteGroup(k, members, messages, rules[k]);
        if (vote.winner === null) {
          failures.push(
            `${vote.failure}; ${noMajority === 'skip' ? 'dropped from the robust stage' : 'step aborted'}`,
          );
          if (noMajority === 'abort') {
            return { gradient: new Float64Array(d), samplesCovered: 0, suspects, failures, abort: true };
          }
          continue;
        }
        winners.push(vote.winner);
        let c = 0;
        for (const p of members) c += ctx.partitionSizes[p];
        counts.push(c);
        suspects.push(...vote.suspects);
      }
      const problem =
        winners.length === 0 ? 'no group had a majority' : aggregator.precondition(winners.length, f);
      if (problem !== null) {
        failures.push(`${where}: ${winners.length} group outputs: ${problem}; step aborted`);
        return { gradient: new Float64Array(d), samplesCovered: 0, suspects, failures, abort: true };
      }
      const meanCount = counts.reduce((a, b) => a + b, 0) / counts.length;
      // Unequal group sample counts: rescale each sum to the mean count (see the header).
      const inputs = counts.every((c) => c === counts[0])
        ? winners
        : winners.map((w, k) => {
            const out = new Float64Array(d);
            const a = meanCount / counts[k];
            for (let i = 0; i < d; i++) out[i] = a * w[i];
            return out;
          });
      const gradient = aggregator.aggregate(inputs, { f, rng: ctx.rng });
      return { gradient, samplesCovered: meanCount, suspects, failures, abort: false };
    },
  };
}
