/**
 * The draco wire format's constants and its 48-byte header (docs/protocol.md "Header"), on
 * DataView alone: the Node side (protocol.ts, with Buffers and node:crypto's MACs) and a browser
 * worker (src/browser/volunteer.ts, with WebCrypto) read and write headers with these same
 * functions, so the two cannot drift apart.
 */

export const MAGIC = 0x4f435244; // 'DRCO' little-endian
export const VERSION = 3;
export const HEADER_BYTES = 48;
/** MAC frame: nonce then tag. */
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
export const MAC_BYTES = NONCE_BYTES + TAG_BYTES;

export const MsgType = {
  /** worker -> PS: "I am rank i", a fresh 32-byte worker nonce; MAC under the rank key. */
  HELLO: 1,
  /** PS -> worker (after AUTH): the run's resolved config as UTF-8 JSON. */
  CONFIG: 2,
  /** worker -> PS: set-up done, ready for STEP. */
  READY: 3,
  /** PS -> worker: float32 parameters of step `step`. */
  STEP: 4,
  /** worker -> PS: the worker's message for `step` (float32 or float64). */
  GRAD: 5,
  /** PS -> worker: the run is over, exit. */
  BYE: 6,
  /** bench transport: echo request / reply (payload returned as is). */
  ECHO: 7,
  /** PS -> worker: the worker's nonce then a fresh 32-byte PS nonce; MAC under the rank key. */
  CHALLENGE: 8,
  /** worker -> PS: both nonces back; MAC under the rank key. Proves the rank key, freshly. */
  AUTH: 9,
  /** PS -> worker: another connection authenticated as this rank; this one is dropped. */
  EVICT: 10,
  /** worker -> PS and back: keep-alive within a session (a PS that lost the session stays silent). */
  PING: 11,
  PONG: 12,
  /**
   * PS -> browser worker, before STEP: the samples of the rank's partitions at `step`
   * (samples.ts). A volunteer holds no dataset; it gets only what it is assigned.
   */
  DATA: 13,
} as const;
export type MsgTypeCode = (typeof MsgType)[keyof typeof MsgType];

/** UINT8 carries packed sign bits (`sign-bits` messages). */
export const Dtype = { NONE: 0, FLOAT32: 1, FLOAT64: 2, UTF8: 3, UINT8: 4 } as const;
export type DtypeCode = (typeof Dtype)[keyof typeof Dtype];

/** Flag bits. */
export const FLAG_POISONED = 1;

export interface Header {
  type: MsgTypeCode;
  dtype: DtypeCode;
  flags: number;
  rank: number;
  step: number;
  /** Random per PS run; a worker echoes it, so frames of another run are rejected. */
  session: bigint;
  /** GRAD: gradient / encode time in microseconds (what the worker reports). */
  computeUs: number;
  encodeUs: number;
  /** GRAD: summed training loss and sample count of the worker's (honest) computation. */
  lossSum: number;
  samples: number;
}

/** Byte offsets in the header (docs/protocol.md, "Header"). */
export const OFF = {
  magic: 0,
  version: 4,
  type: 5,
  dtype: 6,
  flags: 7,
  rank: 8,
  step: 12,
  length: 16,
  computeUs: 20,
  session: 24,
  lossSum: 32,
  samples: 40,
  encodeUs: 44,
} as const;

/** Bytes per element of a message dtype. */
export function elementBytes(d: DtypeCode): number {
  return d === Dtype.FLOAT64 ? 8 : d === Dtype.UINT8 ? 1 : 4;
}

/** The wire dtype of a message array. */
export function dtypeOf(v: ArrayBufferView): DtypeCode {
  return v instanceof Float64Array ? Dtype.FLOAT64 : v instanceof Uint8Array ? Dtype.UINT8 : Dtype.FLOAT32;
}

/** The close reason of a volunteer's socket when the run ended (it may arrive before BYE). */
export const RUN_OVER = 'the run is over';

const U32_MAX = 0xffffffff;

function u32(x: number): number {
  return Math.max(0, Math.min(U32_MAX, Math.round(x)));
}

