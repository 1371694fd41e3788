/**
 * Aggregation rules and pre-aggregators by name, with typed parameters (like attacks).
 *
 * Spec strings: `rule[:key=value,...]`, optionally preceded by `+`-chained pre-aggregators, e.g.
 * `trimmed-mean:b=2`, `geomedian:iters=10,tol=1e-6,nu=1e-6`, `bucketing:b=2+krum`, `nnm+median`.
 */
import { UsageError } from '../core/errors.js';
import { Registry } from '../core/registry.js';
import { parseSpec } from '../core/spec.js';
import type { Vec } from '../core/vec.js';
import { arcDef } from './arc.js';
import { bucketingDef } from './bucketing.js';
import { bulyanDef } from './bulyan.js';
import { cafDef } from './caf.js';
import { centeredClippingDef } from './centered-clipping.js';
import { clippingDef } from './clipping.js';
import { clippedClusteringDef } from './clipped-clustering.js';
import { detoxBulyanDef } from './detox-bulyan.js';
import { detoxMultiKrumDef } from './detox-multi-krum.js';
import { dncDef } from './dnc.js';
import { geomedianDef } from './geomedian.js';
import { krumDef } from './krum.js';
import { mdaDef } from './mda.js';
import { meamedDef } from './meamed.js';
import { monnaDef } from './monna.js';
import { meanDef } from './mean.js';
import { medianDef } from './median.js';
import { multiKrumDef } from './multi-krum.js';
import { nnmDef } from './nnm.js';
import { signGuardDef } from './signguard.js';
import { signMajorityDef } from './sign-majority.js';
import { smeaDef } from './smea.js';
import { trimmedMeanDef } from './trimmed-mean.js';
import type {
  Aggregator,
  AggregatorContext,
  AggregatorDef,
  PreAggregator,
  PreAggregatorDef,
} from './types.js';

export const aggregators = new Registry<AggregatorDef>('aggregator');
for (const def of [
  meanDef,
  medianDef,
  trimmedMeanDef,
  geomedianDef,
  krumDef,
  multiKrumDef,
  bulyanDef,
  signMajorityDef,
  centeredClippingDef,
  detoxBulyanDef,
  detoxMultiKrumDef,
  meamedDef,
  mdaDef,
  monnaDef,
  cafDef,
  smeaDef,
  dncDef,
  signGuardDef,
  clippedClusteringDef,
])
  aggregators.register(def.name, def);

export const preAggregators = new Registry<PreAggregatorDef>('pre-aggregator');
for (const def of [bucketingDef, nnmDef, clippingDef, arcDef]) preAggregators.register(def.name, def);

function splitChain(spec: string): string[] {
  return spec
    .split('+')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** Parse `+`-chained pre-aggregator specs, e.g. `bucketing:b=2+nnm` (empty/undefined: none). */
export function parsePreAggregators(spec: string | undefined): PreAggregator[] {
  if (spec === undefined) return [];
  return splitChain(spec).map((s) => {
    const { name, params } = parseSpec(s, 'pre-aggregator', (n) => preAggregators.get(n).defaults);
    return preAggregators.get(name).create(params);
  });
}

/** Run `pre` in order, then `rule`; the composite's precondition checks each stage in turn. */
export function composeAggregator(pre: readonly PreAggregator[], rule: Aggregator): Aggregator {
  if (pre.length === 0) return rule;
  const name = [...pre.map((p) => p.name), rule.name].join('+');
  return {
    name,
    description: `${pre.map((p) => p.name).join(' then ')} then ${rule.name}`,
    precondition(n, f) {
      let m = n;
      for (const p of pre) {
        const why = p.precondition(m, f);
        if (why) return why;
        m = p.outputCount(m);
      }
      const why = rule.precondition(m, f);
      return why ? `after ${pre.map((p) => p.name).join('+')} (${n} inputs -> ${m}): ${why}` : null;
    },
    aggregate(inputs: readonly Vec[], ctx: AggregatorContext) {
      let xs: readonly Vec[] = inputs;
      for (const p of pre) xs = p.apply(xs, ctx);
      return rule.aggregate(xs, ctx);
    },
    // Pre-aggregators keep no state; the rule's travels through.
    saveState: rule.saveState?.bind(rule),
    loadState: rule.loadState?.bind(rule),
  };
}

/**
 * Parse an aggregator spec, `[pre+...+]rule[:key=value,...]`, and build it (parameters
 * validated; preconditions NOT checked: see `buildAggregator`).
 */
export function parseAggregator(spec: string): Aggregator {
  const parts = splitChain(spec);
  if (parts.length === 0) throw new UsageError(`empty aggregator spec '${spec}'`);
  const ruleSpec = parts[parts.length - 1];
  const { name, params } = parseSpec(ruleSpec, 'aggregator', (n) => aggregators.get(n).defaults);
  const rule = aggregators.get(name).create(params);
  return composeAggregator(parsePreAggregators(parts.slice(0, -1).join('+')), rule);
}

export interface BuildOptions {
  /** Number of inputs the rule will see. */
  n: number;
  /** Assumed number of Byzantine inputs. */
  f: number;
  /** Pre-aggregator chain run before the spec's own (e.g. the config's `preAggregator`). */
  pre?: string;
}

/**
 * Parse and build `[pre+]rule` with `opts.pre` in front, and check the precondition for
 * (n, f): a UsageError names the rule, n, f and the bound.
 */
export function buildAggregator(spec: string, opts: BuildOptions): Aggregator {
  const full = opts.pre !== undefined && opts.pre.trim() !== '' ? `${opts.pre}+${spec}` : spec;
  const agg = parseAggregator(full);
  const problem = agg.precondition(opts.n, opts.f);
  if (problem) throw new UsageError(problem);
  return agg;
}

/**
 * `buildAggregator` for a spec or a rule object (a user's `Aggregator`): the object gets the
 * `opts.pre` chain in front and the same precondition check.
 */
export function resolveAggregator(rule: string | Aggregator, opts: BuildOptions): Aggregator {
  if (typeof rule === 'string') return buildAggregator(rule, opts);
  const agg = composeAggregator(parsePreAggregators(opts.pre), rule);
  const problem = agg.precondition(opts.n, opts.f);
  if (problem) throw new UsageError(problem);
  return agg;
}

/** Convenience: `buildAggregator(spec, { n, f })`. */
export function getAggregator(spec: string, n: number, f: number): Aggregator {
  return buildAggregator(spec, { n, f });
}

/** The rule's name without parameters or pre-aggregators (`bucketing:b=2+krum:x=1` -> `krum`). */
export function ruleName(spec: string | Aggregator): string {
  if (typeof spec !== 'string') return spec.name;
  const parts = splitChain(spec);
  const last = parts[parts.length - 1] ?? '';
  const i = last.indexOf(':');
  return (i < 0 ? last : last.slice(0, i)).trim();
}
