import { sameShape, type AttackDef } from './types.js';

/** constant: every coordinate equals `v` (default -100). All Byzantines send the same vector. */
export const constant: AttackDef = {
  name: 'constant',
  description: 'send a vector whose every coordinate is v (default -100)',
  defaults: { v: -100 },
  create: ({ v }) => ({
    name: 'constant',
    omniscient: false,
    corrupt({ own }) {
      return sameShape(own).fill(v);
    },
  }),
};
