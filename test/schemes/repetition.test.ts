import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Rng } from '../../src/core/rng.js';
import { UsageError } from '../../src/core/errors.js';
import type { Vec } from '../../src/core/vec.js';
import { createRepetition, majorityVote, repetitionGroups } from '../../src/schemes/repetition.js';
import type { DecodeContext } from '../../src/schemes/types.js';

const v = (...xs: number[]) => Float32Array.from(xs);
const ctx = (n: number, size = 2): DecodeContext => ({
  step: 0,
  partitionSizes: new Array(n).fill(size),
  rng: Rng.derive(1, 'test'),
});

describe('repetitionGroups', () => {
  test('n = 15, r = 5: three groups of consecutive ranks', () => {
    assert.deepEqual(repetitionGroups(15, 5), [
      [0, 1, 2, 3, 4],
      [5, 6, 7, 8, 9],
      [10, 11, 12, 13, 14],
    ]);
  });
  test('remainders go to the first groups (n = 16, r = 5 -> 6, 5, 5; n = 7, r = 3 -> 4, 3)', () => {
    assert.deepEqual(
      repetitionGroups(16, 5).map((g) => g.length),
      [6, 5, 5],
    );
    assert.deepEqual(repetitionGroups(7, 3), [
      [0, 1, 2, 3],
      [4, 5, 6],
    ]);
    // n = 14, r = 5: floor(14/5) = 2 groups of 7 (the original code crashed on remainders).
    assert.deepEqual(
      repetitionGroups(14, 5).map((g) => g.length),
      [7, 7],
    );
  });
  test('every rank in exactly one group, sizes differ by at most one, all >= r', () => {
    for (let n = 1; n <= 40; n++) {
      for (let r = 1; r <= n; r++) {
        const gs = repetitionGroups(n, r);
        const ranks = gs.flat();
        assert.deepEqual(
          ranks,
          Array.from({ length: n }, (_, i) => i),
        );
        const sizes = gs.map((g) => g.length);
        assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `n=${n} r=${r}`);
        assert.ok(Math.min(...sizes) >= r, `n=${n} r=${r}`);
      }
    }
  });
});

describe('majorityVote', () => {
  test('unanimous', () => {
    const r = majorityVote([v(1, 2), v(1, 2), v(1, 2)]);
    assert.equal(r.votes, 3);
    assert.deepEqual(r.tally, [3]);
  });
  test('3 honest vs 2 colluding: honest wins', () => {
    const msgs = [v(9, 9), v(1, 2), v(9, 9), v(1, 2), v(1, 2)];
    const r = majorityVote(msgs);
    assert.equal(r.votes, 3);
    assert.deepEqual(msgs[r.winner], v(1, 2));
    assert.deepEqual(r.tally, [3, 2]);
  });
  test('tie 2-2: no strict majority', () => {
    const r = majorityVote([v(1), v(1), v(2), v(2)]);
    assert.equal(r.winner, -1);
    assert.deepEqual(r.tally, [2, 2]);
  });
  test('plurality without majority (2-1-1-1) is not a winner', () => {
    const r = majorityVote([v(1), v(1), v(2), v(3), v(4)]);
    assert.equal(r.winner, -1);
    assert.equal(r.votes, 2);
  });
  test('erasures count against the value: 2 of 3 received is no majority of 5 members', () => {
    const a = majorityVote([null, v(5), null, v(5), v(6)]);
    assert.deepEqual([a.winner, a.votes, a.received], [-1, 2, 3]);
    assert.deepEqual(majorityVote([v(5), v(5), null, v(5), v(6)]).winner, 0);
    assert.equal(majorityVote([null, null]).winner, -1);
  });
  test('threshold s + 1: accepted at need, refused below it and when two values reach it', () => {
    assert.equal(majorityVote([v(1), null, null, null, v(1)], 2).winner, 0);
    assert.equal(majorityVote([v(1), null, null, null, v(2)], 2).winner, -1);
    const both = majorityVote([v(1), v(1), v(2), v(2), v(3)], 2);
    assert.deepEqual([both.winner, both.tally], [-1, [2, 2, 1]]);
  });
  test('a strict majority of the members wins even when another value reaches s + 1', () => {
    // s = 0 declared, r = 5: 3 honest copies outvote 2 colluding liars (both classes reach 1).
    const r = majorityVote([v(7), v(1), v(7), v(1), v(1)], 1);
    assert.deepEqual([r.winner, r.tally], [1, [3, 2]]);
    // One honest copy erased: 2 - 2, neither reaches the 3 of a strict majority of 5 members.
    assert.equal(majorityVote([v(7), v(1), v(7), null, v(1)], 1).winner, -1);
  });
  test('votes by bytes: -0 and +0 are different values', () => {
    const msgs = [v(0), v(-0), v(-0)];
    const r = majorityVote(msgs);
    assert.equal(r.votes, 2);
    assert.ok(Object.is(msgs[r.winner][0], -0));
  });
});

