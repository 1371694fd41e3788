/**
 * `lenet`: LeNet-5. conv 6@5x5 'same' + relu -> maxpool 2 -> conv 16@5x5 'valid' + relu -> maxpool 2
 * -> dense 120 relu -> dense 84 relu -> dense classes. On 28x28x1 (MNIST) that is 61,706
 * parameters; any input of at least 12x12 works (e.g. 32x32x3 for CIFAR-10).
 */
import { createModel } from './adapter.js';
import { conv2d, dense, flatten, maxPool, sequential } from './layers.js';
import type { ModelDef } from './types.js';

export const lenet: ModelDef = {
  name: 'lenet',
  defaultLr: 0.05,
  description:
    'LeNet-5: conv6@5x5 same -> pool -> conv16@5x5 -> pool -> 120 -> 84 -> classes (MNIST 61,706 params)',
  create(inputShape, numClasses, seed) {
    const net = sequential(inputShape, numClasses, [
      { kind: 'conv', make: conv2d(6, 5, 'same', 'relu') },
      { kind: 'pool', make: maxPool(2) },
      { kind: 'conv', make: conv2d(16, 5, 'valid', 'relu') },
      { kind: 'pool', make: maxPool(2) },
      { kind: 'flatten', make: flatten() },
      { kind: 'dense', make: dense(120, 'relu') },
      { kind: 'dense', make: dense(84, 'relu') },
      { kind: 'dense', make: dense(numClasses, 'linear', 'glorot_uniform') },
    ]);
    return createModel('lenet', net, seed);
  },
};
