import { UsageError } from '../core/errors.js';
import { sameShape, type AttackDef } from './types.js';

/**
 * mimic (Karimireddy et al. 2022): every Byzantine sends a copy of one chosen honest worker's
 * message, over-weighting that worker's data. `worker` indexes the honest ranks of the step in
 * ascending rank order (0 = the lowest honest rank), so the target is honest whatever the
 * placement.
 */
export const mimic: AttackDef = {
  name: 'mimic',
  description: "copy one honest worker's message (omniscient; worker = index among honest ranks, 0)",
  defaults: { worker: 0 },
  create: ({ worker }) => {
    if (!Number.isInteger(worker) || worker < 0) {
      throw new UsageError(`attack 'mimic': worker must be an integer >= 0 (got ${worker})`);
    }
    return {
      name: 'mimic',
      omniscient: true,
      corrupt(ctx) {
        if (ctx.honest === undefined) {
          throw new Error("attack 'mimic' is omniscient but the engine passed no honest messages");
        }
        let seen = 0;
        for (const m of ctx.honest) {
          if (m === null) continue;
          if (seen++ === worker) {
            const out = sameShape(ctx.own);
            out.set(m);
            return out;
          }
        }
        throw new UsageError(
          `attack 'mimic': worker ${worker} is not an honest index (this step has ${seen} honest workers: 0..${seen - 1})`,
        );
      },
    };
  },
};
