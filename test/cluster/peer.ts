/**
 * A hand-driven peer of the PS for tests: a ZeroMQ DEALER with some worker's CURVE key (or any
 * key), which can run the handshake step by step, replay what it captured, and speak for any rank
 * it likes. It is what an insider (a worker holding a valid key) or a fuzzer can do.
 */
import { randomBytes } from 'node:crypto';
import { curveKeyPair, Dealer } from 'zeromq';
import { parseWorkerKey, sessionKeys, type KeySet, type WorkerKey } from '../../src/cluster/keys.js';
import {
  buildMessage,
  MsgType,
  parseMessage,
  readFrame,
  type Frame,
  type Header,
} from '../../src/cluster/protocol.js';

import { waitFor } from './procs.js';

export { waitFor };

/** Worker `rank`'s parsed key from a key set. */
export function workerKey(set: KeySet, rank: number): WorkerKey {
  return parseWorkerKey(JSON.stringify(set.workers[rank]), `test key ${rank}`);
}

export interface Session {
  rank: number;
  session: bigint;
  up: Buffer;
  down: Buffer;
  /** The frames this peer sent to get the session (for replays). */
  sent: Buffer[][];
  /** The CONFIG frame it received. */
  config: Frame;
}

export class Peer {
  readonly inbox: Buffer[][] = [];
  private readonly sock: Dealer;
  private readonly reading: Promise<void>;

  /**
   * Connect to `endpoint` as the holder of `key`'s CURVE key. `curve` overrides the CURVE key pair
   * (an outsider's key); the PS's public key always comes from `psCurve`.
   */
  constructor(
    endpoint: string,
    readonly key: WorkerKey,
    curve?: { publicKey: string; secretKey: string },
  ) {
    const c = curve ?? { publicKey: key.curve.public, secretKey: key.curve.secret };
    const sock = new Dealer({
      linger: 0,
      curveServerKey: key.psCurve,
      curvePublicKey: c.publicKey,
      curveSecretKey: c.secretKey,
    });
    sock.connect(endpoint);
    this.sock = sock;
    this.reading = (async () => {
      try {
        for await (const parts of sock) this.inbox.push(parts);
      } catch {
        // closed
      }
    })();
  }

  /** A peer with a fresh CURVE key that is in no key set. */
  static outsider(endpoint: string, like: WorkerKey): Peer {
    return new Peer(endpoint, like, curveKeyPair());
  }

  send(frames: Buffer[]): Promise<void> {
    return this.sock.send(frames);
  }

  /** The next frame from the PS (raw), or an assertion-friendly error after `ms`. */
  async next(ms = 5000): Promise<Buffer[]> {
    if (!(await waitFor(() => this.inbox.length > 0, ms))) throw new Error('nothing from the PS');
    return this.inbox.shift()!;
  }

  /** The next frame, checked under `key` (the rank key for CHALLENGE, else the session's down key). */
  async nextFrame(key: Buffer, ms = 5000): Promise<Frame> {
    const r = parseMessage(await this.next(ms), key, 1 << 30);
    if (!r.ok) throw new Error(`bad frame from the PS: ${r.reason}`);
    return r.frame;
  }

  /** HELLO as `rank` (MAC under this peer's own rank key, whatever rank it claims). */
  hello(rank = this.key.rank, nonce = randomBytes(32)): Buffer[] {
    return buildMessage(this.key.rankKey, { type: MsgType.HELLO, rank }, nonce);
  }

  /** Run the whole handshake as this key's rank and read the CONFIG. */
  async handshake(): Promise<Session> {
    const rank = this.key.rank;
    const sent: Buffer[][] = [];
    const hello = this.hello();
    sent.push(hello);
    await this.send(hello);
    const ch = await this.nextFrame(this.key.rankKey);
    if (ch.header.type !== MsgType.CHALLENGE)
      throw new Error(`expected CHALLENGE, got type ${ch.header.type}`);
    const auth = buildMessage(
      this.key.rankKey,
      { type: MsgType.AUTH, rank, session: ch.header.session },
      Buffer.from(ch.payload),
    );
    sent.push(auth);
    await this.send(auth);
    const k = sessionKeys(
      this.key.rankKey,
      ch.payload.subarray(0, 32),
      ch.payload.subarray(32),
      ch.header.session,
      rank,
    );
    const config = await this.nextFrame(k.down);
    if (config.header.type !== MsgType.CONFIG)
      throw new Error(`expected CONFIG, got type ${config.header.type}`);
    return { rank, session: ch.header.session, up: k.up, down: k.down, sent, config };
  }

  /** A frame under a session's up key (any rank and type the caller likes). */
  static up(s: Session, h: Partial<Header> & Pick<Header, 'type'>, payload?: Buffer): Buffer[] {
    return buildMessage(s.up, { rank: s.rank, session: s.session, ...h }, payload);
  }

  /** Header of a raw frame without checking its MAC. */
  static peek(parts: Buffer[]): Header | null {
    const r = readFrame(parts, 1 << 30);
    return r.ok ? r.frame.header : null;
  }

  async close(): Promise<void> {
    this.sock.close();
    await this.reading;
  }
}
