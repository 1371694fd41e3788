import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { UsageError } from '../../src/core/errors.js';
import { CIFAR10_RECORD, loadCifar10 } from '../../src/data/cifar10.js';
import { tempDir } from './helpers.js';

/** Pixel value of record `r`, channel `c`, row `h`, column `w` in the generated files. */
const px = (r: number, c: number, h: number, w: number): number => (r * 31 + c * 101 + h * 7 + w * 3) % 256;

/** `labels.length` CIFAR-10 binary records (label byte + R, G, B planes of 32x32). */
function records(labels: number[], first = 0): Uint8Array {
  const out = new Uint8Array(labels.length * CIFAR10_RECORD);
  labels.forEach((label, i) => {
    const r = first + i;
    const o = i * CIFAR10_RECORD;
    out[o] = label;
    for (let c = 0; c < 3; c++)
      for (let h = 0; h < 32; h++)
        for (let w = 0; w < 32; w++) out[o + 1 + c * 1024 + h * 32 + w] = px(r, c, h, w);
  });
  return out;
}

test('cifar10: generated records decode to HWC with the right labels', () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'data_batch_1.bin'), records([3, 7], 0));
  writeFileSync(join(dir, 'data_batch_2.bin'), records([9], 2));
  writeFileSync(join(dir, 'test_batch.bin'), records([0, 1, 2], 100));
  const ds = loadCifar10(dir);
  assert.equal(ds.name, 'cifar10');
  assert.deepEqual(ds.inputShape, [32, 32, 3]);
  assert.equal(ds.numClasses, 10);
  assert.equal(ds.train.n, 3);
  assert.equal(ds.test.n, 3);
  assert.deepEqual(Array.from(ds.train.y), [3, 7, 9]);
  assert.deepEqual(Array.from(ds.test.y), [0, 1, 2]);
  assert.equal(ds.train.x.length, 3 * 3072);
  // Record 1, green channel, row 5, column 9 -> HWC offset ((5*32)+9)*3 + 1.
  const at = (r: number, h: number, w: number, c: number): number =>
    ds.train.x[r * 3072 + (h * 32 + w) * 3 + c];
  assert.equal(at(1, 5, 9, 1), px(1, 1, 5, 9));
  assert.equal(at(1, 5, 9, 1), (31 + 101 + 35 + 27) % 256);
  for (const [r, h, w] of [
    [0, 0, 0],
    [2, 31, 31],
    [1, 17, 4],
  ])
    for (let c = 0; c < 3; c++) assert.equal(at(r, h, w, c), px(r, c, h, w));
  assert.equal(ds.test.x[(3 * 32 + 4) * 3 + 2], px(100, 2, 3, 4));
});

test('cifar10: train batches are ordered numerically (data_batch_10 after data_batch_2)', () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'data_batch_10.bin'), records([8]));
  writeFileSync(join(dir, 'data_batch_2.bin'), records([2]));
  writeFileSync(join(dir, 'test_batch.bin'), records([4]));
  writeFileSync(join(dir, 'batches.meta.txt'), 'airplane\n');
  assert.deepEqual(Array.from(loadCifar10(dir).train.y), [2, 8]);
});

test('cifar10: the tarball subfolder cifar-10-batches-bin is found', () => {
  const dir = tempDir();
  const sub = join(dir, 'cifar-10-batches-bin');
  mkdirSync(sub);
  writeFileSync(join(sub, 'data_batch_1.bin'), records([5]));
  writeFileSync(join(sub, 'test_batch.bin'), records([6]));
  const ds = loadCifar10(dir);
  assert.deepEqual(Array.from(ds.train.y), [5]);
  assert.deepEqual(Array.from(ds.test.y), [6]);
});

test('cifar10: missing batches, partial records and bad labels are UsageErrors', () => {
  const none = tempDir();
  writeFileSync(join(none, 'test_batch.bin'), records([1]));
  assert.throws(
    () => loadCifar10(none),
    (e: unknown) =>
      e instanceof UsageError && /cifar10: no data_batch_\*\.bin in .*; pass --data-dir DIR/.test(e.message),
  );

  const noTest = tempDir();
  writeFileSync(join(noTest, 'data_batch_1.bin'), records([1]));
  assert.throws(() => loadCifar10(noTest), /cifar10: missing .*test_batch\.bin/);

  const partial = tempDir();
  writeFileSync(join(partial, 'data_batch_1.bin'), records([1, 2]).subarray(0, CIFAR10_RECORD + 100));
  writeFileSync(join(partial, 'test_batch.bin'), records([1]));
  assert.throws(
    () => loadCifar10(partial),
    /data_batch_1\.bin: 3173 bytes is not a whole number of CIFAR-10 records/,
  );

  const badLabel = tempDir();
  writeFileSync(join(badLabel, 'data_batch_1.bin'), records([1, 10]));
  writeFileSync(join(badLabel, 'test_batch.bin'), records([1]));
  assert.throws(() => loadCifar10(badLabel), /record 1 has label 10/);

  assert.throws(
    () => loadCifar10('/nonexistent/cifar'),
    /cifar10: data directory not found: \/nonexistent\/cifar/,
  );
});
