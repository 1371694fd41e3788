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

import {
  Dtype,
  fullHeader,
  HEADER_BYTES,
  MAC_BYTES,
  NONCE_BYTES,
  readHeader,
  writeHeader,
  type DtypeCode,
  type Header,
} from './wire.js';

export * from './wire.js';

export interface Frame {
  header: Header;
  payload: Buffer;
}

export function encodeHeader(h: Header, payloadBytes: number): Buffer {
  const b = Buffer.alloc(HEADER_BYTES);
  writeHeader(new DataView(b.buffer, b.byteOffset, HEADER_BYTES), h, payloadBytes);
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
  const header = encodeHeader(fullHeader(h), payload.byteLength);
  return [header, payload, mac(secret, header, payload)];
}

export type ParseResult = { ok: true; frame: Frame } | { ok: false; reason: string };

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
  const r = readHeader(new DataView(header.buffer, header.byteOffset, HEADER_BYTES), payload.byteLength);
  return r.ok ? { ok: true, frame: { header: r.header, payload } } : r;
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
