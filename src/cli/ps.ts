/**
 * `draco ps`: the parameter server of a multi-machine run. It is `draco train --engine remote`
 * (every training option applies) with the bind address and secret on the command line; workers
 * are started elsewhere with `draco worker --connect ADDR --rank i`.
 */
import type { Command } from 'commander';
import { setClusterOverrides } from '../cluster/index.js';
import { trainCommand } from './train.js';

export function psCommand(): Command {
  const cmd = trainCommand();
  cmd
    .name('ps')
    .summary('run the parameter server; workers connect with `draco worker`')
    .option('--bind <addr>', 'endpoint to bind, e.g. tcp://0.0.0.0:5555 (or key `bind` of --cluster FILE)')
    .option('--secret-file <file>', 'cluster secret file (64 hex digits); default env DRACO_CLUSTER_SECRET')
    .hook('preAction', (c) => {
      const o = c.opts<{ bind?: string; secretFile?: string }>();
      setClusterOverrides({ bind: o.bind, secretFile: o.secretFile });
      c.setOptionValue('engine', 'remote');
    });
  return cmd;
}
