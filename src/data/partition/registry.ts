/** Partitioners by name: `--partition iid | dirichlet:alpha=A | shards:k=K` (and plugins'). */
import { Registry } from '../../core/registry.js';
import { parseSpec } from '../../core/spec.js';
import { dirichlet } from './dirichlet.js';
import { iid } from './iid.js';
import { shards } from './shards.js';
import type { Partitioner, PartitionerDef } from './types.js';

export const partitioners = new Registry<PartitionerDef>('partition');
for (const def of [iid, dirichlet, shards]) partitioners.register(def.name, def);

/** Build the partitioner a spec names, e.g. `dirichlet:alpha=0.3`. */
export function parsePartition(spec: string): Partitioner {
  const { name, params } = parseSpec(spec, 'partition', (n) => partitioners.get(n).defaults);
  return partitioners.get(name).create(params);
}
