/**
 * Per-worker identities (docs/protocol.md "Handshake and sessions"). A key set is one PS key and
 * one key per rank. Each party holds two X25519 key pairs:
 * - `curve`: the ZeroMQ CURVE key (CurveZMQ, RFC 26). The PS is the CURVE server; its ZAP handler
 *   admits only the workers' public keys, so a peer without a worker key never gets a frame to the
 *   PS, and every byte on the wire is encrypted and authenticated per connection.
 * - `auth`: the rank key. ZeroMQ cannot tell the application which CURVE key a connection used, so
 *   the rank is proven again in the protocol: `rankKey` = HKDF(X25519(worker, PS)) is known only
 *   to that worker and the PS, keys the handshake's challenge-response, and seeds the per-session
 *   frame keys. A worker holding rank i's key cannot speak for rank j.
 * Two pairs rather than one so that no key is shared between two protocols.
 *
 * The PS's file holds its own secret keys and only the workers' public keys; each worker's file
 * holds its own secret keys and the PS's public keys. Keys are Z85 text (ZeroMQ's encoding,
 * RFC 32) inside small JSON files written with mode 0600.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
} from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { curveKeyPair } from 'zeromq';
import { UsageError } from '../core/errors.js';
import { ioReason, nodeIo, writeAll } from '../core/files.js';

const Z85 = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';
const Z85_INDEX = new Map([...Z85].map((c, i) => [c, i]));

/** Z85 (ZeroMQ RFC 32) of bytes whose length is a multiple of 4. */
export function z85Encode(bytes: Uint8Array): string {
  if (bytes.length % 4 !== 0) throw new Error('z85: length must be a multiple of 4');
  let out = '';
  for (let i = 0; i < bytes.length; i += 4) {
    let v = ((bytes[i] << 24) | (bytes[i + 1] << 16) | (bytes[i + 2] << 8) | bytes[i + 3]) >>> 0;
    let chunk = '';
    for (let j = 0; j < 5; j++) {
      chunk = Z85[v % 85] + chunk;
      v = Math.floor(v / 85);
    }
    out += chunk;
  }
  return out;
}

/** Bytes of a Z85 string, or null when it is not valid Z85. */
export function z85Decode(text: string): Buffer | null {
  if (text.length % 5 !== 0) return null;
  const out = Buffer.alloc((text.length / 5) * 4);
  for (let i = 0; i < text.length; i += 5) {
    let v = 0;
    for (let j = 0; j < 5; j++) {
      const d = Z85_INDEX.get(text[i + j]);
      if (d === undefined) return null;
      v = v * 85 + d;
    }
    if (v > 0xffffffff) return null;
    out.writeUInt32BE(v, (i / 5) * 4);
  }
  return out;
}

/** One X25519 key pair as Z85 text (32-byte keys: 40 characters each). */
export interface KeyPairText {
  public: string;
  secret: string;
}

/** One worker's public keys as the PS stores them. */
export interface WorkerPublicKeys {
  curve: string;
  auth: string;
}

interface PsKeyFile {
  kind: 'draco-ps-key';
  version: 1;
  workers: number;
  curve: KeyPairText;
  auth: KeyPairText;
  workerKeys: WorkerPublicKeys[];
}

interface WorkerKeyFile {
  kind: 'draco-worker-key';
  version: 1;
  rank: number;
  workers: number;
  curve: KeyPairText;
  auth: KeyPairText;
  ps: WorkerPublicKeys;
}

/** The PS's keys, parsed. */
export interface PsKeys {
  workers: number;
  curve: KeyPairText;
  authSecret: KeyObject;
  authPublic: Buffer;
  /** By rank: the CURVE public key (raw, for the ZAP handler) and the rank key. */
  workerCurve: Buffer[];
  rankKeys: Buffer[];
  /** Short fingerprint of the key set (printed by both sides to spot a mix-up). */
  fingerprint: string;
}

/** One worker's keys, parsed. */
export interface WorkerKey {
  rank: number;
  workers: number;
  curve: KeyPairText;
  /** The PS's CURVE public key (Z85): the worker talks only to the holder of its secret. */
  psCurve: string;
  rankKey: Buffer;
  fingerprint: string;
}

/** A whole key set in memory (`draco keys`, and the local engine's per-run keys). */
export interface KeySet {
  ps: PsKeyFile;
  workers: WorkerKeyFile[];
}

function authPair(): KeyPairText {
  const jwk = generateKeyPairSync('x25519').privateKey.export({ format: 'jwk' });
  return {
    public: z85Encode(Buffer.from(jwk.x!, 'base64url')),
    secret: z85Encode(Buffer.from(jwk.d!, 'base64url')),
  };
}

function curvePair(): KeyPairText {
  const k = curveKeyPair();
  return { public: k.publicKey, secret: k.secretKey };
}

