import { Registry } from '../core/registry.js';
import { createRepetition } from './repetition.js';
import type { Scheme, SchemeOptions } from './types.js';
import { createUncoded } from './uncoded.js';

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

export function createScheme(name: string, opts: SchemeOptions): Scheme {
  return schemes.get(name).create(opts);
}
