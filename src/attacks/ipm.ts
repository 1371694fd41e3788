import { distortion, lineSearch, SEARCH_DEFAULTS, searchOf } from './line-search.js';
import { momentsMemo, stepMemo } from './moments.js';
import { sameShape, type AttackDef } from './types.js';

/**
 * ipm (inner product manipulation, Xie et al. 2020): every Byzantine sends `-eps * mu`, mu the
 * coordinate-wise mean of the step's honest messages. eps = 0.1 (default) breaks median and
 * Krum; eps = 100 acts like the reverse attack. With `optimal` (ByzFL's Optimal_IPM), eps is the
 * line search's choice against the PS's rule (line-search.ts).
 */
export const ipm: AttackDef = {
  name: 'ipm',
  description:
    'send -eps times the mean of the honest messages (omniscient; eps = 0.1; ipm:optimal line-searches eps against the rule)',
  defaults: { eps: 0.1, ...SEARCH_DEFAULTS },
  create: (params) => {
    const { eps } = params;
    const search = searchOf('ipm', params);
    const momentsOf = momentsMemo('ipm');
    const optimalEps = stepMemo((ctx) => {
      const { mu } = momentsOf(ctx);
      const minus = mu.map((v) => -v);
      return lineSearch(distortion(ctx, ctx.honest!, mu, null, minus), search!);
    });
    return {
      name: 'ipm',
      omniscient: true,
      adaptive: search !== null,
      corrupt(ctx) {
        const { mu } = momentsOf(ctx);
        const e = search !== null ? optimalEps(ctx) : eps;
        const out = sameShape(ctx.own);
        for (let j = 0; j < out.length; j++) out[j] = -e * mu[j];
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
