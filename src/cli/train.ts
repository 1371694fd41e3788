/** `draco train`: flags and config file -> one validated config -> training with progress. */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import cliProgress from 'cli-progress';
import { aggregators } from '../aggregators/registry.js';
import { attacks } from '../attacks/registry.js';
import { camelCase, formatDefaults } from '../core/spec.js';
import { schemes } from '../schemes/registry.js';
import {
  inapplicable,
  readConfigFile,
  resolveConfig,
  withModelLr,
  TrainConfigSchema,
  type TrainConfig,
} from '../build/config.js';
import { absolutePaths } from '../build/components.js';
import { checkExportTarget } from '../build/export.js';
import { loadPlugins } from '../build/plugins.js';
import { readResumeCheckpoint } from '../build/resume.js';
import { trainResolved } from '../build/train.js';
import type { StepRecord, TrainSummary } from '../train/loop.js';
import { RunWriter } from '../train/output.js';
import { describeLayout } from '../data/partition/summary.js';
import { RunFailed, UsageError } from '../core/errors.js';
import { DashboardServer, type ServeOptions } from '../dashboard/server.js';
import { LiveRun } from '../dashboard/sources.js';

/** The dashboard's port when `--dashboard` comes without one. */
export const DEFAULT_DASHBOARD_PORT = 6060;

/** A TCP port, 0 (any free one) to 65535. */
export function parsePort(value: string): number {
  const x = Number(value);
  if (value.trim() === '' || !Number.isInteger(x) || x < 0 || x > 65535)
    throw new InvalidArgumentError('expected a port number, 0 to 65535.');
  return x;
}

/** Flag name (kebab) -> config key (camel), in the order `--help` lists them. */
export const FLAGS: [
  flag: string,
  key: keyof TrainConfig,
  kind: 'int' | 'num' | 'str' | 'list',
  arg: string,
][] = [
  ['model', 'model', 'str', 'name|model.json'],
  ['dataset', 'dataset', 'str', 'name'],
  ['data-dir', 'dataDir', 'str', 'dir'],
  ['partition', 'partition', 'str', 'spec'],
  ['plugin', 'plugins', 'list', 'file'],
  ['workers', 'workers', 'int', 'n'],
  ['byzantine', 'byzantine', 'int', 's'],
  ['scheme', 'scheme', 'str', 'name'],
  ['redundancy', 'redundancy', 'int', 'r'],
  ['aggregator', 'aggregator', 'str', 'spec'],
  ['pre-aggregator', 'preAggregator', 'str', 'spec'],
  ['detox-mode', 'detoxMode', 'str', 'mode'],
  ['detox-buckets', 'detoxBuckets', 'int', 'b'],
  ['compression', 'compression', 'int', 'm'],
  ['message-dtype', 'messageDtype', 'str', 'dtype'],
  ['attack', 'attack', 'str', 'spec'],
  ['placement', 'placement', 'str', 'name'],
  ['on-no-majority', 'noMajority', 'str', 'rule'],
  ['ban', 'ban', 'str', 'auto|on|off'],
  ['batch', 'batch', 'int', 'B'],
  ['lr', 'lr', 'num', 'x'],
  ['lr-schedule', 'lrSchedule', 'str', 'name'],
  ['lr-step-every', 'lrStepEvery', 'int', 'k'],
  ['lr-gamma', 'lrGamma', 'num', 'x'],
  ['momentum', 'momentum', 'num', 'x'],
  ['weight-decay', 'weightDecay', 'num', 'x'],
  ['steps', 'steps', 'int', 'k'],
  ['eval-every', 'evalEvery', 'int', 'k'],
  ['seed', 'seed', 'int', 'k'],
  ['backend', 'backend', 'str', 'name'],
  ['out', 'out', 'str', 'dir'],
  ['export-model', 'exportModel', 'str', 'dir'],
  ['engine', 'engine', 'str', 'name'],
  ['threads', 'threads', 'str', 'N|auto'],
  ['cluster', 'cluster', 'str', 'file'],
  ['step-deadline-ms', 'stepDeadlineMs', 'int', 'ms'],
  ['bandwidth-mbps', 'bandwidthMBps', 'num', 'MB/s'],
  ['latency-ms', 'latencyMs', 'num', 'ms'],
  ['checkpoint-every', 'checkpointEvery', 'int', 'k'],
  ['resume', 'resume', 'str', 'dir'],
];

