import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeNpy, encodeNpy } from '../../src/core/npy.js';
import { Rng } from '../../src/core/rng.js';
import { bytesEqual, fastHash } from '../../src/core/vec.js';
import { sha256Hex } from '../../src/core/hash.js';

describe('Rng', () => {
  test('derive is a pure function of (seed, keys); keys separate streams', () => {
    const a = Rng.derive(1, 'x', 3);
    const b = Rng.derive(1, 'x', 3);
    const xs = Array.from({ length: 5 }, () => a.nextU32());
    assert.deepEqual(
      xs,
      Array.from({ length: 5 }, () => b.nextU32()),
    );
    assert.notDeepEqual(
      xs,
      Array.from({ length: 5 }, () => Rng.derive(1, 'x', 4).nextU32()),
    );
    assert.notEqual(Rng.derive(1, 'ab').nextU32(), Rng.derive(1, 'a', 'b').nextU32());
    assert.notEqual(Rng.derive(2 ** 40).nextU32(), Rng.derive(2 ** 40 + 2 ** 32).nextU32());
  });
  test('int is in range and roughly uniform; float in [0, 1)', () => {
    const r = Rng.derive(3);
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 60000; i++) counts[r.int(6)]++;
    for (const c of counts) assert.ok(Math.abs(c - 10000) < 400, String(counts));
    for (let i = 0; i < 1000; i++) {
      const f = r.float();
      assert.ok(f >= 0 && f < 1);
    }
  });
  test('permutation is a permutation; sample is k distinct sorted values', () => {
    const p = Array.from(Rng.derive(9).permutation(100)).sort((a, b) => a - b);
    assert.deepEqual(
      p,
      Array.from({ length: 100 }, (_, i) => i),
    );
    const s = Rng.derive(9).sample(10, 4);
    assert.equal(new Set(s).size, 4);
    assert.deepEqual(
      s,
      [...s].sort((a, b) => a - b),
    );
    assert.throws(() => Rng.derive(9).sample(3, 4));
  });
});

describe('npy', () => {
  test('header matches what NumPy writes for float32 (3,)', () => {
    const buf = encodeNpy(Float32Array.from([1, 2, 3]));
    assert.equal(buf.subarray(0, 8).toString('latin1'), '\x93NUMPY\x01\x00');
    const hlen = buf.readUInt16LE(8);
    assert.equal((10 + hlen) % 64, 0);
    assert.equal(
      buf.toString('latin1', 10, 10 + hlen).trimEnd(),
      "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }",
    );
    assert.deepEqual(Array.from(new Float32Array(new Uint8Array(buf.subarray(10 + hlen)).buffer)), [1, 2, 3]);
  });
  test('round trip f4, f8, i4 with shapes', () => {
    for (const data of [
      Float32Array.from([1.5, -2, 3, 4, 5, 6]),
      Float64Array.from([Math.PI, 1, 2, 3, 4, 5]),
      Int32Array.from([1, 2, 3, 4, 5, -6]),
    ]) {
      const back = decodeNpy(encodeNpy(data, [2, 3]));
      assert.deepEqual(back.shape, [2, 3]);
      assert.deepEqual(back.data, data);
    }
    assert.throws(() => decodeNpy(Buffer.from('not npy at all')), /bad magic/);
  });
});

describe('vec', () => {
  test('bytesEqual compares bytes and types; fastHash agrees on equal bytes', () => {
    const a = Float32Array.from([1, 2, 3]);
    assert.ok(bytesEqual(a, Float32Array.from([1, 2, 3])));
    assert.ok(!bytesEqual(a, Float32Array.from([1, 2, 4])));
    assert.ok(!bytesEqual(a, Float64Array.from([1, 2, 3])));
    assert.ok(!bytesEqual(Float32Array.from([0]), Float32Array.from([-0])));
    assert.equal(fastHash(a), fastHash(Float32Array.from([1, 2, 3])));
    assert.notEqual(fastHash(a), fastHash(Float32Array.from([1, 2, 4])));
  });
  test('sha256 of float32 little-endian bytes', () => {
    // sha256 of 4 zero bytes
    assert.equal(
      sha256Hex(new Float32Array(1)),
      'df3f619804a92fdb4057192dc43dd748ea778adc52bc498ce80524c014b81119',
    );
  });
});
