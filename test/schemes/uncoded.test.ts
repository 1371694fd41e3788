import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mean } from '../../src/aggregators/mean.js';
import { getAggregator } from '../../src/aggregators/registry.js';
import { Rng } from '../../src/core/rng.js';
import { createUncoded } from '../../src/schemes/uncoded.js';
import { createRepetition } from '../../src/schemes/repetition.js';
import { validateMessage } from '../../src/train/loop.js';

const rng = Rng.derive(1, 'test');
const v = (...xs: number[]) => Float32Array.from(xs);

describe('mean aggregator', () => {
  test('hand-checked average, float64 accumulation', () => {
    const out = mean.aggregate([v(1, 2), v(3, -2), v(5, 6)], { f: 0, rng });
    assert.ok(out instanceof Float64Array);
    assert.deepEqual(Array.from(out), [3, 2]);
    // 0.1f + 0.2f summed in float64, not float32
    const x = mean.aggregate([v(0.1), v(0.2)], { f: 0, rng })[0];
    assert.equal(x, (Math.fround(0.1) + Math.fround(0.2)) / 2);
  });
  test('precondition', () => {
    assert.equal(mean.precondition(3, 1), null);
    assert.match(mean.precondition(0, 0)!, /mean needs at least one input \(n = 0\)/);
    assert.throws(() => getAggregator('median', 3, 1), /unknown aggregator 'median' \(known: mean\)/);
  });
});

describe('uncoded scheme', () => {
  test('worker i computes partition i; the PS averages what arrived and scales to the mean partition size', () => {
    const scheme = createUncoded({ n: 3, s: 0, d: 2 });
    assert.deepEqual(scheme.assignment, [[0], [1], [2]]);
    const seen: number[][] = [];
    const msg = scheme.encode(2, (parts) => {
      seen.push([...parts]);
      return v(7, 8);
    });
    assert.deepEqual(seen, [[2]]);
    assert.deepEqual(Array.from(msg), [7, 8]);
    const out = scheme.decode([v(1, 2), null, v(3, 4)], { step: 0, partitionSizes: [4, 4, 4], rng });
    assert.deepEqual(Array.from(out.gradient), [2, 3]);
    assert.equal(out.samplesCovered, 4);
    assert.equal(out.abort, false);
  });
  test('nothing received: the step is aborted, not divided by zero', () => {
    const out = createUncoded({ n: 2, s: 0, d: 1 }).decode([null, null], {
      step: 0,
      partitionSizes: [1, 1],
      rng,
    });
    assert.equal(out.abort, true);
    assert.match(out.failures[0], /no messages/);
  });
});

describe('message validation at the PS', () => {
  const scheme = createRepetition({ n: 3, s: 1, d: 3 });
  test('accepts a well-formed message; names what is wrong with a bad one', () => {
    assert.equal(validateMessage(v(1, 2, 3), scheme), null);
    assert.equal(validateMessage(v(1, 2), scheme), 'wrong length 2 (want 3)');
    assert.equal(validateMessage(Float64Array.from([1, 2, 3]), scheme), 'wrong dtype (want float32)');
    assert.equal(validateMessage(v(1, NaN, 3), scheme), 'non-finite values');
    assert.equal(validateMessage(v(1, Infinity, 3), scheme), 'non-finite values');
  });
});
