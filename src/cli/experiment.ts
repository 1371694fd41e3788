/** `draco experiment FILE`: expand a study into runs, run (or resume) them, write results.csv. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { UsageError } from '../core/errors.js';
import { loadStudy, runFilter } from '../experiment/study.js';
import { runDir, runStudy, writeManifest } from '../experiment/runner.js';
import { positiveInt } from './args.js';

const DRACO_BIN = fileURLToPath(new URL('../../../bin/draco.js', import.meta.url));
import type { AggregationCostRow, StudyRun } from '../experiment/results.js';

export function experimentCommand(): Command {
  return new Command('experiment')
    .summary('run a study: a grid of training runs, resumable, summarised in results.csv')
    .description(
      'Expand the study FILE (YAML or JSON) into a grid of `draco train` runs and run them, --jobs at ' +
        'a time in separate processes (default: one per core; the models do not depend on it, measured ' +
        'compute times do: --jobs 1 for timings that share no CPU). Finished runs are skipped, so the ' +
        'same command resumes an interrupted study; a run whose settings changed gets a new id.',
    )
    .argument('<file>', 'study file, e.g. experiments/draco-vs-median.yaml')
    .option('--quick', "the study's small size (its `quick:` section): minutes instead of hours")
    .option('--out <dir>', 'output folder (default: results/<study name>[-quick])')
    .option('--dry-run', 'print the expanded runs and exit')
    .option('--quiet', 'no progress: only errors (stderr) and the final line (stdout)')
    .option(
      '--jobs <n>',
      'run this many runs at once, each in its own process (default: the cores; 1 for timings that share no CPU)',
      positiveInt,
      availableParallelism(),
    )
    .addOption(new Option('--child').hideHelp())
    .option(
      '--only <key=value,...>',
      'run only the runs whose options match (repeatable: any of them), e.g. --only partition=iid; ' +
        'the other finished runs in the folder stay in results.csv',
      (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
    )
    .addHelpText(
      'after',
      `
Study file (every key but name optional):
  name: draco-vs-median
  seeds: [1, 2, 3]                    # each grid point once per seed
  targets: [0.9, 0.95]                # results.csv: steps and modeled seconds to these accuracies
  reference: geomedian                # tables.md: speedup of every defense over this one
  network: {bandwidthMBps: 125, latencyMs: 0.1}    # the time model (MODELED communication)
  base: {model: mlp, steps: 500}      # any draco train option (camelCase), shared by all runs
  grid:                               # cartesian product of the axes
    defense:                          # an axis of mappings (label: optional chart name)
      - {scheme: repetition}
      - {scheme: uncoded, aggregator: geomedian}
    attack: [reverse, constant]       # an axis named after an option: its values
  exclude: [{scheme: cyclic, attack: constant}]
  aggregationCost: {rules: [mean, median, geomedian], n: [15, 31, 63], d: 100000}
  quick: {seeds: [1], base: {steps: 60}, grid: {attack: [reverse]}}

Output folder:
  study.json                 the expanded runs and settings
  runs/<id>/                 config.json, metrics.jsonl, summary.json, params.npy per run
  results.csv                one row per finished run: defense, scheme, aggregator, attack,
                             placement, partition, n, s, r, m, seed, final accuracy, steps and
                             modeled seconds to each target, bytes per worker per step, median
                             step breakdown (compute, encode, modeled communication, decode,
                             update), modeled and wall step time
  aggregation-cost.csv       PS aggregation cost vs n per rule (with aggregationCost)
Then: draco report DIR

Shipped studies: experiments/draco-vs-median.yaml, experiments/detox.yaml, experiments/solon.yaml,
experiments/heterogeneity.yaml, experiments/paper-scale.yaml, experiments/verify.yaml,
experiments/peers.yaml.`,
    )
    .action(
      async (
        file: string,
        opts: {
          quick?: boolean;
          out?: string;
          dryRun?: boolean;
          quiet?: boolean;
          only?: string[];
          jobs: number;
          child?: boolean;
        },
      ) => {
        const quick = opts.quick === true;
        const manifest = loadStudy(file, quick);
        const out =
          opts.out ?? `results/${manifest.name || basename(file, extname(file))}${quick ? '-quick' : ''}`;
        const select = runFilter(opts.only ?? []);
        const chosen = manifest.runs.filter(select);
        if (chosen.length === 0)
          throw new UsageError(
            `--only ${(opts.only ?? []).join(' --only ')} matches none of the ${manifest.runs.length} runs`,
          );
        if (opts.dryRun) {
          for (const r of chosen) process.stdout.write(`${r.id}\n`);
          process.stdout.write(
            `${chosen.length} runs${chosen.length < manifest.runs.length ? ` of ${manifest.runs.length}` : ''} -> ${out}\n`,
          );
          return;
        }
        const quiet = opts.quiet === true;
        const log = (s: string) => {
          if (!quiet) process.stderr.write(s + '\n');
        };
        const costLine = (row: AggregationCostRow) =>
          log(`  aggregation cost: ${row.rule} n=${row.n} d=${row.d}: ${row.medianMs.toFixed(2)} ms`);
        const tty = process.stderr.isTTY === true && !quiet;
        const bar = tty
          ? new cliProgress.SingleBar(
              { format: '  step {value}/{total} |{bar}| acc {acc} | {duration_formatted}', hideCursor: true },
              cliProgress.Presets.shades_classic,
            )
          : null;
        const started = performance.now();
        const finished = (r: StudyRun) => existsSync(join(runDir(out, r.id), 'summary.json'));
        const pending = chosen.filter((r) => !finished(r));
        const jobs = Math.min(opts.jobs, pending.length);
        if (opts.child !== true && jobs > 1) {
          log(
            `draco experiment: ${manifest.name}${quick ? ' (quick)' : ''}: ${pending.length} runs to do ` +
              `(of ${manifest.runs.length}) in ${jobs} processes -> ${out}`,
          );
          // study.json first, so that every process and the final pass agree on the runs.
          writeManifest(manifest, out);
          const args = [file, '--out', out, '--jobs', '1', '--child'];
          if (quick) args.push('--quick');
          if (quiet) args.push('--quiet');
          for (const o of opts.only ?? []) args.push('--only', o);
          const codes = await Promise.all(
            Array.from({ length: jobs }, (_, k) =>
              runChild(
                args,
                quiet ? '' : `[job ${k + 1}] `,
                Math.max(1, Math.floor(availableParallelism() / jobs)),
              ),
            ),
          );
          const failedRuns = pending.filter((r) => !finished(r));
          // Gather every finished run into results.csv; the aggregation cost is timed alone.
          await runStudy(
            manifest,
            out,
            {
              onAggregationCost: costLine,
            },
            { select: (r) => select(r) && finished(r) },
          );
          const secs = ((performance.now() - started) / 1000).toFixed(0);
          process.stdout.write(
            `draco experiment: ${pending.length - failedRuns.length} run(s) in ${secs} s, ` +
              `${chosen.length - pending.length} already done, ${failedRuns.length} failed, ${jobs} processes; results in ` +
              `${out}/results.csv (next: draco report ${out})\n`,
          );
          if (failedRuns.length > 0 || codes.some((c) => c !== 0))
            throw new UsageError(
              `${failedRuns.length} run(s) did not finish: ${failedRuns.map((r) => r.id).join(', ') || '(a process failed)'}; ` +
                'see the lines above and runs/<id>/error.txt; the same command resumes',
            );
          return;
        }
        const describe = (r: StudyRun) =>
          `${r.labels.defense} | ${r.labels.attack} (${r.labels.placement})` +
          `${r.labels.partition === 'iid' ? '' : ` | ${r.labels.partition}`} | n=${r.labels.n} s=${r.labels.s} | seed ${r.labels.seed}`;
        log(
          `draco experiment: ${manifest.name}${quick ? ' (quick)' : ''}: ${chosen.length} runs` +
            `${chosen.length < manifest.runs.length ? ` (of ${manifest.runs.length}, --only)` : ''} -> ${out}`,
        );
        const outcome = await runStudy(
          manifest,
          out,
          {
            onRun(run, _i, _total, skipped) {
              log(
                `[${chosen.indexOf(run) + 1}/${chosen.length}] ${describe(run)}${skipped ? ': done before, skipped' : ''}`,
              );
              if (!skipped) bar?.start(run.config.steps, 0, { acc: '  -  ' });
            },
            onStep(_run, rec) {
              if (rec.testAccuracy !== undefined) bar?.update(rec.step + 1, { acc: pct(rec.testAccuracy) });
              else bar?.update(rec.step + 1);
            },
            onRunDone(_run, row) {
              bar?.stop();
              log(
                `  test accuracy ${pct(row.finalTestAccuracy)}, wall ${row.wallSeconds.toFixed(1)} s, ` +
                  `modeled step ${row.modeledStepMs.toFixed(1)} ms (MODELED)`,
              );
            },
            onRunFailed(_run, message) {
              bar?.stop();
              process.stderr.write(`  failed: ${message}\n`);
            },
            onAggregationCostSkipped(rule, n, why) {
              log(`  aggregation cost: ${rule} n=${n}: skipped (${why})`);
            },
            onAggregationCost: costLine,
          },
          { select, shared: opts.child === true },
        );
        if (opts.child === true) {
          if (outcome.failed.length > 0) process.exitCode = 2;
          return;
        }
        const secs = ((performance.now() - started) / 1000).toFixed(0);
        // The result, on stdout as draco train's summary is (progress goes to stderr).
        process.stdout.write(
          `draco experiment: ${outcome.ran} run(s) in ${secs} s, ${outcome.skipped} already done, ` +
            `${outcome.failed.length} failed; results in ${out}/results.csv (next: draco report ${out})\n`,
        );
        if (outcome.failed.length > 0) {
          throw new UsageError(
            `${outcome.failed.length} run(s) failed: ${outcome.failed.map((f) => `${f.id}: ${f.message}`).join('; ')}`,
          );
        }
      },
    );
}

/** One `draco experiment` process of a `--jobs` study; its stderr relayed line by line. */
function runChild(args: string[], prefix: string, threads: number): Promise<number> {
  return new Promise((resolve) => {
    // The cores are shared out: `threads: auto` runs take this many each (DRACO_THREADS).
    const child = spawn(process.execPath, [DRACO_BIN, 'experiment', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, DRACO_THREADS: String(threads) },
    });
    let rest = '';
    child.stderr.on('data', (d: Buffer) => {
      const lines = (rest + d.toString()).split('\n');
      rest = lines.pop()!;
      for (const l of lines) process.stderr.write(`${prefix}${l}\n`);
    });
    child.on('close', (code) => {
      if (rest !== '') process.stderr.write(`${prefix}${rest}\n`);
      resolve(code ?? 1);
    });
  });
}

function pct(x: number): string {
  return `${(100 * x).toFixed(2)}%`;
}