function parseNumber(kind: 'int' | 'num') {
  return (value: string) => {
    const x = Number(value);
    if (value.trim() === '' || !Number.isFinite(x)) throw new InvalidArgumentError('expected a number.');
    if (kind === 'int' && !Number.isInteger(x)) throw new InvalidArgumentError('expected an integer.');
    return x;
  };
}

/** The values of an enum option (through its default/optional wrappers), for --help. */
function enumOptions(schema: unknown): string[] | null {
  let s = schema as { options?: unknown; unwrap?: () => unknown; def?: { innerType?: unknown } };
  for (let i = 0; i < 4 && s !== undefined; i++) {
    if (Array.isArray(s.options)) return s.options as string[];
    s = (s.def?.innerType ?? (typeof s.unwrap === 'function' ? s.unwrap() : undefined)) as typeof s;
  }
  return null;
}

function schemaDefault(key: keyof TrainConfig): unknown {
  const r = TrainConfigSchema.safeParse({});
  return r.success ? r.data[key] : undefined;
}

/** What tells `draco train` and `draco ps` (the same options, run remotely) apart in their help. */
export interface TrainCommandText {
  name: string;
  summary: string;
  /** Paragraphs, each one line: commander wraps them. */
  description: string[];
  /** Flags the command does not take (ps always runs the remote engine). */
  omit?: readonly string[];
  /** Text after the options (examples and outputs), printed as written. */
  after: string;
}

const TRAIN_TEXT: TrainCommandText = {
  name: 'train',
  summary: 'train a model with n simulated workers, s of them Byzantine',
  description: [
    'Train a model on a simulated cluster of n workers, s of them Byzantine, protected by a scheme. ' +
      'With no options: MNIST, mlp, 15 workers, 2 Byzantine sending reversed gradients, repetition code r = 5.',
    'Options come from --config FILE (YAML or JSON, keys as below in kebab-case or camelCase) and flags; flags win.',
  ],
  after: `
Examples:
  draco train                                         # the embedded default job
  draco train --attack gaussian:sigma=50 --placement fixed --steps 200 --out runs/g50
  draco train --scheme uncoded --aggregator mean --attack reverse   # no defence: diverges
  draco train --scheme uncoded --aggregator geomedian --attack alie
  draco train --scheme detox --redundancy 3 --detox-mode bulyan --placement worst --attack collude
  draco train --scheme cyclic --attack constant       # exact decoding, one message of d reals
  draco train --scheme solon --compression 2          # d/2 reals per message
  draco train --partition dirichlet:alpha=0.1 --scheme uncoded --aggregator median --attack alie
                                                      # skewed data: each worker keeps its own shard
  draco train --config job.yaml --seed 3
  draco train --model ./model.json --dataset npy --data-dir data/   # your tfjs model on your data
  draco train --plugin ./my-rule.js --scheme uncoded --aggregator my-rule --engine local

With --out DIR: DIR/metrics.jsonl (one record per step), DIR/summary.json (final accuracy,
paramsSha256, bytes per worker per step, suspects, resolved config), DIR/params.npy.
With --export-model DIR: the final model (tfjs models: model.json + weights.bin for
tf.loadLayersModel; zoo models: params.npy + layout.json). Plugins: docs/plugins.md.
Exit status: 0 trained; 2 a mistake in the options; 3 the result cannot be used (most steps
aborted, diverged, or no better than the most common class), outputs still written.`,
};

