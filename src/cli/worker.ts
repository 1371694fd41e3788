/** `draco worker`: one worker process; connects to a PS (`draco ps` or `draco train --engine ...`). */
import { Command, InvalidArgumentError } from 'commander';
import { secretFrom } from '../cluster/index.js';
import { runWorker } from '../cluster/worker.js';

function rankArg(value: string): number {
  const x = Number(value);
  if (!Number.isInteger(x) || x < 0) throw new InvalidArgumentError('expected an integer >= 0.');
  return x;
}

export function workerCommand(): Command {
  return new Command('worker')
    .summary('run one worker process that connects to a PS')
    .description(
      'Connect to the PS at ADDR as rank i, receive the run config, load the dataset and model (same\n' +
        "seed -> same initial model), then answer every step with this rank's message. The cluster secret\n" +
        'comes from --secret-file or the environment variable DRACO_CLUSTER_SECRET (64 hex digits).\n' +
        'In Kubernetes the rank is the Indexed Job completion index (--rank-from-env JOB_COMPLETION_INDEX).',
    )
    .requiredOption('--connect <addr>', 'PS address, e.g. tcp://10.0.0.1:5555')
    .option('--rank <i>', "this worker's rank (0-based)", rankArg)
    .option('--rank-from-env <var>', 'read the rank from this environment variable')
    .option('--secret-file <file>', 'file holding the cluster secret (64 hex digits)')
    .option('--exit-with-parent', 'exit when the parent process dies (used by --engine local)')
    .option('--verbose', 'log set-up and exit to stderr')
    .action(
      async (o: {
        connect: string;
        rank?: number;
        rankFromEnv?: string;
        secretFile?: string;
        exitWithParent?: boolean;
        verbose?: boolean;
      }) => {
        let rank = o.rank;
        if (o.rankFromEnv !== undefined) rank = rankArg(process.env[o.rankFromEnv] ?? '');
        if (rank === undefined) throw new InvalidArgumentError('give --rank <i> or --rank-from-env <var>');
        await runWorker({
          connect: o.connect,
          rank,
          secret: secretFrom(o.secretFile),
          exitWithParent: o.exitWithParent === true,
          verbose: o.verbose === true,
        });
      },
    );
}
