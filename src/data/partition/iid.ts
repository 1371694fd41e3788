/** `iid`: every step a fresh global batch from the whole training set (the default; no shards). */
import type { PartitionerDef } from './types.js';

export const iid: PartitionerDef = {
  name: 'iid',
  description:
    'every step draws a fresh global batch from the whole training set and cuts it into partitions (default)',
  defaults: {},
  create: () => ({ name: 'iid', shards: () => null }),
};
