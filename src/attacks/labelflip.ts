import type { AttackDef } from './types.js';

/**
 * labelflip: data poisoning. The worker computes honestly, but on labels `y' = (C - 1) - y`, and
 * sends that result unchanged.
 */
export const labelflip: AttackDef = {
  name: 'labelflip',
  description: 'compute honestly on flipped labels y -> (C - 1) - y',
  defaults: {},
  create: () => ({
    name: 'labelflip',
    omniscient: false,
    poisonLabels(labels, numClasses) {
      const out = new Int32Array(labels.length);
      for (let i = 0; i < labels.length; i++) out[i] = numClasses - 1 - labels[i];
      return out;
    },
    corrupt: ({ own }) => own,
  }),
};
