/** `draco bench threads`: the in-process engine's steps/s with 1, 2, ... task threads. */
import { availableParallelism } from 'node:os';
import { Command, InvalidArgumentError } from 'commander';
import { benchThreads } from '../bench/threads.js';
import { positiveInt } from './args.js';

function threadList(value: string): number[] {
  const xs = value.split(',').map((v) => Number(v.trim()));
  if (xs.length === 0 || xs.some((x) => !Number.isInteger(x) || x < 1 || x > 256))
    throw new InvalidArgumentError('expected comma-separated thread counts from 1 to 256, e.g. 1,2.');
  return xs;
}

export function benchThreadsCommand(): Command {
  const cores = availableParallelism();
  return new Command('threads')
    .summary("the in-process engine's steps/s with 1, 2, ... task threads")
    .description(
      "Train one config with the in-process engine at each thread count (--threads of draco train: the step's " +
        'distinct worker tasks computed on that many threads, this one included), run by run in turn, and report ' +
        'the median step time, steps/s, the speedup over the first count, and whether every count gave the same ' +
        'model (it must). Threads pay off when gradients dominate a step: many distinct tasks (uncoded, cyclic) ' +
        'and large per-worker batches.',
    )
    .option('--threads <list>', 'thread counts to compare', threadList, [1, Math.max(2, cores)])
    .option('--model <name>', 'model', 'lenet')
    .option('--dataset <name>', 'dataset', 'mnist')
    .option('--scheme <name>', 'scheme', 'uncoded')
    .option('--aggregator <spec>', 'rule (uncoded, detox mode rule)', 'mean')
    .option('--workers <n>', 'workers', positiveInt, 15)
    .option('--byzantine <s>', 'Byzantine workers', (v) => Number(v), 2)
    .option('--batch <B>', 'global batch', positiveInt, 480)
    .option('--steps <k>', 'steps per run', positiveInt, 20)
    .option('--runs <k>', 'runs per thread count (median reported)', positiveInt, 3)
    .option('--json', 'one JSON object per line instead of a table')
    .action(
      async (o: {
        threads: number[];
        model: string;
        dataset: string;
        scheme: string;
        aggregator: string;
        workers: number;
        byzantine: number;
        batch: number;
        steps: number;
        runs: number;
        json?: boolean;
      }) => {
        const rows = await benchThreads(
          {
            model: o.model,
            dataset: o.dataset,
            scheme: o.scheme,
            aggregator: o.aggregator,
            workers: o.workers,
            byzantine: o.byzantine,
            batch: o.batch,
            steps: o.steps,
          },
          o.threads,
          o.runs,
        );
        if (!o.json)
          process.stdout.write(
            `${'threads'.padStart(7)} ${'median step ms'.padStart(15)} ${'steps/s'.padStart(8)} ${'speedup'.padStart(8)}  same model\n`,
          );
        for (const r of rows) {
          if (o.json) process.stdout.write(JSON.stringify(r) + '\n');
          else
            process.stdout.write(
              `${String(r.threads).padStart(7)} ${r.medianStepMs.toFixed(1).padStart(15)} ${r.stepsPerSec.toFixed(2).padStart(8)} ${(r.speedup.toFixed(2) + 'x').padStart(8)}  ${r.sameModel ? 'yes' : 'NO'} (${r.paramsSha256.slice(0, 12)})\n`,
            );
        }
        if (rows.some((r) => !r.sameModel)) {
          process.stderr.write(
            'draco bench threads: thread counts gave different models (a bug: please report it)\n',
          );
          process.exitCode = 1;
        }
      },
    );
}
