/**
 * DracoReluMaxPoolGrad: the backward pass of ReLU followed by a tiling max pool (window =
 * stride = `size`, no padding), with the bias gradient of the layer under the ReLU. A draco
 * kernel (no tfjs counterpart), registered for wasm and cpu.
 *
 * Inputs: y [n,h,w,c], the ReLU's output (= the pool's input), and dy [n,oh,ow,c], the gradient
 * at the pool's output. Outputs: dz = step(y) * MaxPoolGrad(dy, y), the gradient at the ReLU's
 * input, and db[ch] = sum of dz over (n, h, w).
 *
 * Why: as separate kernels this is MaxPoolGrad, Step, Multiply and a Sum (which the wasm backend
 * runs as a transpose plus a reduction): four passes over a [32,28,28,6] tensor for LeNet's first
 * conv. Fused it is one pass: y >= 0, so a window whose first maximum is 0 routes nothing (the
 * ReLU would zero it), and every other cell gets 0. Each cell is written once, and db is summed
 * in float64 in a fixed order, so the result is deterministic. Equal to the unfused kernels
 * except that db is rounded once instead of per partial sum, and cells the ReLU zeroes hold +0
 * where Multiply would give -0 for a negative dy.
 */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { asWasm } from './wasm.js';

export const RELU_MAX_POOL_GRAD = 'DracoReluMaxPoolGrad';

export interface ReluMaxPoolGradAttrs {
  size: number;
}

/** The shared loop; `dz` and `db` are fully overwritten. */
function compute(
  y: Float32Array,
  g: Float32Array,
  dz: Float32Array,
  db: Float32Array,
  [n, h, w, c]: number[],
  size: number,
): void {
  const oh = Math.floor(h / size);
  const ow = Math.floor(w / size);
  if (oh * size !== h || ow * size !== w) dz.fill(0);
  const sums = new Float64Array(c);
  const rowStride = w * c;
  let gi = 0;
  for (let s = 0; s < n; s++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        const base = (s * h + i * size) * rowStride + j * size * c;
        if (size === 2) {
          // The common 2x2 pool unrolled: ~1.5x faster than the loops below.
          for (let ch = 0; ch < c; ch++, gi++) {
            const p = base + ch;
            const v0 = y[p];
            const v1 = y[p + c];
            const v2 = y[p + rowStride];
            const v3 = y[p + rowStride + c];
            let k = -1;
            let best = 0;
            if (v0 > best) {
              best = v0;
              k = 0;
            }
            if (v1 > best) {
              best = v1;
              k = 1;
            }
            if (v2 > best) {
              best = v2;
              k = 2;
            }
            if (v3 > best) k = 3;
            const gv = g[gi];
            if (k >= 0) sums[ch] += gv;
            dz[p] = k === 0 ? gv : 0;
            dz[p + c] = k === 1 ? gv : 0;
            dz[p + rowStride] = k === 2 ? gv : 0;
            dz[p + rowStride + c] = k === 3 ? gv : 0;
          }
          continue;
        }
        for (let ch = 0; ch < c; ch++, gi++) {
          // First maximum in row-major window order, as MaxPoolGrad; routed only if > 0.
          let best = 0;
          let pos = -1;
          for (let r = 0; r < size; r++) {
            for (let q = 0, p = base + r * rowStride + ch; q < size; q++, p += c) {
              const v = y[p];
              if (v > best) {
                best = v;
                pos = p;
              }
            }
          }
          const gv = g[gi];
          if (pos >= 0) sums[ch] += gv;
          for (let r = 0; r < size; r++) {
            for (let q = 0, p = base + r * rowStride + ch; q < size; q++, p += c) dz[p] = p === pos ? gv : 0;
          }
        }
      }
    }
  }
  db.set(sums);
}

function check(y: TensorInfo, dy: TensorInfo, size: number): void {
  const [n, h, w, c] = y.shape;
  const ok =
    y.shape.length === 4 &&
    Number.isInteger(size) &&
    size >= 1 &&
    dy.shape.length === 4 &&
    dy.shape[0] === n &&
    dy.shape[1] === Math.floor(h / size) &&
    dy.shape[2] === Math.floor(w / size) &&
    dy.shape[3] === c;
  if (!ok)
    throw new Error(`${RELU_MAX_POOL_GRAD}: dy [${dy.shape}] is not a ${size}x${size} pool of [${y.shape}]`);
}

export const reluMaxPoolGradWasm: KernelFunc = ({ inputs, backend, attrs }) => {
  const { y, dy } = inputs as { y: TensorInfo; dy: TensorInfo };
  const { size } = attrs as unknown as ReluMaxPoolGradAttrs;
  check(y, dy, size);
  const b = asWasm(backend);
  const dz = b.makeOutput([...y.shape], 'float32');
  const db = b.makeOutput([y.shape[3]], 'float32');
  // Views after the allocations: a heap growth would detach earlier ones.
  compute(
    b.typedArrayFromHeap(y) as Float32Array,
    b.typedArrayFromHeap(dy) as Float32Array,
    b.typedArrayFromHeap(dz) as Float32Array,
    b.typedArrayFromHeap(db) as Float32Array,
    y.shape,
    size,
  );
  return [dz, db];
};

interface CpuBackendLike {
  readSync(dataId: unknown): unknown;
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): TensorInfo;
}

export const reluMaxPoolGradCpu: KernelFunc = ({ inputs, backend, attrs }) => {
  const { y, dy } = inputs as { y: TensorInfo; dy: TensorInfo };
  const { size } = attrs as unknown as ReluMaxPoolGradAttrs;
  check(y, dy, size);
  const b = backend as unknown as CpuBackendLike;
  const dz = new Float32Array(y.shape.reduce((a, d) => a * d, 1));
  const db = new Float32Array(y.shape[3]);
  compute(b.readSync(y.dataId) as Float32Array, b.readSync(dy.dataId) as Float32Array, dz, db, y.shape, size);
  return [b.makeTensorInfo([...y.shape], 'float32', dz), b.makeTensorInfo([y.shape[3]], 'float32', db)];
};
