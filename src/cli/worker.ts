/** `draco worker`: one worker process; connects to a PS (`draco ps` or `draco train --engine ...`). */
import { Command } from 'commander';
import { UsageError } from '../core/errors.js';
import { parseWorkerKey, readWorkerKey } from '../cluster/keys.js';
import { runWorker } from '../cluster/worker.js';
import { buildWorkerContext } from '../build/components.js';
import { resolveConfig } from '../build/config.js';
import { loadPlugins } from '../build/plugins.js';
import { nonNegativeInt } from './args.js';

export function workerCommand(): Command {
  return new Command('worker')
    .summary('run one worker process that connects to a PS')
    .description(
      "Connect to the PS at ADDR with this worker's key (worker-<i>.key from `draco keys`; the rank is the " +
        "key's), prove the rank, receive the run config, load the dataset and model (same seed -> same " +
        "initial model), then answer every step with this rank's message until the PS says the run is over. " +
        "The key comes from --key FILE or the environment variable DRACO_WORKER_KEY (the file's text). " +
        'A run that names plugin components (docs/plugins.md) needs the same plugin files here, given with ' +
        '--plugin; a worker never loads code the PS names.\n\n' +
        'Exit 0 at the end of the run; exit 2 with one line when the PS refuses the key, cannot be reached ' +
        'or stops answering for --timeout-ms, or another process authenticates as the same rank.',
    )
    .requiredOption('--connect <addr>', 'PS address, e.g. tcp://10.0.0.1:5555')
    .option('--key <file>', "this worker's key file (worker-<i>.key)")
    .option(
      '--rank <i>',
      "check that the key is rank i's (the rank always comes from the key)",
      nonNegativeInt,
    )
    .option(
      '--timeout-ms <ms>',
      'give up after this long without a word from the PS (0: never)',
      nonNegativeInt,
      120_000,
    )
    .option(
      '--plugin <file>',
      'load this plugin module before building the run (repeatable; the PS run must use the same plugins)',
      (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
    )
    .option('--exit-with-parent', 'exit when the parent process dies (used by --engine local)')
    .option('--quiet', 'print nothing but errors (by default: waiting, joined, PS restarted, run over)')
    .option('--verbose', 'also log every ignored frame and set-up step to stderr')
    .action(
      async (o: {
        connect: string;
        key?: string;
        rank?: number;
        timeoutMs: number;
        exitWithParent?: boolean;
        verbose?: boolean;
        quiet?: boolean;
        plugin?: string[];
      }) => {
        const env = process.env.DRACO_WORKER_KEY;
        let key;
        if (o.key !== undefined) key = readWorkerKey(o.key);
        else if (env !== undefined && env !== '') key = parseWorkerKey(env, 'DRACO_WORKER_KEY');
        else
          throw new UsageError(
            'no worker key: give --key worker-<i>.key (from `draco keys`) or set DRACO_WORKER_KEY',
          );
        if (o.rank !== undefined && o.rank !== key.rank)
          throw new UsageError(`--rank ${o.rank} but the key is rank ${key.rank}'s`);
        // Only this command line's plugins: the PS's config never names code for a worker to load.
        await loadPlugins(o.plugin ?? []);
        await runWorker({
          build: (description) =>
            buildWorkerContext({
              ...resolveConfig(description, 'the config the PS sent'),
              plugins: [],
            }),
          connect: o.connect,
          key,
          timeoutMs: o.timeoutMs,
          exitWithParent: o.exitWithParent === true,
          verbose: o.verbose === true,
          status: o.quiet === true ? undefined : (line) => process.stdout.write(line + '\n'),
        });
      },
    );
}
