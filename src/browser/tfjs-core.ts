/**
 * What `@tensorflow/tfjs` is in the browser bundle (src/browser/bundle.ts aliases it here):
 * tfjs-core with the two side effects `@tensorflow/tfjs` adds to it, every op's gradient (the tape,
 * which models without hand-written backprop, e.g. the ResNets, use) and the chained tensor
 * methods. The model code uses only tfjs-core, and the page runs only the wasm backend, so the
 * layers, converter, data, cpu and webgl packages would be dead weight (0.8 MB of the 1.1 MB a
 * full bundle takes), and a webgl backend in the page is one that a stray op could start first.
 */
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';

export * from '@tensorflow/tfjs-core';
