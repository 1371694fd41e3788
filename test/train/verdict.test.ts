/**
 * When a run's result cannot be used (issue 15): non-finite parameters or loss, most steps
 * aborted, or a final accuracy no better than always answering the most common class. Small
 * hand-checked cases, then the CLI: such a run says so in its summary and exits 3.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { atChance, chanceAccuracy } from '../../src/train/evaluate.js';
import { verdict } from '../../src/train/loop.js';
import { BIN } from '../cluster/procs.js';
import { tempDir } from '../tmp.js';

const split = (y: number[]) => ({ n: y.length, x: new Float32Array(y.length), y: Uint8Array.from(y) });
const fine = Float32Array.of(1, 2, 3);
const none = { aborted: 0, partial: 0 };

describe('chance level', () => {
  test('the most common class: 3 of 5 labels are 2', () => {
    assert.equal(chanceAccuracy(split([2, 0, 2, 1, 2])), 0.6);
    assert.equal(chanceAccuracy(split([])), 0);
  });
  test('within three standard errors of chance is at chance', () => {
    // MNIST's test set: 1,135 of 10,000 are ones; 3 se = 3 * sqrt(0.1135 * 0.8865 / 10000) = 0.0095.
    assert.equal(atChance(0.1135, 0.1135, 10_000), true);
    assert.equal(atChance(0.123, 0.1135, 10_000), true);
    assert.equal(atChance(0.124, 0.1135, 10_000), false);
    assert.equal(atChance(0.05, 0.1135, 10_000), true);
    assert.equal(atChance(NaN, 0.1135, 10_000), true);
    // 90 samples: the noise is wider (3 se = 0.151).
    assert.equal(atChance(0.5, 0.3556, 90), true);
    assert.equal(atChance(0.51, 0.3556, 90), false);
  });
});

describe('verdict', () => {
  const chance = { accuracy: 0.1135, n: 10_000 };
  test('a model that learned passes', () => {
    assert.deepEqual(verdict(10, none, fine, { loss: 0.1, accuracy: 0.97 }, chance), {
      warnings: [],
      failed: null,
    });
  });
  test('at chance fails, naming the accuracy, the chance level and what to try', () => {
    const v = verdict(500, none, fine, { loss: 2.3011, accuracy: 0.1135 }, chance);
    assert.match(
      v.failed ?? '',
      /did not learn: final test accuracy 11\.35% is no better than always answering the most common class \(11\.35%\); an attack got through the defense, or the learning rate is wrong/,
    );
  });
  test('non-finite parameters or loss fail before the accuracy is looked at', () => {
    const nan = Float32Array.of(1, NaN);
    assert.match(
      verdict(5, none, nan, { loss: 0.1, accuracy: 0.9 }, chance).failed ?? '',
      /parameters are not finite/,
    );
    assert.match(
      verdict(5, none, fine, { loss: Infinity, accuracy: 0.9 }, chance).failed ?? '',
      /final test loss is Infinity/,
    );
  });
  test('most steps aborted fails; some aborted or partial only warns', () => {
    assert.match(
      verdict(10, { aborted: 6, partial: 0 }, fine, { loss: 0.1, accuracy: 0.9 }, chance).failed ?? '',
      /6 of 10 steps aborted/,
    );
    const some = verdict(10, { aborted: 2, partial: 1 }, fine, { loss: 0.1, accuracy: 0.9 }, chance);
    assert.equal(some.failed, null);
    assert.equal(some.warnings.length, 2);
  });
});

describe('draco train', () => {
  const tmp = tempDir('draco-verdict-');
  for (const [what, lr, why] of [
    ['diverges (--lr 50)', '50', /run failed: (the final (parameters|test loss)|the model did not learn)/],
    ['barely moves (--lr 1e-6)', '1e-6', /run failed: the model did not learn: final test accuracy/],
  ] as const) {
    test(`a run that ${what} says so in its summary and exits 3`, () => {
      const out = join(tmp, lr);
      const r = spawnSync(process.execPath, [BIN, 'train', '--lr', lr, '--steps', '20', '--out', out], {
        encoding: 'utf8',
        timeout: 120_000,
      });
      assert.equal(r.status, 3, r.stderr);
      assert.match(r.stderr, why);
      assert.match(r.stdout, /FAILED/);
      const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as {
        failed: string;
        chanceAccuracy: number;
      };
      assert.equal(s.chanceAccuracy, 0.1135);
      assert.match(s.failed, /.+/);
    });
  }
});
