/**
 * `draco ps`: the parameter server of a multi-machine run. It is `draco train --engine remote`
 * (every training option applies) with the bind address and the PS key on the command line;
 * workers are started elsewhere with `draco worker --connect ADDR --key worker-<i>.key`.
 */
import type { Command } from 'commander';
import { volunteerAssets } from '../browser/bundle.js';
import { setClusterOverrides } from '../build/engine.js';
import { UsageError } from '../core/errors.js';
import { positiveInt } from './args.js';
import { parsePort, trainCommand } from './train.js';

/** The volunteers' page port when `--http` is not given. */
export const DEFAULT_VOLUNTEER_PORT = 6070;

/** `--volunteers 0-2,5`: ranks, ascending and distinct; `true` (no value): every rank. */
export function parseRanks(value: string): number[] {
  const out = new Set<number>();
  for (const part of value.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    const a = m === null ? NaN : Number(m[1]);
    const b = m?.[2] === undefined ? a : Number(m[2]);
    if (!(a <= b)) throw new UsageError(`--volunteers: '${value}' is not a list of ranks like 0-2,5`);
    for (let r = a; r <= b; r++) out.add(r);
  }
  return [...out].sort((x, y) => x - y);
}

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

Volunteers (docs/volunteers.md): with --volunteers, browser tabs can be workers too. The PS serves
a page on --http PORT and prints a link with the run's join token; each tab that opens it takes a
free rank (of those --volunteers lists; default all), gets only its partitions' samples, and
computes on tfjs-wasm. A closed tab is an erasure; the next tab takes its rank. Without --bind and
--key the run has volunteers only.

Example:
  draco keys --workers 6 --out keys
  draco ps --bind tcp://0.0.0.0:5555 --key keys/ps.key --workers 6 --byzantine 1 --out runs/ps
  draco worker --connect tcp://PS_HOST:5555 --key keys/worker-0.key      # on each worker machine

  draco ps --volunteers --workers 6 --byzantine 1 --scheme repetition    # browsers only: open the link
  draco ps --volunteers 0-3 --bind tcp://0.0.0.0:5555 --key keys/ps.key --workers 6 --scheme repetition
                                              # ranks 0-3 for browsers, 4-5 for draco worker`,
  });
  cmd
    .option('--bind <addr>', 'endpoint to bind, e.g. tcp://0.0.0.0:5555 (or key `bind` of --cluster FILE)')
    .option('--key <file>', 'the PS key, ps.key from `draco keys` (or key `key` of --cluster FILE)')
    .option(
      '--volunteers [ranks]',
      'let browser tabs join as workers, on these ranks (e.g. 0-3; default: every rank); docs/volunteers.md',
    )
    .option(
      '--http <port>',
      `port of the volunteers' page and socket (default ${DEFAULT_VOLUNTEER_PORT}; 0: any free port)`,
      parsePort,
    )
    .option(
      '--http-host <host>',
      "address the volunteers' page listens on (default: 0.0.0.0, every interface)",
    )
    .option(
      '--per-address <k>',
      'ranks one network address may hold at once (default: no limit; docs/volunteers.md)',
      positiveInt,
    )
    .hook('preAction', (c) => {
      const o = c.opts<{
        bind?: string;
        key?: string;
        volunteers?: string | true;
        http?: number;
        httpHost?: string;
        perAddress?: number;
      }>();
      if (o.volunteers === undefined && [o.http, o.httpHost, o.perAddress].some((x) => x !== undefined))
        throw new UsageError('--http, --http-host and --per-address serve the volunteers: add --volunteers');
      const volunteers =
        o.volunteers === undefined
          ? undefined
          : {
              ranks: o.volunteers === true ? ('all' as const) : parseRanks(o.volunteers),
              host: o.httpHost ?? '0.0.0.0',
              port: o.http ?? DEFAULT_VOLUNTEER_PORT,
              perAddress: o.perAddress,
              assets: volunteerAssets,
            };
      setClusterOverrides({ bind: o.bind, key: o.key, volunteers });
      c.setOptionValue('engine', 'remote');
    });
  return cmd;
}
