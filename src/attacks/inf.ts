import { sameShape, type AttackDef } from './types.js';

/**
 * inf (ByzFL `Inf`): send a message of +Infinity in every coordinate. The PS validates every
 * message (docs/design.md "Never trust a worker's bytes") and refuses a non-finite one, so under
 * every scheme this is an erasure, recorded in the step record's `rejected`.
 */
export const inf: AttackDef = {
  name: 'inf',
  description: 'send +Infinity in every coordinate (refused at validation: an erasure)',
  defaults: {},
  create: () => ({
    name: 'inf',
    omniscient: false,
    corrupt: ({ own }) => sameShape(own).fill(Infinity),
  }),
};
