/**
 * The PS side of the process engines (docs/design.md "Engines"): the protocol over a transport
 * that workers connect to (transport.ts; ZeroMQ ROUTER and DEALERs by default,
 * zmq-transport.ts). Each step it sends STEP (float32 parameters) to every ready rank and
 * collects one GRAD per rank until all are in or the step deadline passes; a missing message is an
 * erasure.
 *
 * Who may speak (docs/protocol.md "Handshake and sessions"): the socket is a CURVE server whose ZAP
 * handler admits only the run's worker keys, so other peers fail the handshake. A connection then
 * proves its rank by challenge-response under that rank's key (HELLO, CHALLENGE, AUTH) and gets
 * fresh session keys; every later frame is checked under them, so a worker can speak only for
 * its own rank and nothing captured earlier verifies again. A rank moves to a new connection only
 * when that connection proves the rank's key; the old one is told (EVICT).
 *
 * Every received frame is checked before anything else looks at it (docs/protocol.md,
 * "Validation and limits (PS)"): framing and size, MAC, then session, rank, step, duplicate, dtype,
 * length and finiteness. A refused frame is counted by reason and dropped; it never reaches the
 * model, and a malformed frame never throws out of the receive loop.
 */
import { randomBytes } from 'node:crypto';
import { UsageError } from '../core/errors.js';
import { allFinite } from '../core/vec.js';
import { messageKind } from '../schemes/message.js';
import type { Scheme } from '../schemes/types.js';
import { sessionKeys, type PsKeys } from './keys.js';
import {
  authentic,
  buildMessage,
  Dtype,
  dtypeCode,
  elementBytes,
  FLAG_POISONED,
  HEADER_BYTES,
  MAC_BYTES,
  MsgType,
  payloadVec,
  readFrame,
  vecBytes,
  type Header,
} from './protocol.js';
import type { Engine, StepRequest, StepResult, WorkerReport } from './types.js';
import type { PackedSamples } from './samples.js';
import type { ServerTransport } from './transport.js';
import { VolunteerDesk } from './volunteers.js';
import { ZmqServer } from './zmq-transport.js';

export interface ProcessEngineOptions {
  /** ZeroMQ endpoint to bind, e.g. tcp://127.0.0.1:* (random port) or tcp://0.0.0.0:5555. */
  bind: string;
  /**
   * The PS's key file, parsed (keys.ts): its CURVE server key and every rank's key. Without it
   * (a run of volunteers only) nothing listens on `bind`.
   */
  keys?: PsKeys;
  /**
   * Browser workers (volunteers.ts): their sockets are a second transport, their ranks proven
   * with the desk's lease keys; each step, a volunteer gets its partitions' samples (DATA,
   * `volunteerData`) before STEP.
   */
  volunteers?: VolunteerDesk;
  volunteerData?: (rank: number, step: number) => PackedSamples;
  /**
   * The run's description sent to workers in CONFIG (JSON): what `WorkerOptions.build` turns
   * into a worker's model, data, scheme and attack.
   */
  description: unknown;
  scheme: Scheme;
  numParams: number;
  /** Wait at most this long for a step's messages; the missing ones are erasures. */
  stepDeadlineMs: number;
  /** Wait at most this long for every rank's READY before the first step. */
  startupTimeoutMs: number;
  /** Largest payload accepted from an authenticated worker (default: the largest legitimate GRAD). */
  maxPayload?: number;
  /**
   * The network, given the frame-size bound it must enforce (default: ZeroMQ with CURVE admitting
   * the run's worker keys, zmq-transport.ts).
   */
  transport?: (limits: { maxMessageSize: number; receiveHighWaterMark: number }) => ServerTransport;
}

interface Collect {
  step: number;
  /** STEP payload: float32 parameters then the Byzantine ranks as u32. */
  stepPayload: Buffer;
  reports: (WorkerReport | null)[];
  loss: Map<string, { lossSum: number; samples: number }>;
  received: number;
  done: () => void;
}

/** An authenticated connection: the peer's routing id and the session's frame keys. */
interface Session {
  id: Buffer;
  peer: string;
  up: Buffer;
  down: Buffer;
}

/** HELLO carries a 32-byte nonce; AUTH both nonces back. Nothing larger before authentication. */
const NONCE = 32;
const HANDSHAKE_MAX_PAYLOAD = 2 * NONCE;

/** Messages queued per peer inside ZeroMQ before it stops reading that peer's connection. */
const RECEIVE_HWM = 16;

