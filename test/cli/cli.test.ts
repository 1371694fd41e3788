import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';

import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decodeNpy } from '../../src/core/npy.js';
import { tempDir } from '../tmp.js';

const BIN = fileURLToPath(new URL('../../../bin/draco.js', import.meta.url));
const tmp = tempDir('draco-cli-');

function draco(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A user mistake: exit code 2, one line on stderr matching `pattern`, no stack trace. */
function assertUsageError(args: string[], pattern: RegExp) {
  const r = draco(...args);
  assert.equal(r.code, 2, `exit code for ${args.join(' ')}: stderr ${r.stderr}`);
  const lines = r.stderr
    .trim()
    .split('\n')
    .filter((l) => !l.startsWith('(run with --help'));
  assert.equal(lines.length, 1, `one line for ${args.join(' ')}, got:\n${r.stderr}`);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
}

describe('draco train: bad input is one line and exit code 2', () => {
  test('r < 2s + 1 names the bound', () => {
    assertUsageError(
      ['train', '--redundancy', '4'],
      /repetition needs r >= 2s \+ 1 .*\(r = 4, s = 2: use r >= 5\)/,
    );
  });
  test('more Byzantine than workers', () => {
    assertUsageError(
      ['train', '--workers', '3', '--byzantine', '4'],
      /more Byzantine workers than workers \(byzantine = 4, workers = 3\)/,
    );
  });
  test('unknown model, attack, scheme, aggregator, placement, dataset', () => {
    assertUsageError(['train', '--model', 'vgg'], /unknown model 'vgg'.*mlp/);
    assertUsageError(['train', '--attack', 'bogus'], /unknown attack 'bogus' \(known: .*reverse/);
    assertUsageError(['train', '--scheme', 'raptor'], /unknown scheme 'raptor' \(known: uncoded, repetition/);
    assertUsageError(['train', '--scheme', 'uncoded', '--aggregator', 'nope'], /unknown aggregator 'nope'/);
    assertUsageError(['train', '--placement', 'sometimes'], /unknown placement 'sometimes'/);
    assertUsageError(['train', '--dataset', 'imagenet'], /unknown dataset 'imagenet'/);
  });
  test('missing data files name the folder', () => {
    assertUsageError(['train', '--dataset', 'cifar10', '--data-dir', join(tmp, 'nowhere')], /nowhere/);
    assertUsageError(['train', '--dataset', 'idx'], /--data-dir/);
  });
  test('malformed flags and configs', () => {
    assertUsageError(['train', '--workers', 'many'], /'--workers <n>' argument 'many' is invalid/);
    assertUsageError(['train', '--steps', '2.5'], /expected an integer/);
    assertUsageError(['train', '--frobnicate'], /unknown option '--frobnicate'/);
    const bad = join(tmp, 'bad.yaml');
    writeFileSync(bad, 'workers: [1, 2\n');
    assertUsageError(['train', '--config', bad], /bad\.yaml is not valid YAML\/JSON/);
    const wrong = join(tmp, 'wrong.yaml');
    writeFileSync(wrong, 'workers: fifteen\nbatchsize: 3\n');
    assertUsageError(['train', '--config', wrong], /wrong\.yaml: workers: .*expected number.*batchsize/);
    assertUsageError(
      ['train', '--config', join(tmp, 'absent.yaml')],
      /cannot read config file .*absent\.yaml: ENOENT/,
    );
    assertUsageError(
      ['train', '--lr-schedule', 'wavy'],
      /--lr-schedule: Invalid option: expected one of "constant"\|"step"\|"cosine"/,
    );
  });
});

describe('draco train: outputs', () => {
  test('--out writes metrics.jsonl, summary.json and params.npy that agree; config file + flag override', () => {
    const out = join(tmp, 'run');
    const cfg = join(tmp, 'job.yaml');
    writeFileSync(cfg, 'dataset: synthetic\nsteps: 50\nworkers: 5\nbyzantine: 1\nbatch: 40\neval-every: 2\n');
    const r = draco('train', '--config', cfg, '--steps', '4', '--attack', 'gaussian:sigma=5', '--out', out);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /final test accuracy/);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    assert.equal(summary.steps, 4, 'flag overrides the file');
    assert.equal(summary.config.workers, 5);
    assert.equal(summary.config.redundancy, undefined);
    assert.match(summary.scheme, /1 groups? \(r = 3/);
    assert.equal(summary.config.attack, 'gaussian:sigma=5');
    assert.equal(summary.seed, 1);
    const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, 4);
    assert.deepEqual(
      lines.map((l) => l.step),
      [0, 1, 2, 3],
    );
    assert.ok('testAccuracy' in lines[1] && !('testAccuracy' in lines[0]));
    assert.equal(lines[3].testAccuracy, summary.finalTestAccuracy);
    for (const l of lines) {
      assert.equal(l.byzantine.length, 1);
      assert.deepEqual(l.suspects, l.byzantine, 'the Byzantine worker is the only suspect');
      assert.equal(l.time.computeMs.length, 5);
      assert.ok(l.time.modeledParallelMs > 0 && l.time.stepWallMs > 0);
    }
    const npy = readFileSync(join(out, 'params.npy'));
    const { data, shape } = decodeNpy(npy);
    assert.ok(data instanceof Float32Array);
    assert.deepEqual(shape, [summary.numParams]);
    const sha = createHash('sha256')
      .update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
      .digest('hex');
    assert.equal(sha, summary.paramsSha256);
    assert.equal(summary.bytesPerWorkerPerStep, 4 * summary.numParams);
    assert.equal(summary.totalSuspectsFlagged, 4);
  });
  test('--help teaches: every option with its default, examples', () => {
    const r = draco('train', '--help');
    assert.equal(r.code, 0);
    for (const flag of [
      '--model',
      '--dataset',
      '--data-dir',
      '--workers',
      '--byzantine',
      '--scheme',
      '--redundancy',
      '--aggregator',
      '--attack',
      '--placement',
      '--batch',
      '--lr',
      '--momentum',
      '--weight-decay',
      '--steps',
      '--eval-every',
      '--seed',
      '--out',
      '--config',
    ]) {
      assert.match(r.stdout, new RegExp(`${flag} <`), flag);
    }
    assert.match(r.stdout, /\(default: 15\)/);
    assert.match(r.stdout, /Examples:/);
  });
});

describe('draco bench decode', () => {
  test('--json: the steady decode (guesses held), the miss and no-guess medians, the mean beside it', () => {
    const r = draco(
      'bench',
      'decode',
      '--n',
      '9',
      '--d',
      '20000',
      '--byzantine',
      '2',
      '--runs',
      '3',
      '--json',
    );
    assert.equal(r.code, 0, r.stderr);
    const row = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(row.scheme, 'cyclic');
    assert.equal(row.n, 9);
    assert.equal(row.d, 20000);
    assert.equal(row.arena, true);
    // The same two corrupted messages every steady run: the first decode guesses from the warm-up.
    assert.deepEqual(row.speculation, { hit: 3, miss: 0, none: 0 });
    assert.equal((row.suspects as number[]).length, 2);
    for (const k of ['medianMs', 'minMs', 'gbps', 'missMs', 'noGuessMs', 'meanMs', 'ratio']) {
      assert.ok(typeof row[k] === 'number' && (row[k] as number) > 0, `${k}: ${String(row[k])}`);
    }
  });

  test('solon with --no-mean; the table names the figures; bad settings are one line', () => {
    const r = draco(
      'bench',
      'decode',
      '--scheme',
      'solon',
      '--compression',
      '2',
      '--n',
      '7',
      '--d',
      '999',
      '--runs',
      '2',
      '--no-mean',
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /median ms .* miss ms .*no-guess ms/);
    assert.match(r.stdout, /^solon\s+7\s+999\s+2\s+2 /m);
    assert.doesNotMatch(r.stdout, /beside it/);
    assertUsageError(['bench', 'decode', '--compression', '2'], /--compression is for solon/);
    assertUsageError(
      ['bench', 'decode', '--scheme', 'solon', '--n', '5', '--compression', '2'],
      /solon needs n >= 2s \+ m workers .*at most m = 1/,
    );
  });

  test('--message-dtype float64x2: messages of 2d float64 values, in the arena', () => {
    const r = draco(
      'bench',
      'decode',
      '--n',
      '7',
      '--d',
      '1000',
      '--runs',
      '2',
      '--no-mean',
      '--message-dtype',
      'float64x2',
      '--json',
    );
    assert.equal(r.code, 0, r.stderr);
    const row = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(row.dtype, 'float64x2');
    assert.equal(row.arena, true);
    assert.equal((row.suspects as number[]).length, 2);
    assertUsageError(['bench', 'decode', '--message-dtype', 'float128'], /float64x2/);
  });
});
