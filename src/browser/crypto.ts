/**
 * The protocol's cryptography for a browser worker (docs/protocol.md "MAC", "Handshake and
 * sessions"): AES-256-GMAC tags over header || payload and the HKDF-SHA256 session keys, giving
 * the bytes node:crypto gives the PS (src/cluster/protocol.ts `mac`, keys.ts `sessionKeys`).
 *
 * WebCrypto where the page has it: browsers expose `crypto.subtle` only to secure contexts
 * (https, or http on localhost). A volunteer opening the PS's plain-http link from another machine
 * has no `crypto.subtle`, so the same functions also run on @noble/ciphers and @noble/hashes
 * (audited pure-JS AES-GCM and HKDF), slower but the same bytes. `cryptoFor` picks.
 */
import { gcm } from '@noble/ciphers/aes.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import type { webcrypto } from 'node:crypto';
import { MAC_BYTES, NONCE_BYTES, TAG_BYTES } from '../cluster/wire.js';

// Types only (erased from the bundle): the project compiles without the DOM library.
type SubtleCrypto = webcrypto.SubtleCrypto;
type BufferSource = webcrypto.BufferSource;

export interface WireCrypto {
  /** 'webcrypto' or 'noble' (what the worker page shows). */
  readonly name: string;
  /** nonce || GMAC tag of `data` under `key` (32 bytes), with a fresh random nonce. */
  mac(key: Uint8Array, data: Uint8Array): Promise<Uint8Array>;
  /** True when `tag` (nonce || tag) authenticates `data` under `key`. */
  verify(key: Uint8Array, data: Uint8Array, tag: Uint8Array): Promise<boolean>;
  /** HKDF-SHA256 of `ikm` with `salt` and `info`, 32 bytes. */
  hkdf32(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array): Promise<Uint8Array>;
}

function nonce(): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
}

function joined(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** The pure-JS implementation (any context). */
export const nobleCrypto: WireCrypto = {
  name: 'noble',
  mac(key, data) {
    const n = nonce();
    // GCM of an empty plaintext is its tag: GMAC with `data` as the associated data.
    return Promise.resolve(joined(n, gcm(key, n, data).encrypt(new Uint8Array(0))));
  },
  verify(key, data, tag) {
    if (tag.length !== MAC_BYTES) return Promise.resolve(false);
    try {
      gcm(key, tag.subarray(0, NONCE_BYTES), data).decrypt(tag.subarray(NONCE_BYTES));
      return Promise.resolve(true);
    } catch {
      return Promise.resolve(false);
    }
  },
  hkdf32(ikm, salt, info) {
    return Promise.resolve(hkdf(sha256, ikm, salt, info, 32));
  },
};

/** WebCrypto (secure contexts): native AES-GCM, several times faster on long payloads. */
export function webCrypto(subtle: SubtleCrypto): WireCrypto {
  const aes = (key: Uint8Array) =>
    subtle.importKey('raw', key as BufferSource, 'AES-GCM', false, ['encrypt', 'decrypt']);
  return {
    name: 'webcrypto',
    async mac(key, data) {
      const n = nonce();
      const tag = await subtle.encrypt(
        {
          name: 'AES-GCM',
          iv: n as BufferSource,
          additionalData: data as BufferSource,
          tagLength: TAG_BYTES * 8,
        },
        await aes(key),
        new Uint8Array(0),
      );
      return joined(n, new Uint8Array(tag));
    },
    async verify(key, data, tag) {
      if (tag.length !== MAC_BYTES) return false;
      try {
        await subtle.decrypt(
          {
            name: 'AES-GCM',
            iv: tag.subarray(0, NONCE_BYTES) as BufferSource,
            additionalData: data as BufferSource,
            tagLength: TAG_BYTES * 8,
          },
          await aes(key),
          tag.subarray(NONCE_BYTES) as BufferSource,
        );
        return true;
      } catch {
        return false;
      }
    },
    async hkdf32(ikm, salt, info) {
      const k = await subtle.importKey('raw', ikm as BufferSource, 'HKDF', false, ['deriveBits']);
      const bits = await subtle.deriveBits(
        { name: 'HKDF', hash: 'SHA-256', salt: salt as BufferSource, info: info as BufferSource },
        k,
        256,
      );
      return new Uint8Array(bits);
    },
  };
}

/** WebCrypto when this context has it, else the pure-JS implementation. */
export function cryptoFor(
  g: { crypto?: { subtle?: SubtleCrypto }; isSecureContext?: boolean } = globalThis as never,
): WireCrypto {
  const subtle = g.crypto?.subtle;
  return subtle !== undefined && g.isSecureContext !== false ? webCrypto(subtle) : nobleCrypto;
}

const utf8 = new TextEncoder();

/**
 * The session's frame keys from the rank key and both handshake nonces (keys.ts `sessionKeys`:
 * HKDF with salt = worker nonce || PS nonce and info = label || session (u64 LE) || rank (u32 LE)).
 */
export async function sessionKeysOf(
  c: WireCrypto,
  rankKey: Uint8Array,
  nonces: Uint8Array,
  session: bigint,
  rank: number,
): Promise<{ up: Uint8Array; down: Uint8Array }> {
  const ctx = new Uint8Array(12);
  const v = new DataView(ctx.buffer);
  v.setBigUint64(0, BigInt.asUintN(64, session), true);
  v.setUint32(8, rank >>> 0, true);
  const derive = (label: string) => c.hkdf32(rankKey, nonces, joined(utf8.encode(label), ctx));
  return { up: await derive('draco/v3/worker-to-ps'), down: await derive('draco/v3/ps-to-worker') };
}
