import { momentsMemo } from './moments.js';
import { sameShape, type AttackDef } from './types.js';

/**
 * ipm (inner product manipulation, Xie et al. 2020): every Byzantine sends `-eps * mu`, mu the
 * coordinate-wise mean of the step's honest messages. eps = 0.1 (default) breaks median and
 * Krum; eps = 100 acts like the reverse attack.
 */
export const ipm: AttackDef = {
  name: 'ipm',
  description: 'send -eps times the mean of the honest messages (omniscient; eps = 0.1)',
  defaults: { eps: 0.1 },
  create: ({ eps }) => {
    const momentsOf = momentsMemo('ipm');
    return {
      name: 'ipm',
      omniscient: true,
      corrupt(ctx) {
        const { mu } = momentsOf(ctx);
        const out = sameShape(ctx.own);
        for (let j = 0; j < out.length; j++) out[j] = -eps * mu[j];
        return out;
      },
    };
  },
};

/**
 * foe ("Fall of Empires", Xie, Koyejo and Gupta, UAI 2019, the paper that introduced inner product
 * manipulation; the name Garfield and ByzShield use): the ipm attack under its other name.
 */
export const foe: AttackDef = {
  name: 'foe',
  description: 'Fall of Empires: the ipm attack, -eps times the honest mean (omniscient; eps = 0.1)',
  defaults: ipm.defaults,
  create: (params) => ({ ...ipm.create(params), name: 'foe' }),
};
