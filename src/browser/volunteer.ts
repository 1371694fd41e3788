/**
 * A browser tab as a draco worker (docs/volunteers.md): the protocol of src/cluster/worker.ts over
 * a WebSocket, in a Web Worker of the page that `draco ps --volunteers` serves.
 *
 * The PS admits the socket only with the run's join token and leases it a free rank with a fresh
 * 32-byte key (the lease: the first, text, message). From there it is the protocol every worker
 * speaks (docs/protocol.md): HELLO under the lease key, the PS's CHALLENGE, AUTH, then session
 * keys; CONFIG (the run's description), READY; per step DATA (the samples of this rank's
 * partitions, samples.ts) and STEP (the parameters), answered with one GRAD. One WebSocket message
 * is one protocol message: header || payload || MAC, the bytes a ZeroMQ worker sends in three
 * frames. The message is `computeWorkerMessage`'s, the function every engine computes with, on
 * tfjs-wasm as Node runs it (gradient.ts), so an honest tab sends the bytes a Node worker would.
 *
 * `attack` (tests and demonstrations: the page's `?attack=` parameter) makes this tab lie: it runs
 * that registered attack on its own message every step, whatever the PS's placement says.
 */
import { parseAttack } from '../attacks/registry.js';
import type { Attack } from '../attacks/types.js';
import { buildScheme } from '../build/scheme.js';
import type { TrainConfig } from '../build/config.js';
import { computeWorkerMessage, type WorkerContext } from '../cluster/worker-step.js';
import { unpackSamples, type UnpackedSamples } from '../cluster/samples.js';
import {
  declaredLength,
  Dtype,
  gradHeader,
  fullHeader,
  HEADER_BYTES,
  MAC_BYTES,
  MsgType,
  readHeader,
  RUN_OVER,
  writeHeader,
  type Header,
} from '../cluster/wire.js';
import type { BatchSchedule } from '../data/schedule.js';
import { sampleSize } from '../data/batch.js';
import type { Dataset } from '../data/types.js';
import { getModelDef } from '../models/registry.js';
import { cryptoFor, sessionKeysOf, type WireCrypto } from './crypto.js';
import { initWorkerBackend } from './gradient.js';

/** The first message on a volunteer socket (text JSON), from the PS's volunteer desk. */
export type Lease =
  | {
      kind: 'lease';
      rank: number;
      /** The lease key, base64 (32 bytes): this tab's rank key while the lease lasts. */
      key: string;
      workers: number;
      dataset: { name: string; inputShape: number[]; numClasses: number };
    }
  /** No rank free now: try again later. */
  | { kind: 'full'; retryMs: number; message: string };

export type VolunteerState = 'connecting' | 'waiting' | 'joined' | 'training' | 'done' | 'stopped' | 'error';

/** What the page shows. */
export interface VolunteerStatus {
  state: VolunteerState;
  rank: number | null;
  workers: number | null;
  steps: number;
  /** Median-free running figure: the last step's gradient and encode time in this tab (ms). */
  lastStepMs: number;
  /** Mean over the steps done (ms). */
  meanStepMs: number;
  bytesSent: number;
  bytesReceived: number;
  crypto: string;
  attack: string | null;
  message: string;
}

/** The few WebSocket members used (the project compiles without the DOM library). */
interface Socket {
  binaryType: string;
  readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: (() => void) | null;
  onclose: ((e: { code: number; reason: string }) => void) | null;
  onerror: (() => void) | null;
  onmessage: ((e: { data: ArrayBuffer | string }) => void) | null;
}

export interface VolunteerOptions {
  /** ws:// or wss:// URL of the PS's volunteer socket, the join token in its query. */
  url: string;
  /** URL prefix of tfjs-backend-wasm's binaries (gradient.ts). */
  wasmPath: string;
  /** This tab lies with this attack (a registered attack spec, e.g. `gaussian:sigma=50`). */
  attack?: string;
  status(s: VolunteerStatus): void;
  /** Defaults: the page's WebSocket and crypto. */
  socket?: (url: string) => Socket;
  crypto?: WireCrypto;
}