/** A fresh key set for `workers` ranks. */
export function generateKeySet(workers: number): KeySet {
  const ps = { curve: curvePair(), auth: authPair() };
  const ws = Array.from({ length: workers }, () => ({ curve: curvePair(), auth: authPair() }));
  return {
    ps: {
      kind: 'draco-ps-key',
      version: 1,
      workers,
      ...ps,
      workerKeys: ws.map((w) => ({ curve: w.curve.public, auth: w.auth.public })),
    },
    workers: ws.map((w, rank) => ({
      kind: 'draco-worker-key',
      version: 1,
      rank,
      workers,
      ...w,
      ps: { curve: ps.curve.public, auth: ps.auth.public },
    })),
  };
}

export const PS_KEY_FILE = 'ps.key';
export const workerKeyFile = (rank: number) => `worker-${rank}.key`;

/**
 * Create `path` holding `text`, mode 0600, never over an existing file (a running cluster's keys
 * are not replaced by accident). A write that fails leaves no file behind to block the next try.
 */
export function writeNewSecretFile(path: string, text: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (e) {
    throw new UsageError(
      (e as NodeJS.ErrnoException).code === 'EEXIST'
        ? `${path} already exists: keys are never overwritten (choose another --out or remove the old keys)`
        : `cannot write ${path}: ${ioReason(e)}`,
    );
  }
  try {
    writeAll(nodeIo, fd, [Buffer.from(text, 'utf8')]);
  } catch (e) {
    closeSync(fd);
    unlinkSync(path);
    throw new UsageError(`cannot write ${path}: ${ioReason(e)}`);
  }
  closeSync(fd);
}

/** Write `ps.key` and `worker-<i>.key` into `dir` (writeNewSecretFile). Returns their paths. */
export function writeKeySet(dir: string, set: KeySet): string[] {
  const files: [string, string][] = [
    [PS_KEY_FILE, JSON.stringify(set.ps, null, 2) + '\n'],
    ...set.workers.map((w): [string, string] => [workerKeyFile(w.rank), JSON.stringify(w, null, 2) + '\n']),
  ];
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new UsageError(`cannot create key folder ${dir}: ${ioReason(e)}`);
  }
  return files.map(([name, text]) => {
    const path = join(dir, name);
    writeNewSecretFile(path, text);
    return path;
  });
}

function keyBytes(text: unknown, what: string, where: string): Buffer {
  const b = typeof text === 'string' ? z85Decode(text) : null;
  if (b === null || b.length !== 32) throw new UsageError(`${where}: ${what} is not a 32-byte Z85 key`);
  return b;
}

function pairOf(v: unknown, what: string, where: string): KeyPairText {
  const p = v as Partial<KeyPairText> | undefined;
  keyBytes(p?.public, `${what}.public`, where);
  keyBytes(p?.secret, `${what}.secret`, where);
  return { public: p!.public!, secret: p!.secret! };
}

function x25519Private(secret: Buffer, pub: Buffer): KeyObject {
  return createPrivateKey({
    key: { kty: 'OKP', crv: 'X25519', d: secret.toString('base64url'), x: pub.toString('base64url') },
    format: 'jwk',
  });
}

function x25519Public(pub: Buffer): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: pub.toString('base64url') }, format: 'jwk' });
}

/**
 * The rank key shared by rank `rank` and the PS: HKDF-SHA256 of their X25519 secret, bound to the
 * rank and both public keys (the same key pair listed for two ranks still gives two keys).
 */
export function rankKey(
  mine: KeyObject,
  theirs: Buffer,
  rank: number,
  psAuth: Buffer,
  workerAuth: Buffer,
): Buffer {
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey: mine, publicKey: x25519Public(theirs) });
  } catch {
    throw new UsageError(`rank ${rank}: the public key is not a valid X25519 key`);
  }
  if (shared.every((b) => b === 0)) throw new UsageError(`rank ${rank}: the public key is a low-order point`);
  const info = Buffer.alloc(4);
  info.writeUInt32LE(rank);
  return Buffer.from(
    hkdfSync('sha256', shared, 'draco/v3/rank-key', Buffer.concat([info, psAuth, workerAuth]), 32),
  );
}

/**
 * Frame keys of one authenticated session, one per direction, from the rank key and both fresh
 * nonces: every session has its own keys, so frames of an earlier session never verify.
 */
export function sessionKeys(
  rankKeyBytes: Buffer,
  workerNonce: Buffer,
  psNonce: Buffer,
  session: bigint,
  rank: number,
): { up: Buffer; down: Buffer } {
  const ctx = Buffer.alloc(12);
  ctx.writeBigUInt64LE(BigInt.asUintN(64, session), 0);
  ctx.writeUInt32LE(rank, 8);
  const salt = Buffer.concat([workerNonce, psNonce]);
  const derive = (label: string) =>
    Buffer.from(hkdfSync('sha256', rankKeyBytes, salt, Buffer.concat([Buffer.from(label), ctx]), 32));
  return { up: derive('draco/v3/worker-to-ps'), down: derive('draco/v3/ps-to-worker') };
}

