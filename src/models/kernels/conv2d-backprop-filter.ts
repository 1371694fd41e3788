import * as tf from '@tensorflow/tfjs';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { disposeAll, runWasm } from './wasm.js';

/** Transpose `t` viewed as `shape3` (same data, no copy) by `perm`; label the result `outShape`. */
function transpose3(
  backend: unknown,
  t: TensorInfo,
  shape3: number[],
  perm: number[],
  outShape: number[],
): TensorInfo {
  const out = runWasm('Transpose', { x: { ...t, shape: shape3 } }, backend, { perm });
  return { ...out, shape: outShape };
}

/**
 * Conv2DBackpropFilter (the gradient of conv2d with respect to its filter), for the wasm backend.
 *
 * Why: tfjs-backend-wasm 4.22 has no such kernel, so any conv net's gradient throws on wasm.
 *
 * How: for NHWC input x [N,H,W,Ci], output gradient dy [N,Ho,Wo,Co], stride s and top/left
 * padding (pt, pl) of the forward conv,
 *
 *     dW[a,b,c,o] = sum_{n,i,j} x[n, i*s_h + a - pt, j*s_w + b - pl, c] * dy[n,i,j,o],
 *
 * which is itself a conv2d with stride 1 and dilation s: its input is x transposed to
 * [Ci,H,W,N] (channels become the batch, the batch becomes the channels), its filter is dy
 * transposed to [Ho,Wo,N,Co], and its padding is pt/pl at the top/left and whatever makes the
 * output exactly [Ci,fh,fw,Co] at the bottom/right. If that bottom/right padding would be
 * negative, the forward conv never read those last rows/columns of x, and we crop them. One
 * last transpose gives [fh,fw,Ci,Co]. All three steps run on the wasm backend's own Transpose,
 * Slice and Conv2D (XNNPACK) kernels, so the result is deterministic run to run.
 *
 * (Measured alternative, rejected: im2col of the padded input + one XNNPACK matrix product was
 * 1.5-3x slower at batch 32 for LeNet's and the CIFAR nets' convs.)
 */
export const conv2DBackpropFilterWasm: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const a = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  if (a.dataFormat !== undefined && a.dataFormat !== 'NHWC') {
    throw new Error(`Conv2DBackpropFilter on wasm supports only NHWC, got ${a.dataFormat}`);
  }
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    a.filterShape,
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
  );
  const [n, h, w, ci] = x.shape;
  const [, ho, wo, co] = dy.shape;
  const fh = info.filterHeight;
  const fw = info.filterWidth;
  if (dy.shape[0] !== n || ho !== info.outHeight || wo !== info.outWidth || co !== info.outChannels) {
    throw new Error(
      `Conv2DBackpropFilter: dy shape [${dy.shape}] does not match conv of x [${x.shape}] with filter [${a.filterShape}]`,
    );
  }
  const sh = info.strideHeight;
  const sw = info.strideWidth;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  // Bottom/right padding that makes the dilated conv's output exactly fh x fw.
  const pb = fh + (ho - 1) * sh - h - pt;
  const pr = fw + (wo - 1) * sw - w - pl;

  const temps: TensorInfo[] = [];
  try {
    let xs = x;
    if (pb < 0 || pr < 0) {
      xs = runWasm('Slice', { x }, backend, {
        begin: [0, 0, 0, 0],
        size: [n, h + Math.min(pb, 0), w + Math.min(pr, 0), ci],
      });
      temps.push(xs);
    }
    // Each transpose on a rank-3 view that merges the two spatial axes: the wasm Transpose is
    // ~1.5x faster on rank 3 than on the equivalent rank-4 permutation.
    const [, hs, ws] = xs.shape;
    const xT = transpose3(backend, xs, [n, hs * ws, ci], [2, 1, 0], [ci, hs, ws, n]);
    temps.push(xT);
    const dyT = transpose3(backend, dy, [n, ho * wo, co], [1, 0, 2], [ho, wo, n, co]);
    temps.push(dyT);
    const conv = runWasm('Conv2D', { x: xT, filter: dyT }, backend, {
      strides: [1, 1],
      pad: [
        [0, 0],
        [pt, Math.max(pb, 0)],
        [pl, Math.max(pr, 0)],
        [0, 0],
      ],
      dataFormat: 'NHWC',
      dilations: [sh, sw],
    });
    temps.push(conv);
    if (conv.shape[0] !== ci || conv.shape[1] !== fh || conv.shape[2] !== fw || conv.shape[3] !== co) {
      throw new Error(`Conv2DBackpropFilter: internal shape mismatch [${conv.shape}]`);
    }
    return transpose3(backend, conv, [ci, fh * fw, co], [1, 0, 2], [fh, fw, ci, co]);
  } finally {
    disposeAll(backend, temps);
  }
};
