import { momentsMemo } from './moments.js';
import { sameShape, type AttackDef } from './types.js';

/**
 * collude (colluding majority capture, docs/attacks.md "collude"): every Byzantine sends the
 * same wrong vector `-c * mu - z * sigma` (mu, sigma: moments of the step's honest messages,
 * moments.ts), computed from the shared omniscient context in the same order, so the bytes are
 * identical and any group where the Byzantines hold a strict majority of seats votes it through
 * (repetition, DETOX). The two parameters span the inner attacks:
 *   default c = 100, z = 0: the reverse of the honest mean, at DRACO/DETOX's reverse scale;
 *   c = -1, z = Z: ALIE with z = Z;   c = eps, z = 0: IPM.
 * Unlike `reverse` (which scales each worker's own message, so Byzantines in different groups
 * differ), every Byzantine sends one vector.
 */
export const collude: AttackDef = {
  name: 'collude',
  description: 'all Byzantines send the same -c*mu - z*sigma of the honest messages (omniscient; c=100, z=0)',
  defaults: { c: 100, z: 0 },
  create: ({ c, z }) => {
    const momentsOf = momentsMemo('collude');
    return {
      name: 'collude',
      omniscient: true,
      corrupt(ctx) {
        const { mu, sigma } = momentsOf(ctx);
        const out = sameShape(ctx.own);
        for (let j = 0; j < out.length; j++) out[j] = -c * mu[j] - z * sigma[j];
        return out;
      },
    };
  },
};
