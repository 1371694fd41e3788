import { sameShape, type AttackDef } from './types.js';

/** signflip: send `-own`. */
export const signflip: AttackDef = {
  name: 'signflip',
  description: 'send the negated honest message',
  defaults: {},
  create: () => ({
    name: 'signflip',
    omniscient: false,
    corrupt({ own }) {
      const out = sameShape(own);
      for (let i = 0; i < own.length; i++) out[i] = -own[i];
      return out;
    },
  }),
};
