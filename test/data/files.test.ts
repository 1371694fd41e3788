/**
 * The user's own data (docs/data.md): npy and csv folders and in-memory arrays, hand-checked
 * values through gatherBatch, and every bad file as one UsageError line naming the file.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { UsageError } from '../../src/core/errors.js';
import { encodeNpy } from '../../src/core/npy.js';
import { datasetFromArrays } from '../../src/data/arrays.js';
import { gatherBatch } from '../../src/data/batch.js';
import { loadCsvDir } from '../../src/data/csv.js';
import { loadNpyDir } from '../../src/data/npy-dir.js';
import { clearDatasetCache, loadDataset, registerDataset } from '../../src/data/registry.js';
import { tempDir } from './helpers.js';

/** .npy bytes of any dtype: a v1.0 header around raw little-endian bytes. */
function npy(descr: string, shape: number[], body: Uint8Array, fortran = false): Buffer {
  const shapeStr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': ${shapeStr}, }`;
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(body)]);
}
const bytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** A valid npy folder: uint8 4x4x1 images, int32 labels; `over` replaces files by name. */
function npyDir(over: Record<string, Buffer> = {}): string {
  const dir = tempDir();
  const img = (n: number, salt: number) =>
    Uint8Array.from({ length: n * 16 }, (_, i) => (i * 7 + salt) % 256);
  const files: Record<string, Buffer> = {
    'x_train.npy': encodeNpy(img(6, 0), [6, 4, 4, 1]),
    'y_train.npy': encodeNpy(Int32Array.from([0, 1, 2, 0, 1, 2]), [6]),
    'x_test.npy': encodeNpy(img(3, 1), [3, 4, 4, 1]),
    'y_test.npy': encodeNpy(Int32Array.from([2, 1, 0]), [3]),
    ...over,
  };
  for (const [f, b] of Object.entries(files)) writeFileSync(join(dir, f), b);
  return dir;
}

function csvDir(train: string, test: string): string {
  const dir = tempDir();
  writeFileSync(join(dir, 'train.csv'), train);
  writeFileSync(join(dir, 'test.csv'), test);
  return dir;
}

/** `fn` throws one UsageError line matching `pattern` (which should name the file). */
function oneLine(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof UsageError, `not a UsageError: ${String(e)}`);
    assert.ok(!e.message.includes('\n'), e.message);
    assert.match(e.message, pattern);
    return true;
  });
}

