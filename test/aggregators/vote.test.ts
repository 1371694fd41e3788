/**
 * The repetition code's majorityVote after its speed-up (sampled hash + memcmp): messages that
 * agree on every sampled word but differ elsewhere must still land in different classes.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { majorityVote } from '../../src/schemes/repetition.js';

describe('majorityVote with a sampled hash', () => {
  test('a difference in an unsampled word splits the class (no false majority)', () => {
    const base = new Float32Array(1000).map((_, i) => i * 0.5);
    const other = Float32Array.from(base);
    other[1] += 1; // word 1 is between samples (stride 15)
    const r = majorityVote([base, Float32Array.from(base), other, Float32Array.from(other)]);
    assert.equal(r.winner, -1);
    assert.deepEqual(r.tally, [2, 2]);
    const r2 = majorityVote([other, Float32Array.from(base), null, Float32Array.from(base), base]);
    assert.deepEqual([r2.winner, r2.votes, r2.tally], [1, 3, [3, 1]]);
  });
  test('the same view, copies, a float64 twin with equal bytes, and a different length', () => {
    const a = new Float32Array([1, 2, 3, 4]);
    const b64 = new Float64Array(a.buffer.slice(0), 0, 2); // same 16 bytes, other dtype
    const r = majorityVote([a, a, Float32Array.from(a), b64, new Float32Array([1, 2, 3])]);
    assert.deepEqual([r.winner, r.votes, r.tally], [0, 3, [3, 1, 1]]);
  });
});
