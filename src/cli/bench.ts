/** `draco bench ...`: speed measurements that print medians over several runs (one file each). */
import { Command } from 'commander';
import { benchStepCommand } from './bench-step.js';

export function benchCommand(): Command {
  return new Command('bench')
    .summary('measure speed (medians over several runs)')
    .addCommand(benchStepCommand());
}