describe('npy folders', () => {
  test('uint8 images: shape, classes, and batches of v / 255', () => {
    const ds = loadNpyDir(npyDir());
    assert.deepEqual(ds.inputShape, [4, 4, 1]);
    assert.equal(ds.numClasses, 3);
    assert.equal(ds.train.n, 6);
    assert.ok(ds.train.x instanceof Uint8Array);
    const b = gatherBatch(ds, ds.train, [1]);
    assert.equal(b.x[0], Math.fround(((16 * 7) % 256) / 255));
    assert.equal(b.x[15], Math.fround(((31 * 7) % 256) / 255));
    assert.deepEqual(Array.from(b.y), [1]);
  });

  test('float32 and float64 features, int64 and uint16 labels of shape [n] or [n, 1]', () => {
    const x = Float64Array.from({ length: 12 }, (_, i) => i / 3);
    const dir = npyDir({
      'x_train.npy': npy('<f8', [4, 3], bytes(x)),
      'y_train.npy': npy('<i8', [4, 1], bytes(BigInt64Array.from([0n, 1n, 1n, 0n]))),
      'x_test.npy': encodeNpy(Float32Array.from([1, 2, 3]), [1, 3]),
      'y_test.npy': npy('<u2', [1], bytes(Uint16Array.from([1]))),
    });
    const ds = loadNpyDir(dir);
    assert.deepEqual(ds.inputShape, [3]);
    assert.equal(ds.numClasses, 2);
    assert.deepEqual(Array.from(gatherBatch(ds, ds.train, [2]).x), [2, 7 / 3, 8 / 3].map(Math.fround));
    assert.deepEqual(Array.from(ds.train.y), [0, 1, 1, 0]);
    assert.deepEqual(Array.from(gatherBatch(ds, ds.test, [0]).x), [1, 2, 3]);
  });

  test('from the registry, cached per folder', () => {
    const dir = npyDir();
    clearDatasetCache();
    const a = loadDataset('npy', { dataDir: dir });
    assert.equal(loadDataset('npy', { dataDir: dir }), a);
    assert.equal(a.name, 'npy');
    oneLine(() => loadDataset('npy'), /dataset 'npy' needs --data-dir DIR holding x_train\.npy/);
  });

  const bad: [string, Record<string, Buffer>, RegExp][] = [
    [
      'not a .npy file',
      { 'x_test.npy': Buffer.from('hello, world') },
      /x_test\.npy: not a \.npy file \(bad magic\)/,
    ],
    [
      'truncated data',
      { 'x_train.npy': encodeNpy(Uint8Array.from({ length: 96 }), [6, 4, 4, 1]).subarray(0, 100) },
      /x_train\.npy: truncated/,
    ],
    [
      'an unsupported dtype',
      { 'x_train.npy': npy('<c8', [6, 4, 4, 1], new Uint8Array(6 * 16 * 8)) },
      /x_train\.npy: unsupported dtype <c8/,
    ],
    [
      'fortran order',
      { 'x_train.npy': npy('|u1', [6, 4, 4, 1], new Uint8Array(96), true) },
      /x_train\.npy: fortran_order/,
    ],
    [
      'features without a sample shape',
      { 'x_test.npy': encodeNpy(Float32Array.from([1, 2, 3]), [3]) },
      /x_test\.npy: shape \(3\) needs \[samples, \.\.\.sample shape\]/,
    ],
    [
      'integer features',
      { 'x_train.npy': encodeNpy(new Int32Array(96), [6, 4, 4, 1]) },
      /x_train\.npy: features must be uint8, float32 or float64 \(got <i4\)/,
    ],
    [
      'float labels',
      { 'y_train.npy': encodeNpy(new Float32Array(6), [6]) },
      /y_train\.npy: labels must have an integer dtype \(got <f4\)/,
    ],
    [
      'labels of shape [n, 2]',
      { 'y_test.npy': encodeNpy(new Int32Array(6), [3, 2]) },
      /y_test\.npy: labels must have shape \[n\] or \[n, 1\]/,
    ],
    [
      'more labels than samples',
      { 'y_test.npy': encodeNpy(new Int32Array(4), [4]) },
      /y_test\.npy: 4 labels for 3 samples in x_test\.npy/,
    ],
    [
      'a test sample shape unlike train',
      { 'x_test.npy': encodeNpy(new Uint8Array(3 * 15), [3, 5, 3, 1]) },
      /x_test\.npy: sample shape \[5, 3, 1\] differs from x_train\.npy's \[4, 4, 1\]/,
    ],
    [
      'uint8 train, float test',
      { 'x_test.npy': encodeNpy(new Float32Array(48), [3, 4, 4, 1]) },
      /x_test\.npy: dtype differs from x_train\.npy's/,
    ],
    [
      'a non-finite feature',
      {
        'x_test.npy': encodeNpy(
          Float32Array.from({ length: 48 }, (_, i) => (i === 20 ? NaN : 0)),
          [3, 4, 4, 1],
        ),
        'x_train.npy': encodeNpy(new Float32Array(96), [6, 4, 4, 1]),
      },
      /x_test\.npy: value NaN at index 20 \(sample 1\) is not finite/,
    ],
    [
      'a negative label',
      { 'y_train.npy': encodeNpy(Int32Array.from([0, 1, -1, 0, 1, 2]), [6]) },
      /y_train\.npy: label -1 of sample 2 is not an integer >= 0/,
    ],
    [
      'one class only',
      { 'y_train.npy': encodeNpy(new Int32Array(6), [6]), 'y_test.npy': encodeNpy(new Int32Array(3), [3]) },
      /npy: 1 class; training needs at least 2/,
    ],
    [
      'empty splits',
      {
        'x_test.npy': encodeNpy(new Uint8Array(0), [0, 4, 4, 1]),
        'y_test.npy': encodeNpy(new Int32Array(0), [0]),
      },
      /y_test\.npy: no samples/,
    ],
  ];
  for (const [what, over, pattern] of bad)
    test(`one line for ${what}`, () => oneLine(() => loadNpyDir(npyDir(over)), pattern));

  test('one line listing the missing files', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'x_train.npy'), encodeNpy(new Uint8Array(16), [1, 4, 4]));
    oneLine(() => loadNpyDir(dir), /dataset npy: .* lacks y_train\.npy, x_test\.npy, y_test\.npy$/);
  });
});

