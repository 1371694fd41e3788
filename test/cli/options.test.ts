/**
 * What a new user trips over in `draco train`'s options (issue 15): every flag is also a config
 * file key, in kebab-case, camelCase or as its config key; an option the chosen scheme would
 * ignore is refused, naming the scheme that reads it; the remote engine's missing address names
 * what `draco train` accepts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

import { join } from 'node:path';
import { describe, test } from 'node:test';
import { inapplicable, resolveConfig } from '../../src/build/config.js';
import { FLAGS, normalizeKeys } from '../../src/cli/train.js';
import { BIN } from '../cluster/procs.js';
import { tempDir } from '../tmp.js';

const tmp = tempDir('draco-options-');

function draco(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stderr: r.stderr };
}

const camel = (s: string) => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

describe('every flag is a config key', () => {
  test('kebab-case flag, camelCase flag and the config key all name the same option', () => {
    for (const [flag, key, kind] of FLAGS) {
      const v = kind === 'list' ? ['a.js'] : kind === 'str' ? 'x' : 3;
      for (const name of [flag, camel(flag), key])
        assert.deepEqual(normalizeKeys({ [name]: v }), { [key]: v }, `config key '${name}' for --${flag}`);
    }
    assert.deepEqual(normalizeKeys({ plugin: 'one.js' }), { plugins: ['one.js'] });
  });

  test('on-no-majority in a YAML file reaches the run', () => {
    const cfg = join(tmp, 'job.yaml');
    writeFileSync(
      cfg,
      'on-no-majority: abort\ndataset: synthetic\nsteps: 2\nworkers: 5\nbyzantine: 1\nbatch: 20\n',
    );
    const out = join(tmp, 'onm');
    const r = draco('train', '--config', cfg, '--quiet', '--out', out);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as {
      config: { noMajority: string };
    };
    assert.equal(s.config.noMajority, 'abort');
  });
});

describe('options the scheme would ignore', () => {
  const one = (args: string[], pattern: RegExp) => {
    const r = draco('train', ...args, '--steps', '1');
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, pattern);
  };
  test('are refused with the scheme that reads them', () => {
    one(
      ['--aggregator', 'median'],
      /--aggregator does not apply to scheme repetition \(it is read by uncoded, and detox with detoxMode rule\)/,
    );
    one(
      ['--scheme', 'cyclic', '--compression', '2'],
      /--compression does not apply to scheme cyclic \(it is read by solon\)/,
    );
    one(['--scheme', 'uncoded', '--redundancy', '3'], /--redundancy does not apply to scheme uncoded/);
    one(
      ['--scheme', 'detox', '--message-dtype', 'float32'],
      /--message-dtype does not apply to scheme detox/,
    );
    one(
      ['--scheme', 'solon', '--on-no-majority', 'abort'],
      /--on-no-majority does not apply to scheme solon/,
    );
  });
  test('default values and the options a scheme reads pass', () => {
    const c = (o: Record<string, unknown>) => resolveConfig(o);
    assert.equal(inapplicable(['aggregator'], c({ aggregator: 'mean' })), null); // a saved config holds every key
    assert.equal(inapplicable(['aggregator'], c({ scheme: 'uncoded', aggregator: 'median' })), null);
    assert.equal(
      inapplicable(['aggregator'], c({ scheme: 'detox', detoxMode: 'rule', aggregator: 'median' })),
      null,
    );
    assert.match(
      inapplicable(['aggregator'], c({ scheme: 'detox', aggregator: 'median' }))!,
      /does not apply to scheme detox/,
    );
    assert.equal(inapplicable(['compression'], c({ scheme: 'solon', compression: 2 })), null);
    assert.equal(inapplicable(['aggregator'], c({ scheme: 'my-plugin-scheme', aggregator: 'x' })), null);
  });
});

test('--engine remote without a cluster file names what draco train takes', () => {
  const r = draco('train', '--engine', 'remote', '--steps', '1');
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr,
    /remote engine: no address to bind: give --cluster FILE holding `bind: tcp:\/\/0\.0\.0\.0:5555` \(draco train or ps\), or --bind ADDR \(draco ps\)/,
  );
});

describe('labels that tell the truth', () => {
  test('the summary names the engine the steps were timed on; one group is one group', () => {
    const r = spawnSync(
      process.execPath,
      [
        BIN,
        ...'train --engine local --dataset synthetic --workers 3 --byzantine 1 --batch 12 --steps 2'.split(
          ' ',
        ),
      ],
      { encoding: 'utf8', timeout: 120_000 },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /median step [\d.]+ ms, local engine\)/);
    assert.doesNotMatch(r.stdout + r.stderr, /in-process\)/);
    assert.match(r.stderr, /scheme: 1 group \(r = 3, tolerates 1 Byzantine\)/);
  });
});

test('train --help lists the choices of every enum option, and no retired key', () => {
  const r = spawnSync(process.execPath, [BIN, 'train', '--help'], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  const help = r.stdout.replace(/\s+/g, ' ');
  for (const choices of [
    'constant, step, cosine',
    'wasm, cpu',
    'median-of-means, multi-krum, bulyan, rule',
    'skip, abort',
    'float64, float32, float64x2',
    'inprocess, local, remote',
  ])
    assert.ok(help.includes(`(one of: ${choices})`), `choices ${choices}`);
  assert.doesNotMatch(help, /secretFile/);
});
