/**
 * `draco ps`: the parameter server of a multi-machine run. It is `draco train --engine remote`
 * (every training option applies) with the bind address and the PS key on the command line;
 * workers are started elsewhere with `draco worker --connect ADDR --key worker-<i>.key`.
 */
import type { Command } from 'commander';
import { setClusterOverrides } from '../build/engine.js';
import { trainCommand } from './train.js';

export function psCommand(): Command {
  const cmd = trainCommand({
    name: 'ps',
    summary: 'run the parameter server; workers connect with `draco worker`',
    description: [
      'Run the parameter server (PS) of a multi-machine run: bind ADDR, admit the workers whose keys ' +
        'ps.key lists (each only as its own rank), send them the run, and train, with every option of ' +
        '`draco train` (it is `draco train --engine remote`). The bind address and the PS key come from ' +
        '--bind and --key, or from a --cluster FILE.',
      'The run ends with the same summary and outputs as draco train; a worker that crashes, stalls ' +
        'past --step-deadline-ms or lies is an erasure or a suspect in the step records.',
    ],
    omit: ['engine'],
    after: `
Keys: \`draco keys --workers N --out keys\` makes keys/ps.key (for the PS: its own secret keys and
the workers' public keys) and keys/worker-<i>.key (one per worker, to be copied to that worker
only). The PS admits only those workers, each only as its own rank (docs/protocol.md).

Example:
  draco keys --workers 6 --out keys
  draco ps --bind tcp://0.0.0.0:5555 --key keys/ps.key --workers 6 --byzantine 1 --out runs/ps
  draco worker --connect tcp://PS_HOST:5555 --key keys/worker-0.key      # on each worker machine`,
  });
  cmd
    .option('--bind <addr>', 'endpoint to bind, e.g. tcp://0.0.0.0:5555 (or key `bind` of --cluster FILE)')
    .option('--key <file>', 'the PS key, ps.key from `draco keys` (or key `key` of --cluster FILE)')
    .hook('preAction', (c) => {
      const o = c.opts<{ bind?: string; key?: string }>();
      setClusterOverrides({ bind: o.bind, key: o.key });
      c.setOptionValue('engine', 'remote');
    });
  return cmd;
}
