import type { AttackDef } from './types.js';

/** none: Byzantine workers behave honestly (for placement-only or timing experiments). */
export const none: AttackDef = {
  name: 'none',
  description: 'send the honest message (no attack)',
  defaults: {},
  create: () => ({ name: 'none', omniscient: false, corrupt: ({ own }) => own }),
};
