/**
 * MessageArena: the parameter server's n message slots in one WebAssembly memory, so the SIMD
 * kernels (kernels.wat) can read them in place. The PS copies each message into its slot while
 * it validates it (it reads every byte for the finiteness check anyway) and hands the decoder
 * the slot views; `meanOf` then runs the SIMD kernel when all its inputs live in one arena.
 *
 * The memory is sized once and can never grow: growing would detach every view handed out.
 * Slot contents are only valid until the slot is stored again (the next step).
 */
import { allFinite, type Vec } from '../vec.js';
import { createKernelMemory, type Kernels, type WasmMemory } from './kernels.js';

export type ArenaDtype = 'float32' | 'float64';

/** Slot and scratch alignment: a cache line. */
const ALIGN = 64;
/**
 * Output block of the mean kernel, in float64 elements (32 KB): with more than 16 inputs the
 * kernel re-reads it once per tile of 16, so it should stay in L1/L2; it is copied out once.
 */
export const MEAN_BLOCK = 4096;

const alignUp = (x: number) => Math.ceil(x / ALIGN) * ALIGN;

/** Arena of each memory's buffer, to recognise views on an arena. */
const byBuffer = new WeakMap<ArrayBuffer, MessageArena>();

export class MessageArena {
  readonly memory: WasmMemory;
  /** Largest input count `mean` takes (the size of its pointer and weight tables). */
  readonly capacity: number;
  private readonly kernels: Kernels;
  private readonly slots: Vec[];
  private readonly tabPtr: number;
  private readonly wtabPtr: number;
  private readonly outPtr: number;
  private readonly tab: Int32Array;
  private readonly wtab: Float64Array;
  private readonly outBlock: Float64Array;

  private constructor(
    readonly n: number,
    readonly length: number,
    readonly dtype: ArenaDtype,
    mem: { memory: WasmMemory; kernels: Kernels },
    layout: { tab: number; wtab: number; out: number; slots: number; stride: number },
  ) {
    this.memory = mem.memory;
    this.kernels = mem.kernels;
    this.capacity = Math.max(64, 2 * n);
    const buf = this.memory.buffer;
    this.tabPtr = layout.tab;
    this.wtabPtr = layout.wtab;
    this.outPtr = layout.out;
    this.tab = new Int32Array(buf, layout.tab, this.capacity);
    this.wtab = new Float64Array(buf, layout.wtab, this.capacity);
    this.outBlock = new Float64Array(buf, layout.out, MEAN_BLOCK);
    const T = dtype === 'float64' ? Float64Array : Float32Array;
    this.slots = Array.from({ length: n }, (_, i) => new T(buf, layout.slots + i * layout.stride, length));
    byBuffer.set(buf, this);
  }

  /**
   * An arena of n slots of `length` elements, or null when wasm SIMD is unavailable (or disabled
   * by DRACO_SIMD=0) or the slots do not fit one 4 GiB wasm memory: callers then keep plain arrays.
   */
  static create(n: number, length: number, dtype: ArenaDtype): MessageArena | null {
    const capacity = Math.max(64, 2 * n);
    const tab = 0;
    const wtab = alignUp(tab + 4 * capacity);
    const out = alignUp(wtab + 8 * capacity);
    const slots = alignUp(out + 8 * MEAN_BLOCK);
    const stride = alignUp(length * (dtype === 'float64' ? 8 : 4));
    const mem = createKernelMemory(slots + n * stride);
    return mem === null ? null : new MessageArena(n, length, dtype, mem, { tab, wtab, out, slots, stride });
  }

  /** The view of slot i (undefined out of range). */
  slot(i: number): Vec | undefined {
    return this.slots[i];
  }

  /** True when every element of `x` is finite (the SIMD check when `x` is a view on this arena). */
  finite(x: Vec): boolean {
    if (x.buffer !== this.memory.buffer) return allFinite(x);
    const k = this.kernels;
    return (
      (x instanceof Float64Array
        ? k.finite_f64(x.byteOffset, x.length)
        : k.finite_f32(x.byteOffset, x.length)) === 1
    );
  }

  /**
   * Copy `msg` into `slot` (a view on this arena of the same type and length) and report whether
   * it is all finite. The copy is a memcpy; the check then reads the slot while it is still in
   * cache, in chunks so that a long message does not fall out of L2 in between.
   */
  storeFinite(slot: Vec, msg: Vec): boolean {
    const CHUNK = 16384;
    let ok = true;
    for (let s = 0; s < msg.length; s += CHUNK) {
      const e = Math.min(msg.length, s + CHUNK);
      const part = slot.subarray(s, e);
      part.set(msg.subarray(s, e));
      ok = this.finite(part) && ok;
    }
    return ok;
  }

  /**
   * `meanOf` on the SIMD kernel: writes coordinates [0, m) of the (weighted) mean into `out` and
   * returns m, d rounded down to a multiple of 8 (the caller finishes the rest with its JS loop);
   * bitwise what the JS loop gives (see kernels.wat). Returns 0, writing nothing, unless the
   * inputs are same-typed, same-length views on this arena.
   */
  meanInto(inputs: readonly Vec[], out: Float64Array, weights?: ArrayLike<number>): number {
    const n = inputs.length;
    if (n === 0 || n > this.capacity) return 0;
    const d = inputs[0].length;
    const f64 = inputs[0] instanceof Float64Array;
    const buf = this.memory.buffer;
    for (let i = 0; i < n; i++) {
      const x = inputs[i];
      if (x.buffer !== buf || x.length !== d || x instanceof Float64Array !== f64) return 0;
      this.tab[i] = x.byteOffset;
      if (weights !== undefined) this.wtab[i] = weights[i];
    }
    const m = d - (d % 8);
    const kind = (f64 ? 2 : 0) + (weights === undefined ? 0 : 1);
    const inv = 1 / n;
    for (let s = 0; s < m; s += MEAN_BLOCK) {
      const len = Math.min(MEAN_BLOCK, m - s);
      this.kernels.mean(this.tabPtr, this.wtabPtr, n, s, len, this.outPtr, inv, kind);
      out.set(len === MEAN_BLOCK ? this.outBlock : this.outBlock.subarray(0, len), s);
    }
    return m;
  }
}

/** The arena `x` is a view on, if any. */
export function arenaOf(x: Vec): MessageArena | undefined {
  return byBuffer.get(x.buffer as ArrayBuffer);
}

const owned = new WeakMap<object, MessageArena | null>();

/**
 * One arena per owner (e.g. the scheme of a training run), made on first use and dropped with
 * the owner; null where the arena is unavailable (see MessageArena.create).
 */
export function arenaFor(owner: object, n: number, length: number, dtype: ArenaDtype): MessageArena | null {
  let a = owned.get(owner);
  if (a === undefined || (a !== null && (a.n !== n || a.length !== length || a.dtype !== dtype))) {
    a = MessageArena.create(n, length, dtype);
    owned.set(owner, a);
  }
  return a;
}

/**
 * Copy `msg` into `slot` (same type and length; normally a MessageArena slot) and report whether
 * every element is finite: one read of the message serves both the copy and the check.
 */
export function storeFinite(slot: Vec, msg: Vec): boolean {
  if (slot.constructor !== msg.constructor || slot.length !== msg.length) {
    throw new Error(`storeFinite: slot and message differ in type or length`);
  }
  const arena = arenaOf(slot);
  if (arena !== undefined) return arena.storeFinite(slot, msg);
  slot.set(msg);
  return allFinite(slot);
}
