/**
 * Helpers shared by our wasm kernels: call the backend's own kernel functions directly (not tf
 * ops), so nothing is recorded on a gradient tape or counted as a tensor, and `tf.profile`
 * reports a composite under its own name. Intermediates are freed with `disposeData`.
 */
import * as tf from '@tensorflow/tfjs';
import type {
  DataId,
  DataType,
  KernelConfig,
  KernelFunc,
  NamedAttrMap,
  NamedTensorInfoMap,
  TensorInfo,
} from '@tensorflow/tfjs';

/** The part of the wasm backend (`BackendWasm`) our kernels use. */
export interface WasmBackendLike {
  disposeData(dataId: DataId, force?: boolean): boolean;
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

export function asWasm(backend: unknown): WasmBackendLike {
  return backend as WasmBackendLike;
}

/**
 * The stock wasm kernels we replace, captured before we unregister them, so an override can
 * fall back to (or build on) the original.
 */
const stock = new Map<string, KernelConfig>();

/** Run the currently registered wasm kernel `name` (or, with `original`, the stock one). */
export function runWasm(
  name: string,
  inputs: NamedTensorInfoMap,
  backend: unknown,
  attrs: NamedAttrMap = {},
  original = false,
): TensorInfo {
  const cfg = original ? stock.get(name) : tf.getKernel(name, 'wasm');
  if (cfg == null) throw new Error(`wasm kernel ${name} is not registered`);
  const out = cfg.kernelFunc({ inputs, backend: backend as never, attrs });
  if (Array.isArray(out)) throw new Error(`wasm kernel ${name} returned several outputs`);
  return out;
}

/**
 * Register `kernelFunc` as the wasm kernel `name`. If a stock kernel exists it is kept (for
 * `runWasm(..., true)`) and its setupFunc stays attached, because the stock kernelFunc relies on
 * the wasm function handles its setupFunc binds when the backend initialises.
 */
export function overrideWasmKernel(name: string, kernelFunc: KernelFunc): void {
  const orig = tf.getKernel(name, 'wasm');
  if (orig != null) {
    stock.set(name, orig);
    tf.unregisterKernel(name, 'wasm');
  }
  tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc, setupFunc: orig?.setupFunc });
}

/** Free every tensor info in `temps` (intermediates of a composite kernel). */
export function disposeAll(backend: unknown, temps: TensorInfo[]): void {
  const b = asWasm(backend);
  for (const t of temps) b.disposeData(t.dataId);
}