/** Frame size band counted as `oversize` before ZeroMQ itself drops (and disconnects) a peer. */
const OVERSIZE_BAND = 64 * 1024;

export class ProcessEngine implements Engine {
  readonly name: string = 'remote';
  /** The endpoint actually bound (the random port resolved). */
  endpoint = '';
  readonly session: bigint = randomBytes(8).readBigUInt64LE(0);
  /** Frames and connections refused since the run began, by reason. */
  readonly rejectedTotals = new Map<string, number>();
  /** Handshake frames answered (HELLO -> CHALLENGE, AUTH -> session), for accounting in tests. */
  readonly handshakeTotals = { challenges: 0, sessions: 0, evictions: 0 };
  private pending = new Map<string, number>();
  /** The Node workers' transport (null: volunteers only). */
  private readonly net: ServerTransport | null;
  private readonly desk: VolunteerDesk | null;
  /** By rank: the connection that proved the rank's key last. */
  private readonly sessions: (Session | null)[];
  /** Routing id (hex) -> the rank it authenticated as. */
  private readonly peerRank = new Map<string, number>();
  /** Routing id (hex) -> its outstanding challenge. Bounded: oldest dropped first. */
  private readonly challenges = new Map<string, { rank: number; nonces: Buffer }>();
  private readonly ready = new Set<number>();
  /** bench transport: ECHOs in flight, by sequence number. */
  private readonly echoes = new Map<number, (payload: Buffer) => void>();
  /** Ranks known not to answer (local engine: their process exited). */
  protected readonly gone = new Set<number>();
  private current: Collect | null = null;
  private sendChain: Promise<void> = Promise.resolve();
  private loop: Promise<void> | null = null;
  private watch: Promise<void> | null = null;
  private closed = false;
  private readyWaiter: (() => void) | null = null;
  private readonly n: number;
  private readonly maxPayload: number;
  private readonly configBytes: Buffer;

  constructor(protected readonly o: ProcessEngineOptions) {
    this.n = o.scheme.n;
    if (o.keys === undefined && o.volunteers === undefined)
      throw new UsageError(
        'the PS needs a key file (draco keys) for its workers, or volunteers (--volunteers)',
      );
    if (o.keys !== undefined && o.keys.workers < this.n) {
      throw new UsageError(
        `the PS key file holds keys for ${o.keys.workers} workers, the run has ${this.n}: make a key set with \`draco keys --workers ${this.n}\``,
      );
    }
    this.sessions = new Array(this.n).fill(null);
    // The largest legitimate frame is a GRAD of messageLength float64s.
    this.maxPayload = o.maxPayload ?? Math.max(o.scheme.messageLength * 8, 1024);
    // Beyond maxMessageSize the transport drops the frame and the connection before buffering it.
    const limits = { maxMessageSize: this.maxPayload + OVERSIZE_BAND, receiveHighWaterMark: RECEIVE_HWM };
    const keys = o.keys;
    this.net =
      keys === undefined
        ? null
        : (o.transport?.(limits) ??
          // Only the run's ranks may connect (the key file may hold more).
          new ZmqServer({ curve: keys.curve, admit: keys.workerCurve.slice(0, this.n), ...limits }));
    this.desk = o.volunteers ?? null;
    this.configBytes = Buffer.from(JSON.stringify(o.description), 'utf8');
  }

  /** Bind and start receiving. A bad or busy address is a UsageError with one line. */
  async bind(): Promise<void> {
    const net = this.net;
    if (net !== null) {
      try {
        this.endpoint = await net.bind(this.o.bind);
      } catch (e) {
        throw new UsageError(bindError(this.o.bind, e));
      }
    }
    const desk = this.desk;
    if (desk !== null) {
      desk.heldElsewhere = (rank) => {
        const s = this.sessions[rank];
        return s !== null && !VolunteerDesk.isVolunteer(s.id);
      };
      desk.onLeave = (id, rank) => this.left(id, rank);
      await desk.bind();
    }
    this.loop = Promise.all([net, desk].map((t) => (t === null ? null : this.receiveLoop(t)))).then(
      () => undefined,
    );
    this.watch = net === null ? null : this.watchHandshakes(net);
  }

  /** Wait until every rank is READY (or gone), at most startupTimeoutMs. Returns the ready count. */
  async waitReady(): Promise<number> {
    const deadline = Date.now() + this.o.startupTimeoutMs;
    while (this.ready.size + this.gone.size < this.n && Date.now() < deadline) {
      await new Promise<void>((res) => {
        this.readyWaiter = res;
        setTimeout(res, Math.min(200, Math.max(1, deadline - Date.now())));
      });
    }
    return this.ready.size;
  }

