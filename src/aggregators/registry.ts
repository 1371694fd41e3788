import { Registry } from '../core/registry.js';
import { UsageError } from '../core/errors.js';
import { mean } from './mean.js';
import type { Aggregator } from './types.js';

export const aggregators = new Registry<Aggregator>('aggregator');
aggregators.register(mean.name, mean);

/** The named rule, with its precondition checked for `n` inputs and `f` Byzantine. */
export function getAggregator(name: string, n: number, f: number): Aggregator {
  const agg = aggregators.get(name);
  const problem = agg.precondition(n, f);
  if (problem) throw new UsageError(problem);
  return agg;
}
