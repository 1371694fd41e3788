/**
 * A worker process (docs/design.md "Engines"; docs/protocol.md): connected to the PS through a
 * transport (transport.ts; by default a ZeroMQ DEALER over CURVE with this worker's own key,
 * zmq-transport.ts), talking only to the holder of the PS key. It proves its rank (HELLO with a fresh nonce, the PS's CHALLENGE, AUTH), receives the run's
 * config under the new session keys, builds the dataset, model and scheme itself
 * (same seed -> same initial model), says READY, then answers every STEP (the float32 parameters)
 * with one GRAD: the message computeWorkerMessage gives, the same bytes the in-process engine
 * computes. A Byzantine rank runs its attack here, in its own process.
 *
 * It never hangs silently: a key the PS refuses, a PS key that does not match, a PS that cannot be
 * reached or stops answering for `timeoutMs`, or another connection taking over this rank each end
 * the worker with one line (a WorkerExit).
 */
import { randomBytes } from 'node:crypto';
import { UsageError } from '../core/errors.js';
import { sessionKeys, type WorkerKey } from './keys.js';
import type { ClientTransport } from './transport.js';
import { ZmqClient } from './zmq-transport.js';
import {
  authentic,
  buildMessage,
  checkEndpoint,
  Dtype,
  gradHeader,
  MsgType,
  payloadVec,
  readFrame,
  vecBytes,
  type Header,
} from './protocol.js';
import { computeWorkerMessage, type WorkerContext } from './worker-step.js';

export interface WorkerOptions {
  /** PS address, e.g. tcp://10.0.0.1:5555. */
  connect: string;
  /** This worker's key (its rank is the key's rank). */
  key: WorkerKey;
  /** Exit when this process's parent changes (local engine: no orphans if the PS dies). */
  exitWithParent?: boolean;
  /** Give up after this long without a word from the PS (0: never). */
  timeoutMs?: number;
  /** Print set-up and exit lines to stderr. */
  verbose?: boolean;
  /**
   * Milestones a person watching the worker wants (waiting for the PS, joined the run, the PS
   * restarted, the run is over), one line each; `draco worker` prints them on stdout.
   */
  status?: (line: string) => void;
  /** The network (default: ZeroMQ with CURVE, zmq-transport.ts); tests and other transports. */
  transport?: () => ClientTransport;
  /**
   * Turn the run's description (the CONFIG the PS sends) into what this worker computes with.
   * A UsageError (an unknown name, a plugin this worker lacks) ends the worker with its line.
   */
  build(description: unknown): Promise<WorkerContext>;
}

/** Why a worker stopped other than by the PS's BYE: one line for the user. */
export class WorkerExit extends UsageError {}

/** Largest message a worker accepts from the PS (params of a 256M-parameter model). */
const MAX_PS_PAYLOAD = 1 << 30;

/** Silence from the PS after which a worker pings it, and after an unanswered ping, says HELLO. */
const KEEPALIVE_MS = 5000;

/** CURVE handshakes that fail in a row before the worker concludes the keys do not match. */
const HANDSHAKE_FAILURES = 3;

