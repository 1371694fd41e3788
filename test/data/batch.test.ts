import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gatherBatch, sampleSize, sliceBatch, splitChunks } from '../../src/data/batch.js';
import { makeSynthetic } from '../../src/data/synthetic.js';
import type { Dataset } from '../../src/data/types.js';

const img: Dataset = {
  name: 'toy',
  inputShape: [2, 2, 1],
  numClasses: 3,
  train: { n: 3, x: Uint8Array.of(0, 255, 51, 102, 1, 2, 3, 4, 10, 20, 30, 40), y: Uint8Array.of(2, 0, 1) },
  test: { n: 0, x: new Uint8Array(0), y: new Uint8Array(0) },
};

test('batch: gather scales uint8 by 1/255 into float32 and copies labels in index order', () => {
  assert.equal(sampleSize(img), 4);
  const b = gatherBatch(img, img.train, [2, 0, 2]);
  assert.equal(b.n, 3);
  assert.ok(b.x instanceof Float32Array);
  assert.ok(b.y instanceof Int32Array);
  assert.deepEqual(Array.from(b.y), [1, 2, 1]);
  assert.equal(b.x.length, 12);
  assert.equal(b.x[0], Math.fround(10 / 255));
  assert.equal(b.x[4], 0);
  assert.equal(b.x[5], 1);
  assert.equal(b.x[6], Math.fround(0.2));
  assert.equal(b.x[11], Math.fround(40 / 255));
});

test('batch: gather copies float features exactly and rejects bad ids', () => {
  const ds = makeSynthetic({ dim: 3, trainSize: 10, testSize: 2, numClasses: 2 });
  const b = gatherBatch(ds, ds.train, Int32Array.of(9, 4));
  assert.deepEqual(Array.from(b.x), [...ds.train.x.subarray(27, 30), ...ds.train.x.subarray(12, 15)]);
  assert.deepEqual(Array.from(b.y), [ds.train.y[9], ds.train.y[4]]);
  b.x[0] = 1234; // a copy, not a view
  assert.notEqual(ds.train.x[27], 1234);
  assert.throws(() => gatherBatch(ds, ds.train, [10]), /sample id 10 out of range \[0, 10\)/);
  assert.throws(() => gatherBatch(ds, ds.train, [-1]), RangeError);
  assert.equal(gatherBatch(ds, ds.train, []).n, 0);
});

test('batch: slice and chunks cover the split in order and match gather', () => {
  const s = sliceBatch(img, img.train, 1, 3);
  const g = gatherBatch(img, img.train, [1, 2]);
  assert.deepEqual(s, g);
  const chunks = [...splitChunks(img, img.train, 2)];
  assert.deepEqual(
    chunks.map((c) => [c.start, c.n]),
    [
      [0, 2],
      [2, 1],
    ],
  );
  assert.deepEqual(Array.from(chunks[1].y), [1]);
  assert.deepEqual(Array.from(chunks[0].x), Array.from(gatherBatch(img, img.train, [0, 1]).x));
  const ds = makeSynthetic({ trainSize: 100, testSize: 37 });
  let total = 0;
  for (const c of splitChunks(ds, ds.test, 16)) {
    assert.deepEqual(c.x, ds.test.x.subarray(c.start * 32, (c.start + c.n) * 32));
    total += c.n;
  }
  assert.equal(total, 37);
  assert.throws(() => sliceBatch(img, img.train, 2, 4), /bad range \[2, 4\) for 3 samples/);
  assert.throws(() => [...splitChunks(img, img.train, 0)], /chunk must be >= 1/);
});