export interface Volunteer {
  /** Leave the run: the socket closes, the PS counts this rank's missing messages as erasures. */
  stop(): void;
  /** Resolves with the final status (done, stopped or error). */
  done: Promise<VolunteerStatus>;
}

/** How long a tab waits before it asks the PS again (no free rank, or the PS went away). */
const RETRY_MS = 3000;

const b64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/** A one-line reason this tab cannot run `spec` as its own attack, or null. */
export function volunteerAttackProblem(attack: Attack): string | null {
  if (attack.omniscient) return 'an omniscient attack needs every partition; a volunteer holds only its own';
  if (attack.adaptive)
    return "an adaptive attack needs the PS's rule over every message; a volunteer has one";
  return null;
}

export function runVolunteer(o: VolunteerOptions): Volunteer {
  const wc = o.crypto ?? cryptoFor();
  const st: VolunteerStatus = {
    state: 'connecting',
    rank: null,
    workers: null,
    steps: 0,
    lastStepMs: 0,
    meanStepMs: 0,
    bytesSent: 0,
    bytesReceived: 0,
    crypto: wc.name,
    attack: o.attack ?? null,
    message: 'connecting to the PS',
  };
  const show = (patch: Partial<VolunteerStatus>) => {
    Object.assign(st, patch);
    o.status({ ...st });
  };
  let finish!: (s: VolunteerStatus) => void;
  const done = new Promise<VolunteerStatus>((r) => (finish = r));
  let ended = false;
  let ws: Socket | null = null;
  let retry: ReturnType<typeof setTimeout> | undefined;
  const end = (state: 'done' | 'stopped' | 'error', message: string) => {
    if (ended) return;
    ended = true;
    clearTimeout(retry);
    show({ state, message });
    try {
      ws?.close(1000, state);
    } catch {
      // Already closed.
    }
    finish({ ...st });
  };

  let own: Attack | undefined;
  if (o.attack !== undefined) {
    try {
      own = parseAttack(o.attack).attack;
    } catch (e) {
      end('error', `attack '${o.attack}': ${(e as Error).message}`);
      return { stop: () => undefined, done };
    }
    const why = volunteerAttackProblem(own);
    if (why !== null) {
      end('error', `attack '${o.attack}': ${why}`);
      return { stop: () => undefined, done };
    }
  }

  let last: Session | null = null;
  const connect = () => {
    if (ended) return;
    const sock = (
      o.socket ??
      ((u) => new (globalThis as unknown as { WebSocket: new (u: string) => Socket }).WebSocket(u))
    )(o.url);
    ws = sock;
    sock.binaryType = 'arraybuffer';
    // Messages are handled one at a time, in order (crypto and compute are asynchronous).
    let queue: Promise<void> = Promise.resolve();
    let session: Session | null = null;
    // Told to come back later: this socket's close is expected.
    let later = false;
    sock.onmessage = (e) => {
      queue = queue
        .then(async () => {
          if (ended) return;
          if (typeof e.data === 'string') {
            const lease = JSON.parse(e.data) as Lease;
            if (lease.kind === 'full') {
              later = true;
              show({ state: 'waiting', message: lease.message });
              sock.close();
              retry = setTimeout(connect, lease.retryMs);
              return;
            }
            // A new lease after a reconnect: the last one's model goes.
            last?.dispose();
            session = new Session(lease, sock, wc, own, o.wasmPath, st, show, end);
            last = session;
            await session.hello();
            return;
          }
          st.bytesReceived += e.data.byteLength;
          await session?.receive(new Uint8Array(e.data));
        })
        .catch((err: unknown) => end('error', (err as Error).message ?? String(err)));
    };
    sock.onclose = (e) => {
      queue = queue.then(() => {
        if (later || ended) return;
        if (e.reason === RUN_OVER) return end('done', `the run is over (${st.steps} steps answered)`);
        // The PS went away mid-run (a crash, a restart with --resume, the network): ask again
        // every few seconds, as a tab that found no free rank does, until it answers or the
        // volunteer stops.
        const why = e.reason ? `the PS closed the connection (${e.reason})` : 'lost the connection to the PS';
        show({ state: 'waiting', message: `${why}; trying again every ${RETRY_MS / 1000} s` });
        retry = setTimeout(connect, RETRY_MS);
      });
    };
    sock.onerror = () => undefined; // onclose follows with the reason
  };
  connect();
  return { stop: () => end('stopped', 'stopped by the volunteer; the PS counts this rank as missing'), done };
}

