/**
 * The volunteer desk (docs/volunteers.md): the PS's HTTP server for browser workers. It serves
 * the worker page and its assets (all from this install: no network at view time) and a
 * WebSocket endpoint, and is the transport (transport.ts) those sockets speak the protocol over.
 *
 * Admission: a socket is accepted only with the run's join token (the link the PS prints). It is
 * then leased a free rank, one of the ranks open to volunteers that no connection holds, with a
 * fresh random 32-byte key sent to it once; that key is the rank key of the handshake (HELLO,
 * CHALLENGE, AUTH) for this socket alone, and dies with it. So a tab can speak only for the rank it
 * was leased, a closed tab's key opens nothing later, and a Node worker's key file is never shown
 * to a browser. A socket that closes ends its lease: the engine counts the rank's missing messages
 * as erasures, and the rank is free for the next tab.
 *
 * One WebSocket message is one protocol message, header || payload || MAC: split here into the
 * three frames the engine checks, exactly as ZeroMQ delivers them.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { listenHttp } from '../core/http.js';
import type { ServerTransport } from './transport.js';
import { declaredLength, HEADER_BYTES, MAC_BYTES, RUN_OVER } from './wire.js';

/** A file the page loads. */
export interface Asset {
  type: string;
  body: Buffer;
}

export interface VolunteerDeskOptions {
  /** The run's size and the ranks volunteers may take (ascending: the lowest free one is leased). */
  workers: number;
  ranks: readonly number[];
  /** Where to listen (port 0: any free port). */
  host: string;
  port: number;
  /** The join token (default: 16 random bytes, base64url). */
  token?: string;
  /** What a tab needs to build its model before it has data. */
  dataset: { name: string; inputShape: number[]; numClasses: number };
  /** The page and its assets by URL path ('/' the page). */
  assets: () => Promise<Map<string, Asset>>;
  /** Largest WebSocket message accepted (a GRAD with its header and MAC, with room to spare). */
  maxMessageBytes: number;
  /**
   * Ranks one network address may hold at once (default: no limit). A cap on what one machine
   * can take, not a defence against an adversary with many addresses (docs/volunteers.md).
   */
  perAddress?: number;
}

/** Peer ids of volunteer sockets start with this byte (ZeroMQ's generated routing ids start with 0). */
const VOLUNTEER_ID = 0xff;

/** How long a tab that found no free rank waits before it asks again. */
const RETRY_MS = 3000;

/** Path of the volunteers' WebSocket endpoint. */
export const VOLUNTEER_SOCKET_PATH = '/volunteer/ws';

interface Lease {
  rank: number;
  key: Buffer;
  socket: WebSocket;
  id: Buffer;
  /** Its messages received and not yet taken by the engine. */
  queued: number;
  /** The peer's network address. */
  address: string;
}

/**
 * Messages one socket may have waiting for the engine; beyond, the socket is closed (an honest
 * worker has one or two in flight: what ZeroMQ's receive high-water mark bounds for the others).
 */
const MAX_QUEUED = 16;

export class VolunteerDesk implements ServerTransport {
  readonly token: string;
  /** The page's base URL once listening (the link printed adds `?token=`). */
  url = '';
  /** Leases given and ended since the start, for the operator and tests. */
  readonly totals = { leased: 0, left: 0, full: 0, refusedToken: 0 };
  private readonly leases = new Map<string, Lease>();
  private readonly byRank = new Map<number, Lease>();
  private server: Server | null = null;
  private wss: WebSocketServer | null = null;
  private assets: Map<string, Asset> | null = null;
  private nextId = 0;
  private readonly inbox: [Lease, Buffer[]][] = [];
  private wake: (() => void) | null = null;
  private closed = false;
  /** Set by the engine: is `rank` held by a connection other than a volunteer's (a Node worker)? */
  heldElsewhere: (rank: number) => boolean = () => false;
  /** Set by the engine: a volunteer's socket closed while it held `rank` (peer id given). */
  onLeave: (id: Buffer, rank: number) => void = () => undefined;
  /** Set by the CLI: one line per join and leave. */
  log: (line: string) => void = () => undefined;

  constructor(private readonly o: VolunteerDeskOptions) {
    this.token = o.token ?? randomBytes(16).toString('base64url');
  }

  /** Is this peer id one of this desk's sockets? */
  static isVolunteer(id: Buffer): boolean {
    return id.length > 0 && id[0] === VOLUNTEER_ID;
  }

  /** The key `id` must prove `rank` with: its lease's, or null (not leased that rank). */
  leaseKey(id: Buffer, rank: number): Buffer | null {
    const l = this.leases.get(id.toString('hex'));
    return l !== undefined && l.rank === rank ? l.key : null;
  }

  /** Ranks held by a volunteer now. */
  get leasedRanks(): number[] {
    return [...this.byRank.keys()].sort((a, b) => a - b);
  }

  /** Listening on every interface (0.0.0.0 or ::): other machines reach it by this one's addresses. */
  get listensEverywhere(): boolean {
    return this.o.host === '0.0.0.0' || this.o.host === '::';
  }

  /** The link a volunteer opens. */
  get joinLink(): string {
    return `${this.url}?token=${this.token}`;
  }

