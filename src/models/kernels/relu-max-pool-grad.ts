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
import { routeTiledPoolGrad } from './max-pool-grad.js';
import { asWasm } from './wasm.js';

export const RELU_MAX_POOL_GRAD = 'DracoReluMaxPoolGrad';

export interface ReluMaxPoolGradAttrs {
  size: number;
}

/** `dz` and `db` are fully overwritten. */
function compute(
  y: Float32Array,
  g: Float32Array,
  dz: Float32Array,
  db: Float32Array,
  shape: number[],
  size: number,
): void {
  // y >= 0 after the ReLU: a window whose maximum is 0 routes nothing (floor 0).
  const sums = new Float64Array(shape[3]);
  const out = [Math.floor(shape[1] / size), Math.floor(shape[2] / size)];
  routeTiledPoolGrad(y, g, dz, shape, out, size, size, 0, sums);
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