export function trainCommand(text: TrainCommandText = TRAIN_TEXT): Command {
  const cmd = new Command(text.name).summary(text.summary).description(text.description.join('\n\n'));
  cmd.option('--config <file>', 'YAML or JSON file with any of the options below');
  for (const [flag, key, kind, arg] of FLAGS) {
    if (text.omit?.includes(flag)) continue;
    const choices = enumOptions(TrainConfigSchema.shape[key]);
    const desc =
      (TrainConfigSchema.shape[key].description ?? '') + (choices ? ` (one of: ${choices.join(', ')})` : '');
    const def = schemaDefault(key);
    const shown = def !== undefined && !(Array.isArray(def) && def.length === 0);
    const opt = new Option(
      `--${flag} <${arg}>`,
      desc + (kind === 'list' ? ' (repeatable)' : '') + (shown ? ` (default: ${String(def)})` : ''),
    );
    if (kind === 'list') opt.argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]);
    else if (kind !== 'str') opt.argParser(parseNumber(kind));
    cmd.addOption(opt);
  }
  cmd.option('--quiet', 'no progress bar or summary table (errors only)');
  cmd.addOption(
    new Option(
      '--dashboard [port]',
      `serve a live dashboard of the run at http://HOST:PORT/ (default port ${DEFAULT_DASHBOARD_PORT}; 0: any free port); docs/dashboard.md`,
    ).argParser(parsePort),
  );
  cmd.option(
    '--dashboard-host <host>',
    'address the dashboard listens on (default: 127.0.0.1, this machine only)',
  );
  cmd.addHelpText(
    'after',
    () => `
Schemes: ${schemes.names().join(', ')}.
Attacks (name[:key=value,...], defaults shown):
  ${attacks
    .entries()
    .map(([n, a]) => (Object.keys(a.defaults).length ? `${n}:${formatDefaults(a.defaults)}` : n))
    .join(', ')}
Aggregators (--aggregator, name[:key=value,...]): ${aggregators.names().join(', ')}.
See \`draco list\` for what each model, dataset, scheme, aggregator, attack and placement does.
${text.after}`,
  );
  cmd.action(async (opts: Record<string, unknown>) => {
    const fileCfg = typeof opts.config === 'string' ? normalizeKeys(readConfigFile(opts.config)) : {};
    const flagCfg: Record<string, unknown> = {};
    for (const [flag, key] of FLAGS) {
      const v = opts[camelCase(flag)];
      if (v !== undefined) flagCfg[key] = v;
    }
    // Name a bad value by its flag when it came from a flag, by its key when it came from the file.
    const label = (key: string) => (key in flagCfg ? `--${FLAGS.find((f) => f[1] === key)![0]}` : key);
    const where = typeof opts.config === 'string' ? opts.config : 'options';
    const config = absolutePaths(resolveConfig({ ...fileCfg, ...flagCfg }, where, label));
    // Silently ignoring an option misleads: say which scheme would read it.
    const unused = inapplicable(Object.keys({ ...fileCfg, ...flagCfg }), config, label);
    if (unused !== null) throw new UsageError(`${where}: ${unused}`);
    const dashboard = dashboardOptions(opts);
    await runTrain(config, opts.quiet === true, dashboard);
  });
  return cmd;
}

/**
 * Config file keys: the config key, or any flag's name in kebab-case or camelCase
 * (`weight-decay` = `weightDecay`, `on-no-majority` = `onNoMajority` = `noMajority`,
 * `plugin` = `plugins`).
 */
export function normalizeKeys(obj: Record<string, unknown>): Record<string, unknown> {
  const byFlag = new Map<string, string>(FLAGS.map(([flag, key]) => [camelCase(flag), key]));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    const c = camelCase(k);
    const key = byFlag.get(c) ?? c;
    // A repeatable flag's key holds a list; a single value in a file is a list of one.
    out[key] = FLAGS.some(([, fk, kind]) => fk === key && kind === 'list') && typeof v === 'string' ? [v] : v;
  }
  return out;
}

