/** `draco bench ...`: speed measurements that print medians over several runs (one file each). */
import { Command } from 'commander';
import { benchAggregateCommand } from './bench-aggregate.js';
import { benchDashboardCommand } from './bench-dashboard.js';
import { benchDecodeCommand } from './bench-decode.js';
import { benchStepCommand } from './bench-step.js';
import { benchThreadsCommand } from './bench-threads.js';
import { benchTransportCommand } from './bench-transport.js';

export function benchCommand(): Command {
  return new Command('bench')
    .summary('measure speed (medians over several runs)')
    .addCommand(benchStepCommand())
    .addCommand(benchTransportCommand())
    .addCommand(benchAggregateCommand())
    .addCommand(benchDecodeCommand())
    .addCommand(benchThreadsCommand())
    .addCommand(benchDashboardCommand());
}
