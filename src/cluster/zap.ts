/**
 * The PS's ZAP handler (ZeroMQ RFC 27): libzmq asks it, during every CURVE handshake on the PS's
 * socket, whether the client's long-term public key may connect. It admits exactly the workers'
 * CURVE keys of the run, so a peer without one fails the handshake and never delivers a frame.
 * It lives in the engine's own ZeroMQ context (ZAP is per context, at a fixed inproc address).
 */
import { Router, type Context } from 'zeromq';

/** The ZAP domain the PS's socket declares; requests for any other domain are refused. */
export const ZAP_DOMAIN = 'draco';

export class ZapHandler {
  private readonly loop: Promise<void>;

  private constructor(
    private readonly sock: Router,
    private readonly allowed: Set<string>,
  ) {
    this.loop = this.serve();
  }

  /** Bind the handler in `context`; `allowed` are raw 32-byte CURVE public keys. */
  static async start(context: Context, allowed: readonly Buffer[]): Promise<ZapHandler> {
    const sock = new Router({ context, linger: 0 });
    await sock.bind('inproc://zeromq.zap.01');
    return new ZapHandler(sock, new Set(allowed.map((k) => k.toString('hex'))));
  }

  private async serve(): Promise<void> {
    try {
      for await (const frames of this.sock) {
        // [routing id, empty, version, request id, domain, address, identity, mechanism, credentials...]
        const [id, empty, version, requestId, domain, , , mechanism, key] = frames;
        const ok =
          version?.toString() === '1.0' &&
          domain?.toString() === ZAP_DOMAIN &&
          mechanism?.toString() === 'CURVE' &&
          key !== undefined &&
          key.length === 32 &&
          this.allowed.has(key.toString('hex'));
        await this.sock.send([
          id,
          empty ?? Buffer.alloc(0),
          '1.0',
          requestId ?? Buffer.alloc(0),
          ok ? '200' : '400',
          ok ? 'OK' : 'key not in the run',
          '',
          Buffer.alloc(0),
        ]);
      }
    } catch {
      // Socket closed.
    }
  }

  async close(): Promise<void> {
    this.sock.close();
    await this.loop;
  }
}
