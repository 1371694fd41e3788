/**
 * The `draco` command. User mistakes (UsageError, bad flags) print one line and exit 2; a run whose
 * result cannot be used (RunFailed) prints one line and exits 3; anything else is a bug and keeps
 * its stack trace.
 */
import { Command, CommanderError } from 'commander';
import { RunFailed, UsageError } from '../core/errors.js';
import { packageVersion } from '../core/version.js';
import { aggregateCommand } from './aggregate.js';
import { benchCommand } from './bench.js';
import { experimentCommand } from './experiment.js';
import { keysCommand } from './keys.js';
import { listCommand } from './list.js';
import { trainCommand } from './train.js';
import { psCommand } from './ps.js';
import { reportCommand } from './report.js';
import { viewCommand } from './view.js';
import { workerCommand } from './worker.js';

export function buildProgram(): Command {
  const program = new Command('draco')
    .description(
      'Byzantine-resilient distributed training: DRACO (repetition and cyclic codes), DETOX and Solon, with robust-aggregation baselines and attacks.',
    )
    .version(packageVersion())
    .showHelpAfterError('(run with --help for usage)')
    .addCommand(trainCommand())
    .addCommand(experimentCommand())
    .addCommand(reportCommand())
    .addCommand(viewCommand())
    .addCommand(benchCommand())
    .addCommand(aggregateCommand())
    .addCommand(listCommand())
    .addCommand(keysCommand())
    .addCommand(psCommand())
    .addCommand(workerCommand());
  const exitOnErrors = (cmd: Command) => {
    cmd.exitOverride();
    cmd.commands.forEach(exitOnErrors);
  };
  exitOnErrors(program);
  return program;
}

/** Run the CLI; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander already printed its one-line message (or the help / version).
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`draco: ${err.message}\n`);
      return 2;
    }
    if (err instanceof RunFailed) {
      process.stderr.write(`draco: run failed: ${err.message}\n`);
      return 3;
    }
    throw err;
  }
}
