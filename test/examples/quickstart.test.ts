/**
 * draco as a dependency, as a user gets it: `npm pack` this checkout, install the tarball into a
 * copy of examples/quickstart (a TypeScript project of its own), build it with `tsc --strict`,
 * and run it: a tfjs model built with tf.sequential, a plugin rule, attack and dataset, trained
 * in-process and with worker processes to the same parameters. Also the packed `draco` bin.
 *
 * npm installs from its cache (the checkout's own `npm install` filled it with the same
 * versions); without the cache it would need the registry.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync } from 'node:fs';

import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../tmp.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function run(cmd: string, args: string[], cwd: string, timeout = 600_000) {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    timeout,
    env: { ...process.env, npm_config_loglevel: 'error' },
  });
  return { code: r.status, out: `${r.stdout}\n${r.stderr}`, stdout: r.stdout };
}

test(
  'examples/quickstart installs the packed draco, builds with tsc --strict and trains alike on both engines',
  { timeout: 900_000 },
  () => {
    const tmp = tempDir('draco-example-');
    // dist/ is built by the test command itself; pack what it built.
    let r = run('npm', ['pack', '--ignore-scripts', '--pack-destination', tmp], ROOT);
    assert.equal(r.code, 0, r.out);
    const tgz = readdirSync(tmp).find((f) => f.endsWith('.tgz'));
    assert.equal(tgz, 'draco-0.1.0.tgz', r.out);

    // The layout the example's package.json expects: the tarball two folders up.
    const proj = join(tmp, 'examples', 'quickstart');
    mkdirSync(proj, { recursive: true });
    for (const f of ['package.json', 'tsconfig.json', 'src', 'README.md'])
      cpSync(join(ROOT, 'examples', 'quickstart', f), join(proj, f), { recursive: true });

    r = run('npm', ['install', '--offline', '--no-audit', '--no-fund'], proj);
    if (r.code !== 0) r = run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], proj);
    assert.equal(r.code, 0, r.out);
    // What the tarball holds: the compiled library with declarations and the bin; no tests.
    const pkg = join(proj, 'node_modules', 'draco');
    assert.ok(existsSync(join(pkg, 'dist', 'src', 'index.d.ts')));
    assert.ok(!existsSync(join(pkg, 'dist', 'test')));
    assert.ok(!existsSync(join(pkg, 'src')));

    r = run(join(proj, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json', '--strict'], proj);
    assert.equal(r.code, 0, r.out);

    r = run(process.execPath, ['dist/train.js'], proj);
    assert.equal(r.code, 0, r.out);
    const shas = [...r.stdout.matchAll(/params sha256 ([0-9a-f]{64})/g)].map((m) => m[1]);
    assert.equal(shas.length, 2, r.out);
    assert.equal(shas[0], shas[1]);
    assert.match(r.stdout, /same model in-process and with worker processes/);
    const acc = [...r.stdout.matchAll(/accuracy ([\d.]+)%/g)].map((m) => Number(m[1]));
    assert.ok(acc[0] > 80, r.stdout);

    // The packed CLI starts and knows the plugin's components.
    r = run(
      join(proj, 'node_modules', '.bin', 'draco'),
      [
        'train',
        '--plugin',
        'dist/plugin.js',
        '--dataset',
        'blobs',
        '--scheme',
        'uncoded',
        '--aggregator',
        'clipped-mean',
        '--attack',
        'scaled-noise',
        '--workers',
        '6',
        '--byzantine',
        '1',
        '--batch',
        '60',
        '--steps',
        '5',
        '--quiet',
      ],
      proj,
    );
    assert.equal(r.code, 0, r.out);
  },
);
