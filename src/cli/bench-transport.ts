/** `draco bench transport`: PS <-> worker throughput over the wire protocol, and step overhead. */
import { Command, InvalidArgumentError, Option } from 'commander';
import { benchEcho, benchStepOverhead } from '../bench/cluster.js';
import { positiveInt } from './args.js';

function sizeList(value: string): number[] {
  const xs = value.split(',').map((v) => Number(v));
  if (xs.some((x) => !Number.isFinite(x) || x <= 0 || x > 512))
    throw new InvalidArgumentError('expected comma-separated sizes in MB (0 < size <= 512).');
  return xs.map((x) => Math.round(x * 1e6));
}

export function benchTransportCommand(): Command {
  return new Command('transport')
    .summary('MB/s of gradient-sized messages PS <-> worker, and the PS per-step overhead')
    .description(
      'Echo messages through one `draco worker` process over ZeroMQ (CURVE, and the session MAC on every frame; ' +
        '4 in flight) and report payload MB/s (both directions counted) and the median round trip. Then train a few ' +
        'steps with --engine local and report the PS wait beyond the slowest worker (median over steps).',
    )
    .addOption(
      new Option('--sizes <MB,...>', 'message sizes in MB (1e6 bytes)')
        .argParser(sizeList)
        .default([0.4e6, 4e6, 16e6], '0.4,4,16'),
    )
    .option('--rounds <k>', 'messages per size', positiveInt, 50)
    .option('--model <name>', 'model for the step-overhead run', 'mlp')
    .option('--dataset <name>', 'dataset for the step-overhead run', 'synthetic')
    .option('--workers <n>', 'workers for the step-overhead run', positiveInt, 4)
    .option('--steps <k>', 'steps of the step-overhead run (0 skips it)', (v) => Number(v), 10)
    .option('--json', 'one JSON object per line')
    .action(
      async (o: {
        sizes: number[];
        rounds: number;
        model: string;
        dataset: string;
        workers: number;
        steps: number;
        json?: boolean;
      }) => {
        const echo = await benchEcho(o.sizes, o.rounds);
        for (const r of echo) {
          if (o.json) process.stdout.write(JSON.stringify({ kind: 'echo', ...r }) + '\n');
          else
            process.stdout.write(
              `echo ${(r.bytes / 1e6).toFixed(2).padStart(7)} MB  ${r.mbPerSec.toFixed(0).padStart(6)} MB/s  round trip ${r.medianRoundTripMs.toFixed(2)} ms (median of ${r.rounds})\n`,
            );
        }
        if (o.steps > 1) {
          const s = await benchStepOverhead({
            model: o.model,
            dataset: o.dataset,
            workers: o.workers,
            byzantine: 0,
            scheme: 'uncoded',
            steps: o.steps,
            batch: Math.max(o.workers, 32 * o.workers),
          });
          if (o.json)
            process.stdout.write(JSON.stringify({ kind: 'step-overhead', model: o.model, ...s }) + '\n');
          else
            process.stdout.write(
              `step overhead (${o.model}, ${s.numParams.toLocaleString('en-US')} params, ${o.workers} local workers): ` +
                `${s.medianOverheadMs.toFixed(2)} ms median beyond the slowest worker ` +
                `(PS wait ${s.medianPsWaitMs.toFixed(2)} ms, slowest worker ${s.medianSlowestWorkerMs.toFixed(2)} ms, ${s.steps} steps)\n`,
            );
        }
      },
    );
}
