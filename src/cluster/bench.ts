/**
 * Transport benchmark: how fast gradient-sized messages move between the PS and a worker process
 * over the real protocol (ZeroMQ ROUTER/DEALER, MAC on both ends), and how much a process
 * engine adds to a training step beyond the workers' computation.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Router } from 'zeromq';
import { resolveConfig, type TrainConfigInput } from '../experiment/config.js';
import { median } from '../core/stats.js';
import { train } from '../train/loop.js';
import { buildMessage, Dtype, MsgType, parseMessage } from './protocol.js';

const DRACO_BIN = fileURLToPath(new URL('../../../bin/draco.js', import.meta.url));

export interface TransportResult {
  bytes: number;
  rounds: number;
  /** Payload megabytes (1e6 bytes) moved per second, both directions counted. */
  mbPerSec: number;
  /** Median round trip (PS -> worker -> PS) of one message, ms. */
  medianRoundTripMs: number;
}

/**
 * Echo `rounds` messages of `bytes` bytes through one `draco worker` process, `window` in flight
 * at a time; each direction builds and checks the MAC as in training.
 */
export async function benchEcho(
  sizes: readonly number[],
  rounds: number,
  window = 4,
): Promise<TransportResult[]> {
  const secret = randomBytes(32);
  const sock = new Router({ linger: 0, sendHighWaterMark: 0, receiveHighWaterMark: 0 });
  await sock.bind('tcp://127.0.0.1:*');
  const child = spawn(
    process.execPath,
    [DRACO_BIN, 'worker', '--connect', sock.lastEndpoint!, '--rank', '0', '--exit-with-parent'],
    {
      env: { ...process.env, DRACO_CLUSTER_SECRET: secret.toString('hex') },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  try {
    const it = sock[Symbol.asyncIterator]();
    const first = await it.next();
    const id = Buffer.from((first.value as Buffer[])[0]);
    const out: TransportResult[] = [];
    for (const bytes of sizes) {
      const maxPayload = bytes + 1024;
      const payload = randomBytes(bytes);
      const once = async (n: number) => {
        const sentAt: number[] = [];
        const rtt: number[] = [];
        let sent = 0;
        let got = 0;
        const t0 = performance.now();
        const sendOne = async () => {
          sentAt.push(performance.now());
          await sock.send([
            id,
            ...buildMessage(secret, { type: MsgType.ECHO, dtype: Dtype.NONE, step: sent }, payload),
          ]);
          sent++;
        };
        while (sent < Math.min(window, n)) await sendOne();
        while (got < n) {
          const r = await it.next();
          const parts = (r.value as Buffer[]).slice(1);
          const p = parseMessage(parts, secret, maxPayload);
          if (!p.ok || p.frame.payload.byteLength !== bytes)
            throw new Error(`bench: bad echo (${p.ok ? 'size' : p.reason})`);
          rtt.push(performance.now() - sentAt[got]);
          got++;
          if (sent < n) await sendOne();
        }
        return { secs: (performance.now() - t0) / 1000, rtt };
      };
      await once(Math.min(3, rounds)); // warm-up
      const { secs, rtt } = await once(rounds);
      out.push({
        bytes,
        rounds,
        mbPerSec: (2 * bytes * rounds) / 1e6 / secs,
        medianRoundTripMs: median(rtt),
      });
    }
    await sock.send([id, ...buildMessage(secret, { type: MsgType.BYE })]);
    return out;
  } finally {
    await new Promise((r) => setTimeout(r, 50));
    kill();
    process.off('exit', kill);
    sock.close();
  }
}

export interface OverheadResult {
  steps: number;
  numParams: number;
  /** Median over steps of psWaitMs - slowest worker's (compute + encode). */
  medianOverheadMs: number;
  medianPsWaitMs: number;
  medianSlowestWorkerMs: number;
}

/** Train a few steps with `--engine local` and measure the PS's wait beyond the slowest worker. */
export async function benchStepOverhead(input: TrainConfigInput): Promise<OverheadResult> {
  const overhead: number[] = [];
  const waits: number[] = [];
  const slowest: number[] = [];
  let numParams = 0;
  await train(resolveConfig({ ...input, engine: 'local', evalEvery: 0 }), {
    onStart: (i) => {
      numParams = i.model.numParams;
    },
    onStep: (r) => {
      if (r.step === 0) return; // first step: worker warm-up
      const s = Math.max(...r.time.computeMs.map((c, w) => c + r.time.encodeMs[w]));
      waits.push(r.time.psWaitMs);
      slowest.push(s);
      overhead.push(r.time.psWaitMs - s);
    },
  });
  return {
    steps: overhead.length,
    numParams,
    medianOverheadMs: median(overhead),
    medianPsWaitMs: median(waits),
    medianSlowestWorkerMs: median(slowest),
  };
}