/** Write `h` (with the payload's length) into the HEADER_BYTES bytes of `v`. */
export function writeHeader(v: DataView, h: Header, payloadBytes: number): void {
  v.setUint32(OFF.magic, MAGIC, true);
  v.setUint8(OFF.version, VERSION);
  v.setUint8(OFF.type, h.type);
  v.setUint8(OFF.dtype, h.dtype);
  v.setUint8(OFF.flags, h.flags & 0xff);
  v.setUint32(OFF.rank, h.rank >>> 0, true);
  v.setUint32(OFF.step, h.step >>> 0, true);
  v.setUint32(OFF.length, payloadBytes >>> 0, true);
  v.setUint32(OFF.computeUs, u32(h.computeUs), true);
  v.setBigUint64(OFF.session, BigInt.asUintN(64, h.session), true);
  v.setFloat64(OFF.lossSum, h.lossSum, true);
  v.setUint32(OFF.samples, u32(h.samples), true);
  v.setUint32(OFF.encodeUs, u32(h.encodeUs), true);
}

/** A header with every field but `type` defaulted (no dtype, flags, rank, step or session). */
export function fullHeader(h: Partial<Header> & Pick<Header, 'type'>): Header {
  return {
    dtype: Dtype.NONE,
    flags: 0,
    rank: 0,
    step: 0,
    session: 0n,
    computeUs: 0,
    encodeUs: 0,
    lossSum: 0,
    samples: 0,
    ...h,
  };
}

const KNOWN_TYPES = new Set<number>(Object.values(MsgType));
const KNOWN_DTYPES = new Set<number>(Object.values(Dtype));

/**
 * The header in `v` (HEADER_BYTES bytes) for a payload of `payloadBytes`, or why it is not a
 * header of this protocol. Never throws.
 */
export function readHeader(
  v: DataView,
  payloadBytes: number,
): { ok: true; header: Header } | { ok: false; reason: string } {
  if (v.byteLength !== HEADER_BYTES) return { ok: false, reason: 'bad header size' };
  if (v.getUint32(OFF.magic, true) !== MAGIC) return { ok: false, reason: 'bad magic' };
  if (v.getUint8(OFF.version) !== VERSION) return { ok: false, reason: 'bad version' };
  if (v.getUint32(OFF.length, true) !== payloadBytes) return { ok: false, reason: 'bad length field' };
  const type = v.getUint8(OFF.type);
  const dtype = v.getUint8(OFF.dtype);
  if (!KNOWN_TYPES.has(type)) return { ok: false, reason: 'bad type' };
  if (!KNOWN_DTYPES.has(dtype)) return { ok: false, reason: 'wrong dtype' };
  return {
    ok: true,
    header: {
      type: type as MsgTypeCode,
      dtype: dtype as DtypeCode,
      flags: v.getUint8(OFF.flags),
      rank: v.getUint32(OFF.rank, true),
      step: v.getUint32(OFF.step, true),
      session: v.getBigUint64(OFF.session, true),
      computeUs: v.getUint32(OFF.computeUs, true),
      encodeUs: v.getUint32(OFF.encodeUs, true),
      lossSum: v.getFloat64(OFF.lossSum, true),
      samples: v.getUint32(OFF.samples, true),
    },
  };
}

/** The declared payload length of a header (to split a frame that arrives as one byte string). */
export function declaredLength(v: DataView): number {
  return v.getUint32(OFF.length, true);
}

/** What a worker's GRAD header says about its message (worker-step.ts `WorkerOutput`). */
export function gradHeader(
  out: {
    message: ArrayBufferView;
    poisoned: boolean;
    computeMs: number;
    encodeMs: number;
    lossSum: number;
    samples: number;
  },
  step: number,
): Partial<Header> & Pick<Header, 'type'> {
  return {
    type: MsgType.GRAD,
    dtype: dtypeOf(out.message),
    flags: out.poisoned ? FLAG_POISONED : 0,
    step,
    computeUs: out.computeMs * 1000,
    encodeUs: out.encodeMs * 1000,
    lossSum: out.lossSum,
    samples: out.samples,
  };
}
