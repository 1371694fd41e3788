import { reversed } from './reverse.js';
import type { AttackDef } from './types.js';

/**
 * intermittent: lie rarely. Each step, with probability p (drawn from the attack's seeded rng, so
 * the same in every engine), send `-c * own`; otherwise send the honest message. Aimed at schemes
 * that verify by sampling or that only watch for repeated offences.
 */
export const intermittent: AttackDef = {
  name: 'intermittent',
  description: 'each step, with probability p, send -c times the honest message; else the honest one',
  defaults: { p: 0.1, c: 100 },
  create: ({ p, c }) => ({
    name: 'intermittent',
    omniscient: false,
    corrupt({ own, rng }) {
      if (!(rng.float() < p)) return own.slice();
      return reversed(own, c);
    },
  }),
};
