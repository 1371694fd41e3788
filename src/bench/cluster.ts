/**
 * Transport benchmark: how fast gradient-sized messages move between the PS and a worker process
 * over the real protocol (ZeroMQ ROUTER/DEALER over CURVE, session MAC on both ends), and how much
 * a process engine adds to a training step beyond the workers' computation.
 */
import { randomBytes } from 'node:crypto';
import { resolveConfig, type TrainConfigInput } from '../build/config.js';
import { buildContext } from '../build/components.js';
import { trainResolved } from '../build/train.js';
import { median } from '../core/stats.js';
import { LocalEngine } from '../cluster/local.js';

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
 * at a time, over the real transport: CURVE on the connection and the session MAC on each frame,
 * both ways, as in training.
 */
export async function benchEcho(
  sizes: readonly number[],
  rounds: number,
  window = 4,
): Promise<TransportResult[]> {
  const config = resolveConfig({
    dataset: 'synthetic',
    workers: 1,
    byzantine: 0,
    scheme: 'uncoded',
    batch: 1,
  });
  const ctx = await buildContext(config, 'ps');
  let engine: LocalEngine | undefined;
  try {
    engine = await LocalEngine.start({
      description: config,
      scheme: ctx.scheme,
      numParams: ctx.model.numParams,
      stepDeadlineMs: 60_000,
      startupTimeoutMs: 60_000,
      maxPayload: Math.max(...sizes) + 1024,
    });
    const e = engine;
    const out: TransportResult[] = [];
    let seq = 0;
    for (const bytes of sizes) {
      const payload = randomBytes(bytes);
      const once = async (n: number) => {
        const rtt: number[] = [];
        let sent = 0;
        const t0 = performance.now();
        const lane = async () => {
          while (sent < n) {
            sent++;
            const t = performance.now();
            const back = await e.echo(0, seq++, payload);
            if (back.byteLength !== bytes) throw new Error(`bench: bad echo (${back.byteLength} bytes)`);
            rtt.push(performance.now() - t);
          }
        };
        await Promise.all(Array.from({ length: Math.min(window, n) }, lane));
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
    return out;
  } finally {
    await engine?.close();
    ctx.model.dispose();
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
  await trainResolved(
    resolveConfig({ ...input, engine: 'local', evalEvery: 0 }),
    {},
    {
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
    },
  );
  return {
    steps: overhead.length,
    numParams,
    medianOverheadMs: median(overhead),
    medianPsWaitMs: median(waits),
    medianSlowestWorkerMs: median(slowest),
  };
}
