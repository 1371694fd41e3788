/**
 * `cnn`: a small VGG-style CNN for CIFAR-10: conv32 - conv32 - pool - conv64 - conv64 - pool -
 * dense 128 - dense classes (3x3 'same' convs, ReLU, 2x2 max pools). On 32x32x3 that is 591,274
 * parameters; any input of at least 4x4 works (28x28x1 MNIST too).
 */
import { createModel } from './adapter.js';
import { conv2d, dense, flatten, maxPool, sequential } from './layers.js';
import type { ModelDef } from './types.js';

export const cnn: ModelDef = {
  name: 'cnn',
  defaultLr: 0.05,
  benchInputShape: [32, 32, 3],
  description:
    'small CNN: conv32 -> conv32 -> pool -> conv64 -> conv64 -> pool -> 128 -> classes (CIFAR-10 591,274 params)',
  create(inputShape, numClasses, seed) {
    const net = sequential(inputShape, numClasses, [
      { kind: 'conv', make: conv2d(32, 3, 'same', 'relu') },
      { kind: 'conv', make: conv2d(32, 3, 'same', 'relu') },
      { kind: 'pool', make: maxPool(2) },
      { kind: 'conv', make: conv2d(64, 3, 'same', 'relu') },
      { kind: 'conv', make: conv2d(64, 3, 'same', 'relu') },
      { kind: 'pool', make: maxPool(2) },
      { kind: 'flatten', make: flatten() },
      { kind: 'dense', make: dense(128, 'relu') },
      { kind: 'dense', make: dense(numClasses, 'linear', 'glorot_uniform') },
    ]);
    return createModel('cnn', net, seed);
  },
};
