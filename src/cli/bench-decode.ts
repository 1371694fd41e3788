/** `draco bench decode`: flags in, src/bench/decode.ts measures, a table or JSON lines out. */
import { Command, Option } from 'commander';
import { UsageError } from '../core/errors.js';
import { benchDecode } from '../bench/decode.js';
import type { MessageDtype } from '../schemes/types.js';
import { positiveInt, nonNegativeInt } from './args.js';

export function benchDecodeCommand(): Command {
  return new Command('decode')
    .summary('median ms and input GB/s of the cyclic / Solon decoder')
    .description(
      'Median wall time of the PS-side decode of the cyclic code or Solon over n seeded encoded messages of ' +
        'd parameters, s of them corrupted (reverse, c = 100), and the input bandwidth (message bytes / ' +
        'median). The messages sit in WebAssembly memory, where the training PS copies validated messages, so ' +
        'the SIMD kernels run as in training; DRACO_SIMD=0 uses plain arrays and the JS loops.\n\n' +
        "The decoder combines the previous decode's kept rows in the same pass as the projection, and keeps " +
        'that result when the locator keeps the same rows (the same bits either way). "median ms" is with the ' +
        'same Byzantine workers every step, as in training with a fixed placement. With the corrupted set ' +
        'moving every step, "miss ms" is a decode whose guess failed and "no-guess ms" the decodes after it, ' +
        'which back off from guessing (plain two passes): moving adversaries cost about "no-guess ms" per step.\n\n' +
        'Beside the decode, the mean of n float32 inputs of d values (the `mean` rule of `draco bench ' +
        'aggregate`) is timed run by run in turn with it, with the median of the per-run ratios (--no-mean ' +
        'skips it).',
    )
    .addOption(new Option('--scheme <name>', 'coded scheme').choices(['cyclic', 'solon']).default('cyclic'))
    .option('--n <N>', 'number of workers', positiveInt, 15)
    .option('--d <D>', 'number of parameters', positiveInt, 1_000_000)
    .option(
      '--byzantine <s>',
      'Byzantine workers the code is designed for (and corrupted)',
      nonNegativeInt,
      2,
    )
    .option('--compression <m>', 'solon: message length d/m', positiveInt, 1)
    .addOption(
      new Option('--message-dtype <t>', 'message element type')
        .choices(['float64', 'float32', 'float64x2'])
        .default('float64'),
    )
    .option('--runs <k>', 'timed runs (median reported)', positiveInt, 5)
    .option('--no-mean', 'do not time the mean of n float32 inputs beside the decode')
    .option('--warmup <k>', 'untimed warm-up runs', nonNegativeInt, 1)
    .option('--json', 'one JSON object per line instead of a table')
    .action(
      (o: {
        scheme: 'cyclic' | 'solon';
        n: number;
        d: number;
        byzantine: number;
        compression: number;
        messageDtype: MessageDtype;
        runs: number;
        warmup: number;
        mean: boolean;
        json?: boolean;
      }) => {
        if (o.scheme === 'cyclic' && o.compression !== 1) {
          throw new UsageError(
            `--compression is for solon (cyclic sends d values; got --compression ${o.compression})`,
          );
        }
        const row = benchDecode({
          scheme: o.scheme,
          n: o.n,
          d: o.d,
          s: o.byzantine,
          m: o.compression,
          dtype: o.messageDtype,
          runs: o.runs,
          warmup: o.warmup,
          mean: o.mean,
        });
        if (o.json) process.stdout.write(JSON.stringify(row) + '\n');
        else {
          const ms = (x: number | null) => (x === null ? '-' : x.toFixed(2)).padStart(11);
          process.stdout.write(
            `${'scheme'.padEnd(10)} ${'n'.padStart(4)} ${'d'.padStart(9)} ${'s'.padStart(3)} ${'m'.padStart(3)} ${'median ms'.padStart(10)} ${'min ms'.padStart(9)} ${'GB/s'.padStart(7)} ${'miss ms'.padStart(11)} ${'no-guess ms'.padStart(11)}\n` +
              `${row.scheme.padEnd(10)} ${String(row.n).padStart(4)} ${String(row.d).padStart(9)} ${String(row.s).padStart(3)} ${String(row.m).padStart(3)} ${row.medianMs.toFixed(2).padStart(10)} ${row.minMs.toFixed(2).padStart(9)} ${row.gbps.toFixed(2).padStart(7)} ${ms(row.missMs)} ${ms(row.noGuessMs)}\n` +
              (row.meanMs === null
                ? ''
                : `  beside it, mean of ${row.n} float32 inputs: ${row.meanMs.toFixed(2)} ms; decode / mean, run by run: ${row.ratio?.toFixed(2)}x (median)\n`) +
              `  (${row.dtype} messages${row.arena ? ' in wasm memory' : ''}; steady runs: ${row.speculation.hit} guesses held, ` +
              `${row.speculation.miss} failed, ${row.speculation.none} without; suspects ${row.suspects.join(',') || 'none'})\n`,
          );
        }
      },
    );
}