/** `--dashboard [port]`, `--dashboard-host`: where to serve the live page, or null. */
function dashboardOptions(opts: Record<string, unknown>): ServeOptions | null {
  const host = typeof opts.dashboardHost === 'string' ? opts.dashboardHost : undefined;
  if (opts.dashboard === undefined) {
    if (host !== undefined) throw new UsageError('--dashboard-host needs --dashboard');
    return null;
  }
  return {
    host: host ?? '127.0.0.1',
    port: opts.dashboard === true ? DEFAULT_DASHBOARD_PORT : (opts.dashboard as number),
  };
}

async function runTrain(
  given: TrainConfig,
  quiet: boolean,
  dashboard: ServeOptions | null = null,
): Promise<void> {
  // Every check on the checkpoint and the output folder comes before the first write, and before
  // any engine or cluster key is touched.
  await loadPlugins(given.plugins);
  const config = withModelLr(given); // a plugin model's default learning rate is known now
  if (config.exportModel !== undefined) checkExportTarget(config.exportModel);
  const ck = config.resume !== undefined ? readResumeCheckpoint(config) : null;
  const writer = config.out
    ? new RunWriter(config.out, {
        resume: ck ? { dir: config.resume!, next: ck.meta.step } : undefined,
        note: (m) => {
          if (!quiet) process.stderr.write(`draco: note: ${m}\n`);
        },
      })
    : null;
  const finished = ck !== null && ck.meta.step >= config.steps;
  if (finished && writer?.inPlace === true && existsSync(join(writer.dir, 'summary.json'))) {
    // Resuming a finished run into its own folder: its outputs are complete, keep them as they are.
    if (!quiet) {
      process.stderr.write(
        `draco train: the run in ${writer.dir} finished all ${config.steps} steps; nothing to do\n`,
      );
      try {
        printSummary(
          JSON.parse(readFileSync(join(writer.dir, 'summary.json'), 'utf8')) as TrainSummary,
          config.out,
        );
      } catch {
        // an unreadable summary.json is the user's to inspect; it is not rewritten
      }
    }
    return;
  }
  const tty = process.stderr.isTTY === true;
  const bar =
    !quiet && tty
      ? new cliProgress.SingleBar(
          {
            format:
              'step {value}/{total} |{bar}| loss {loss} | acc {acc} | suspects {sus} | {duration_formatted} ETA {eta_formatted}',
            hideCursor: true,
            stream: process.stderr,
            etaBuffer: 50,
          },
          cliProgress.Presets.shades_classic,
        )
      : null;
  // A resumed run's progress continues from the checkpoint's totals, as its summary does.
  const lastAcc = ck?.meta.totals.last.accuracy;
  let acc = typeof lastAcc === 'number' ? (100 * lastAcc).toFixed(2) + '%' : '  -  ';
  let suspects = ck?.meta.totals.stats.suspects ?? 0;
  const live = dashboard !== null ? new LiveRun() : null;
  const server = live !== null ? new DashboardServer(live) : null;
  if (server !== null) {
    const url = await server.listen(dashboard!);
    // Printed even with --quiet: the user asked for it, and with port 0 it is the only way to know.
    process.stderr.write(`draco: dashboard at ${url}\n`);
  }
  let finalSummary: TrainSummary | null = null;
  try {
    const { summary, params } = await trainResolved(
      config,
      {},
      {
        onStart({ scheme, dataset, model, schedule }) {
          live?.start(
            config,
            config.out !== undefined ? basename(config.out) : `${model.name} on ${dataset.name}`,
            ck?.meta.step ?? 0,
          );
          if (quiet) return;
          process.stderr.write(
            `draco train: ${model.name} (${model.numParams.toLocaleString('en-US')} params) on ${dataset.name} ` +
              `(${dataset.train.n} train / ${dataset.test.n} test), ${config.workers} workers, ${config.byzantine} Byzantine ` +
              `(${config.attack}, ${config.placement} placement)\n  scheme: ${scheme.describe()}\n` +
              (config.partition === 'iid'
                ? ''
                : `  data: ${describeLayout(config.partition, schedule, dataset)}\n`),
          );
          bar?.start(config.steps, ck?.meta.step ?? 0, { loss: '  -  ', acc, sus: suspects });
        },
        onStep(rec: StepRecord) {
          writer?.step(rec);
          live?.step(rec);
          suspects += rec.suspects.length;
          if (rec.testAccuracy !== undefined) acc = (100 * rec.testAccuracy).toFixed(2) + '%';
          if (bar) bar.update(rec.step + 1, { loss: fmtLoss(rec.trainLoss), acc, sus: suspects });
          else if (!quiet && rec.testAccuracy !== undefined) {
            process.stderr.write(
              `step ${rec.step + 1}/${config.steps}  train loss ${fmtLoss(rec.trainLoss)}  test acc ${acc}  suspects ${suspects}\n`,
            );
          }
        },
      },
      ck ?? undefined,
    );
    bar?.stop();
    writer?.finish(summary, params);
    finalSummary = summary;
    if (!quiet) printSummary(summary, config.out);
    // Loud even with --quiet: the model is not what an adversary-free run would give.
    for (const w of summary.warnings) process.stderr.write(`draco: warning: ${w}\n`);
    if (summary.failed !== null) throw new RunFailed(summary.failed);
  } finally {
    bar?.stop();
    writer?.close();
    live?.finish(finalSummary);
    await server?.close();
  }
}

