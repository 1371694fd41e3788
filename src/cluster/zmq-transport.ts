/**
 * The ZeroMQ transport: the PS is a ROUTER and CURVE server whose ZAP handler (zap.ts) admits
 * only the run's worker keys; each worker is a DEALER and CURVE client that checks the PS's key.
 * Sizes are bounded by ZeroMQ itself: a frame beyond `maxMessageSize` drops the connection before
 * it is buffered whole, and at most `receiveHighWaterMark` messages queue per peer.
 */
import { Context, Dealer, Router } from 'zeromq';
import type { ClientTransport, ServerTransport } from './transport.js';
import { ZAP_DOMAIN, ZapHandler } from './zap.js';

export interface ZmqServerOptions {
  /** The PS's CURVE key pair (Z85 text). */
  curve: { public: string; secret: string };
  /** The workers' CURVE public keys the ZAP handler admits. */
  admit: readonly Buffer[];
  maxMessageSize: number;
  receiveHighWaterMark: number;
}

export class ZmqServer implements ServerTransport {
  private readonly context = new Context();
  private readonly sock: Router;
  private zap: ZapHandler | null = null;

  constructor(private readonly o: ZmqServerOptions) {
    this.sock = new Router({
      context: this.context,
      linger: 0,
      sendHighWaterMark: 0,
      receiveHighWaterMark: o.receiveHighWaterMark,
      maxMessageSize: o.maxMessageSize,
      curveServer: true,
      curvePublicKey: o.curve.public,
      curveSecretKey: o.curve.secret,
      zapDomain: ZAP_DOMAIN,
    });
  }

  async bind(address: string): Promise<string> {
    this.zap = await ZapHandler.start(this.context, this.o.admit);
    try {
      await this.sock.bind(address);
    } catch (e) {
      await this.zap.close();
      this.zap = null;
      throw e;
    }
    return this.sock.lastEndpoint ?? address;
  }

  send(peer: Buffer, frames: Buffer[]): Promise<void> {
    return this.sock.send([peer, ...frames]);
  }

  async *messages(): AsyncIterable<[Buffer, Buffer[]]> {
    try {
      for await (const [id, ...parts] of this.sock) yield [id, parts];
    } catch {
      // Socket closed.
    }
  }

  async *refusals(): AsyncIterable<'key' | 'protocol'> {
    try {
      for await (const e of this.sock.events) {
        if (e.type === 'handshake:error:auth') yield 'key';
        else if (e.type === 'handshake:error:protocol' || e.type === 'handshake:error:other')
          yield 'protocol';
      }
    } catch {
      // Socket closed.
    }
  }

  async close(flushMs: number): Promise<void> {
    // linger is 0 during the run so that nothing blocks a crash exit; let the last frames leave.
    this.sock.linger = flushMs;
    this.sock.close();
    await this.zap?.close();
  }
}

export interface ZmqClientOptions {
  /** The worker's CURVE key pair and the PS's public key it insists on. */
  curve: { public: string; secret: string };
  serverKey: string;
  maxMessageSize: number;
}

export class ZmqClient implements ClientTransport {
  private readonly sock: Dealer;

  constructor(o: ZmqClientOptions) {
    this.sock = new Dealer({
      linger: 0,
      receiveHighWaterMark: 0,
      sendHighWaterMark: 0,
      maxMessageSize: o.maxMessageSize,
      curveServerKey: o.serverKey,
      curvePublicKey: o.curve.public,
      curveSecretKey: o.curve.secret,
    });
  }

  connect(address: string): void {
    this.sock.connect(address);
  }

  send(frames: Buffer[]): Promise<void> {
    return this.sock.send(frames);
  }

  async *messages(): AsyncIterable<Buffer[]> {
    for await (const parts of this.sock) yield parts;
  }

  async *handshakes(): AsyncIterable<'ok' | 'refused' | 'failed'> {
    try {
      for await (const e of this.sock.events) {
        if (e.type === 'handshake') yield 'ok';
        else if (e.type === 'handshake:error:auth') yield 'refused';
        else if (e.type === 'handshake:error:protocol' || e.type === 'handshake:error:other') yield 'failed';
      }
    } catch {
      // Socket closed.
    }
  }

  close(): void {
    this.sock.close();
  }
}
