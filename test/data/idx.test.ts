import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { UsageError } from '../../src/core/errors.js';
import { encodeIdx, parseIdx, readIdx } from '../../src/data/idx.js';
import { tempDir } from './helpers.js';

test('idx: ubyte images and labels, plain file', () => {
  const dir = tempDir();
  const x = Uint8Array.from({ length: 3 * 2 * 4 }, (_, i) => (i * 11) % 256);
  writeFileSync(join(dir, 'img'), encodeIdx([3, 2, 4], x));
  writeFileSync(join(dir, 'lbl'), encodeIdx([3], Uint8Array.of(5, 0, 9)));
  const img = readIdx(join(dir, 'img'));
  assert.deepEqual(img.dims, [3, 2, 4]);
  assert.equal(img.dtype, 'u8');
  assert.ok(img.data instanceof Uint8Array);
  assert.deepEqual(Array.from(img.data), Array.from(x));
  const lbl = readIdx(join(dir, 'lbl'));
  assert.deepEqual(lbl.dims, [3]);
  assert.deepEqual(Array.from(lbl.data), [5, 0, 9]);
});

test('idx: header bytes follow the IDX layout (big-endian dims)', () => {
  const b = encodeIdx([2, 300], new Uint8Array(600));
  assert.deepEqual(Array.from(b.subarray(0, 12)), [0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 1, 44]);
  assert.equal(b.length, 12 + 600);
});

test('idx: gzipped file, detected by .gz name and by magic', () => {
  const dir = tempDir();
  const x = Uint8Array.from({ length: 50 }, (_, i) => 255 - i);
  const gz = gzipSync(encodeIdx([5, 10], x));
  writeFileSync(join(dir, 'a.gz'), gz);
  writeFileSync(join(dir, 'b'), gz); // gzip content without the .gz suffix
  for (const p of ['a.gz', 'b']) {
    const r = readIdx(join(dir, p));
    assert.deepEqual(r.dims, [5, 10]);
    assert.equal(r.data[0], 255);
    assert.equal(r.data[49], 206);
  }
});

test('idx: float32, float64, int16, int32, int8 round trip big-endian', () => {
  const f32 = Float32Array.of(1.5, -2.25, 3e-8, 1e30);
  const r32 = parseIdx(encodeIdx([2, 2], f32));
  assert.equal(r32.dtype, 'f32');
  assert.ok(r32.data instanceof Float32Array);
  assert.deepEqual(Array.from(r32.data), Array.from(f32));
  // Big-endian on the wire: 1.5f = 0x3fc00000.
  assert.deepEqual(Array.from(encodeIdx([1], Float32Array.of(1.5)).subarray(8)), [0x3f, 0xc0, 0, 0]);

  const f64 = Float64Array.of(Math.PI, -1 / 3);
  const r64 = parseIdx(encodeIdx([2], f64));
  assert.equal(r64.dtype, 'f64');
  assert.deepEqual(Array.from(r64.data), [Math.PI, -1 / 3]);

  const r16 = parseIdx(encodeIdx([3], Int16Array.of(-32768, 258, 32767)));
  assert.equal(r16.dtype, 'i16');
  assert.deepEqual(Array.from(r16.data), [-32768, 258, 32767]);

  const ri32 = parseIdx(encodeIdx([2], Int32Array.of(-2147483648, 16909060)));
  assert.equal(ri32.dtype, 'i32');
  assert.deepEqual(Array.from(ri32.data), [-2147483648, 16909060]);

  const ri8 = parseIdx(encodeIdx([3], Int8Array.of(-128, 0, 127)));
  assert.equal(ri8.dtype, 'i8');
  assert.deepEqual(Array.from(ri8.data), [-128, 0, 127]);
});

test('idx: truncated file is a UsageError naming the path and sizes', () => {
  const dir = tempDir();
  const p = join(dir, 'short');
  writeFileSync(p, encodeIdx([4, 3], new Uint8Array(12)).subarray(0, 20));
  assert.throws(
    () => readIdx(p),
    (e: unknown) => {
      assert.ok(e instanceof UsageError);
      assert.match(e.message, /short: IDX file truncated/);
      assert.match(e.message, /need 24 bytes, file has 20/);
      assert.ok(!e.message.includes('\n'));
      return true;
    },
  );
});

test('idx: truncated gzip stream is a UsageError', () => {
  const dir = tempDir();
  const p = join(dir, 'cut.gz');
  const gz = gzipSync(encodeIdx([100], new Uint8Array(100).fill(3)));
  writeFileSync(p, gz.subarray(0, gz.length - 10));
  assert.throws(
    () => readIdx(p),
    (e: unknown) => e instanceof UsageError && /cannot gunzip.*cut\.gz/.test(e.message),
  );
});

test('idx: bad magic, truncated header, trailing bytes and missing file', () => {
  assert.throws(
    () => parseIdx(Uint8Array.of(1, 2, 3, 4, 5), 'x.idx'),
    /x\.idx is not an IDX file: bad magic 01 02 03 04/,
  );
  assert.throws(() => parseIdx(Uint8Array.of(0, 0, 0x07, 1, 0, 0, 0, 0)), /bad magic 00 00 07 01/);
  assert.throws(() => parseIdx(Uint8Array.of(0, 0, 8, 3, 0, 0, 0, 1), 'h'), /h: truncated IDX header/);
  assert.throws(() => parseIdx(Uint8Array.of(0, 0), 'tiny'), /tiny is not an IDX file: only 2 bytes/);
  const extra = new Uint8Array(8 + 3);
  extra.set(encodeIdx([2], Uint8Array.of(1, 2)));
  assert.throws(() => parseIdx(extra, 't'), /t: IDX file has trailing bytes/);
  assert.throws(
    () => readIdx('/nonexistent/draco/train-images-idx3-ubyte'),
    (e: unknown) =>
      e instanceof UsageError &&
      e.message === 'IDX file not found: /nonexistent/draco/train-images-idx3-ubyte',
  );
});
