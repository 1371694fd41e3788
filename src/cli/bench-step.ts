/** `draco bench step`: median ms of one gradient computation per zoo model. */
import { Command, InvalidArgumentError, Option } from 'commander';
import { UsageError } from '../core/errors.js';
import { benchStep } from '../models/bench.js';
import { listModels } from '../models/registry.js';

function positiveInt(value: string): number {
  const x = Number(value);
  if (!Number.isInteger(x) || x < 1) throw new InvalidArgumentError('expected a positive integer.');
  return x;
}

export function benchStepCommand(): Command {
  return new Command('step')
    .summary('median ms of one gradient computation (forward + backward + flatten)')
    .description(
      'Median wall time of one gradient computation of a zoo model on a seeded random batch of MNIST shape\n' +
        '(28x28x1, 10 classes; lenet on its own input), after warm-up runs. Compare ratios measured in one run.',
    )
    .option('--model <name>', "zoo model, or 'all'", 'all')
    .option('--batch <B>', 'batch size', positiveInt, 32)
    .option('--runs <k>', 'timed runs (median reported)', positiveInt, 30)
    .option('--warmup <k>', 'untimed warm-up runs', positiveInt, 5)
    .addOption(new Option('--backend <name>', 'tfjs backend').choices(['wasm', 'cpu']).default('wasm'))
    .option('--json', 'one JSON object per line instead of a table')
    .action(
      async (o: {
        model: string;
        batch: number;
        runs: number;
        warmup: number;
        backend: 'wasm' | 'cpu';
        json?: boolean;
      }) => {
        const names = o.model === 'all' ? listModels() : [o.model];
        const known = listModels();
        for (const n of names)
          if (!known.includes(n))
            throw new UsageError(`unknown model '${n}' (known: ${known.join(', ')}, all)`);
        if (!o.json)
          process.stdout.write(
            `${'model'.padEnd(8)} ${'batch'.padStart(5)} ${'params'.padStart(10)} ${'median ms'.padStart(10)} ${'min ms'.padStart(8)}  backend\n`,
          );
        for (const model of names) {
          const r = await benchStep({
            model,
            batch: o.batch,
            runs: o.runs,
            warmup: o.warmup,
            backend: o.backend,
          });
          if (o.json) process.stdout.write(JSON.stringify(r) + '\n');
          else {
            process.stdout.write(
              `${model.padEnd(8)} ${String(o.batch).padStart(5)} ${r.numParams.toLocaleString('en-US').padStart(10)} ${r.medianMs.toFixed(3).padStart(10)} ${r.minMs.toFixed(3).padStart(8)}  ${r.backend} (${r.runs} runs)\n`,
            );
          }
        }
      },
    );
}
