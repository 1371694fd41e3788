/**
 * The draco wire protocol (docs/protocol.md), version 3. One message is a ZeroMQ multipart
 * message of three frames: a 48-byte little-endian header, the payload (raw little-endian vector
 * bytes, or UTF-8 JSON for CONFIG only), and a MAC frame: a fresh random 96-bit nonce followed by
 * the AES-256-GMAC tag (AES-GCM with header || payload as associated data, NIST SP 800-38D). The
 * key is never shared by the cluster: HELLO, CHALLENGE and AUTH use the rank key of the rank in
 * the header (keys.ts), every later frame the session key of its direction, fresh per handshake.
 * Vectors are never JSON: the bytes the worker's typed array holds are the bytes on the wire.
 *
 * Why GMAC and not HMAC-SHA256 (protocol version 1): with AES-NI and carry-less multiply it
 * authenticates several times faster, and a round trip authenticates every byte four times.
 *
 * Parsing never throws: every malformed frame maps to a reason the PS counts.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { UsageError } from '../core/errors.js';
import type { MessageKind } from '../schemes/message.js';

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

export interface Frame {
  header: Header;
  payload: Buffer;
}

/** Byte offsets in the header (docs/protocol.md, "Header"). */
const OFF = {
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

const U32_MAX = 0xffffffff;

function u32(x: number): number {
  return Math.max(0, Math.min(U32_MAX, Math.round(x)));
}

export function encodeHeader(h: Header, payloadBytes: number): Buffer {
  const b = Buffer.alloc(HEADER_BYTES);
  b.writeUInt32LE(MAGIC, OFF.magic);
  b.writeUInt8(VERSION, OFF.version);
  b.writeUInt8(h.type, OFF.type);
  b.writeUInt8(h.dtype, OFF.dtype);
  b.writeUInt8(h.flags & 0xff, OFF.flags);
  b.writeUInt32LE(h.rank >>> 0, OFF.rank);
  b.writeUInt32LE(h.step >>> 0, OFF.step);
  b.writeUInt32LE(payloadBytes >>> 0, OFF.length);
  b.writeUInt32LE(u32(h.computeUs), OFF.computeUs);
  b.writeBigUInt64LE(BigInt.asUintN(64, h.session), OFF.session);
  b.writeDoubleLE(h.lossSum, OFF.lossSum);
  b.writeUInt32LE(u32(h.samples), OFF.samples);
  b.writeUInt32LE(u32(h.encodeUs), OFF.encodeUs);
  return b;
}

/**
 * The MAC frame for header || payload: a fresh random nonce (a 96-bit random nonce may be used for
 * up to 2^32 messages per key, SP 800-38D §8.3) and the GMAC tag.
 */
export function mac(secret: Buffer, header: Buffer, payload: Buffer): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const gcm = createCipheriv('aes-256-gcm', secret, nonce);
  gcm.setAAD(header);
  gcm.setAAD(payload);
  gcm.final();
  return Buffer.concat([nonce, gcm.getAuthTag()]);
}

/** True when `tag` (nonce || tag) authenticates header || payload under `secret`. */
export function verifyMac(secret: Buffer, header: Buffer, payload: Buffer, tag: Buffer): boolean {
  if (tag.byteLength !== MAC_BYTES) return false;
  const gcm = createDecipheriv('aes-256-gcm', secret, tag.subarray(0, NONCE_BYTES));
  gcm.setAAD(header);
  gcm.setAAD(payload);
  gcm.setAuthTag(tag.subarray(NONCE_BYTES));
  try {
    gcm.final(); // throws on a tag mismatch (constant-time compare inside OpenSSL)
    return true;
  } catch {
    return false;
  }
}