/** One leased rank's protocol state on one socket. */
class Session {
  private readonly rank: number;
  private readonly leaseKey: Uint8Array;
  private helloNonce: Uint8Array | null = null;
  private keys: { up: Uint8Array; down: Uint8Array } | null = null;
  private session = 0n;
  private ctx: WorkerContext | null = null;
  private data: { step: number; samples: UnpackedSamples } | null = null;
  private totalMs = 0;

  constructor(
    private readonly lease: Extract<Lease, { kind: 'lease' }>,
    private readonly sock: Socket,
    private readonly wc: WireCrypto,
    private readonly own: Attack | undefined,
    private readonly wasmPath: string,
    private readonly st: VolunteerStatus,
    private readonly show: (p: Partial<VolunteerStatus>) => void,
    private readonly end: (s: 'done' | 'stopped' | 'error', m: string) => void,
  ) {
    this.rank = lease.rank;
    this.leaseKey = b64(lease.key);
    show({ state: 'joined', rank: lease.rank, workers: lease.workers, message: `leased rank ${lease.rank}` });
  }

  dispose(): void {
    this.ctx?.model.dispose();
    this.ctx = null;
  }

  async hello(): Promise<void> {
    this.helloNonce = globalThis.crypto.getRandomValues(new Uint8Array(32));
    await this.send(this.leaseKey, { type: MsgType.HELLO }, this.helloNonce);
  }

  private async send(
    key: Uint8Array,
    h: Partial<Header> & Pick<Header, 'type'>,
    payload: Uint8Array,
  ): Promise<void> {
    const m = new Uint8Array(HEADER_BYTES + payload.byteLength + MAC_BYTES);
    writeHeader(
      new DataView(m.buffer, 0, HEADER_BYTES),
      fullHeader({ rank: this.rank, session: this.session, ...h }),
      payload.byteLength,
    );
    m.set(payload, HEADER_BYTES);
    m.set(
      await this.wc.mac(key, m.subarray(0, HEADER_BYTES + payload.byteLength)),
      HEADER_BYTES + payload.byteLength,
    );
    this.sock.send(m);
    this.st.bytesSent += m.byteLength;
  }

  async receive(m: Uint8Array): Promise<void> {
    if (m.byteLength < HEADER_BYTES + MAC_BYTES) return;
    const hv = new DataView(m.buffer, m.byteOffset, HEADER_BYTES);
    const len = declaredLength(hv);
    if (HEADER_BYTES + len + MAC_BYTES !== m.byteLength) return;
    const r = readHeader(hv, len);
    if (!r.ok) return;
    const h = r.header;
    const signed = m.subarray(0, HEADER_BYTES + len);
    const payload = m.subarray(HEADER_BYTES, HEADER_BYTES + len);
    const tag = m.subarray(HEADER_BYTES + len);
    if (h.type === MsgType.CHALLENGE) {
      const nw = this.helloNonce;
      if (nw === null || len !== 64 || !equal(payload.subarray(0, 32), nw)) return;
      if (!(await this.wc.verify(this.leaseKey, signed, tag))) return;
      this.helloNonce = null;
      this.session = h.session;
      this.keys = await sessionKeysOf(this.wc, this.leaseKey, payload, h.session, this.rank);
      await this.send(this.leaseKey, { type: MsgType.AUTH }, payload.slice());
      return;
    }
    const keys = this.keys;
    if (keys === null || h.session !== this.session || !(await this.wc.verify(keys.down, signed, tag)))
      return;
    switch (h.type) {
      case MsgType.CONFIG:
        return this.config(new TextDecoder().decode(payload));
      case MsgType.DATA: {
        const ctx = this.ctx;
        if (ctx === null) return;
        const samples = unpackSamples(payload, h.dtype, sampleSize(ctx.dataset));
        if (samples !== null) this.data = { step: h.step, samples };
        return;
      }
      case MsgType.STEP:
        return this.step(h, payload);
      case MsgType.ECHO:
        return this.send(keys.up, { type: MsgType.ECHO, dtype: h.dtype, step: h.step }, payload.slice());
      case MsgType.BYE:
        this.show({ state: 'done' });
        return this.end('done', `the run is over (${this.st.steps} steps answered)`);
      case MsgType.EVICT:
        return this.end('error', `another connection took rank ${this.rank}`);
      default:
        return;
    }
  }

