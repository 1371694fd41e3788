/**
 * MaxPoolGrad (the gradient of max pooling with respect to its input), for the wasm backend.
 *
 * Why: the stock wasm kernel takes ~4 ms for LeNet's 28x28x6 pool at batch 32, far more than
 * the work it does.
 *
 * How: a plain loop over the wasm heap. For every output cell and channel, recompute the
 * argmax of its window in the forward input (the FIRST maximum in row-major window order, as the
 * cpu backend does; cells in the padding are skipped, as if they held -infinity) and add dy
 * there. Overlapping windows add into the same dx cell in a fixed order, so the result is
 * deterministic; with non-overlapping windows it is exact (no sums at all).
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelFunc, MaxPoolGradAttrs, TensorInfo } from '@tensorflow/tfjs';
import { asWasm } from './wasm.js';

export const maxPoolGradWasm: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, input } = inputs as { dy: TensorInfo; input: TensorInfo };
  const a = attrs as unknown as MaxPoolGradAttrs;
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    a.filterSize,
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
  );
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
  const fh = info.effectiveFilterHeight;
  const fw = info.effectiveFilterWidth;
  const sh = info.strideHeight;
  const sw = info.strideWidth;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  if (dy.shape[0] !== n || dy.shape[1] !== oh || dy.shape[2] !== ow || dy.shape[3] !== c) {
    throw new Error(`MaxPoolGrad: dy shape [${dy.shape}] does not match pooling of [${input.shape}]`);
  }
  const b = asWasm(backend);
  const out = b.makeOutput([...input.shape], 'float32');
  // Views after the allocation: a heap growth would detach earlier ones.
  const x = b.typedArrayFromHeap(input) as Float32Array;
  const g = b.typedArrayFromHeap(dy) as Float32Array;
  const dx = b.typedArrayFromHeap(out) as Float32Array;
  dx.fill(0);
  const rowStride = w * c;
  // Channels innermost (contiguous in NHWC): running max and its position per channel.
  const best = new Float32Array(c);
  const pos = new Int32Array(c);
  for (let s = 0; s < n; s++) {
    const xBase = s * h * rowStride;
    for (let i = 0; i < oh; i++) {
      const r0 = Math.max(0, i * sh - pt);
      const r1 = Math.min(h, i * sh - pt + fh);
      for (let j = 0; j < ow; j++) {
        const c0 = Math.max(0, j * sw - pl);
        const c1 = Math.min(w, j * sw - pl + fw);
        best.fill(-Infinity);
        pos.fill(-1);
        for (let r = r0; r < r1; r++) {
          for (let col = c0; col < c1; col++) {
            const p = xBase + r * rowStride + col * c;
            for (let ch = 0; ch < c; ch++) {
              const v = x[p + ch];
              if (v > best[ch]) {
                best[ch] = v;
                pos[ch] = p + ch;
              }
            }
          }
        }
        const gBase = ((s * oh + i) * ow + j) * c;
        // pos < 0: the window held only padding or NaNs; the cpu backend routes nothing either.
        for (let ch = 0; ch < c; ch++) if (pos[ch] >= 0) dx[pos[ch]] += g[gBase + ch];
      }
    }
  }
  return out;
};
