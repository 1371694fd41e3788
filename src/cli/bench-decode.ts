/**
 * `draco bench decode`: median wall time of the cyclic code's or Solon's PS-side decode on n
 * seeded encoded messages of d parameters (s of them corrupted by the reverse attack, so the
 * locator does real work), and the input bandwidth (bytes of all messages / median time).
 * Same row shape as `draco bench aggregate` (scheme in place of rule). The messages are slots of
 * a MessageArena, where the training PS's validation copies them, so the decoder's SIMD kernels
 * run as in training; DRACO_SIMD=0 keeps plain arrays and the JS loops.
 *
 * The decoder speculates (schemes/mds.ts, Speculation): it combines the last decode's kept rows in
 * the projection's pass, one pass over the messages instead of two when the same rows are kept
 * again. So three figures: `medianMs` with the same Byzantine workers every step (the guess holds,
 * as in training with a fixed set of adversaries), and, with the corrupted set changing every
 * step, `missMs` (a guess that fails: the wasted combination, then the second pass) and
 * `noGuessMs` (the decodes after a miss, which do not guess: the plain two passes). Adversaries
 * that move every step cost about `noGuessMs` per step (the decoder backs off: mds.ts Speculation).
 *
 * Beside the decode (unless `mean: false`), the `mean` rule as `draco bench aggregate` times it
 * (n float32 inputs of d values in an arena, its SIMD kernel), run by run in turn with the
 * steady-state decodes: `meanMs` and `ratio`, the median of the per-run decode / mean ratios,
 * which a shared machine's load changes far less than either time.
 */
