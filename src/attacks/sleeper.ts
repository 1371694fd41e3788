import { reversed } from './reverse.js';
import type { AttackDef } from './types.js';

/**
 * sleeper: lie one after another. The k-th Byzantine rank of the step (in rank order) sends its
 * honest message until step `start + k * stagger`, then `-c * own`: each liar wakes after the
 * previous one could have been caught, aimed at schemes that ban proven liars (verify) and at
 * defenses that learn who to distrust.
 */
export const sleeper: AttackDef = {
  name: 'sleeper',
  description:
    'the k-th Byzantine rank is honest until step start + k*stagger, then sends -c times its message',
  defaults: { start: 10, stagger: 10, c: 100 },
  create: ({ start, stagger, c }) => ({
    name: 'sleeper',
    omniscient: false,
    corrupt({ own, step, worker, byzantine }) {
      const k = [...byzantine].sort((a, b) => a - b).indexOf(worker);
      if (step < start + Math.max(0, k) * stagger) return own.slice();
      return reversed(own, c);
    },
  }),
};
