/**
 * Conv2DBackpropInput (the gradient of conv2d with respect to its input), for the wasm backend.
 *
 * Why: the stock wasm kernel is a direct loop, ~8 ms for LeNet's second conv at batch 32, where
 * an XNNPACK conv2d of the same size takes ~0.6 ms.
 *
 * How (NHWC): with filter W [fh,fw,Ci,Co], strides (sh, sw) and top/left padding (pt, pl) of
 * the forward conv, let D be dy dilated by the strides (D[n, i*sh, j*sw, o] = dy[n,i,j,o], zeros
 * elsewhere; D = dy for stride 1). Then
 *
 *     dx[n,y,x,c] = sum_{a,b,o} D[n, y + pt - a, x + pl - b, o] * W[a,b,c,o],
 *
 * a stride-1 conv2d of D with the filter rotated by 180 degrees and its channel axes swapped,
 * R[a,b,o,c] = W[fh-1-a, fw-1-b, c, o], padded by fh-1-pt on top, fw-1-pl on the left, and on
 * the bottom/right by whatever makes the output exactly H x W. R and D are built by plain loops
 * over the heap; the conv runs on the wasm backend's own Conv2D (XNNPACK), deterministic run to
 * run. For stride 2 three quarters of D are zeros (wasted multiplies), still far faster than the
 * stock loop. Paddings that would make the rewritten conv's padding negative (the forward conv
 * skipped trailing rows/columns, or padded more than fh-1) go to the stock kernel.
 */
import * as tf from '@tensorflow/tfjs';
import type { Conv2DBackpropInputAttrs, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { asWasm, disposeAll, runWasm, type WasmBackendLike } from './wasm.js';

/** dy [N,Ho,Wo,C] spread to [N,(Ho-1)*sh+1,(Wo-1)*sw+1,C] with zeros between its cells. */
function dilate(b: WasmBackendLike, dy: TensorInfo, sh: number, sw: number): TensorInfo {
  const [n, ho, wo, c] = dy.shape;
  const dh = (ho - 1) * sh + 1;
  const dw = (wo - 1) * sw + 1;
  const out = b.makeOutput([n, dh, dw, c], 'float32');
  const src = b.typedArrayFromHeap(dy) as Float32Array;
  const dst = b.typedArrayFromHeap(out) as Float32Array;
  dst.fill(0);
  for (let s = 0; s < n; s++) {
    for (let i = 0; i < ho; i++) {
      for (let j = 0; j < wo; j++) {
        const from = ((s * ho + i) * wo + j) * c;
        dst.set(src.subarray(from, from + c), ((s * dh + i * sh) * dw + j * sw) * c);
      }
    }
  }
  return out;
}

export const conv2DBackpropInputWasm: KernelFunc = (args) => {
  const { inputs, backend, attrs } = args;
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const a = attrs as unknown as Conv2DBackpropInputAttrs;
  const fallback = () => runWasm('Conv2DBackpropInput', inputs, backend, attrs, true);
  if (a.dataFormat !== undefined && a.dataFormat !== 'NHWC') return fallback();
  const info = tf.backend_util.computeConv2DInfo(
    a.inputShape,
    filter.shape as [number, number, number, number],
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
  );
  const { filterHeight: fh, filterWidth: fw, inChannels: ci, outChannels: co } = info;
  const { inHeight: h, inWidth: w, strideHeight: sh, strideWidth: sw } = info;
  // Size of dy dilated by the strides.
  const ho = (info.outHeight - 1) * sh + 1;
  const wo = (info.outWidth - 1) * sw + 1;
  const padT = fh - 1 - info.padInfo.top;
  const padL = fw - 1 - info.padInfo.left;
  const padB = h - ho + fh - 1 - padT;
  const padR = w - wo + fw - 1 - padL;
  if (padT < 0 || padL < 0 || padB < 0 || padR < 0) return fallback();

  const b = asWasm(backend);
  const rot = b.makeOutput([fh, fw, co, ci], 'float32');
  const temps: TensorInfo[] = [rot];
  try {
    const src = b.typedArrayFromHeap(filter) as Float32Array;
    const dst = b.typedArrayFromHeap(rot) as Float32Array;
    for (let p = 0; p < fh; p++) {
      for (let q = 0; q < fw; q++) {
        const sBase = ((fh - 1 - p) * fw + (fw - 1 - q)) * ci * co;
        const dBase = (p * fw + q) * co * ci;
        for (let c = 0; c < ci; c++) {
          for (let o = 0; o < co; o++) dst[dBase + o * ci + c] = src[sBase + c * co + o];
        }
      }
    }
    let d = dy;
    if (sh !== 1 || sw !== 1) {
      d = dilate(b, dy, sh, sw);
      temps.push(d);
    }
    return runWasm('Conv2D', { x: d, filter: rot }, backend, {
      strides: [1, 1],
      pad: [
        [0, 0],
        [padT, padB],
        [padL, padR],
        [0, 0],
      ],
      dataFormat: 'NHWC',
      dilations: [1, 1],
    });
  } finally {
    disposeAll(backend, temps);
  }
};