import { Command, Option } from 'commander';
import { UsageError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { arenaFor, storeFinite } from '../core/simd/arena.js';
import { median } from '../core/stats.js';
import type { Vec } from '../core/vec.js';
import { createMdsCode, mdsDecode, mdsEncode, type MdsDecodeInfo } from '../schemes/mds.js';
import { createScheme } from '../schemes/registry.js';
import type { MessageDtype } from '../schemes/types.js';
import { positiveInt, nonNegativeInt } from './args.js';
import { benchInputs, ruleRun } from './bench-aggregate.js';

export interface BenchDecodeRow {
  scheme: string;
  n: number;
  d: number;
  s: number;
  m: number;
  dtype: MessageDtype;
  runs: number;
  /** Median ms with the same corrupted messages every run (the speculation holds: one pass). */
  medianMs: number;
  minMs: number;
  /** Input bandwidth: total message bytes / median time, in GB/s (1e9 bytes). */
  gbps: number;
  /** Median ms of decodes whose guess failed (the corrupted set moved); null when none ran. */
  missMs: number | null;
  /** Median ms of decodes that did not guess (after a miss: the plain two passes); null when none ran. */
  noGuessMs: number | null;
  /** Median ms of the mean of n float32 inputs of d values, timed in turn with the steady decodes. */
  meanMs: number | null;
  /** Median over the steady runs of decode ms / mean ms (each pair timed back to back). */
  ratio: number | null;
  /** How the timed steady-state runs went: decodes whose guess held, failed, or that did not guess. */
  speculation: { hit: number; miss: number; none: number };
  /** Byzantine ranks the decoder flagged in the last steady-state run (should be the corrupted ones). */
  suspects: number[];
  /** True when the messages sat in a MessageArena (wasm memory) as in training, false for plain arrays. */
  arena: boolean;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

export function benchDecode(o: {
  scheme: 'cyclic' | 'solon';
  n: number;
  d: number;
  s: number;
  m: number;
  dtype: MessageDtype;
  runs: number;
  warmup: number;
  seed?: number;
  /** Time the mean beside the decode (default true). */
  mean?: boolean;
}): BenchDecodeRow {
  const { n, d, s, m } = o;
  // The scheme validates the settings (UsageError with the bound); the decoder is its code.
  const scheme = createScheme(o.scheme, { n, s, d, compression: m, messageDtype: o.dtype });
  const code = createMdsCode({ n, s, d, r: 2 * s + m, m, dtype: o.dtype }, o.scheme);
  const rng = Rng.derive(o.seed ?? 1, 'bench-decode');
  const grads: Float32Array[] = [];
  for (let j = 0; j < scheme.numPartitions; j++) {
    const g = new Float32Array(d);
    rng.fillNormal(g);
    grads.push(g);
  }
  const honest: Vec[] = [];
  for (let i = 0; i < n; i++) honest.push(mdsEncode(code, i, (parts) => grads[parts[0]]));
  // Two corrupted sets, for the steady state (the first) and for adversaries moving every step.
  const byzSets = [rng.sample(n, s), rng.sample(n, s)];
  if (s > 0 && byzSets[1].every((j) => byzSets[0].includes(j)))
    byzSets[1] = byzSets[1].map((j) => (j + 1) % n);
  const corrupt = (msg: Vec, i: number, set: number[]): Vec => {
    if (!set.includes(i)) return msg;
    const bad = msg.slice();
    for (let t = 0; t < bad.length; t++) bad[t] *= -100;
    return bad;
  };
  const sent = byzSets.map((set) => honest.map((msg, i) => corrupt(msg, i, set)));
  // As the training PS validates them: copied into the sender's arena slot (wasm memory).
  const arena = arenaFor(code, n, code.messageLength, code.elementDtype);
  const place = (set: number): Vec[] =>
    sent[set].map((msg, i) => {
      const slot = arena?.slot(i);
      if (slot === undefined) return msg;
      if (!storeFinite(slot, msg)) throw new Error(`bench decode: message ${i} is not finite`);
      return slot;
    });
  let step = 0;
  const decodeTimed = (messages: Vec[]) => {
    let info: MdsDecodeInfo | undefined;
    const ctx = {
      step,
      partitionSizes: new Array<number>(scheme.numPartitions).fill(1),
      rng: Rng.derive(o.seed ?? 1, 'ps', step),
    };
    step++;
    const t0 = performance.now();
    const res = mdsDecode(code, messages, ctx, (i) => (info = i));
    const ms = performance.now() - t0;
    return { ms, res, speculation: info?.speculation ?? 'none' };
  };
  // The mean as `draco bench aggregate` times it: float32 inputs in an arena, a reused result.
  let meanTimed: (() => number) | null = null;
  if (o.mean !== false) {
    const run = ruleRun('mean', benchInputs(n, d, rng).inputs, 0, o.seed ?? 1);
    meanTimed = () => {
      const t0 = performance.now();
      run();
      return performance.now() - t0;
    };
  }
  // Steady state: the same corrupted set every run, each decode followed by a mean.
  const steady = place(0);
  for (let i = 0; i < o.warmup; i++) {
    decodeTimed(steady);
    meanTimed?.();
  }
  const times: number[] = [];
  const meanTimes: number[] = [];
  const ratios: number[] = [];
  const speculation = { hit: 0, miss: 0, none: 0 };
  let suspects: number[] = [];
  for (let r = 0; r < o.runs; r++) {
    const { ms, res, speculation: sp } = decodeTimed(steady);
    times.push(ms);
    speculation[sp]++;
    suspects = res.suspects;
    if (meanTimed !== null) {
      const mm = meanTimed();
      meanTimes.push(mm);
      ratios.push(ms / mm);
    }
  }
  // Moving adversaries: the other set, then back, every run (copies untimed).
  const byKind: Record<'hit' | 'miss' | 'none', number[]> = { hit: [], miss: [], none: [] };
  for (let r = 0; r < o.runs && s > 0; r++) {
    const { ms, speculation: sp } = decodeTimed(place(1 - (r % 2)));
    byKind[sp].push(ms);
  }
  const medianMs = median(times);
  const bytes = steady.reduce((a, x) => a + x.byteLength, 0);
  const orNull = (xs: number[]) => (xs.length > 0 ? round3(median(xs)) : null);
  return {
    scheme: o.scheme,
    n,
    d,
    s,
    m,
    dtype: o.dtype,
    runs: o.runs,
    medianMs: round3(medianMs),
    minMs: round3(Math.min(...times)),
    gbps: Math.round((bytes / (medianMs * 1e6)) * 100) / 100,
    missMs: orNull(byKind.miss),
    noGuessMs: orNull(byKind.none),
    meanMs: orNull(meanTimes),
    ratio: ratios.length > 0 ? Math.round(median(ratios) * 100) / 100 : null,
    speculation,
    suspects,
    arena: arena !== null,
  };
}

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
