/**
 * Aggregation rules for programmatic use (docs/aggregators.md). Typical use:
 *
 * ```ts
 * import { buildAggregator } from 'draco/aggregators';
 * const agg = buildAggregator('trimmed-mean:b=2', { n: 15, f: 2, pre: 'bucketing:b=2' });
 * const info = {};
 * const out: Float64Array = agg.aggregate(inputs, { f: 2, rng: Rng.derive(seed, 'ps', step), info });
 * ```
 */
export type {
  AggregateInfo,
  Aggregator,
  AggregatorContext,
  AggregatorDef,
  PreAggregator,
  PreAggregatorDef,
} from './types.js';
export {
  aggregators,
  buildAggregator,
  composeAggregator,
  getAggregator,
  parseAggregator,
  parsePreAggregators,
  preAggregators,
  ruleName,
  type BuildOptions,
} from './registry.js';
export { krumScores, orderByScore, pairwiseSqDistances } from './distances.js';
export { forEachSortedBlock } from './columns.js';
export { createMean, mean, meanDef, meanOf } from './mean.js';
export { coordinateMedian, createMedian, medianDef } from './median.js';
export { trimmedMean, trimmedMeanDef } from './trimmed-mean.js';
export { geometricMedian, geomedianDef, type WeiszfeldSettings } from './geomedian.js';
export { assertFinite, firstNonFinite, NonFiniteInputError, type NonFinite } from './finite.js';
export { createKrum, krum, krumDef, krumPrecondition, krumSelect } from './krum.js';
export { multiKrum, multiKrumDef } from './multi-krum.js';
export { bulyanDef, bulyanWith, closestToMedianMean, createBulyan, repeatedKrum } from './bulyan.js';
export { createDetoxBulyan, detoxBulyanDef } from './detox-bulyan.js';
export { detoxMultiKrumDef, splitBuckets } from './detox-multi-krum.js';
export {
  createSignMajority,
  packSigns,
  signMajority,
  signMajorityDef,
  signMajorityPacked,
  unpackSigns,
} from './sign-majority.js';
export { centeredClip, centeredClippingDef } from './centered-clipping.js';
export { bucketingDef } from './bucketing.js';
export { nearestNeighbourMixing, nnmDef } from './nnm.js';