  /** Start the HTTP server (`address` is ignored: the desk listens on its own host and port). */
  async bind(_address?: string): Promise<string> {
    this.assets = await this.o.assets();
    const server = createServer((req, res) => this.page(req, res));
    this.server = server;
    const wss = new WebSocketServer({ noServer: true, maxPayload: this.o.maxMessageBytes });
    this.wss = wss;
    server.on('upgrade', (req, sock, head) => {
      const u = new URL(req.url ?? '/', 'http://x');
      if (u.pathname !== VOLUNTEER_SOCKET_PATH || !this.tokenOk(u.searchParams.get('token'))) {
        this.totals.refusedToken++;
        sock.end('HTTP/1.1 403 Forbidden\r\nconnection: close\r\n\r\n');
        return;
      }
      wss.handleUpgrade(req, sock, head, (ws) => this.admit(ws, req.socket.remoteAddress ?? ''));
    });
    const url = new URL(await listenHttp(server, this.o.host, this.o.port, 'volunteers'));
    // Listening on every interface: the link for this machine is the loopback one.
    if (this.listensEverywhere) url.hostname = '127.0.0.1';
    this.url = url.toString();
    return this.url;
  }

  send(peer: Buffer, frames: Buffer[]): Promise<void> {
    const l = this.leases.get(peer.toString('hex'));
    if (l === undefined || l.socket.readyState !== l.socket.OPEN) return Promise.resolve();
    return new Promise((resolve) => l.socket.send(Buffer.concat(frames), () => resolve()));
  }

  async *messages(): AsyncIterable<[Buffer, Buffer[]]> {
    while (!this.closed || this.inbox.length > 0) {
      const m = this.inbox.shift();
      if (m !== undefined) {
        m[0].queued--;
        yield [m[0].id, m[1]];
      } else await new Promise<void>((r) => (this.wake = r));
    }
  }

  async *refusals(): AsyncIterable<'key' | 'protocol'> {
    // Refused tokens never reach the protocol; they are counted in `totals`.
  }

  async close(flushMs: number): Promise<void> {
    await new Promise((r) => setTimeout(r, Math.min(flushMs, 200)));
    this.closed = true;
    this.wake?.();
    for (const l of this.leases.values()) l.socket.close(1000, RUN_OVER);
    this.wss?.close();
    const server = this.server;
    this.server = null;
    if (server !== null) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    }
  }

  private tokenOk(given: string | null): boolean {
    if (given === null) return false;
    const a = Buffer.from(given);
    const b = Buffer.from(this.token);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /** A socket with the token: lease it the lowest free rank, or tell it to come back later. */
  private admit(ws: WebSocket, address: string): void {
    const rank = this.o.ranks.find((r) => !this.byRank.has(r) && !this.heldElsewhere(r));
    const cap = this.o.perAddress ?? Infinity;
    const held = [...this.leases.values()].filter((l) => l.address === address).length;
    const why =
      held >= cap
        ? `this address already holds ${held} rank${held === 1 ? '' : 's'}, the most the PS gives one address; waiting for one to free up`
        : rank === undefined
          ? `every rank open to volunteers is taken (${this.o.ranks.length}); waiting for one to free up`
          : null;
    if (why !== null || rank === undefined) {
      this.totals.full++;
      ws.send(JSON.stringify({ kind: 'full', retryMs: RETRY_MS, message: why }));
      ws.close(1000, 'no free rank');
      return;
    }
    const id = Buffer.alloc(9);
    id[0] = VOLUNTEER_ID;
    id.writeBigUInt64BE(BigInt(this.nextId++), 1);
    const lease: Lease = { rank, key: randomBytes(32), socket: ws, id, queued: 0, address };
    const hex = id.toString('hex');
    this.leases.set(hex, lease);
    this.byRank.set(rank, lease);
    this.totals.leased++;
    this.log(
      `volunteer joined as rank ${rank} (${this.byRank.size} of ${this.o.ranks.length} volunteer ranks taken)`,
    );
    ws.send(
      JSON.stringify({
        kind: 'lease',
        rank,
        key: lease.key.toString('base64'),
        workers: this.o.workers,
        dataset: this.o.dataset,
      }),
    );
    ws.on('message', (data: Buffer, binary: boolean) => {
      if (!binary || this.closed) return;
      if (++lease.queued > MAX_QUEUED) {
        ws.close(1008, 'too many messages in flight');
        return;
      }
      this.inbox.push([lease, splitMessage(data)]);
      this.wake?.();
      this.wake = null;
    });
    ws.on('close', () => {
      this.leases.delete(hex);
      if (this.byRank.get(rank) === lease) this.byRank.delete(rank);
      if (this.closed) return;
      this.totals.left++;
      this.log(`volunteer of rank ${rank} left; its messages are erasures until a tab takes the rank`);
      this.onLeave(id, rank);
    });
    ws.on('error', () => undefined); // 'close' follows
  }

  private page(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const a = this.assets?.get(path);
    if (req.method !== 'GET' || a === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    res.writeHead(200, {
      'content-type': a.type,
      'content-length': a.body.length,
      'cache-control': 'no-store',
    });
    res.end(a.body);
  }
}

/**
 * One WebSocket message as the protocol's three frames (header, payload, MAC), by the header's
 * length field; a message too short or with a length that does not fit goes on as one frame, which
 * the engine refuses ('bad frame count').
 */
export function splitMessage(m: Buffer): Buffer[] {
  if (m.length < HEADER_BYTES + MAC_BYTES) return [m];
  const len = declaredLength(new DataView(m.buffer, m.byteOffset, HEADER_BYTES));
  if (HEADER_BYTES + len + MAC_BYTES !== m.length) return [m];
  return [
    m.subarray(0, HEADER_BYTES),
    m.subarray(HEADER_BYTES, HEADER_BYTES + len),
    m.subarray(HEADER_BYTES + len),
  ];
}
