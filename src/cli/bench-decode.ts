/**
 * `draco bench decode`: median wall time of the cyclic code's or Solon's PS-side decode on n
 * seeded encoded messages of d parameters (s of them corrupted by the reverse attack, so the
 * locator does real work), and the input bandwidth (bytes of all messages / median time).
 * Same row shape as `draco bench aggregate` (scheme in place of rule). The messages are slots of
 * a MessageArena, where the training PS's validation copies them, so the decoder's SIMD kernels
 * (projection, combination) run as in training; DRACO_SIMD=0 keeps plain arrays and the JS loops.
 */
import { Command, Option } from 'commander';
import { UsageError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { arenaFor, storeFinite } from '../core/simd/arena.js';
import { timeRuns } from '../core/stats.js';
import type { Vec } from '../core/vec.js';
import { createScheme } from '../schemes/registry.js';
import { positiveInt, nonNegativeInt } from './args.js';

export interface BenchDecodeRow {
  scheme: string;
  n: number;
  d: number;
  s: number;
  m: number;
  dtype: 'float64' | 'float32';
  runs: number;
  medianMs: number;
  minMs: number;
  /** Input bandwidth: total message bytes / median time, in GB/s (1e9 bytes). */
  gbps: number;
  /** Byzantine ranks the decoder flagged in the last run (should be the corrupted ones). */
  suspects: number[];
  /** True when the messages sat in a MessageArena (wasm memory) as in training, false for plain arrays. */
  arena: boolean;
}

export function benchDecode(o: {
  scheme: 'cyclic' | 'solon';
  n: number;
  d: number;
  s: number;
  m: number;
  dtype: 'float64' | 'float32';
  runs: number;
  warmup: number;
  seed?: number;
}): BenchDecodeRow {
  const { n, d, s, m } = o;
  const scheme = createScheme(o.scheme, { n, s, d, compression: m, messageDtype: o.dtype });
  const rng = Rng.derive(o.seed ?? 1, 'bench-decode');
  const grads: Float32Array[] = [];
  for (let j = 0; j < scheme.numPartitions; j++) {
    const g = new Float32Array(d);
    rng.fillNormal(g);
    grads.push(g);
  }
  const sent: Vec[] = [];
  for (let i = 0; i < n; i++) sent.push(scheme.encode(i, (parts) => grads[parts[0]]));
  const byz = rng.sample(n, s);
  for (const b of byz) for (let t = 0; t < sent[b].length; t++) sent[b][t] *= -100;
  // As the training PS validates them: copied into the sender's arena slot (wasm memory).
  const arena = arenaFor(scheme, n, scheme.messageLength, scheme.messageDtype);
  const messages = sent.map((msg, i) => {
    const slot = arena?.slot(i);
    if (slot === undefined) return msg;
    if (!storeFinite(slot, msg)) throw new Error(`bench decode: message ${i} is not finite`);
    return slot;
  });
  const ctx = (run: number) => ({
    step: run,
    partitionSizes: new Array<number>(scheme.numPartitions).fill(1),
    rng: Rng.derive(o.seed ?? 1, 'ps', run),
  });
  const { medianMs, minMs, last } = timeRuns(o.warmup, o.runs, (i) => scheme.decode(messages, ctx(i)));
  const suspects = last.suspects;
  const bytes = messages.reduce((a, x) => a + x.byteLength, 0);
  return {
    scheme: o.scheme,
    n,
    d,
    s,
    m,
    dtype: o.dtype,
    runs: o.runs,
    medianMs: Math.round(medianMs * 1000) / 1000,
    minMs: Math.round(minMs * 1000) / 1000,
    gbps: Math.round((bytes / (medianMs * 1e6)) * 100) / 100,
    suspects,
    arena: arena !== null,
  };
}

export function benchDecodeCommand(): Command {
  return new Command('decode')
    .summary('median ms and input GB/s of the cyclic / Solon decoder')
    .description(
      'Median wall time of the PS-side decode of the cyclic code or Solon over n seeded encoded messages of\n' +
        'd parameters, s of them corrupted (reverse, c = 100), and the input bandwidth (message bytes /\n' +
        'median). The messages sit in WebAssembly memory, where the training PS copies validated messages, so\n' +
        'the SIMD kernels run as in training; DRACO_SIMD=0 uses plain arrays and the JS loops.\n' +
        'Compare with `draco bench aggregate --rules mean` measured in the same session.',
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
        .choices(['float64', 'float32'])
        .default('float64'),
    )
    .option('--runs <k>', 'timed runs (median reported)', positiveInt, 5)
    .option('--warmup <k>', 'untimed warm-up runs', nonNegativeInt, 1)
    .option('--json', 'one JSON object per line instead of a table')
    .action(
      (o: {
        scheme: 'cyclic' | 'solon';
        n: number;
        d: number;
        byzantine: number;
        compression: number;
        messageDtype: 'float64' | 'float32';
        runs: number;
        warmup: number;
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
        });
        if (o.json) process.stdout.write(JSON.stringify(row) + '\n');
        else {
          process.stdout.write(
            `${'scheme'.padEnd(10)} ${'n'.padStart(4)} ${'d'.padStart(9)} ${'s'.padStart(3)} ${'m'.padStart(3)} ${'median ms'.padStart(10)} ${'min ms'.padStart(9)} ${'GB/s'.padStart(7)}\n` +
              `${row.scheme.padEnd(10)} ${String(row.n).padStart(4)} ${String(row.d).padStart(9)} ${String(row.s).padStart(3)} ${String(row.m).padStart(3)} ${row.medianMs.toFixed(2).padStart(10)} ${row.minMs.toFixed(2).padStart(9)} ${row.gbps.toFixed(2).padStart(7)}  (${row.dtype} messages${row.arena ? ' in wasm memory' : ''}, suspects ${row.suspects.join(',') || 'none'})\n`,
          );
        }
      },
    );
}
