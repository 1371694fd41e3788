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

/** Weight sets (decoded blocks) one `combine` kernel call takes; more are done in rounds. */
export const COMBINE_SETS = 8;
/**
 * t values per block of the MDS kernels: the projection's block of f (16 KB) and the combination's
 * output block (2 x 16 KB for one set; more sets share MEAN_BLOCK with shorter blocks) stay in
 * L1/L2 while the rows stream past.
 */
export const MDS_BLOCK = 2048;
/**
 * t values per block of the fused projection + combination (projectCombineInto): its output block
 * (2 x 8 KB for one set) and f (8 KB) stay in L1 while the rows stream past (measured at n = 15,
 * d = 1e6: 1024 and 2048 alike, 512 1.2x and 256 1.35x slower).
 */
const FUSED_BLOCK = 1024;

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
  private readonly fbufPtr: number;
  private readonly tab: Int32Array;
  private readonly wtab: Float64Array;
  private readonly outBlock: Float64Array;
  private readonly workPtr: number;
  private readonly work: Float64Array;
  /** The projection's generator state (64 bytes) and per-row partial sums (32 bytes each). */
  private readonly pworkPtr: number;
  private readonly pwork: Float64Array;
  private readonly state: Int32Array;

  private constructor(
    readonly n: number,
    readonly length: number,
    readonly dtype: ArenaDtype,
    mem: { memory: WasmMemory; kernels: Kernels },
    layout: Layout,
  ) {
    this.memory = mem.memory;
    this.kernels = mem.kernels;
    this.capacity = Math.max(64, 2 * n);
    const buf = this.memory.buffer;
    this.tabPtr = layout.tab;
    this.wtabPtr = layout.wtab;
    this.outPtr = layout.out;
    this.fbufPtr = layout.fbuf;
    this.tab = new Int32Array(buf, layout.tab, this.capacity);
    this.wtab = new Float64Array(buf, layout.wtab, this.capacity);
    this.outBlock = new Float64Array(buf, layout.out, MEAN_BLOCK);
    this.workPtr = layout.work;
    this.work = new Float64Array(buf, layout.work, workBytes(this.capacity) / 8);
    this.pworkPtr = layout.pwork;
    this.pwork = new Float64Array(buf, layout.pwork, pworkBytes(this.capacity) / 8);
    this.state = new Int32Array(buf, layout.pwork, 16);
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
    const fbuf = alignUp(out + 8 * MEAN_BLOCK);
    const work = alignUp(fbuf + 8 * MDS_BLOCK);
    const pwork = alignUp(work + workBytes(capacity));
    const slots = alignUp(pwork + pworkBytes(capacity));
    const stride = alignUp(length * (dtype === 'float64' ? 8 : 4));
    const mem = createKernelMemory(slots + n * stride);
    return mem === null
      ? null
      : new MessageArena(n, length, dtype, mem, { tab, wtab, out, fbuf, work, pwork, slots, stride });
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

  /**
   * Put the addresses of `rows` in the pointer table, padded with copies of the last row up to
   * `pad` entries; false (table untouched or partly written, nothing else) unless every row is a
   * float64 view of `length` elements on this arena and the table holds them.
   */
  private tabulate(rows: readonly Vec[], length: number, pad: number): boolean {
    const n = rows.length;
    if (n === 0 || pad > this.capacity) return false;
    const buf = this.memory.buffer;
    for (let i = 0; i < n; i++) {
      const x = rows[i];
      if (x.buffer !== buf || x.length !== length || !(x instanceof Float64Array)) return false;
      this.tab[i] = x.byteOffset;
    }
    for (let i = n; i < pad; i++) this.tab[i] = this.tab[n - 1];
    return true;
  }

  /**
   * The MDS projection (schemes/mds/kernels.ts projectRows) on the SIMD kernel, for planar complex
   * float64 rows of 2L elements on this arena: for t < L - L % 4, with f the projection stream
   * from the 16 words `state` (four xorshift128 generators, advanced (L - L % 4) / 4 steps),
   * `lanes[4 j .. 4 j + 4)` gets
   * row j's partial sums [re even t, re odd t, im even t, im odd t] of `row[t] f[t]` and
   * `row[L + t] f[t]`, each in increasing t from +0. Returns the t count done, or 0 (nothing
   * written, state unchanged) when the rows are not such views.
   */
  projectLanes(rows: readonly Vec[], L: number, state: Int32Array, lanes: Float64Array): number {
    const len = L - (L % 4);
    const ng = Math.ceil(rows.length / 4);
    if (len === 0 || !this.tabulate(rows, 2 * L, 4 * ng)) return 0;
    this.startProjection(state, ng);
    this.kernels.project(
      this.tabPtr,
      ng,
      L,
      0,
      len,
      this.pworkPtr,
      this.fbufPtr,
      this.pworkPtr + 64,
      MDS_BLOCK,
    );
    this.endProjection(state, lanes, rows.length);
    return len;
  }

  private startProjection(state: Int32Array, ng: number): void {
    this.state.set(state.subarray(0, 16));
    this.pwork.fill(0, 8, 8 + 16 * ng);
  }

  private endProjection(state: Int32Array, lanes: Float64Array, rows: number): void {
    state.set(this.state);
    lanes.set(this.pwork.subarray(8, 8 + 4 * rows));
  }

  /**
   * projectLanes over `projRows` and combineInto over `combRows` (a subset of `projRows`, the same
   * view objects) in one pass (kernel `project_combine`): block by block of t, each combined row is
   * read from memory once for both its projection and its combination, and the other rows are
   * projected. Bitwise the two calls' results. Covers t < L - L % 4 (returned as `len`; the caller
   * does the rest with the JS loops); returns len 0, writing nothing and keeping `state`, unless
   * every row is a float64 view of 2L elements on this arena, every combined row is one of
   * `projRows`, and there are 1..COMBINE_SETS weight sets.
   */
  projectCombineInto(
    projRows: readonly Vec[],
    L: number,
    state: Int32Array,
    lanes: Float64Array,
    combRows: readonly Vec[],
    weights: readonly Float64Array[],
    outs: readonly Float64Array[],
  ): { len: number; finite: boolean } {
    const none = { len: 0, finite: true };
    const len = L - (L % 4);
    const nk = combRows.length;
    const nb = weights.length;
    const np = projRows.length;
    if (len === 0 || nb === 0 || nb > COMBINE_SETS || nk === 0 || 2 * np > this.capacity) return none;
    // Row tables: [address, partial sums address] per row, combined rows first (in combRows'
    // order, the weights' order), then the rest.
    const index = new Map<Vec, number>();
    const buf = this.memory.buffer;
    for (let a = 0; a < np; a++) {
      const x = projRows[a];
      if (x.buffer !== buf || x.length !== 2 * L || !(x instanceof Float64Array)) return none;
      index.set(x, a);
    }
    const combined = new Set<number>();
    for (const x of combRows) {
      const a = index.get(x);
      if (a === undefined || combined.has(a)) return none;
      combined.add(a);
    }
    const sums = this.pworkPtr + 64;
    let e = 0;
    for (const x of combRows) {
      this.tab[e++] = x.byteOffset;
      this.tab[e++] = sums + 32 * index.get(x)!;
    }
    for (let a = 0; a < np; a++) {
      if (combined.has(a)) continue;
      this.tab[e++] = projRows[a].byteOffset;
      this.tab[e++] = sums + 32 * a;
    }
    const nx = np - nk;
    const xtab = this.tabPtr + 8 * nk;
    this.loadWeights(weights, 0, nb, nk);
    // A multiple of 4 (the projection's unit): the output block (2 bl values per set) and f (bl)
    // stay in L1 while the rows stream past.
    const blk = Math.min(FUSED_BLOCK, Math.floor(MEAN_BLOCK / (4 * nb)) * 2) & ~3;
    this.startProjection(state, Math.ceil(np / 4));
    let finite = true;
    for (let t0 = 0; t0 < len; t0 += blk) {
      const bl = Math.min(blk, len - t0);
      this.kernels.project_combine(
        this.tabPtr,
        nk,
        xtab,
        nx,
        this.workPtr,
        nb,
        L,
        t0,
        bl,
        this.pworkPtr,
        this.fbufPtr,
        this.outPtr,
      );
      finite = this.emitBlock(outs, 0, nb, L, t0, bl) && finite;
    }
    this.endProjection(state, lanes, np);
    return { len, finite };
  }

  /**
   * The MDS combination (schemes/mds/kernels.ts combineRows) on the SIMD kernel: for each weight set b
   * (complex weights of the rows, interleaved), coordinates t < L - L % 2 of
   * `outs[b] = sum_j w_bj row_j` (planar: real parts [0, L), imaginary [L, 2L)) are overwritten
   * with bitwise the JS loop's result. Returns the t count done, or 0 (nothing written) when the
   * rows are not planar complex float64 views of 2L elements on this arena, and whether every
   * value written is finite (checked on each output block while it is in L1).
   */
  combineInto(
    rows: readonly Vec[],
    weights: readonly Float64Array[],
    L: number,
    outs: readonly Float64Array[],
  ): { len: number; finite: boolean } {
    const n = rows.length;
    const len = L - (L % 2);
    if (len === 0 || weights.length === 0 || !this.tabulate(rows, 2 * L, n)) return { len: 0, finite: true };
    let finite = true;
    for (let b0 = 0; b0 < weights.length; b0 += COMBINE_SETS) {
      const nb = Math.min(COMBINE_SETS, weights.length - b0);
      this.loadWeights(weights, b0, nb, n);
      const blk = Math.min(MDS_BLOCK, Math.floor(MEAN_BLOCK / (4 * nb)) * 2);
      for (let t0 = 0; t0 < len; t0 += blk) {
        const bl = Math.min(blk, len - t0);
        this.kernels.combine(this.tabPtr, this.workPtr, n, nb, L, t0, bl, this.outPtr);
        finite = this.emitBlock(outs, b0, nb, L, t0, bl) && finite;
      }
    }
    return { len, finite };
  }

  /** Weight sets b0 .. b0 + nb - 1 (n complex weights each) into the kernels' weight table. */
  private loadWeights(weights: readonly Float64Array[], b0: number, nb: number, n: number): void {
    for (let b = 0; b < nb; b++) this.work.set(weights[b0 + b].subarray(0, 2 * n), 2 * n * b);
  }

  /**
   * The combination kernels' output block (nb sets of bl t values, real then imaginary parts)
   * into coordinates [t0, t0 + bl) of `outs[b0 + b]`; whether every value is finite (checked while
   * the block is in L1).
   */
  private emitBlock(
    outs: readonly Float64Array[],
    b0: number,
    nb: number,
    L: number,
    t0: number,
    bl: number,
  ): boolean {
    const out = this.outBlock;
    for (let b = 0; b < nb; b++) {
      const o = outs[b0 + b];
      o.set(out.subarray(2 * b * bl, (2 * b + 1) * bl), t0);
      o.set(out.subarray((2 * b + 1) * bl, (2 * b + 2) * bl), L + t0);
    }
    return this.kernels.finite_f64(this.outPtr, 2 * nb * bl) === 1;
  }
}

interface Layout {
  tab: number;
  wtab: number;
  out: number;
  fbuf: number;
  work: number;
  pwork: number;
  slots: number;
  stride: number;
}

/** Bytes of an arena's combination work area: the weight sets. */
function workBytes(capacity: number): number {
  return alignUp(16 * capacity * COMBINE_SETS);
}

/** Bytes of an arena's projection work area: the generator state and the per-row partial sums. */
function pworkBytes(capacity: number): number {
  return alignUp(64 + 32 * capacity);
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
