/**
 * The PS side of the process engines (DESIGN §5-6): a ZeroMQ ROUTER that workers (DEALERs)
 * connect to. Each step it sends STEP (float32 parameters) to every ready rank and collects one
 * GRAD per rank until all are in or the step deadline passes; a missing message is an erasure.
 *
 * Every received frame is checked before anything else looks at it (docs/protocol.md,
 * "Validation"): framing and size, MAC, then session, rank, step, duplicate, dtype, length and
 * finiteness. A refused frame is counted by reason and dropped; it never reaches the model, and a
 * malformed frame never throws out of the receive loop.
 */
import { randomBytes } from 'node:crypto';
import { Router } from 'zeromq';
import { allFinite } from '../core/vec.js';
import type { TrainConfig } from '../experiment/config.js';
import type { Scheme } from '../schemes/types.js';
import {
  buildMessage,
  Dtype,
  dtypeCode,
  elementBytes,
  FLAG_POISONED,
  HEADER_BYTES,
  MAC_BYTES,
  MsgType,
  parseMessage,
  payloadVec,
  vecBytes,
} from './protocol.js';
import type { Engine, StepRequest, StepResult, WorkerReport } from './types.js';

export interface ProcessEngineOptions {
  /** ZeroMQ endpoint to bind, e.g. tcp://127.0.0.1:* (random port) or tcp://0.0.0.0:5555. */
  bind: string;
  secret: Buffer;
  /** The resolved config sent to workers in CONFIG. */
  config: TrainConfig;
  scheme: Scheme;
  numParams: number;
  /** Wait at most this long for a step's messages; the missing ones are erasures. */
  stepDeadlineMs: number;
  /** Wait at most this long for every rank's READY before the first step. */
  startupTimeoutMs: number;
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

export class ProcessEngine implements Engine {
  readonly name: string = 'remote';
  /** The endpoint actually bound (the random port resolved). */
  endpoint = '';
  readonly session: bigint = randomBytes(8).readBigUInt64LE(0);
  /** Frames refused since the run began, by reason. */
  readonly rejectedTotals = new Map<string, number>();
  private pending = new Map<string, number>();
  private readonly sock = new Router({ linger: 0, sendHighWaterMark: 0, receiveHighWaterMark: 0 });
  private readonly identity = new Map<number, Buffer>();
  private readonly ready = new Set<number>();
  /** Ranks known not to answer (local engine: their process exited). */
  protected readonly gone = new Set<number>();
  private current: Collect | null = null;
  private sendChain: Promise<void> = Promise.resolve();
  private loop: Promise<void> | null = null;
  private closed = false;
  private readyWaiter: (() => void) | null = null;
  private readonly n: number;
  private readonly maxPayload: number;
  private readonly configBytes: Buffer;

  constructor(protected readonly o: ProcessEngineOptions) {
    this.n = o.scheme.n;
    // The largest legitimate frame is a GRAD of messageLength float64s.
    this.maxPayload = Math.max(o.scheme.messageLength * 8, 1024);
    // ZeroMQ drops (and disconnects) anything far beyond that before it is buffered whole.
    this.sock.maxMessageSize = HEADER_BYTES + MAC_BYTES + 2 * this.maxPayload + (1 << 20);
    this.configBytes = Buffer.from(JSON.stringify(o.config), 'utf8');
  }

  /** The cluster secret (tests forge authenticated frames with it). */
  get secret(): Buffer {
    return this.o.secret;
  }

  /** Bind and start receiving. */
  async bind(): Promise<void> {
    await this.sock.bind(this.o.bind);
    this.endpoint = this.sock.lastEndpoint ?? this.o.bind;
    this.loop = this.receiveLoop();
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
    const frames = buildMessage(
      this.o.secret,
      { type: MsgType.STEP, dtype: Dtype.FLOAT32, step: req.step, session: this.session },
      this.current!.stepPayload,
    );
    for (const r of this.readyRanks) this.send(r, frames);
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
    const bye = buildMessage(this.o.secret, { type: MsgType.BYE, session: this.session });
    for (const r of this.identity.keys()) this.send(r, bye);
    this.closed = true;
    await Promise.race([this.sendChain, new Promise((r) => setTimeout(r, 200))]);
    // Let the BYEs leave (linger is 0 during the run so that nothing blocks a crash exit).
    this.sock.linger = 500;
    this.sock.close();
    await this.loop?.catch(() => undefined);
    this.current?.done();
  }

  /** Serialise sends: a zeromq socket allows one send in flight. */
  private send(rank: number, frames: Buffer[]): void {
    const id = this.identity.get(rank);
    if (id === undefined || this.closed) return;
    this.sendChain = this.sendChain.then(
      () => this.sock.send([id, ...frames]).catch(() => undefined),
      () => undefined,
    );
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

  private async receiveLoop(): Promise<void> {
    try {
      for await (const [id, ...parts] of this.sock) {
        try {
          this.handle(id, parts);
        } catch {
          // A handler bug must not take the PS down; the frame is counted and dropped.
          this.reject('internal error');
        }
      }
    } catch {
      // Socket closed.
    }
  }

  private handle(id: Buffer, parts: Buffer[]): void {
    const r = parseMessage(parts, this.o.secret, this.maxPayload);
    if (!r.ok) return this.reject(r.reason);
    const { header: h, payload } = r.frame;
    if (h.rank >= this.n) return this.reject('unknown rank');
    if (h.type === MsgType.HELLO) {
      // A repeated HELLO from a joined peer is the worker's keep-alive: nothing to do.
      if (this.ready.has(h.rank) && this.identity.get(h.rank)?.equals(id)) return;
      // (Re)join: a restarted worker gets the config, then the current step once READY.
      this.identity.set(h.rank, Buffer.from(id));
      this.ready.delete(h.rank);
      this.gone.delete(h.rank);
      this.send(
        h.rank,
        buildMessage(
          this.o.secret,
          { type: MsgType.CONFIG, dtype: Dtype.UTF8, rank: h.rank, session: this.session },
          this.configBytes,
        ),
      );
      return;
    }
    if (h.session !== this.session) return this.reject('wrong session');
    const known = this.identity.get(h.rank);
    if (known === undefined || !known.equals(id)) return this.reject('rank not joined from this peer');
    if (h.type === MsgType.READY) {
      this.ready.add(h.rank);
      this.readyWaiter?.();
      const c = this.current;
      if (c !== null && c.reports[h.rank] === null) {
        this.send(
          h.rank,
          buildMessage(
            this.o.secret,
            { type: MsgType.STEP, dtype: Dtype.FLOAT32, step: c.step, session: this.session },
            c.stepPayload,
          ),
        );
      }
      return;
    }
    if (h.type === MsgType.ECHO) {
      this.send(
        h.rank,
        buildMessage(this.o.secret, { type: MsgType.ECHO, dtype: h.dtype, rank: h.rank }, payload),
      );
      return;
    }
    if (h.type !== MsgType.GRAD) return this.reject('bad type');
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
  const fmt = (scheme as { messageFormat?: string }).messageFormat;
  return fmt === 'sign-bits' ? Dtype.UINT8 : dtypeCode(scheme.messageDtype);
}
