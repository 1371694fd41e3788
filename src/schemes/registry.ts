import { Registry } from '../core/registry.js';
import { createCyclic } from './cyclic.js';
import { createDetox } from './detox.js';
import { createRepetition } from './repetition.js';
import { createSolon } from './solon.js';
import type { Scheme, SchemeOptions } from './types.js';
import { createUncoded } from './uncoded.js';
import { createVerify } from './verify.js';

export interface SchemeDef {
  readonly description: string;
  create(opts: SchemeOptions): Scheme;
}

export const schemes = new Registry<SchemeDef>('scheme');
schemes.register('uncoded', {
  description: 'one partition per worker; the PS applies --aggregator to the messages',
  create: createUncoded,
});
schemes.register('repetition', {
  description: "DRACO's repetition code: groups of r >= 2s+1 ranks vote by bytes; exact",
  create: createRepetition,
});
schemes.register('verify', {
  description:
    'groups of r >= s+1 ranks; an agreeing group is accepted, a disagreeing one recomputed by the PS (liars banned, --ban); exact',
  create: createVerify,
});
schemes.register('cyclic', {
  description: "DRACO's cyclic code: r = 2s+1 partitions per worker, d reals per message; exact (float64)",
  create: createCyclic,
});
schemes.register('solon', {
  description: 'Solon: r >= 2s+m partitions per worker, d/m reals per message (--compression m); exact',
  create: createSolon,
});

schemes.register('detox', {
  description:
    "DETOX: groups of r (3) vote by bytes, then --detox-mode over the group outputs, f' = floor(s/ceil(r/2))",
  create: createDetox,
});

export function createScheme(name: string, opts: SchemeOptions): Scheme {
  return schemes.get(name).create(opts);
}
