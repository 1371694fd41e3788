/** Every rule trains from `draco train --scheme uncoded`, and `draco aggregate` on small .npy files. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { aggregators } from '../../src/aggregators/registry.js';
import { readNpy, writeNpy } from '../../src/core/npy.js';
import { resolveConfig } from '../../src/build/config.js';
import { train } from '../../src/build/train.js';
import { tempDir } from '../tmp.js';

const BIN = fileURLToPath(new URL('../../../bin/draco.js', import.meta.url));
const tmp = tempDir('draco-agg-');

function draco(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('draco train --scheme uncoded --aggregator R, for every rule', () => {
  test('each registered rule (and both pre-aggregators) trains a few steps under attack', async () => {
    const specs = [...aggregators.names(), 'bucketing:b=2+median', 'nnm+krum'];
    for (const spec of specs) {
      // detox-multi-krum needs floor(n / 2) >= 2f + 3; bucketing:b=2 halves n before the rule.
      const workers = spec === 'detox-multi-krum' || spec.startsWith('bucketing') ? 14 : 11;
      const cfg = resolveConfig({
        dataset: 'synthetic',
        model: 'mlp',
        scheme: 'uncoded',
        aggregator: spec,
        workers,
        byzantine: spec.startsWith('bucketing') ? 1 : 2,
        attack: 'reverse',
        batch: 4 * workers,
        steps: 3,
        evalEvery: 0,
        lr: 0.05,
        seed: 2,
        backend: 'cpu', // the rule, not the backend, is under test
      });
      const { summary, params } = await train(cfg);
      assert.equal(summary.abortedSteps, 0, spec);
      assert.ok(Number.isFinite(summary.finalTestLoss), `${spec}: loss ${summary.finalTestLoss}`);
      assert.ok(params.every(Number.isFinite), spec);
      // sign-majority workers send packed bits: ceil(d/8) bytes (Byzantine float messages are
      // rejected at validation and count their own bytes, so compare the honest minimum).
      if (spec !== 'sign-majority') assert.equal(summary.bytesPerWorkerPerStep, 4 * summary.numParams, spec);
    }
  });
  test('sign-majority: every honest worker sends ceil(d/8) bytes', async () => {
    const records: { bytes: number[]; byz: number[] }[] = [];
    const cfg = resolveConfig({
      dataset: 'synthetic',
      scheme: 'uncoded',
      aggregator: 'sign-majority',
      workers: 5,
      byzantine: 0,
      batch: 20,
      steps: 2,
      evalEvery: 0,
      lr: 0.01,
      backend: 'cpu',
    });
    const { summary } = await train(cfg, {
      onStep: (r) => void records.push({ bytes: r.time.bytesSent, byz: r.byzantine }),
    });
    assert.equal(summary.bytesPerWorkerPerStep, Math.ceil(summary.numParams / 8));
    for (const r of records) assert.deepEqual(r.bytes, new Array(5).fill(Math.ceil(summary.numParams / 8)));
  });
  test('from the command line', () => {
    const r = draco(
      'train',
      '--dataset',
      'synthetic',
      '--scheme',
      'uncoded',
      '--aggregator',
      'geomedian:iters=5',
      '--workers',
      '7',
      '--byzantine',
      '1',
      '--steps',
      '2',
      '--batch',
      '28',
      '--backend',
      'cpu',
      '--quiet',
    );
    assert.equal(r.code, 0, r.stderr);
  });
});

describe('draco aggregate', () => {
  const rows = [
    [1, 5, 0],
    [3, -1, 0],
    [2, 10, 0],
    [100, 100, 100],
    [0, 0, 0],
  ];
  const in64 = join(tmp, 'in64.npy');
  const in32 = join(tmp, 'in32.npy');
  writeNpy(in64, Float64Array.from(rows.flat()), [5, 3]);
  writeNpy(in32, Float32Array.from(rows.flat()), [5, 3]);

  test('median of a float64 matrix, written as float64', () => {
    const out = join(tmp, 'med.npy');
    const r = draco('aggregate', '--rule', 'median', '--f', '2', in64, '--out', out);
    assert.equal(r.code, 0, r.stderr);
    const { data, shape } = readNpy(out);
    assert.ok(data instanceof Float64Array);
    assert.deepEqual(shape, [3]);
    assert.deepEqual(Array.from(data), [2, 5, 0]);
  });
  test('float32 in, float32 out; krum prints its selection, geomedian its iterations', () => {
    const out = join(tmp, 'krum.npy');
    const r = draco('aggregate', '--rule', 'krum', '--f', '1', in32, '--out', out);
    assert.equal(r.code, 0, r.stderr);
    const { data } = readNpy(out);
    assert.ok(data instanceof Float32Array);
    assert.match(r.stdout, /selected rows \d/);
    const g = draco('aggregate', '--rule', 'geomedian:iters=7,tol=0', in32, '--out', join(tmp, 'g.npy'));
    assert.equal(g.code, 0, g.stderr);
    assert.match(g.stdout, /iterations 7 \(cap reached\)/);
    // The line names the rule with the parameters given, the input and f.
    assert.match(g.stdout, /^draco aggregate: geomedian:iters=7,tol=0 over 5 x 3 \(float32\), f = 0 -> /);
    const b = draco(
      'aggregate',
      '--rule',
      'mean',
      '--pre',
      'bucketing:b=5',
      in32,
      '--out',
      join(tmp, 'b.npy'),
    );
    assert.equal(b.code, 0, b.stderr);
    assert.deepEqual(Array.from(readNpy(join(tmp, 'b.npy')).data), [21.2, 22.8, 20].map(Math.fround));
  });
  test('mistakes are one line, exit code 2', () => {
    const vec = join(tmp, 'vec.npy');
    writeNpy(vec, Float64Array.from([1, 2, 3]));
    const cases: [string[], RegExp][] = [
      [['--rule', 'krum', '--f', '2', in64], /^draco: krum needs n >= 2f \+ 3 \(n = 5, f = 2: n >= 7\)$/],
      [['--rule', 'median', vec], /expected an n x d matrix \(one input per row\), got shape \(3\)/],
      [['--rule', 'median', join(tmp, 'missing.npy')], /input file not found/],
      [['--rule', 'medain', in64], /unknown aggregator 'medain'/],
    ];
    for (const [args, re] of cases) {
      const r = draco('aggregate', ...args, '--out', join(tmp, 'x.npy'));
      assert.equal(r.code, 2, args.join(' '));
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr.trim(), re);
    }
  });
});

describe('draco bench aggregate', () => {
  test('--json: one object per line with rule, n, d, medianMs, gbps', () => {
    const r = draco(
      'bench',
      'aggregate',
      '--n',
      '7',
      '--d',
      '20000',
      '--rules',
      'median,geomedian:iters=3,tol=0,vote',
      '--runs',
      '2',
      '--json',
    );
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(
      rows.map((x) => x.rule),
      ['median', 'geomedian:iters=3,tol=0', 'vote'],
    );
    for (const x of rows) {
      assert.equal(x.n, 7);
      assert.equal(x.d, 20000);
      assert.ok((x.medianMs as number) > 0 && (x.gbps as number) > 0);
    }
    assert.equal(rows[1].iterations, 3);
  });
});