  private async config(json: string): Promise<void> {
    const config = JSON.parse(json) as TrainConfig;
    const meta = this.lease.dataset;
    this.show({ message: `building ${config.model} (${config.scheme}, ${config.workers} workers)` });
    await initWorkerBackend({ wasmPath: this.wasmPath });
    this.ctx?.model.dispose();
    const model = getModelDef(config.model).create(meta.inputShape, meta.numClasses, config.seed);
    const scheme = buildScheme(config, model.numParams, 'worker');
    const configured = parseAttack(config.attack).attack;
    const empty = new Int32Array(0);
    const none = { n: 0, x: new Float32Array(0), y: new Int32Array(0) };
    // The training split is the samples of the last DATA, the step's partitions their ids in it
    // (the others stay empty: this rank's encode never asks for them).
    const held = () => this.data;
    const dataset: Dataset = {
      name: meta.name,
      inputShape: meta.inputShape,
      numClasses: meta.numClasses,
      get train() {
        return held()?.samples.split ?? none;
      },
      test: none,
    };
    const schedule = {
      partitions: (step: number) =>
        Array.from({ length: scheme.numPartitions }, (_, p) =>
          this.data !== null && this.data.step === step ? (this.data.samples.parts.get(p) ?? empty) : empty,
        ),
    } as unknown as BatchSchedule;
    this.ctx = { seed: config.seed, model, dataset, scheme, attack: this.own ?? configured, schedule };
    this.show({
      state: 'training',
      message: `rank ${this.rank} of ${scheme.n}: ${model.numParams.toLocaleString('en-US')} params, ${scheme.describe()}`,
    });
    await this.send(this.keys!.up, { type: MsgType.READY }, new Uint8Array(0));
  }

  private async step(h: Header, payload: Uint8Array): Promise<void> {
    const ctx = this.ctx;
    const d = ctx?.model.numParams ?? 0;
    if (
      ctx === null ||
      h.dtype !== Dtype.FLOAT32 ||
      payload.byteLength < d * 4 ||
      payload.byteLength % 4 !== 0
    )
      return;
    if (this.data === null || this.data.step !== h.step) return; // DATA always precedes STEP
    const words = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
    const params = new Float32Array(payload.slice(0, d * 4).buffer);
    const byzantine: number[] = [];
    for (let off = d * 4; off < payload.byteLength; off += 4) byzantine.push(words.getUint32(off, true));
    // A lying tab is Byzantine every step, on top of the PS's own placement.
    if (this.own !== undefined && !byzantine.includes(this.rank)) byzantine.push(this.rank);
    const t0 = performance.now();
    const out = computeWorkerMessage(ctx, this.rank, h.step, params, byzantine);
    const ms = performance.now() - t0;
    this.totalMs += ms;
    const msg = out.message;
    await this.send(
      this.keys!.up,
      gradHeader(out, h.step),
      new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength),
    );
    const steps = this.st.steps + 1;
    this.show({
      steps,
      lastStepMs: ms,
      meanStepMs: this.totalMs / steps,
      message: `step ${h.step + 1} answered`,
    });
  }
}