/** A typed array's bytes without copying (little-endian on every platform Node runs on). */
export function vecBytes(v: ArrayBufferView): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/** The three frames of one message. */
export function buildMessage(
  secret: Buffer,
  h: Partial<Header> & Pick<Header, 'type'>,
  payload: Buffer = Buffer.alloc(0),
): [Buffer, Buffer, Buffer] {
  const full: Header = {
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
  const header = encodeHeader(full, payload.byteLength);
  return [header, payload, mac(secret, header, payload)];
}

export type ParseResult = { ok: true; frame: Frame } | { ok: false; reason: string };

const KNOWN_TYPES = new Set<number>(Object.values(MsgType));
const KNOWN_DTYPES = new Set<number>(Object.values(Dtype));

/**
 * Check the framing of one received message (its frames, identity removed) and read its header,
 * without the MAC: the receiver needs the type and rank to know which key to check it with
 * (`authentic`). `maxPayload` bounds the payload first, so an oversize frame costs nothing.
 */
export function readFrame(parts: readonly Buffer[], maxPayload: number): ParseResult {
  if (parts.length !== 3) return { ok: false, reason: 'bad frame count' };
  const [header, payload, tag] = parts;
  if (payload.byteLength > maxPayload) return { ok: false, reason: 'oversize' };
  if (header.byteLength !== HEADER_BYTES) return { ok: false, reason: 'bad header size' };
  if (tag.byteLength !== MAC_BYTES) return { ok: false, reason: 'bad mac' };
  if (header.readUInt32LE(OFF.magic) !== MAGIC) return { ok: false, reason: 'bad magic' };
  if (header.readUInt8(OFF.version) !== VERSION) return { ok: false, reason: 'bad version' };
  if (header.readUInt32LE(OFF.length) !== payload.byteLength)
    return { ok: false, reason: 'bad length field' };
  const type = header.readUInt8(OFF.type);
  const dtype = header.readUInt8(OFF.dtype);
  if (!KNOWN_TYPES.has(type)) return { ok: false, reason: 'bad type' };
  if (!KNOWN_DTYPES.has(dtype)) return { ok: false, reason: 'wrong dtype' };
  return {
    ok: true,
    frame: {
      header: {
        type: type as MsgTypeCode,
        dtype: dtype as DtypeCode,
        flags: header.readUInt8(OFF.flags),
        rank: header.readUInt32LE(OFF.rank),
        step: header.readUInt32LE(OFF.step),
        session: header.readBigUInt64LE(OFF.session),
        computeUs: header.readUInt32LE(OFF.computeUs),
        encodeUs: header.readUInt32LE(OFF.encodeUs),
        lossSum: header.readDoubleLE(OFF.lossSum),
        samples: header.readUInt32LE(OFF.samples),
      },
      payload,
    },
  };
}

/** True when the message's MAC frame authenticates its header and payload under `key`. */
export function authentic(parts: readonly Buffer[], key: Buffer): boolean {
  return verifyMac(key, parts[0], parts[1], parts[2]);
}

/** Framing and MAC under one known key (a worker's view of the PS, tests). */
export function parseMessage(parts: readonly Buffer[], key: Buffer, maxPayload: number): ParseResult {
  const r = readFrame(parts, maxPayload);
  if (!r.ok) return r;
  return authentic(parts, key) ? r : { ok: false, reason: 'bad mac' };
}

/**
 * The payload as a typed array of the given dtype. Copies only when the buffer is not aligned
 * for the element size (ZeroMQ buffers usually are).
 */
export function payloadVec(payload: Buffer, dtype: DtypeCode): Float32Array | Float64Array {
  if (dtype === Dtype.UINT8) {
    // Packed sign bits travel as a Uint8Array (what validateMessage expects for sign-bits).
    return new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength) as unknown as Float32Array;
  }
  const size = dtype === Dtype.FLOAT64 ? 8 : 4;
  const Ctor = dtype === Dtype.FLOAT64 ? Float64Array : Float32Array;
  if (payload.byteOffset % size === 0)
    return new Ctor(payload.buffer as ArrayBuffer, payload.byteOffset, payload.byteLength / size);
  const copy = new Uint8Array(payload.byteLength);
  copy.set(payload);
  return new Ctor(copy.buffer);
}

export function dtypeCode(d: MessageKind): DtypeCode {
  return d === 'float64' ? Dtype.FLOAT64 : d === 'sign-bits' ? Dtype.UINT8 : Dtype.FLOAT32;
}

/** Bytes per element of a message dtype. */
export function elementBytes(d: DtypeCode): number {
  return d === Dtype.FLOAT64 ? 8 : d === Dtype.UINT8 ? 1 : 4;
}

/** The wire dtype of a message array. */
export function dtypeOf(v: ArrayBufferView): DtypeCode {
  return v instanceof Float64Array ? Dtype.FLOAT64 : v instanceof Uint8Array ? Dtype.UINT8 : Dtype.FLOAT32;
}

/**
 * A ZeroMQ endpoint the PS can bind (`bind`: the port may be `*`, any free port) or a worker can
 * connect to, or a UsageError naming the problem.
 */
export function checkEndpoint(addr: string, what = 'PS address', bind = false): void {
  const port = bind ? '(\\d{1,5}|\\*)' : '\\d{1,5}';
  const host = bind ? '(\\[[0-9a-fA-F:.]+\\]|[^:/\\s*]+|\\*)' : '(\\[[0-9a-fA-F:.]+\\]|[^:/\\s*]+)';
  const tcp = new RegExp(`^tcp://${host}:${port}$`);
  if (!tcp.test(addr) && !/^ipc:\/\/\S+$/.test(addr)) {
    const example = bind ? 'tcp://0.0.0.0:5555' : 'tcp://10.0.0.1:5555';
    throw new UsageError(`invalid ${what} '${addr}': expected tcp://HOST:PORT, e.g. ${example}`);
  }
  const p = Number(addr.slice(addr.lastIndexOf(':') + 1));
  if (addr.startsWith('tcp://') && !addr.endsWith(':*') && (p < 1 || p > 65535))
    throw new UsageError(`invalid ${what} '${addr}': port must be 1..65535`);
}
