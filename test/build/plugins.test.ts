/**
 * Plugins (docs/plugins.md): a rule and an attack registered from a file outside the source tree
 * work from the CLI on the in-process engine and on worker processes (`--engine local` passes the
 * plugin to every `draco worker`), with the same model; bad plugins are one line and exit 2.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

import { join } from 'node:path';
import { describe, test } from 'node:test';
import { generateKeySet, writeKeySet } from '../../src/cluster/keys.js';
import { BIN, reaper, waitFor } from '../cluster/procs.js';
import { tempDir } from '../tmp.js';

const pids = reaper();

const tmp = tempDir('draco-plugin-');

// Plain JS, no import of draco: the API arrives as the argument.
const PLUGIN = `
export default function register(api) {
  api.registerAggregator({
    name: 'half-trimmed',
    description: 'mean of the half of the inputs closest to the coordinate-wise mean (test rule)',
    defaults: {},
    create: () => ({
      name: 'half-trimmed',
      description: 'test rule',
      precondition: (n, f) => (n > 2 * f ? null : 'half-trimmed needs n > 2f'),
      aggregate(inputs) {
        const d = inputs[0].length, n = inputs.length;
        const mean = new Float64Array(d);
        for (const x of inputs) for (let i = 0; i < d; i++) mean[i] += x[i] / n;
        const dist = inputs.map((x, k) => {
          let s = 0;
          for (let i = 0; i < d; i++) s += (x[i] - mean[i]) ** 2;
          return [s, k];
        }).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
        const keep = dist.slice(0, Math.ceil(n / 2)).map((e) => inputs[e[1]]);
        const out = new Float64Array(d);
        for (const x of keep) for (let i = 0; i < d; i++) out[i] += x[i] / keep.length;
        return out;
      },
    }),
  });
  api.registerAttack({
    name: 'noisy-flip',
    description: 'reverse and add seeded noise (test attack)',
    defaults: { c: 3, sigma: 0.1 },
    create: ({ c, sigma }) => ({
      name: 'noisy-flip',
      omniscient: false,
      corrupt(ctx) {
        const out = ctx.own.slice();
        for (let i = 0; i < out.length; i++) out[i] = -c * out[i] + sigma * ctx.rng.normal();
        return out;
      },
    }),
  });
  // Partition j holds the samples whose id is j modulo the partition count and whose label is even
  // when j is, odd when j is odd.
  api.registerPartitioner({
    name: 'parity',
    description: 'partition j: ids = j mod P with labels of the parity of j (test layout)',
    defaults: {},
    create: () => ({
      name: 'parity',
      shards: ({ labels, batchSizes }) => {
        const P = batchSizes.length;
        return batchSizes.map((_, j) => {
          const ids = [];
          for (let i = j; i < labels.length; i += P) if (labels[i] % 2 === j % 2) ids.push(i);
          return Int32Array.from(ids);
        });
      },
    }),
  });
}
`;
const plugin = join(tmp, 'plugin.mjs');
writeFileSync(plugin, PLUGIN);

function draco(args: string[], cwd?: string) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 300_000, cwd });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const RUN = ['--dataset', 'synthetic', '--model', 'mlp', '--workers', '5', '--byzantine', '1'];
const RUN2 = ['--batch', '40', '--steps', '6', '--eval-every', '0', '--placement', 'fixed', '--quiet'];

function shaOf(out: string): string {
  return (JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { paramsSha256: string })
    .paramsSha256;
}

describe('a --plugin rule and attack', () => {
  test('work in-process and with --engine local, with the same model', () => {
    const common = [...RUN, ...RUN2, '--scheme', 'uncoded', '--aggregator', 'half-trimmed'];
    const inproc = join(tmp, 'inproc');
    // A relative plugin path: the CLI resolves it, so worker processes find the same file.
    let r = draco(
      ['train', '--plugin', 'plugin.mjs', ...common, '--attack', 'noisy-flip:c=5', '--out', inproc],
      tmp,
    );
    assert.equal(r.code, 0, r.stderr);
    const local = join(tmp, 'local');
    r = draco([
      'train',
      '--plugin',
      plugin,
      ...common,
      '--attack',
      'noisy-flip:c=5',
      '--engine',
      'local',
      '--out',
      local,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(shaOf(local), shaOf(inproc));
    const summary = JSON.parse(readFileSync(join(local, 'summary.json'), 'utf8')) as {
      config: { plugins: string[]; attack: string };
      scheme: string;
    };
    assert.deepEqual(summary.config.plugins, [plugin]);
    assert.match(summary.scheme, /half-trimmed/);
    // The attack ran: without it (same rule, same placement) the model differs.
    const none = join(tmp, 'none');
    r = draco(['train', '--plugin', plugin, ...common, '--attack', 'none', '--out', none]);
    assert.equal(r.code, 0, r.stderr);
    assert.notEqual(shaOf(none), shaOf(inproc));
  });

  test('a plugin attack under a redundancy scheme leaves the model exact (local engine)', () => {
    const common = [...RUN, ...RUN2, '--scheme', 'repetition', '--redundancy', '5'];
    const attacked = join(tmp, 'rep-attacked');
    let r = draco([
      'train',
      '--plugin',
      plugin,
      ...common,
      '--attack',
      'noisy-flip',
      '--engine',
      'local',
      '--out',
      attacked,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const clean = join(tmp, 'rep-clean');
    r = draco(['train', ...common, '--attack', 'none', '--out', clean]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(shaOf(attacked), shaOf(clean));
  });
});

describe('a --plugin partitioner', () => {
  test('lays out the data in the PS and in every worker process: local == in-process, and it changes the model', () => {
    const common = [...RUN, ...RUN2, '--scheme', 'repetition', '--redundancy', '3', '--plugin', plugin];
    const runs = {
      inproc: join(tmp, 'parity-in'),
      local: join(tmp, 'parity-local'),
      iid: join(tmp, 'parity-iid'),
    };
    let r = draco(['train', ...common, '--partition', 'parity', '--out', runs.inproc]);
    assert.equal(r.code, 0, r.stderr);
    r = draco(['train', ...common, '--partition', 'parity', '--engine', 'local', '--out', runs.local]);
    assert.equal(r.code, 0, r.stderr);
    r = draco(['train', ...common, '--out', runs.iid]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(shaOf(runs.local), shaOf(runs.inproc));
    assert.notEqual(shaOf(runs.iid), shaOf(runs.inproc));
    const listed = draco(['list', '--plugin', plugin]);
    assert.match(listed.stdout, /^ {2}parity +partition j: ids = j mod P/m);
  });
});

describe('draco ps and draco worker with --plugin (remote engine)', () => {
  function start(args: string[]) {
    const proc = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    pids.push(proc.pid!);
    let err = '';
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exit = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
    return { proc, stderr: () => err, exit };
  }

  test('a worker without the plugin stops with one line; with it, the run matches in-process', async () => {
    const keyDir = join(tmp, 'keys');
    writeKeySet(keyDir, generateKeySet(3));
    const flags = [
      '--dataset',
      'synthetic',
      '--workers',
      '3',
      '--byzantine',
      '1',
      '--batch',
      '30',
      '--steps',
      '4',
    ];
    const more = [
      '--eval-every',
      '0',
      '--placement',
      'fixed',
      '--scheme',
      'uncoded',
      '--aggregator',
      'half-trimmed',
    ];
    const run = [...flags, ...more, '--attack', 'noisy-flip', '--quiet'];
    const out = join(tmp, 'remote');
    const ps = start([
      'ps',
      '--plugin',
      plugin,
      ...run,
      '--bind',
      'tcp://127.0.0.1:*',
      '--key',
      join(keyDir, 'ps.key'),
      '--out',
      out,
    ]);
    const listening = () => /listening on (tcp:\/\/\S+)/.exec(ps.stderr());
    assert.ok(await waitFor(() => listening() !== null || ps.proc.exitCode !== null, 60_000), ps.stderr());
    const endpoint = listening()![1];
    const key = (r: number) => join(keyDir, `worker-${r}.key`);
    const lacking = start(['worker', '--connect', endpoint, '--key', key(0)]);
    assert.equal(await lacking.exit, 2, lacking.stderr());
    const lines = lacking.stderr().trim().split('\n');
    assert.equal(lines.length, 1, lacking.stderr());
    assert.match(
      lines[0],
      /worker 0: cannot build the run the PS describes: unknown attack 'noisy-flip' .*draco worker --plugin FILE/,
    );
    const workers = [0, 1, 2].map((r) =>
      start(['worker', '--connect', endpoint, '--key', key(r), '--plugin', plugin]),
    );
    assert.equal(await ps.exit, 0, ps.stderr());
    for (const w of workers) assert.equal(await w.exit, 0, w.stderr());
    const ref = join(tmp, 'remote-ref');
    const r = draco(['train', '--plugin', plugin, ...run, '--out', ref]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(shaOf(out), shaOf(ref));
  });
});

describe('bad plugins are one line, exit 2', () => {
  const one = (args: string[], pattern: RegExp) => {
    const r = draco(args);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, pattern);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  };
  test('a missing file', () => {
    one(['train', '--plugin', join(tmp, 'nope.mjs'), '--steps', '1'], /plugin .*nope\.mjs: no such file/);
  });
  test('a module without a register function', () => {
    const p = join(tmp, 'empty.mjs');
    writeFileSync(p, 'export const x = 1;\n');
    one(['train', '--plugin', p, '--steps', '1'], /plugin .*empty\.mjs exports no register function/);
  });
  test('a module that does not parse', () => {
    const p = join(tmp, 'broken.mjs');
    writeFileSync(p, 'export default function (api) {\n');
    one(['train', '--plugin', p, '--steps', '1'], /plugin .*broken\.mjs failed to load: /);
  });
  test('a name that is taken', () => {
    const p = join(tmp, 'taken.mjs');
    writeFileSync(
      p,
      "export default (api) => api.registerAggregator({ name: 'krum', description: '', defaults: {}, create: () => null });\n",
    );
    one(
      ['train', '--plugin', p, '--steps', '1'],
      /plugin .*taken\.mjs: aggregator 'krum' is already registered/,
    );
  });
  test('a name that specs cannot hold', () => {
    const p = join(tmp, 'badname.mjs');
    writeFileSync(
      p,
      "export default (api) => api.registerAttack({ name: 'a:b', description: '', defaults: {}, create: () => null });\n",
    );
    one(['train', '--plugin', p, '--steps', '1'], /attack name "a:b" is not valid/);
  });
  test('an unknown plugin name lists the plugin-less names', () => {
    one(['train', '--attack', 'noisy-flip', '--steps', '1'], /unknown attack 'noisy-flip' \(known: /);
  });
});
