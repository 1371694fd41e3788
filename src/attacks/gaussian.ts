import { sameShape, type AttackDef } from './types.js';

/** gaussian: send `N(0, sigma^2 I)` noise, drawn from the worker's seeded stream. */
export const gaussian: AttackDef = {
  name: 'gaussian',
  description: 'send Gaussian noise N(0, sigma^2 I) (default sigma = 200)',
  defaults: { sigma: 200 },
  create: ({ sigma }) => ({
    name: 'gaussian',
    omniscient: false,
    corrupt({ own, rng }) {
      const out = sameShape(own);
      rng.fillNormal(out, 0, sigma);
      return out;
    },
  }),
};