describe('csv folders', () => {
  test('with a header, CRLF, blank lines: features and the last column as label', () => {
    const ds = loadCsvDir(csvDir('a,b,label\r\n1,2,0\r\n\r\n3.5,-4,1\r\n', '5,6,1\n'));
    assert.deepEqual(ds.inputShape, [2]);
    assert.equal(ds.numClasses, 2);
    assert.deepEqual(Array.from(ds.train.x), [1, 2, 3.5, -4]);
    assert.deepEqual(Array.from(ds.train.y), [0, 1]);
    assert.deepEqual(Array.from(ds.test.x), [5, 6]);
  });

  test('without a header', () => {
    const ds = loadCsvDir(csvDir('1,0\n2,1\n3,2\n', '4,2\n'));
    assert.equal(ds.train.n, 3);
    assert.equal(ds.numClasses, 3);
    clearDatasetCache();
    assert.equal(loadDataset('csv', { dataDir: csvDir('1,0\n2,1\n', '3,1\n') }).train.n, 2);
  });

  const bad: [string, string, string, RegExp][] = [
    [
      'a row with the wrong column count',
      'x,y,l\n1,2,0\n1,2\n',
      '1,2,0\n',
      /train\.csv: line 3 has 2 columns, want 3/,
    ],
    [
      'a non-numeric field',
      '1,2,0\n1,abc,1\n',
      '1,2,0\n',
      /train\.csv: line 2, column 2: 'abc' is not a finite number/,
    ],
    ['an empty file', '1,2,0\n2,2,1\n', '\n\n', /test\.csv: no data rows/],
    ['a header only', 'a,b,c\n', '1,2,0\n', /train\.csv: no data rows/],
    ['different column counts', '1,2,0\n2,2,1\n', '1,0\n', /test\.csv: 2 columns, train\.csv has 3/],
    [
      'a fractional label',
      '1,2,0.5\n2,2,1\n',
      '1,2,0\n',
      /train\.csv \(label column\): label 0\.5 of sample 0 is not an integer >= 0/,
    ],
    ['one column', '0\n1\n', '1\n', /train\.csv: needs at least one feature column/],
  ];
  for (const [what, train, testCsv, pattern] of bad)
    test(`one line for ${what}`, () => oneLine(() => loadCsvDir(csvDir(train, testCsv)), pattern));

  test('one line for a missing file', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'train.csv'), '1,0\n');
    oneLine(() => loadCsvDir(dir), /dataset csv: .* lacks test\.csv/);
  });
});

describe('arrays and plugins', () => {
  test('datasetFromArrays: plain arrays, and labels beyond 256 classes as Int32Array', () => {
    const ds = datasetFromArrays({
      name: 'wide',
      inputShape: [2],
      train: { x: [1, 2, 3, 4], y: [0, 299] },
      test: { x: new Float32Array([5, 6]), y: [150] },
    });
    assert.equal(ds.numClasses, 300);
    assert.ok(ds.train.y instanceof Int32Array);
    assert.deepEqual(Array.from(gatherBatch(ds, ds.train, [1, 0]).y), [299, 0]);
    const small = datasetFromArrays({
      inputShape: [1],
      train: { x: [1, 2], y: [0, 1] },
      test: { x: [3], y: [1] },
    });
    assert.ok(small.train.y instanceof Uint8Array);
  });

  test('datasetFromArrays: one line for a wrong length, a label beyond numClasses', () => {
    oneLine(
      () =>
        datasetFromArrays({
          name: 'd',
          inputShape: [3],
          train: { x: [1, 2, 3, 4], y: [0, 1] },
          test: { x: [1, 2, 3], y: [0] },
        }),
      /d train\.x: 4 values, want n \* prod\(\[3\]\) = 2 \* 3 = 6 \(2 labels\)/,
    );
    oneLine(
      () =>
        datasetFromArrays({
          name: 'd',
          inputShape: [1],
          numClasses: 2,
          train: { x: [1, 2], y: [0, 2] },
          test: { x: [1], y: [0] },
        }),
      /d: label 2 is not below numClasses = 2/,
    );
  });

  test('registerDataset: a loader by name, cached by its key', () => {
    let loads = 0;
    registerDataset('test-two-points', {
      description: 'two points',
      load: (o) => {
        loads++;
        return datasetFromArrays({
          name: 'test-two-points',
          inputShape: [1],
          train: { x: [o.seed ?? 0, 1], y: [0, 1] },
          test: { x: [0], y: [0] },
        });
      },
      key: (o) => String(o.seed),
    });
    clearDatasetCache();
    assert.equal(loadDataset('test-two-points', { seed: 5 }).train.x[0], 5);
    loadDataset('test-two-points', { seed: 5 });
    assert.equal(loads, 1);
    assert.equal(loadDataset('test-two-points', { seed: 6 }).train.x[0], 6);
    assert.equal(loads, 2);
    assert.throws(
      () =>
        registerDataset('npy', {
          description: '',
          load: () => {
            throw new Error('x');
          },
        }),
      /registered twice/,
    );
  });
});