export async function runWorker(o: WorkerOptions): Promise<void> {
  checkEndpoint(o.connect);
  const rank = o.key.rank;
  const sock: ClientTransport =
    o.transport?.() ??
    new ZmqClient({
      curve: o.key.curve,
      serverKey: o.key.psCurve,
      maxMessageSize: MAX_PS_PAYLOAD + (1 << 20),
    });
  const log = (m: string) => {
    if (o.verbose) process.stderr.write(`draco worker ${rank}: ${m}\n`);
  };
  const status = (m: string) => o.status?.(`draco worker ${rank}: ${m}`);
  let steps = 0;
  let failure: WorkerExit | null = null;
  const fail = (m: string) => {
    if (failure === null) failure = new WorkerExit(`worker ${rank}: ${m}`);
    sock.close();
  };
  let parentWatch: NodeJS.Timeout | undefined;
  if (o.exitWithParent) {
    const parent = process.ppid;
    parentWatch = setInterval(() => {
      if (process.ppid !== parent) {
        sock.close();
        process.exit(0);
      }
    }, 500);
    parentWatch.unref();
  }
  // One send in flight per zeromq socket: chain them.
  let chain: Promise<void> = Promise.resolve();
  const send = (frames: Buffer[]) => {
    chain = chain.then(
      () => sock.send(frames),
      () => undefined,
    );
    return chain;
  };
  try {
    sock.connect(o.connect);
  } catch (e) {
    sock.close();
    throw new UsageError(`invalid PS address '${o.connect}': ${(e as Error).message}`);
  }

  // Handshake state: the HELLO nonce in flight, then the session's frame keys.
  let helloNonce: Buffer | null = null;
  let keys: { up: Buffer; down: Buffer } | null = null;
  let session = 0n;
  let lastHeard = Date.now();
  let helloAt = 0;
  let pingAt = 0;
  let handshakes = 0;
  let handshakeFailures = 0;
  const hello = () => {
    helloNonce = randomBytes(32);
    keys = null;
    helloAt = Date.now();
    pingAt = 0;
    void send(buildMessage(o.key.rankKey, { type: MsgType.HELLO, rank }, helloNonce));
  };
  const up = (h: Partial<Header> & Pick<Header, 'type'>, payload?: Buffer) =>
    send(buildMessage(keys!.up, { rank, session, ...h }, payload));

  // Handshake outcomes: a refused key is final; a handshake that keeps failing means the PS key in
  // the key file is not this PS's.
  const outcomes = sock.handshakes();
  void (async () => {
    try {
      for await (const e of outcomes) {
        if (e === 'ok') {
          handshakes++;
          handshakeFailures = 0;
        } else if (e === 'refused') {
          fail(
            `the PS at ${o.connect} refused this worker's key (it is not in the PS's key set ${o.key.fingerprint}?)`,
          );
        } else {
          if (++handshakeFailures >= HANDSHAKE_FAILURES && handshakes === 0)
            fail(
              `no secure connection to ${o.connect}: the CURVE handshake failed ${handshakeFailures} times ` +
                `(the PS key in this key file is not that PS's, or it is not a draco PS)`,
            );
        }
      }
    } catch {
      // Socket closed.
    }
  })();

  const timeoutMs = o.timeoutMs ?? 0;
  const timer = setInterval(() => {
    const now = Date.now();
    if (timeoutMs > 0 && now - lastHeard > timeoutMs) {
      const secs = Math.round(timeoutMs / 1000);
      fail(
        handshakes === 0 && session === 0n
          ? `cannot reach the PS at ${o.connect}: no connection within ${secs} s`
          : `no answer from the PS at ${o.connect} for ${secs} s`,
      );
      return;
    }
    if (keys === null) {
      // A HELLO unanswered (PS not up yet, or it restarted): say it again.
      if (now - helloAt > KEEPALIVE_MS) hello();
    } else if (pingAt === 0 && now - lastHeard > KEEPALIVE_MS) {
      pingAt = now;
      void up({ type: MsgType.PING });
    } else if (pingAt > 0 && now - pingAt > KEEPALIVE_MS && lastHeard < pingAt) {
      // The PS no longer knows this session (restarted from a checkpoint): authenticate again.
      log('the PS stopped answering this session; saying HELLO again');
      status('the PS stopped answering (restarted?); authenticating again');
      hello();
    }
  }, 500);
  timer.unref();
  status(`waiting for the PS at ${o.connect}`);
  hello();

  let ctx: WorkerContext | null = null;
  let ctxJson = '';
  try {
    for await (const parts of sock.messages()) {
      const r = readFrame(parts, MAX_PS_PAYLOAD);
      if (!r.ok) {
        log(`ignored a frame from the PS: ${r.reason}`);
        continue;
      }
      const { header, payload } = r.frame;
      if (header.type === MsgType.CHALLENGE) {
        const nw = helloNonce as Buffer | null;
        if (
          nw === null ||
          !authentic(parts, o.key.rankKey) ||
          payload.length !== 64 ||
          !payload.subarray(0, 32).equals(nw)
        ) {
          log('ignored a stale or forged CHALLENGE');
          continue;
        }
        lastHeard = Date.now();
        session = header.session;
        helloNonce = null;
        keys = sessionKeys(o.key.rankKey, payload.subarray(0, 32), payload.subarray(32), session, rank);
        await send(buildMessage(o.key.rankKey, { type: MsgType.AUTH, rank, session }, Buffer.from(payload)));
        continue;
      }
      if (keys === null || !authentic(parts, (keys as { down: Buffer }).down) || header.session !== session) {
        log(`ignored a frame (type ${header.type}) outside this worker's session`);
        continue;
      }
      lastHeard = Date.now();
      pingAt = 0;
      if (header.type === MsgType.BYE) break;
      if (header.type === MsgType.EVICT) {
        fail(
          `another connection authenticated as rank ${rank} at the PS (a restarted worker, or this key is in use twice); this one stops`,
        );
        break;
      }
      if (header.type === MsgType.CONFIG) {
        const json = payload.toString('utf8');
        if (ctx === null || json !== ctxJson) {
          const description = safeJson(json);
          if (description === undefined) {
            fail('the PS sent a config this worker cannot read (different draco versions?)');
            break;
          }
          ctx?.model.dispose();
          ctx = null;
          try {
            ctx = await o.build(description);
          } catch (e) {
            if (!(e instanceof UsageError)) throw e;
            const hint = e.message.startsWith('unknown ')
              ? " (a plugin's names need `draco worker --plugin FILE`)"
              : '';
            fail(`cannot build the run the PS describes: ${e.message}${hint}`);
            break;
          }
          ctxJson = json;
        }
        log(`ready (${ctx.model.numParams} params, ${ctx.scheme.describe()})`);
        status(
          `joined the run as rank ${rank} of ${ctx.scheme.n}: ${ctx.model.numParams.toLocaleString('en-US')} ` +
            `params, ${ctx.scheme.describe()}`,
        );
        await up({ type: MsgType.READY });
        continue;
      }
      if (header.type === MsgType.STEP && ctx !== null) {
        const d = ctx.model.numParams;
        if (header.dtype !== Dtype.FLOAT32 || payload.byteLength < d * 4 || payload.byteLength % 4 !== 0) {
          log(`ignored a STEP with ${payload.byteLength} bytes`);
          continue;
        }
        // STEP payload: d float32 parameters, then the step's Byzantine ranks as u32.
        const params = payloadVec(payload.subarray(0, d * 4), Dtype.FLOAT32) as Float32Array;
        const byzantine: number[] = [];
        for (let off = d * 4; off < payload.byteLength; off += 4) byzantine.push(payload.readUInt32LE(off));
        const out = computeWorkerMessage(ctx, rank, header.step, params, byzantine);
        steps++;
        await up(gradHeader(out, header.step), vecBytes(out.message));
        continue;
      }
      if (header.type === MsgType.ECHO)
        await up({ type: MsgType.ECHO, dtype: header.dtype, step: header.step }, payload);
    }
  } catch (e) {
    if (failure === null) throw e;
  } finally {
    if (parentWatch) clearInterval(parentWatch);
    clearInterval(timer);
    ctx?.model.dispose();
    sock.close();
    log(failure === null ? 'exit' : 'stopped');
  }
  if (failure === null) status(`the run is over (${steps} steps answered)`);
  if (failure !== null) throw failure;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
