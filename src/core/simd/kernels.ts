/**
 * The WebAssembly SIMD kernels (kernels.wat, compiled into kernels.wasm.ts) and how to bind them
 * to a memory. @types/node declares no WebAssembly globals, so the few calls used are typed here.
 */
import { KERNELS_WASM_BASE64 } from './kernels.wasm.js';

export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}

interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: object };
  Memory: new (desc: { initial: number; maximum: number }) => WasmMemory;
}

/** The exports of kernels.wat; addresses are byte offsets into the bound memory. */
export interface Kernels {
  /** 1 when all `len` float32 at `p` are finite. */
  finite_f32(p: number, len: number): number;
  finite_f64(p: number, len: number): number;
  /**
   * `len` (a multiple of 8) float64 at `out`: the mean of coordinates [k0, k0 + len) of the n
   * inputs whose addresses are the i32s at `tab`. kind: 0 float32, 1 float32 weighted by the f64s
   * at `wtab`, 2 float64, 3 float64 weighted.
   */
  mean(
    tab: number,
    wtab: number,
    n: number,
    k0: number,
    len: number,
    out: number,
    inv: number,
    kind: number,
  ): void;
  /**
   * MDS projection over t in [t0, t0 + len) (multiples of 4) of the planar complex float64 rows at
   * the 4 ng addresses at `tab` (groups of four), with f the four interleaved xorshift128 streams
   * whose state (16 i32: x, y, z, w vectors, at f[t0]) is at `state` (advanced len / 4 steps),
   * generated blk (a multiple of 4) values at a time into `fbuf`; per row 32 bytes at `acc`:
   * [re even, re odd, im even, im odd] partial sums, added to (the caller zeroes them first).
   */
  project(
    tab: number,
    ng: number,
    L: number,
    t0: number,
    len: number,
    state: number,
    fbuf: number,
    acc: number,
    blk: number,
  ): void;
  /**
   * MDS projection and combination in one pass over t in [t0, t0 + bl) (multiples of 4): f from
   * the stream state at `state` into `fbuf`, then the nk combined rows (table at `ktab`) projected
   * and combined as `combine` with n = nk, and the nx other rows (table at `xtab`) projected; table
   * entries are [row address, address of the row's 32 bytes of partial sums] (see kernels.wat).
   */
  project_combine(
    ktab: number,
    nk: number,
    xtab: number,
    nx: number,
    wtab: number,
    nb: number,
    L: number,
    t0: number,
    bl: number,
    state: number,
    fbuf: number,
    out: number,
  ): void;
  /**
   * MDS combination over t in [t0, t0 + bl) (bl even) of the n planar complex float64 rows at
   * `tab` with nb sets of complex weights at `wtab` (set b, row j at 16 (b n + j)); set b's real
   * parts to `out + 16 b bl`, its imaginary parts 8 bl further (see kernels.wat).
   */
  combine(
    tab: number,
    wtab: number,
    n: number,
    nb: number,
    L: number,
    t0: number,
    bl: number,
    out: number,
  ): void;
  /**
   * Distance chunk: `T[k np + j]` (np = n + 1) = element k0 + k of the row at the i32 at `tab + 4 j`
   * (kind 0 float32, 2 float64) as float64, for k < len; column n zero (see kernels.wat).
   */
  dist_pack(tab: number, n: number, k0: number, len: number, kind: number, T: number): void;
  /** `acc[c] += (T[k np + xcol] - T[k np + j0 + c])^2`, k in increasing order, c < cnt. */
  dist_seq(T: number, np: number, len: number, xcol: number, j0: number, cnt: number, acc: number): void;
  /** dist_seq for rows x0col and x1col over the same cnt (a multiple of 8) partners. */
  dist_seq2(
    T: number,
    np: number,
    len: number,
    x0col: number,
    x1col: number,
    j0: number,
    cnt: number,
    acc0: number,
    acc1: number,
  ): void;
  /**
   * Distance screen: rows at x0 and x1 against the cnt partners at `p + c pstride`, over len
   * float32 coordinates (a multiple of 4), in float32 runs of `run` coordinates whose lane sums
   * are added to the f64x2 sums at `acc0 + 16 c` and `acc1 + 16 c` (see kernels.wat).
   */
  screen_tile(
    x0: number,
    x1: number,
    p: number,
    pstride: number,
    cnt: number,
    len: number,
    run: number,
    acc0: number,
    acc1: number,
  ): void;
  /** As dist_seq into two sums: even k (and an odd len's last) to `accE`, odd k to `accO`. */
  dist_split(
    T: number,
    np: number,
    len: number,
    xcol: number,
    j0: number,
    cnt: number,
    accE: number,
    accO: number,
  ): void;
}

/** 64 KiB, the wasm page. */
export const PAGE = 65536;
/** A 32-bit wasm memory holds at most 65536 pages (4 GiB). */
export const MAX_PAGES = 65536;

const wasmApi = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
let module: object | null | undefined;

/** The compiled module, or null where WebAssembly SIMD is unavailable (then callers use JS). */
function kernelModule(): object | null {
  if (module === undefined) {
    try {
      module = wasmApi ? new wasmApi.Module(Buffer.from(KERNELS_WASM_BASE64, 'base64')) : null;
    } catch {
      module = null;
    }
  }
  return module;
}

/** True when the SIMD path can run here (a runtime with wasm SIMD, and not DRACO_SIMD=0). */
export function simdAvailable(): boolean {
  return process.env.DRACO_SIMD !== '0' && kernelModule() !== null;
}

/**
 * A fixed-size memory (maximum = initial: it can never grow, so views on it never detach) and the
 * kernels bound to it; null when SIMD is unavailable or the memory cannot be had.
 */
export function createKernelMemory(bytes: number): { memory: WasmMemory; kernels: Kernels } | null {
  const mod = simdAvailable() ? kernelModule() : null;
  const pages = Math.ceil(bytes / PAGE);
  if (mod === null || !wasmApi || pages > MAX_PAGES) return null;
  let memory: WasmMemory;
  try {
    memory = new wasmApi.Memory({ initial: Math.max(1, pages), maximum: Math.max(1, pages) });
  } catch {
    return null; // out of address space: the caller keeps the plain-array path
  }
  const kernels = new wasmApi.Instance(mod, { env: { memory } }).exports as Kernels;
  return { memory, kernels };
}
