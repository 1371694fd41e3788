/** `draco bench step`: median ms of one gradient computation per zoo model. */
import { Command, Option } from 'commander';
import { UsageError } from '../core/errors.js';
import { benchStep, profileStep } from '../bench/step.js';
import { listModels } from '../models/registry.js';
import { positiveInt } from './args.js';

export function benchStepCommand(): Command {
  return new Command('step')
    .summary('median ms of one gradient computation (forward + backward + flatten)')
    .description(
      'Median wall time of one gradient computation of a zoo model on a seeded random batch (10 classes; ' +
        '28x28x1 like MNIST, 32x32x3 like CIFAR-10 for cnn and resnet*), after warm-up runs. Compare ratios ' +
        'measured in one run. --profile adds the per-kernel times (tf.profile, mean of 10 gradients).',
    )
    .option('--model <name>', "zoo model, or 'all'", 'all')
    .option('--batch <B>', 'batch size', positiveInt, 32)
    .option('--runs <k>', 'timed runs (median reported)', positiveInt, 30)
    .option('--warmup <k>', 'untimed warm-up runs (and at least 0.5 s of them)', positiveInt, 5)
    .addOption(new Option('--backend <name>', 'tfjs backend').choices(['wasm', 'cpu']).default('wasm'))
    .option('--json', 'one JSON object per line instead of a table')
    .option(
      '--profile',
      'also print per-kernel times: kernel, total ms, calls per gradient (with --json: a {"profile": ...} line)',
    )
    .action(
      async (o: {
        model: string;
        batch: number;
        runs: number;
        warmup: number;
        backend: 'wasm' | 'cpu';
        json?: boolean;
        profile?: boolean;
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
          if (o.profile) {
            const p = await profileStep({ model, batch: o.batch, warmup: o.warmup, backend: o.backend });
            if (o.json) process.stdout.write(JSON.stringify({ profile: p }) + '\n');
            else {
              process.stdout.write(
                `  profile of one gradient (wall ${p.wallMs.toFixed(2)} ms with profiling on):\n`,
              );
              process.stdout.write(
                `  ${'kernel'.padEnd(24)} ${'total ms'.padStart(9)} ${'calls'.padStart(6)}\n`,
              );
              for (const k of p.kernels) {
                process.stdout.write(
                  `  ${k.kernelName.padEnd(24)} ${k.totalMs.toFixed(3).padStart(9)} ${String(k.calls).padStart(6)}\n`,
                );
              }
            }
          }
        }
      },
    );
}