describe('repetition decode', () => {
  test('--byzantine 0 --redundancy 5: two liars in a group are outvoted, as the summary says', () => {
    const scheme = createRepetition({ n: 5, s: 0, d: 2, r: 5 });
    assert.match(scheme.describe(), /tolerates 0 Byzantine and 4 erasures, or 2 Byzantine without erasures/);
    const out = scheme.decode([v(9, 9), v(1, 2), v(1, 2), v(9, 9), v(1, 2)], ctx(5));
    assert.deepEqual([Array.from(out.gradient), out.suspects, out.failures], [[1, 2], [0, 3], []]);
    // s = 0 trusts one copy: four erasures still decode.
    const lone = scheme.decode([null, null, v(1, 2), null, null], ctx(5));
    assert.deepEqual([Array.from(lone.gradient), lone.failures], [[1, 2], []]);
    assert.match(
      createRepetition({ n: 15, s: 2, d: 1, r: 5 }).describe(),
      /\(r = 5, tolerates 2 Byzantine\)/,
    );
    assert.match(
      createRepetition({ n: 5, s: 1, d: 1, r: 4 }).describe(),
      /tolerates 1 Byzantine and 2 erasures, or 2 Byzantine/,
    );
  });
  test('sums group winners and flags every member that disagrees', () => {
    const scheme = createRepetition({ n: 6, s: 1, d: 2, r: 3 });
    // groups [0,1,2], [3,4,5]; honest group values (1,2) and (10,20)
    const msgs: Vec[] = [v(1, 2), v(7, 7), v(1, 2), v(10, 20), v(10, 20), v(-1, 0)];
    const out = scheme.decode(msgs, ctx(6));
    assert.deepEqual(Array.from(out.gradient), [11, 22]);
    assert.deepEqual(out.suspects, [1, 5]);
    assert.equal(out.samplesCovered, 12);
    assert.deepEqual(out.failures, []);
    assert.equal(out.abort, false);
  });
  test('no majority: skip drops the group (and says so); abort stops the step', () => {
    const msgs = [v(1), v(2), v(3), v(4), v(4), v(4)];
    const skip = createRepetition({ n: 6, s: 1, d: 1, r: 3, noMajority: 'skip' }).decode(msgs, ctx(6, 5));
    assert.deepEqual(Array.from(skip.gradient), [4]);
    assert.equal(skip.samplesCovered, 15);
    assert.equal(skip.failures.length, 1);
    assert.equal(
      skip.failures[0],
      'group 0 (ranks 0-2): 3 of 3 received, value classes 1-1-1; needs 2 identical ' +
        '(s + 1 = 2; a group of 3 decodes while erasures + liars <= 1); group skipped',
    );
    assert.equal(skip.abort, false);
    const abort = createRepetition({ n: 6, s: 1, d: 1, r: 3, noMajority: 'abort' }).decode(msgs, ctx(6, 5));
    assert.equal(abort.abort, true);
    assert.match(abort.failures[0], /step aborted/);
  });
  test('decodes through erasures while erasures + liars <= r - s - 1', () => {
    const scheme = createRepetition({ n: 5, s: 2, d: 1, r: 5 });
    // 1 erasure, 1 liar: 3 honest arrivals = s + 1.
    const out = scheme.decode([v(3), null, v(3), v(99), v(3)], ctx(5));
    assert.deepEqual(Array.from(out.gradient), [3]);
    assert.deepEqual(out.suspects, [3]);
  });
  test('a minority never wins through erasures (the captured group of 7 workers, s = 1)', () => {
    // groups 0-3 and 4-6; honest 4 and 6 erased, Byzantine 5 alone: undecodable, not -100x.
    const scheme = createRepetition({ n: 7, s: 1, d: 1, r: 3 });
    const out = scheme.decode([v(1), v(1), v(1), v(1), null, v(-100), null], ctx(7));
    assert.deepEqual(Array.from(out.gradient), [1]);
    assert.equal(out.samplesCovered, 8);
    assert.deepEqual(out.suspects, []);
    assert.equal(
      out.failures[0],
      'group 1 (ranks 4-6): 1 of 3 received (2 erased), value classes 1; needs 2 identical ' +
        '(s + 1 = 2; a group of 3 decodes while erasures + liars <= 1); group skipped',
    );
    // Ranks 0-2 killed: lone rank 3 cannot speak for group 0 either.
    const lone = scheme.decode([null, null, null, v(-100), v(2), v(2), v(2)], ctx(7));
    assert.deepEqual(Array.from(lone.gradient), [2]);
    assert.match(lone.failures[0], /^group 0 \(ranks 0-3\): 1 of 4 received \(3 erased\)/);
  });
  test('r < 2s + 1 is refused with the bound in the message', () => {
    assert.throws(
      () => createRepetition({ n: 15, s: 2, d: 1, r: 4 }),
      (e: unknown) => e instanceof UsageError && /r >= 2s \+ 1.*r = 4, s = 2: use r >= 5/.test(e.message),
    );
    assert.throws(() => createRepetition({ n: 4, s: 2, d: 1 }), /n >= r workers \(n = 4, r = 5\)/);
  });
  test('property: with at most s corrupted messages per group the output is the honest sum, bit for bit', () => {
    const rng = Rng.derive(7, 'prop');
    for (let trial = 0; trial < 300; trial++) {
      const s = rng.int(4);
      const r = 2 * s + 1 + rng.int(3);
      const n = r + rng.int(3 * r);
      const d = 1 + rng.int(17);
      const scheme = createRepetition({ n, s, d, r });
      const groupOf = new Map<number, number>();
      const groups = repetitionGroups(n, r);
      groups.forEach((g, k) => g.forEach((w) => groupOf.set(w, k)));
      const truth = groups.map(() => {
        const x = new Float32Array(d);
        rng.fillNormal(x);
        return x;
      });
      const msgs: (Vec | null)[] = Array.from({ length: n }, (_, w) => truth[groupOf.get(w)!]);
      const bad = new Set<number>();
      for (const g of groups) {
        // Up to s errors per group, all colluding on the same wrong value half the time.
        const k = rng.int(s + 1);
        const wrong = new Float32Array(d).fill(rng.normal());
        for (const w of rng.permutation(g.length).subarray(0, k)) {
          const rank = g[w];
          msgs[rank] = rng.int(2) ? wrong : Float32Array.from({ length: d }, () => rng.normal());
          bad.add(rank);
        }
      }
      const out = scheme.decode(msgs, ctx(n));
      const want = new Float64Array(d);
      for (const t of truth) for (let i = 0; i < d; i++) want[i] += t[i];
      assert.deepEqual(out.gradient, want, `n=${n} s=${s} r=${r}`);
      assert.deepEqual(
        out.suspects,
        [...bad].sort((a, b) => a - b),
      );
      assert.deepEqual(out.failures, []);
    }
  });
});
