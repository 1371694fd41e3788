import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../../src/core/errors.js';
import { clearDatasetCache, listDatasets, loadDataset } from '../../src/data/registry.js';
import { tempDir, writeIdxDir } from './helpers.js';

test('registry: lists every dataset with a one-line description', () => {
  const list = listDatasets();
  assert.deepEqual(
    list.map((d) => d.name),
    ['mnist', 'fashion-mnist', 'idx', 'cifar10', 'npy', 'csv', 'synthetic'],
  );
  for (const d of list) {
    assert.ok(d.description.length > 10);
    assert.ok(!d.description.includes('\n'));
  }
});

test('registry: unknown name is a UsageError listing the names', () => {
  assert.throws(
    () => loadDataset('cifar100'),
    (e: unknown) =>
      e instanceof UsageError &&
      e.message ===
        "unknown dataset 'cifar100' (known: mnist, fashion-mnist, idx, cifar10, npy, csv, synthetic)",
  );
});

test('registry: idx and cifar10 require a data dir; synthetic refuses one', () => {
  assert.throws(
    () => loadDataset('idx'),
    /dataset 'idx' needs --data-dir DIR holding train-images-idx3-ubyte/,
  );
  assert.throws(
    () => loadDataset('cifar10', {}),
    /dataset 'cifar10' needs --data-dir DIR holding data_batch_1\.bin/,
  );
  assert.throws(() => loadDataset('synthetic', { dataDir: '/tmp' }), /takes no --data-dir/);
});

test('registry: caches per (name, dir, seed)', () => {
  clearDatasetCache();
  const a = loadDataset('synthetic', { seed: 1 });
  assert.equal(loadDataset('synthetic', { seed: 1 }), a);
  const b = loadDataset('synthetic', { seed: 2 });
  assert.notEqual(b, a);
  assert.notDeepEqual(b.train.x, a.train.x);
  const small = loadDataset('synthetic', { seed: 1, synthetic: { trainSize: 64 } });
  assert.equal(small.train.n, 64);
  assert.equal(a.train.n, 2048);

  const d1 = tempDir();
  const d2 = tempDir();
  writeIdxDir(d1, { nTrain: 4, nTest: 2, h: 2, w: 2, classes: 2 });
  writeIdxDir(d2, { nTrain: 6, nTest: 2, h: 2, w: 2, classes: 2 });
  const i1 = loadDataset('idx', { dataDir: d1 });
  assert.equal(i1.train.n, 4);
  assert.equal(loadDataset('idx', { dataDir: d1 + '/' }), i1);
  assert.equal(loadDataset('idx', { dataDir: d2 }).train.n, 6);
  clearDatasetCache();
  assert.notEqual(loadDataset('idx', { dataDir: d1 }), i1);
});

test('registry: mnist is the default and is cached', () => {
  const m = loadDataset();
  assert.equal(m.name, 'mnist');
  assert.equal(m.train.n, 60000);
  const t0 = performance.now();
  assert.equal(loadDataset('mnist'), m);
  assert.ok(performance.now() - t0 < 5);
});
