import type { Vec } from '../core/vec.js';
import { sameShape, type AttackDef } from './types.js';

/** reverse: send `-c * own` (DRACO/DETOX's "reverse gradient", c = 100 by default). */
export const reverse: AttackDef = {
  name: 'reverse',
  description: 'send -c times the honest message (c = 100 as in DRACO/DETOX)',
  defaults: { c: 100 },
  create: ({ c }) => ({
    name: 'reverse',
    omniscient: false,
    corrupt: ({ own }) => reversed(own, c),
  }),
};

/** `-c * own`, a new vector of own's type: the reverse attack's message (also sent by attacks that lie only sometimes). */
export function reversed(own: Vec, c: number): Vec {
  const out = sameShape(own);
  for (let i = 0; i < own.length; i++) out[i] = -c * own[i];
  return out;
}