function fmtLoss(x: number): string {
  return Number.isFinite(x) ? x.toFixed(4) : String(x);
}

function printSummary(s: TrainSummary, out: string | undefined): void {
  const rows: [string, string][] = [
    [
      'final test accuracy',
      `${(100 * s.finalTestAccuracy).toFixed(2)}%` +
        // summaries written before chanceAccuracy existed lack it
        (typeof s.chanceAccuracy === 'number'
          ? ` (chance: ${(100 * s.chanceAccuracy).toFixed(2)}%, the most common class)`
          : ''),
    ],
    ['final test loss', fmtLoss(s.finalTestLoss)],
    ['steps', String(s.steps)],
    [
      'wall time',
      `${s.wallSeconds.toFixed(1)} s (median step ${s.medianStepWallMs.toFixed(1)} ms, ${String(s.config.engine ?? 'inprocess')} engine)`,
    ],
    [
      'modeled parallel step',
      `${s.medianModeledStepMs.toFixed(1)} ms (median; MODELED: measured compute + modeled network + measured PS)`,
    ],
    ['bytes per worker per step', s.bytesPerWorkerPerStep.toLocaleString('en-US')],
    [
      'suspects flagged',
      `${s.totalSuspectsFlagged} (${s.suspectsThatWereByzantine} Byzantine, of ${s.totalByzantineSlots} Byzantine slots)`,
    ],
    [
      'decoder fallbacks',
      `${s.decoderFailures} (${s.abortedSteps} steps aborted, ${s.partialSteps} without some groups)`,
    ],
    ['params sha256', s.paramsSha256],
  ];
  // Schemes whose PS settles disputes itself (verify): how often it had to.
  if (s.scheme === 'verify' || s.psRecomputations > 0)
    rows.splice(rows.length - 1, 0, [
      'PS recomputations',
      `${s.psRecomputations} (gradients the PS computed to settle disputes)`,
    ]);
  if (out) rows.push(['outputs', `${out}/metrics.jsonl, summary.json, params.npy`]);
  if (s.failed !== null) rows.push(['FAILED', s.failed]);
  const w = Math.max(...rows.map((r) => r[0].length));
  process.stdout.write(rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`).join('\n') + '\n');
}