  get readyRanks(): number[] {
    return [...this.ready].sort((a, b) => a - b);
  }

  /** Mark a rank as not answering (its process exited): steps stop waiting for it. */
  markGone(rank: number): void {
    this.gone.add(rank);
    this.ready.delete(rank);
    this.readyWaiter?.();
    this.maybeFinish();
  }

  async runStep(req: StepRequest): Promise<StepResult> {
    const t0 = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const finished = new Promise<void>((resolve) => {
      this.current = {
        step: req.step,
        stepPayload: stepPayload(req.params, req.byzantine),
        reports: new Array(this.n).fill(null),
        loss: new Map(),
        received: 0,
        done: resolve,
      };
      timer = setTimeout(resolve, this.o.stepDeadlineMs);
    });
    for (const r of this.readyRanks) this.sendStep(r);
    this.maybeFinish();
    await finished;
    clearTimeout(timer);
    const cur = this.current!;
    this.current = null;
    const reports: WorkerReport[] = cur.reports.map(
      (r, w) => r ?? { worker: w, message: null, computeMs: 0, encodeMs: 0, bytesSent: 0 },
    );
    let lossSum = 0;
    let samples = 0;
    for (const v of cur.loss.values()) {
      lossSum += v.lossSum;
      samples += v.samples;
    }
    const rejectedFrames = Object.fromEntries(this.pending);
    this.pending = new Map();
    return {
      reports,
      waitMs: performance.now() - t0,
      trainLoss: samples > 0 ? lossSum / samples : NaN,
      rejectedFrames,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    for (let r = 0; r < this.n; r++) this.send(r, { type: MsgType.BYE });
    this.closed = true;
    await Promise.race([this.sendChain, new Promise((r) => setTimeout(r, 200))]);
    // Let the BYEs leave.
    await Promise.all([this.net?.close(500), this.desk?.close(500)]);
    await this.loop?.catch(() => undefined);
    await this.watch?.catch(() => undefined);
    this.current?.done();
  }

  /** bench transport: send `payload` to `rank` as ECHO number `seq`; resolves with what comes back. */
  echo(rank: number, seq: number, payload: Buffer): Promise<Buffer> {
    return new Promise((resolve) => {
      this.echoes.set(seq >>> 0, resolve);
      this.send(rank, { type: MsgType.ECHO, step: seq }, payload);
    });
  }

  /** Queue a frame to `rank`'s authenticated connection under its session key. */
  private send(rank: number, h: Partial<Header> & Pick<Header, 'type'>, payload?: Buffer): void {
    const s = this.sessions[rank];
    if (s === null || this.closed) return;
    this.sendTo(s.id, buildMessage(s.down, { rank, session: this.session, ...h }, payload));
  }

  /** Serialise sends: a transport takes one send at a time. */
  private sendTo(id: Buffer, frames: Buffer[]): void {
    const t = VolunteerDesk.isVolunteer(id) ? this.desk : this.net;
    if (t === null) return;
    this.sendChain = this.sendChain.then(
      () => t.send(id, frames).catch(() => undefined),
      () => undefined,
    );
  }

  private sendStep(rank: number): void {
    const c = this.current;
    if (c === null) return;
    const s = this.sessions[rank];
    if (s !== null && VolunteerDesk.isVolunteer(s.id) && this.o.volunteerData !== undefined) {
      // A volunteer holds no dataset: first the samples of its partitions at this step.
      const d = this.o.volunteerData(rank, c.step);
      this.send(rank, { type: MsgType.DATA, dtype: d.dtype, step: c.step }, vecBytes(d.bytes));
    }
    this.send(rank, { type: MsgType.STEP, dtype: Dtype.FLOAT32, step: c.step }, c.stepPayload);
  }

  private reject(reason: string): void {
    this.pending.set(reason, (this.pending.get(reason) ?? 0) + 1);
    this.rejectedTotals.set(reason, (this.rejectedTotals.get(reason) ?? 0) + 1);
  }

  private maybeFinish(): void {
    const c = this.current;
    if (c === null) return;
    let waiting = 0;
    for (let w = 0; w < this.n; w++) if (c.reports[w] === null && !this.gone.has(w)) waiting++;
    if (waiting === 0) c.done();
  }

  private async receiveLoop(net: ServerTransport): Promise<void> {
    for await (const [id, parts] of net.messages()) {
      try {
        this.handle(id, parts);
      } catch {
        // A handler bug must not take the PS down; the frame is counted and dropped.
        this.reject('internal error');
      }
    }
  }

  /** Connections that failed the CURVE handshake (unknown key, garbage, a replayed capture). */
  private async watchHandshakes(net: ServerTransport): Promise<void> {
    for await (const why of net.refusals())
      this.reject(why === 'key' ? 'handshake refused: key not in the run' : 'handshake refused: protocol');
  }

  private handle(id: Buffer, parts: Buffer[]): void {
    const peer = id.toString('hex');
    const bound = this.peerRank.get(peer);
    // Before a peer proves a rank, nothing beyond a handshake frame is read.
    const r = readFrame(parts, bound === undefined ? HANDSHAKE_MAX_PAYLOAD : this.maxPayload);
    if (!r.ok) return this.reject(r.reason);
    const { header: h, payload } = r.frame;
    if (h.rank >= this.n) return this.reject('unknown rank');
    if (h.type === MsgType.HELLO) return this.hello(id, peer, h, parts);
    if (h.type === MsgType.AUTH) return this.auth(id, peer, h, parts);
    if (bound === undefined) return this.reject('not authenticated');
    if (h.rank !== bound) return this.reject('rank not joined from this peer');
    const s = this.sessions[bound];
    if (s === null || s.peer !== peer) return this.reject('not authenticated');
    if (!authentic(parts, s.up)) return this.reject('bad mac');
    if (h.session !== this.session) return this.reject('wrong session');
    switch (h.type) {
      case MsgType.READY: {
        this.ready.add(h.rank);
        this.readyWaiter?.();
        const c = this.current;
        if (c !== null && c.reports[h.rank] === null) this.sendStep(h.rank);
        return;
      }
      case MsgType.PING:
        return this.send(h.rank, { type: MsgType.PONG });
      case MsgType.ECHO: {
        const done = this.echoes.get(h.step);
        this.echoes.delete(h.step);
        return done ? done(payload) : this.reject('bad type');
      }
      case MsgType.GRAD:
        return this.grad(h, payload);
      default:
        return this.reject('bad type');
    }
  }

  /**
   * The key `id` proves `rank` with: a volunteer socket's lease key (only for the rank leased to
   * it), else the key file's rank key; null when there is none.
   */
  private rankKey(id: Buffer, rank: number): Buffer | null {
    if (VolunteerDesk.isVolunteer(id)) return this.desk?.leaseKey(id, rank) ?? null;
    return this.o.keys?.rankKeys[rank] ?? null;
  }

  /** A volunteer's socket closed: if it still held `rank`, the rank is gone until a tab takes it. */
  private left(id: Buffer, rank: number): void {
    const peer = id.toString('hex');
    const s = this.sessions[rank];
    this.peerRank.delete(peer);
    this.challenges.delete(peer);
    if (s === null || s.peer !== peer) return;
    this.sessions[rank] = null;
    this.markGone(rank);
  }

  /** HELLO under the rank key: answer with a fresh challenge (nothing else is revealed). */
  private hello(id: Buffer, peer: string, h: Header, parts: Buffer[]): void {
    const key = this.rankKey(id, h.rank);
    if (key === null || !authentic(parts, key)) return this.reject('bad mac');
    const nw = parts[1];
    if (nw.byteLength !== NONCE) return this.reject('bad hello');
    const nonces = Buffer.concat([nw, randomBytes(NONCE)]);
    this.challenges.delete(peer);
    this.challenges.set(peer, { rank: h.rank, nonces });
    // Bounded state: a peer replaying HELLOs can hold at most its own entry.
    while (this.challenges.size > 2 * this.n + 16)
      this.challenges.delete(this.challenges.keys().next().value!);
    this.handshakeTotals.challenges++;
    this.sendTo(
      id,
      buildMessage(key, { type: MsgType.CHALLENGE, rank: h.rank, session: this.session }, nonces),
    );
  }

  /** AUTH: both nonces of this peer's outstanding challenge, under the rank key. */
  private auth(id: Buffer, peer: string, h: Header, parts: Buffer[]): void {
    const key = this.rankKey(id, h.rank);
    if (key === null || !authentic(parts, key)) return this.reject('bad mac');
    const ch = this.challenges.get(peer);
    // A replayed AUTH answers a challenge that is gone (or was never this peer's).
    if (ch === undefined || ch.rank !== h.rank || h.session !== this.session || !ch.nonces.equals(parts[1]))
      return this.reject('stale auth');
    this.challenges.delete(peer);
    const k = sessionKeys(key, ch.nonces.subarray(0, NONCE), ch.nonces.subarray(NONCE), this.session, h.rank);
    const old = this.sessions[h.rank];
    if (old !== null && old.peer !== peer) {
      // The rank's key was proven on another connection: the old one is out, and is told so.
      this.sendTo(
        old.id,
        buildMessage(old.down, { type: MsgType.EVICT, rank: h.rank, session: this.session }),
      );
      this.peerRank.delete(old.peer);
      this.handshakeTotals.evictions++;
    }
    const prev = this.peerRank.get(peer);
    if (prev !== undefined && prev !== h.rank) this.sessions[prev] = null;
    this.sessions[h.rank] = { id: Buffer.from(id), peer, up: k.up, down: k.down };
    this.peerRank.set(peer, h.rank);
    this.ready.delete(h.rank);
    this.gone.delete(h.rank);
    this.handshakeTotals.sessions++;
    // A (re)joined worker gets the config, then the current step once READY.
    this.send(h.rank, { type: MsgType.CONFIG, dtype: Dtype.UTF8 }, this.configBytes);
  }

  private grad(h: Header, payload: Buffer): void {
    const c = this.current;
    if (c === null || h.step !== c.step) return this.reject('stale step');
    if (c.reports[h.rank] !== null) return this.reject('duplicate rank');
    const base = { worker: h.rank, computeMs: h.computeUs / 1000, encodeMs: h.encodeUs / 1000 };
    const bytesSent = HEADER_BYTES + payload.byteLength + MAC_BYTES;
    const scheme = this.o.scheme;
    let why: string | null = null;
    if (h.dtype !== wireDtype(scheme)) why = 'wrong dtype';
    else if (payload.byteLength !== scheme.messageLength * elementBytes(h.dtype)) why = 'wrong length';
    const message = why === null ? payloadVec(payload, h.dtype) : null;
    if (message !== null && h.dtype !== Dtype.UINT8 && !allFinite(message)) why = 'non-finite';
    if (why !== null) {
      this.reject(why);
      c.reports[h.rank] = { ...base, message: null, bytesSent, rejected: why };
    } else {
      // A view on the received buffer (each ZeroMQ message arrives in a fresh buffer).
      c.reports[h.rank] = { ...base, message: message!, bytesSent };
      if ((h.flags & FLAG_POISONED) === 0 && h.samples > 0) {
        // Deduplicated like the in-process engine: one loss per distinct task.
        c.loss.set(scheme.assignment[h.rank].join(','), { lossSum: h.lossSum, samples: h.samples });
      }
    }
    c.received++;
    this.maybeFinish();
  }
}

/** One line for a failed bind: the address and what is wrong with it. */
export function bindError(addr: string, e: unknown): string {
  const code = (e as { code?: string }).code;
  if (code === 'EADDRINUSE')
    return `cannot bind ${addr}: the address is already in use (is another PS running?)`;
  if (code === 'EADDRNOTAVAIL' || code === 'ENODEV')
    return `cannot bind ${addr}: no such local address (use tcp://0.0.0.0:PORT or an address of this machine)`;
  if (code === 'EACCES') return `cannot bind ${addr}: permission denied (ports below 1024 need privileges)`;
  if (code === 'EINVAL' || code === 'EPROTONOSUPPORT')
    return `cannot bind '${addr}': not a valid endpoint (expected tcp://ADDRESS:PORT, e.g. tcp://0.0.0.0:5555)`;
  return `cannot bind ${addr}: ${code ?? (e as Error).message ?? String(e)}`;
}

/**
 * The STEP payload: the parameters' bytes followed by the Byzantine ranks (u32 LE). One copy of
 * the parameters per step, shared by every worker's send.
 */
function stepPayload(params: Float32Array, byzantine: readonly number[]): Buffer {
  const b = Buffer.allocUnsafe(params.byteLength + 4 * byzantine.length);
  vecBytes(params).copy(b, 0);
  byzantine.forEach((r, i) => b.writeUInt32LE(r, params.byteLength + 4 * i));
  return b;
}

/** The wire dtype of the scheme's messages (packed sign bits travel as bytes). */
function wireDtype(scheme: Scheme): number {
  return dtypeCode(messageKind(scheme));
}
