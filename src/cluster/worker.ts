/**
 * A worker process (DESIGN §5-6): a ZeroMQ DEALER connected to the PS's ROUTER. It says HELLO
 * with its rank, receives the run's config, builds the dataset, model and scheme itself (same seed
 * -> same initial model), says READY, then answers every STEP (the float32 parameters) with one
 * GRAD: the message computeWorkerMessage gives, the same bytes the in-process engine computes.
 * A Byzantine rank runs its attack here, in its own process.
 */
import { Dealer } from 'zeromq';
import { TrainConfigSchema } from '../experiment/config.js';
import {
  buildMessage,
  Dtype,
  dtypeOf,
  FLAG_POISONED,
  MsgType,
  parseMessage,
  payloadVec,
  vecBytes,
} from './protocol.js';
import { buildWorkerContext, computeWorkerMessage, type WorkerContext } from './worker-step.js';

export interface WorkerOptions {
  /** PS address, e.g. tcp://10.0.0.1:5555. */
  connect: string;
  rank: number;
  secret: Buffer;
  /** Exit when this process's parent changes (local engine: no orphans if the PS dies). */
  exitWithParent?: boolean;
  /** Print set-up and exit lines to stderr. */
  verbose?: boolean;
}

/** Largest message a worker accepts from the PS (params of a 256M-parameter model). */
const MAX_PS_PAYLOAD = 1 << 30;

/** Silence from the PS after which a worker says HELLO again (ms). */
const HELLO_EVERY_MS = 5000;

export async function runWorker(o: WorkerOptions): Promise<void> {
  const sock = new Dealer({ linger: 0, receiveHighWaterMark: 0, sendHighWaterMark: 0 });
  const log = (m: string) => {
    if (o.verbose) process.stderr.write(`draco worker ${o.rank}: ${m}\n`);
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
  sock.connect(o.connect);
  // HELLO now (ZeroMQ queues it until connected), and again after HELLO_EVERY_MS without a word
  // from the PS: a PS restarted from a checkpoint does not know this rank until it says HELLO.
  // A live PS ignores a repeated HELLO from the same peer.
  const hello = () => send(buildMessage(o.secret, { type: MsgType.HELLO, rank: o.rank }));
  let lastHeard = Date.now();
  void hello();
  const helloTimer = setInterval(() => {
    if (Date.now() - lastHeard > HELLO_EVERY_MS) {
      lastHeard = Date.now();
      void hello();
    }
  }, HELLO_EVERY_MS / 4);
  helloTimer.unref();
  let ctx: WorkerContext | null = null;
  let ctxJson = '';
  let session = 0n;
  try {
    for await (const parts of sock) {
      lastHeard = Date.now();
      const r = parseMessage(parts, o.secret, MAX_PS_PAYLOAD);
      if (!r.ok) {
        log(`ignored a frame from the PS: ${r.reason}`);
        continue;
      }
      const { header, payload } = r.frame;
      if (header.type === MsgType.BYE) break;
      if (header.type === MsgType.CONFIG) {
        const json = payload.toString('utf8');
        if (ctx === null || json !== ctxJson) {
          const cfg = TrainConfigSchema.parse(JSON.parse(json));
          ctx?.model.dispose();
          ctx = await buildWorkerContext(cfg);
          ctxJson = json;
        }
        session = header.session;
        log(`ready (${ctx.model.numParams} params, ${ctx.scheme.describe()})`);
        await send(buildMessage(o.secret, { type: MsgType.READY, rank: o.rank, session }));
        continue;
      }
      if (header.type === MsgType.STEP && ctx !== null && header.session === session) {
        const d = ctx.model.numParams;
        if (header.dtype !== Dtype.FLOAT32 || payload.byteLength < d * 4 || payload.byteLength % 4 !== 0) {
          log(`ignored a STEP with ${payload.byteLength} bytes`);
          continue;
        }
        // STEP payload: d float32 parameters, then the step's Byzantine ranks as u32.
        const params = payloadVec(payload.subarray(0, d * 4), Dtype.FLOAT32) as Float32Array;
        const byzantine: number[] = [];
        for (let off = d * 4; off < payload.byteLength; off += 4) byzantine.push(payload.readUInt32LE(off));
        const out = computeWorkerMessage(ctx, o.rank, header.step, params, byzantine);
        await send(
          buildMessage(
            o.secret,
            {
              type: MsgType.GRAD,
              dtype: dtypeOf(out.message),
              flags: out.poisoned ? FLAG_POISONED : 0,
              rank: o.rank,
              step: header.step,
              session,
              computeUs: out.computeMs * 1000,
              encodeUs: out.encodeMs * 1000,
              lossSum: out.lossSum,
              samples: out.samples,
            },
            vecBytes(out.message),
          ),
        );
        continue;
      }
      if (header.type === MsgType.ECHO) {
        await send(
          buildMessage(o.secret, { type: MsgType.ECHO, rank: o.rank, dtype: header.dtype }, payload),
        );
      }
    }
  } finally {
    if (parentWatch) clearInterval(parentWatch);
    clearInterval(helloTimer);
    ctx?.model.dispose();
    sock.close();
    log('exit');
  }
}
