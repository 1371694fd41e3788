/**
 * Kernels we register with tfjs ourselves, all from here, so the full list of deviations from
 * stock tfjs is in one place. Each file says why its kernel exists and what it replaces:
 *
 * - Conv2DBackpropFilter (conv2d-backprop-filter.ts): missing on wasm; conv2d of transposes.
 * - Conv2DBackpropInput (conv2d-backprop-input.ts): a conv2d of dilated dy with the rotated filter.
 * - BatchMatMul (batch-matmul.ts): transposed operands as explicit transposes + XNNPACK.
 * - MaxPoolGrad (max-pool-grad.ts): argmax recomputed per window, one pass over the heap.
 * - DracoReluMaxPoolGrad (relu-max-pool-grad.ts, ours, wasm and cpu): ReLU + max pool backward
 *   and the bias gradient in one pass.
 *
 * Every kernel is checked against the cpu backend in test/models/kernels*.test.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { batchMatMulWasm } from './batch-matmul.js';
import { conv2DBackpropFilterWasm } from './conv2d-backprop-filter.js';
import { conv2DBackpropInputWasm } from './conv2d-backprop-input.js';
import { maxPoolGradWasm } from './max-pool-grad.js';
import { RELU_MAX_POOL_GRAD, reluMaxPoolGradCpu, reluMaxPoolGradWasm } from './relu-max-pool-grad.js';
import { overrideWasmKernel } from './wasm.js';

let registered = false;

/** Register every kernel in this folder. Idempotent; call before the wasm backend initialises. */
export function registerKernels(): void {
  if (registered) return;
  registered = true;
  if (tf.getKernel('Conv2DBackpropFilter', 'wasm') == null) {
    overrideWasmKernel('Conv2DBackpropFilter', conv2DBackpropFilterWasm);
  }
  overrideWasmKernel('Conv2DBackpropInput', conv2DBackpropInputWasm);
  overrideWasmKernel('BatchMatMul', batchMatMulWasm);
  overrideWasmKernel('MaxPoolGrad', maxPoolGradWasm);
  for (const [backendName, kernelFunc] of [
    ['wasm', reluMaxPoolGradWasm],
    ['cpu', reluMaxPoolGradCpu],
  ] as const) {
    if (tf.getKernel(RELU_MAX_POOL_GRAD, backendName) == null) {
      tf.registerKernel({ kernelName: RELU_MAX_POOL_GRAD, backendName, kernelFunc });
    }
  }
}
