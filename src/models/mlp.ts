/** `mlp`: flatten -> dense 100 relu -> dense numClasses (MNIST: 784-100-10, 79,510 parameters). */
import { createModel } from './adapter.js';
import { dense, flatten, sequential } from './layers.js';
import type { ModelDef } from './types.js';

export const mlp: ModelDef = {
  name: 'mlp',
  defaultLr: 0.3,
  description: 'MLP: flatten -> dense 100 relu -> dense classes (MNIST 784-100-10, 79,510 params)',
  create(inputShape, numClasses, seed) {
    const net = sequential(inputShape, numClasses, [
      { kind: 'flatten', make: flatten() },
      { kind: 'dense', make: dense(100, 'relu') },
      { kind: 'dense', make: dense(numClasses, 'linear', 'glorot_uniform') },
    ]);
    return createModel('mlp', net, seed);
  },
};
