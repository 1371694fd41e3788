/**
 * BatchMatMul with transposeA or transposeB, for the wasm backend.
 *
 * Why: the stock wasm kernel sends any transposed product to a naive loop instead of XNNPACK:
 * [32x784]^T x [32x100] (a dense layer's weight gradient) takes ~3 ms where the untransposed
 * product of the same size takes ~0.3 ms. Every dense layer's backward pass has one of each.
 *
 * How: transpose the flagged operand's last two axes with the wasm Transpose kernel (a copy,
 * no arithmetic), then call the stock kernel without transposes. Same products, same XNNPACK
 * summation order on every call, so the result is deterministic. Untransposed calls go straight
 * to the stock kernel.
 *
 * A B^T with B the larger operand (a dense layer's input gradient dz W^T) is computed as
 * (B A^T)^T instead: XNNPACK repacks its second operand on every call, and here that becomes the
 * small A^T rather than the weight-sized B^T; ~2x faster for [32x120] x [400x120]^T.
 */
import type { BatchMatMulAttrs, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { disposeAll, runWasm } from './wasm.js';

function swapLastTwo(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return perm;
}

/** a b^T as (b a^T)^T, for rank-r operands with equal batch dimensions. */
function swapped(a: TensorInfo, b: TensorInfo, backend: unknown, r: number): TensorInfo {
  const perm = swapLastTwo(r);
  const aT = runWasm('Transpose', { x: a }, backend, { perm });
  try {
    const cT = runWasm(
      'BatchMatMul',
      { a: b, b: aT },
      backend,
      { transposeA: false, transposeB: false },
      true,
    );
    try {
      return runWasm('Transpose', { x: cT }, backend, { perm });
    } finally {
      disposeAll(backend, [cT]);
    }
  } finally {
    disposeAll(backend, [aT]);
  }
}

export const batchMatMulWasm: KernelFunc = ({ inputs, backend, attrs }) => {
  const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
  const { transposeA, transposeB } = attrs as unknown as BatchMatMulAttrs;
  if (!transposeA && !transposeB) return runWasm('BatchMatMul', { a, b }, backend, attrs, true);
  const r = a.shape.length;
  const m = a.shape[r - 2];
  const n = b.shape[b.shape.length - 2];
  if (!transposeA && n > m && a.shape.length === b.shape.length) return swapped(a, b, backend, r);
  const temps: TensorInfo[] = [];
  try {
    let a2 = a;
    let b2 = b;
    if (transposeA) {
      a2 = runWasm('Transpose', { x: a }, backend, { perm: swapLastTwo(a.shape.length) });
      temps.push(a2);
    }
    if (transposeB) {
      b2 = runWasm('Transpose', { x: b }, backend, { perm: swapLastTwo(b.shape.length) });
      temps.push(b2);
    }
    return runWasm('BatchMatMul', { a: a2, b: b2 }, backend, { transposeA: false, transposeB: false }, true);
  } finally {
    disposeAll(backend, temps);
  }
};
