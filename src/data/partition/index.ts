/** Partitioners: how the training set is laid out over the partitions (docs/data.md). */
export type { Partitioner, PartitionerDef, ShardContext } from './types.js';
export { partitioners, parsePartition } from './registry.js';
export { iid } from './iid.js';
export { dirichlet } from './dirichlet.js';
export { shards } from './shards.js';
