import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mean } from '../../src/aggregators/mean.js';
import { getAggregator } from '../../src/aggregators/registry.js';
import { Rng } from '../../src/core/rng.js';
import { packSigns } from '../../src/aggregators/sign-majority.js';
import type { Vec } from '../../src/core/vec.js';
import { createUncoded } from '../../src/schemes/uncoded.js';
import { createRepetition } from '../../src/schemes/repetition.js';
import { validateMessage } from '../../src/schemes/message.js';

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
    assert.throws(() => getAggregator('medain', 3, 1), /unknown aggregator 'medain' \(known: mean, median, /);
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

describe('uncoded scheme with robust rules', () => {
  test('the rule and pre-aggregator specs reach the decoder', () => {
    const scheme = createUncoded({ n: 5, s: 1, d: 1, aggregator: 'trimmed-mean:b=1' });
    const out = scheme.decode([v(1), v(2), v(3), v(100), v(-50)], {
      step: 0,
      partitionSizes: [2, 2, 2, 2, 2],
      rng,
    });
    assert.deepEqual(Array.from(out.gradient), [2]);
    const nnm = createUncoded({ n: 4, s: 1, d: 1, aggregator: 'median', preAggregator: 'nnm' });
    const o2 = nnm.decode([v(0), v(1), v(2), v(10)], { step: 0, partitionSizes: [1, 1, 1, 1], rng });
    assert.deepEqual(Array.from(o2.gradient), [1]);
    assert.match(nnm.describe(), /aggregated by nnm\+median \(f = 1\)/);
  });
  test('precondition: a UsageError at construction, an aborted step when erasures break it', () => {
    assert.throws(
      () => createUncoded({ n: 6, s: 2, d: 1, aggregator: 'krum' }),
      /krum needs n >= 2f \+ 3 \(n = 6, f = 2: n >= 7\)/,
    );
    const krum = createUncoded({ n: 5, s: 1, d: 1, aggregator: 'krum' });
    const out = krum.decode([v(0), v(1), null, v(3), v(4)], {
      step: 0,
      partitionSizes: [1, 1, 1, 1, 1],
      rng,
    });
    assert.equal(out.abort, true);
    assert.match(out.failures[0], /krum needs n >= 2f \+ 3 \(n = 4, f = 1: n >= 5\)/);
  });
  test('sign-majority: workers send ceil(d/8) packed bytes; the PS gets the vote with samplesCovered = 1', () => {
    const d = 10;
    const scheme = createUncoded({ n: 3, s: 1, d, aggregator: 'sign-majority' });
    assert.equal(scheme.messageLength, 2);
    assert.equal(scheme.messageFormat, 'sign-bits');
    const g = v(1, -1, 2, -2, 0, 3, -3, 4, -4, 5);
    const msg = scheme.encode(0, () => g) as unknown as Uint8Array;
    assert.ok(msg instanceof Uint8Array);
    assert.equal(msg.byteLength, 2);
    assert.deepEqual(Array.from(msg), [2 + 8 + 64, 1]);
    assert.equal(validateMessage(msg as unknown as Vec, scheme), null);
    assert.equal(validateMessage(v(1, 2), scheme), 'wrong dtype (want sign-bits)');
    assert.equal(validateMessage(new Uint8Array(3) as unknown as Vec, scheme), 'wrong length 3 (want 2)');
    const neg = packSigns(g.map((x) => -x - 0.5)) as unknown as Vec; // flips every sign (0 -> -0.5)
    const out = scheme.decode([msg as unknown as Vec, msg as unknown as Vec, neg], {
      step: 0,
      partitionSizes: [4, 4, 4],
      rng,
    });
    assert.deepEqual(Array.from(out.gradient), [1, -1, 1, -1, 1, 1, -1, 1, -1, 1]);
    assert.equal(out.samplesCovered, 1);
    // even count of votes: ties -> 0
    const tie = scheme.decode([msg as unknown as Vec, null, neg], {
      step: 0,
      partitionSizes: [4, 4, 4],
      rng,
    });
    assert.deepEqual(Array.from(tie.gradient), new Array(d).fill(0));
    assert.throws(
      () => createUncoded({ n: 3, s: 1, d, aggregator: 'sign-majority', preAggregator: 'bucketing' }),
      /sign-majority votes on packed sign bits: pre-aggregators do not apply/,
    );
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