function fingerprintOf(psCurve: string, psAuth: string): string {
  return createHash('sha256').update(`${psCurve}/${psAuth}`).digest('hex').slice(0, 16);
}

function readJson(path: string, what: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${what} ${path}: ${ioReason(e)}`);
  }
  return parseJson(text, `${what} ${path}`);
}

function parseJson(text: string, where: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new UsageError(`${where} is not a draco key file (not JSON)`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new UsageError(`${where} is not a draco key file`);
  return v as Record<string, unknown>;
}

/** The PS's keys from a parsed `ps.key`. */
export function psKeysFrom(f: Record<string, unknown>, where: string): PsKeys {
  if (f.kind !== 'draco-ps-key') {
    throw new UsageError(
      f.kind === 'draco-worker-key'
        ? `${where} is a worker key; the PS needs ps.key from \`draco keys\``
        : `${where} is not a draco PS key (kind ${JSON.stringify(f.kind)})`,
    );
  }
  if (f.version !== 1)
    throw new UsageError(`${where}: unsupported key file version ${JSON.stringify(f.version)}`);
  const workers = f.workers;
  const list = f.workerKeys;
  if (
    !Number.isInteger(workers) ||
    !Array.isArray(list) ||
    list.length !== workers ||
    (workers as number) < 1
  )
    throw new UsageError(`${where}: workers and workerKeys do not match`);
  const curve = pairOf(f.curve, 'curve', where);
  const auth = pairOf(f.auth, 'auth', where);
  const authPublic = keyBytes(auth.public, 'auth.public', where);
  const authSecret = x25519Private(keyBytes(auth.secret, 'auth.secret', where), authPublic);
  const ws = list as Partial<WorkerPublicKeys>[];
  return {
    workers: workers as number,
    curve,
    authSecret,
    authPublic,
    workerCurve: ws.map((w, i) => keyBytes(w.curve, `workerKeys[${i}].curve`, where)),
    rankKeys: ws.map((w, i) => {
      const wa = keyBytes(w.auth, `workerKeys[${i}].auth`, where);
      return rankKey(authSecret, wa, i, authPublic, wa);
    }),
    fingerprint: fingerprintOf(curve.public, auth.public),
  };
}

/** One worker's keys from a parsed `worker-<i>.key`. */
export function workerKeyFrom(f: Record<string, unknown>, where: string): WorkerKey {
  if (f.kind !== 'draco-worker-key') {
    throw new UsageError(
      f.kind === 'draco-ps-key'
        ? `${where} is the PS's key; a worker needs its own worker-<rank>.key`
        : `${where} is not a draco worker key (kind ${JSON.stringify(f.kind)})`,
    );
  }
  if (f.version !== 1)
    throw new UsageError(`${where}: unsupported key file version ${JSON.stringify(f.version)}`);
  if (!Number.isInteger(f.rank) || (f.rank as number) < 0 || !Number.isInteger(f.workers))
    throw new UsageError(`${where}: no valid rank`);
  const rank = f.rank as number;
  const curve = pairOf(f.curve, 'curve', where);
  const auth = pairOf(f.auth, 'auth', where);
  const ps = f.ps as Partial<WorkerPublicKeys> | undefined;
  const psCurve = keyBytes(ps?.curve, 'ps.curve', where);
  const psAuth = keyBytes(ps?.auth, 'ps.auth', where);
  const authPublic = keyBytes(auth.public, 'auth.public', where);
  const secret = x25519Private(keyBytes(auth.secret, 'auth.secret', where), authPublic);
  return {
    rank,
    workers: f.workers as number,
    curve,
    psCurve: z85Encode(psCurve),
    rankKey: rankKey(secret, psAuth, rank, psAuth, authPublic),
    fingerprint: fingerprintOf(ps!.curve!, ps!.auth!),
  };
}

export function readPsKeys(path: string): PsKeys {
  return psKeysFrom(readJson(path, 'PS key file'), `PS key file ${path}`);
}

export function readWorkerKey(path: string): WorkerKey {
  return workerKeyFrom(readJson(path, 'worker key file'), `worker key file ${path}`);
}

/** A worker key given as the file's text (the local engine passes it in the environment). */
export function parseWorkerKey(text: string, where: string): WorkerKey {
  return workerKeyFrom(parseJson(text, where), where);
}

/** The PS's parsed keys of an in-memory key set (each worker's file text is `JSON.stringify(set.workers[i])`). */
export function psKeysOf(set: KeySet): PsKeys {
  return psKeysFrom(set.ps as unknown as Record<string, unknown>, 'generated key set');
}
