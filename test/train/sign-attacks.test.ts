import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveConfig } from '../../src/build/config.js';
import { train } from '../../src/build/train.js';
import { type StepRecord } from '../../src/train/loop.js';

test('attacks reach signSGD: Byzantine sign-bit messages are accepted, d/8 bytes each, and change the vote', async () => {
  const base = {
    dataset: 'synthetic',
    scheme: 'uncoded',
    aggregator: 'sign-majority',
    workers: 7,
    batch: 70,
    steps: 3,
    evalEvery: 0,
    lr: 0.01,
    backend: 'cpu' as const,
  };
  const records: StepRecord[] = [];
  const attacked = await train(
    resolveConfig({ ...base, byzantine: 3, attack: 'signflip', placement: 'fixed' }),
    {
      onStep: (r) => void records.push(r),
    },
  );
  const clean = await train(resolveConfig({ ...base, byzantine: 0 }));
  const d = attacked.summary.numParams;
  for (const r of records) {
    assert.deepEqual(r.rejected, [], 'no attacked message is rejected as a wrong dtype');
    assert.deepEqual(r.erasures, []);
    assert.ok(r.time.bytesSent.every((b) => b === Math.ceil(d / 8)));
  }
  assert.equal(attacked.summary.bytesPerWorkerPerStep, Math.ceil(d / 8));
  assert.notEqual(
    attacked.summary.paramsSha256,
    clean.summary.paramsSha256,
    'three flipped votes out of seven move the model',
  );
});
