/** `fc`: the fully connected net of the DRACO paper, 784-800-500-10 on MNIST (1,033,510 parameters). */
import { createModel } from './adapter.js';
import { dense, flatten, sequential } from './layers.js';
import type { ModelDef } from './types.js';

export const fc: ModelDef = {
  name: 'fc',
  defaultLr: 0.3,
  description:
    "DRACO's fully connected net: flatten -> 800 relu -> 500 relu -> classes (MNIST 1,033,510 params)",
  create(inputShape, numClasses, seed) {
    const net = sequential(inputShape, numClasses, [
      { kind: 'flatten', make: flatten() },
      { kind: 'dense', make: dense(800, 'relu') },
      { kind: 'dense', make: dense(500, 'relu') },
      { kind: 'dense', make: dense(numClasses, 'linear', 'glorot_uniform') },
    ]);
    return createModel('fc', net, seed);
  },
};
