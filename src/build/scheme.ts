/**
 * The scheme a config describes, apart from components.ts (which reads files) so that a browser
 * worker (src/browser/) builds its scheme with this same function.
 */
import type { Aggregator } from '../aggregators/types.js';
import { createScheme, type SchemeDef } from '../schemes/registry.js';
import type { Scheme } from '../schemes/types.js';
import type { TrainConfig } from './config.js';

/** The scheme a config describes for a model of `d` parameters. Workers build theirs too. */
export function buildScheme(
  config: TrainConfig,
  d: number,
  role: 'ps' | 'worker',
  aggregator?: Aggregator,
  def?: SchemeDef,
): Scheme {
  const opts = {
    n: config.workers,
    s: config.byzantine,
    d,
    r: config.redundancy,
    aggregator: aggregator ?? config.aggregator,
    preAggregator: config.preAggregator,
    noMajority: config.noMajority,
    ban:
      config.ban === 'on' ||
      (config.ban === 'auto' && (config.placement === 'fixed' || config.placement === 'worst')),
    detoxMode: config.detoxMode,
    detoxBuckets: config.detoxBuckets,
    compression: config.compression,
    messageDtype: config.messageDtype,
    seed: config.seed,
    role,
  };
  return def !== undefined ? def.create(opts) : createScheme(config.scheme, opts);
}
