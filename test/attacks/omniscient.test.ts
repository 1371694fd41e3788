/**
 * The omniscient attacks (alie, ipm, mimic, collude), the normal quantile behind ALIE's z_max,
 * and the `worst` placement, on hand-computed cases.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildAggregator } from '../../src/aggregators/registry.js';
import { alieZMax } from '../../src/attacks/alie.js';
import { lineSearch } from '../../src/attacks/line-search.js';
import { moments } from '../../src/attacks/moments.js';
import { normalCdf, normalQuantile } from '../../src/attacks/normal.js';
import { createPlacement, replicaGroups } from '../../src/attacks/placement.js';
import { parseAttack } from '../../src/attacks/registry.js';
import type { AttackContext } from '../../src/attacks/types.js';
import { UsageError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import { bytesEqual, type Vec } from '../../src/core/vec.js';
import { createRepetition, repetitionGroups } from '../../src/schemes/repetition.js';

const close = (a: number, b: number, tol: number, what = '') =>
  assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b} (tol ${tol})`);

/** A context for Byzantine `worker` with the given honest messages by rank (null = Byzantine). */
function omniCtx(honest: (Vec | null)[], worker: number, step = 3): AttackContext {
  const byzantine = honest.flatMap((m, i) => (m === null ? [i] : []));
  const own = honest.find((m) => m !== null)!;
  return {
    own: own instanceof Float64Array ? new Float64Array(own.length) : new Float32Array(own.length),
    step,
    worker,
    rng: Rng.derive(1, 'attack', step, worker),
    n: honest.length,
    byzantine,
    honest,
    assignment: honest.map((_, i) => [i]),
  };
}

// Five ranks, 3 and 4 Byzantine; honest [1,2], [3,6], [5,10]: mu = [3, 6],
// population sigma = [sqrt(8/3), sqrt(32/3)].
const f64 = (...x: number[]) => Float64Array.from(x);
const HONEST = [f64(1, 2), f64(3, 6), f64(5, 10), null, null];

describe('normal quantile (ALIE z_max)', () => {
  test('matches 40-digit references (mpmath) to 1e-13 relative, both tails and the centre', () => {
    const refs: [number, number][] = [
      [0.6, 0.2533471031357997],
      [0.975, 1.9599639845400538],
      [0.9, 1.2815515655446006],
      [0.99, 2.3263478740408408],
      [0.999, 3.090232306167813],
      [0.3, -0.5244005127080408],
      [0.95, 1.6448536269514722],
      [0.8, 0.8416212335729144],
      [0.4, -0.2533471031357997],
      [0.0001, -3.7190164854556804],
      [0.02425, -1.972961051311885], // Acklam's region boundary
      [0.97575, 1.972961051311885],
      [1e-10, -6.361340902404057],
      [1e-20, -9.262340089798407],
      [1e-100, -21.273453560965326],
      [1e-300, -37.0470962993612],
      [0.999999999999, 7.0344869100478356],
    ];
    for (const [p, x] of refs) close(normalQuantile(p), x, 1e-13 * Math.max(1, Math.abs(x)), `p=${p}`);
    assert.equal(normalQuantile(0.5), 0);
    assert.equal(normalQuantile(0), -Infinity);
    assert.equal(normalQuantile(1), Infinity);
    assert.throws(() => normalQuantile(1.5), RangeError);
  });
  test('Phi matches references with relative precision in the tails; quantile inverts it', () => {
    const refs: [number, number][] = [
      [1, 0.8413447460685429],
      [0.1, 0.539827837277029],
      [2.5, 0.9937903346742238],
      [3, 0.9986501019683699],
      [-3, 0.0013498980316300946],
      [-5, 2.866515718791939e-7],
      [-10, 7.619853024160525e-24],
      [-20, 2.7536241186062337e-89],
    ];
    for (const [x, p] of refs) close(normalCdf(x), p, 1e-14 * p, `x=${x}`);
    for (let i = 1; i < 200; i++) {
      const p = i / 200;
      close(normalCdf(normalQuantile(p)), p, 2e-16 * 4, `p=${p}`);
    }
  });
});

describe('alie', () => {
  test('z_max = PhiInverse((n - s_)/n), s_ = floor(n/2 + 1) - f, on worked examples', () => {
    close(alieZMax(15, 2), 0.2533471031357997, 1e-15, 'n=15 f=2: s_=6, p=9/15'); // PhiInverse(0.6)
    close(alieZMax(5, 2), 0.8416212335729144, 1e-15, 'n=5 f=2: s_=1, p=4/5');
    close(alieZMax(31, 3), 0.2035442315324863, 1e-15, 'n=31 f=3: s_=13, p=18/31');
    close(alieZMax(10, 0), -0.2533471031357997, 1e-15, 'n=10 f=0: s_=6, p=4/10');
    assert.throws(
      () => alieZMax(5, 3),
      (e) => e instanceof UsageError && /z_max needs/.test(e.message),
    );
  });
  test('sends mu - z sigma over the honest messages (population sigma), default z = z_max', () => {
    const s1 = Math.sqrt(8 / 3);
    const s2 = Math.sqrt(32 / 3);
    const fixed = parseAttack('alie:z=1.5').attack.corrupt(omniCtx(HONEST, 3));
    assert.ok(fixed instanceof Float64Array);
    close(fixed[0], 3 - 1.5 * s1, 1e-15);
    close(fixed[1], 6 - 1.5 * s2, 1e-15);
    const z = 0.8416212335729144; // n = 5, f = 2
    const auto = parseAttack('alie').attack.corrupt(omniCtx(HONEST, 4));
    close(auto[0], 3 - z * s1, 1e-14);
    close(auto[1], 6 - z * s2, 1e-14);
    assert.equal(parseAttack('alie').attack.omniscient, true);
  });
  test('keeps the message type; moments are float64 two-pass; memo follows the honest set', () => {
    const h32 = HONEST.map((m) => (m === null ? null : Float32Array.from(m)));
    const out = parseAttack('alie:z=1').attack.corrupt(omniCtx(h32, 3));
    assert.ok(out instanceof Float32Array);
    assert.equal(out[0], Math.fround(3 - Math.sqrt(8 / 3)));
    // Large offset, tiny spread: a one-pass E[x^2] - E[x]^2 would lose it.
    const m = moments([f64(1e8 + 1), f64(1e8 + 2), f64(1e8 + 3)]);
    assert.equal(m.mu[0], 1e8 + 2);
    close(m.sigma[0], Math.sqrt(2 / 3), 1e-9);
    // Same attack instance, same step, different honest arrays: recomputed, not served stale.
    const a = parseAttack('alie:z=0').attack;
    assert.equal(a.corrupt(omniCtx(HONEST, 3))[0], 3);
    assert.equal(a.corrupt(omniCtx([f64(7, 0), f64(9, 0), f64(11, 0), null, null], 3))[0], 9);
  });
});

describe('ipm, mimic', () => {
  test('ipm sends -eps * mu (eps = 0.1 by default)', () => {
    const out = parseAttack('ipm').attack.corrupt(omniCtx(HONEST, 3));
    assert.deepEqual(Array.from(out), [-0.1 * 3, -0.1 * 6]);
    assert.deepEqual(Array.from(parseAttack('ipm:eps=100').attack.corrupt(omniCtx(HONEST, 4))), [-300, -600]);
  });
  test('mimic copies the chosen honest worker (index among honest ranks), as a fresh array', () => {
    const honest = [null, f64(1, 2), f64(3, 4), null, f64(5, 6)];
    const first = parseAttack('mimic').attack.corrupt(omniCtx(honest, 0));
    assert.deepEqual(Array.from(first), [1, 2]);
    assert.notEqual(first, honest[1]);
    assert.deepEqual(Array.from(parseAttack('mimic:worker=2').attack.corrupt(omniCtx(honest, 3))), [5, 6]);
    assert.throws(
      () => parseAttack('mimic:worker=3').attack.corrupt(omniCtx(honest, 0)),
      /worker 3 is not an honest index \(this step has 3 honest workers: 0\.\.2\)/,
    );
    assert.throws(() => parseAttack('mimic:worker=0.5'), /integer >= 0/);
  });
});

describe('collude', () => {
  test('every Byzantine sends identical bytes; c/z span reverse-of-mean and ALIE', () => {
    const atk = parseAttack('collude').attack;
    const a = atk.corrupt(omniCtx(HONEST, 3));
    const b = atk.corrupt(omniCtx(HONEST, 4));
    assert.deepEqual(Array.from(a), [-300, -600]);
    assert.ok(bytesEqual(a, b));
    const asAlie = parseAttack('collude:c=-1,z=1.5').attack.corrupt(omniCtx(HONEST, 3));
    assert.ok(bytesEqual(asAlie, parseAttack('alie:z=1.5').attack.corrupt(omniCtx(HONEST, 3))));
  });

  test('captures a repetition group where it holds a majority, and only there', () => {
    // n = 9, r = 3: groups 0-2, 3-5, 6-8; each honest member sends its group's value.
    const d = 3;
    const scheme = createRepetition({ n: 9, s: 1, d, r: 3 });
    const groupValue = [
      Float32Array.from([1, 2, 3]),
      Float32Array.from([10, 20, 30]),
      Float32Array.from([100, 200, 300]),
    ];
    const ctx = { step: 0, partitionSizes: new Array(9).fill(2), rng: Rng.derive(1, 'ps', 0) };
    const run = (byz: number[]) => {
      const honest = Array.from({ length: 9 }, (_, w) =>
        byz.includes(w) ? null : groupValue[Math.floor(w / 3)],
      );
      const atk = parseAttack('collude:c=1').attack; // sends -mu
      const messages = honest.map((m, w) =>
        m === null
          ? atk.corrupt({ ...omniCtx(honest, w), n: 9, byzantine: byz, own: groupValue[Math.floor(w / 3)] })
          : m,
      );
      return { decoded: scheme.decode(messages, ctx), sent: messages[byz[0]] };
    };
    // Two of three seats in group 0: the colluders' value wins it; the honest member is the suspect.
    const cap = run([0, 1]);
    // honest messages: 1 of group 0, 3 of group 1, 3 of group 2 -> mu = (v0 + 3 v1 + 3 v2) / 7
    const mu = [0, 1, 2].map((j) => (groupValue[0][j] + 3 * groupValue[1][j] + 3 * groupValue[2][j]) / 7);
    assert.deepEqual(
      Array.from(cap.sent),
      mu.map((x) => Math.fround(-x)),
    );
    for (let j = 0; j < d; j++) {
      close(cap.decoded.gradient[j], Math.fround(-mu[j]) + groupValue[1][j] + groupValue[2][j], 1e-9);
    }
    assert.deepEqual(cap.decoded.suspects, [2]);
    // One seat in each of two groups: outvoted everywhere, the exact honest sum.
    const out = run([0, 3]);
    assert.deepEqual(Array.from(out.decoded.gradient), [111, 222, 333]);
    assert.deepEqual(out.decoded.suspects, [0, 3]);
  });
});

describe('worst placement', () => {
  const capturedGroups = (groups: number[][], byz: number[]) =>
    groups.filter((g) => 2 * g.filter((w) => byz.includes(w)).length > g.length).length;

  test('equal groups of r = 3: ceil(r/2) = 2 per group, floor(s/2) groups captured', () => {
    const groups = repetitionGroups(15, 3);
    assert.deepEqual(
      createPlacement('worst', { n: 15, s: 5, seed: 1, groups }).byzantineAt(0),
      [0, 1, 3, 4, 6],
    );
    for (let s = 0; s <= 15; s++) {
      const byz = createPlacement('worst', { n: 15, s, seed: 9, groups }).byzantineAt(7);
      assert.equal(new Set(byz).size, s);
      assert.ok(byz.every((w) => w >= 0 && w < 15));
      assert.equal(capturedGroups(groups, byz), Math.min(5, Math.floor(s / 2)), `s = ${s}`);
    }
    // r = 5: ceil(5/2) = 3 seats per group.
    const g5 = repetitionGroups(15, 5);
    assert.deepEqual(
      createPlacement('worst', { n: 15, s: 7, seed: 1, groups: g5 }).byzantineAt(0),
      [0, 1, 2, 5, 6, 7, 10],
    );
  });

  test('uneven groups: the smaller groups are cheaper and go first; fixed, seed-free', () => {
    const groups = repetitionGroups(16, 5); // sizes 6, 5, 5: need 4, 3, 3
    assert.deepEqual(
      groups.map((g) => g.length),
      [6, 5, 5],
    );
    const p = createPlacement('worst', { n: 16, s: 6, seed: 1, groups });
    assert.deepEqual(p.byzantineAt(0), [6, 7, 8, 11, 12, 13]);
    assert.deepEqual(p.byzantineAt(99), p.byzantineAt(0));
    assert.deepEqual(
      createPlacement('worst', { n: 16, s: 6, seed: 2, groups }).byzantineAt(0),
      p.byzantineAt(0),
    );
    assert.deepEqual(
      createPlacement('worst', { n: 16, s: 7, seed: 1, groups }).byzantineAt(0),
      [0, 6, 7, 8, 11, 12, 13],
    );
  });

  test('without groups: the first s ranks; replica groups come from the assignment', () => {
    assert.deepEqual(createPlacement('worst', { n: 7, s: 3, seed: 1 }).byzantineAt(0), [0, 1, 2]);
    const rep = createRepetition({ n: 16, s: 2, d: 1, r: 5 });
    assert.deepEqual(replicaGroups(rep.assignment), repetitionGroups(16, 5));
    assert.deepEqual(replicaGroups([[0], [1], [2]]), [[0], [1], [2]]);
  });

  test('collude + worst against the repetition code captures floor(s / ceil(r/2)) group outputs', () => {
    const n = 15;
    const r = 3;
    const groups = repetitionGroups(n, r);
    const scheme = createRepetition({ n, s: 1, d: 2, r });
    const value = groups.map((_, k) => Float32Array.from([k + 1, -(k + 1)]));
    const groupOf = (w: number) => groups.findIndex((g) => g.includes(w));
    for (const s of [2, 3, 4, 6]) {
      const byz = createPlacement('worst', { n, s, seed: 1, groups }).byzantineAt(0);
      const honest = Array.from({ length: n }, (_, w) => (byz.includes(w) ? null : value[groupOf(w)]));
      const atk = parseAttack('collude').attack;
      const messages = honest.map(
        (m, w) => m ?? atk.corrupt({ ...omniCtx(honest, w), byzantine: byz, own: value[groupOf(w)] }),
      );
      const decoded = scheme.decode(messages, {
        step: 0,
        partitionSizes: new Array(n).fill(1),
        rng: Rng.derive(1, 'ps', 0),
      });
      // The decoded sum has exactly floor(s/2) honest group values replaced by the colluders' one.
      const sent = messages[byz[0]]!;
      const k = Math.floor(s / 2);
      let expect = 0;
      for (let g = 0; g < groups.length; g++) expect += g < k ? sent[0] : value[g][0];
      close(decoded.gradient[0], expect, 1e-6, `s = ${s}`);
    }
  });
});

describe('minmax, minsum, foe, inf', () => {
  // Honest 0, 1, 5 (ranks 0-2; 3 and 4 Byzantine): mu = 2, sigma = sqrt(14/3), p = -sigma.
  const H = [f64(0), f64(1), f64(5), null, null];
  test('by hand: minmax stays within the largest honest distance (5): m = 0', () => {
    close(parseAttack('minmax').attack.corrupt(omniCtx(H, 3))[0], 0, 1e-12);
  });
  test('by hand: minsum keeps the summed squares under the largest honest sum (41): m = -1', () => {
    // sum_i (2 - g - x_i)^2 = 14 + 3 g^2 <= 41 -> g = 3.
    close(parseAttack('minsum').attack.corrupt(omniCtx(H, 3))[0], -1, 1e-12);
  });
  test('property: each bound is met with equality (gamma is the largest feasible), every direction', () => {
    const rng = Rng.derive(21, 'minmax');
    for (let t = 0; t < 40; t++) {
      const h = 2 + rng.int(8);
      const honest: (Vec | null)[] = Array.from({ length: h }, () =>
        Float64Array.from({ length: 6 }, () => rng.normal() + 3),
      );
      honest.push(null, null);
      const dist2 = (a: ArrayLike<number>, b: ArrayLike<number>) =>
        Array.from(a).reduce((s, v, j) => s + (v - b[j]) ** 2, 0);
      const xs = honest.filter((m): m is Vec => m !== null);
      const pairMax = Math.max(...xs.flatMap((a) => xs.map((b) => dist2(a, b))));
      const rowMax = Math.max(...xs.map((a) => xs.reduce((s, b) => s + dist2(a, b), 0)));
      for (const dir of [0, 1, 2]) {
        const mm = parseAttack(`minmax:dir=${dir}`).attack.corrupt(omniCtx(honest, h));
        close(Math.max(...xs.map((x) => dist2(mm, x))), pairMax, 1e-9 * pairMax, `minmax dir ${dir}`);
        const ms = parseAttack(`minsum:dir=${dir}`).attack.corrupt(omniCtx(honest, h));
        close(
          xs.reduce((s, x) => s + dist2(ms, x), 0),
          rowMax,
          1e-9 * rowMax,
          `minsum dir ${dir}`,
        );
      }
    }
  });
  test('foe is ipm under its other name; inf sends +Infinity (refused at validation)', () => {
    const a = parseAttack('foe:eps=0.5').attack.corrupt(omniCtx(HONEST, 3));
    assert.deepEqual(
      Array.from(a),
      Array.from(parseAttack('ipm:eps=0.5').attack.corrupt(omniCtx(HONEST, 3))),
    );
    assert.deepEqual(Array.from(a), [-1.5, -3]);
    assert.deepEqual(Array.from(parseAttack('inf').attack.corrupt(omniCtx(HONEST, 3))), [Infinity, Infinity]);
    assert.throws(() => parseAttack('minmax:dir=3'), UsageError);
  });
});

describe('optimised coefficients (alie:optimal, ipm:optimal)', () => {
  test('the line search by hand: expansion doubles while improving, contraction shrinks by ratio', () => {
    const score = (c: number) => -((c - 37) ** 2);
    const p = { start: 0, delta: 10, ratio: 0.8 };
    // 0, 10 (better, step 20), 30 (better, step 40), 70 (worse: step 32), 62 (worse) -> 30.
    assert.equal(lineSearch(score, { ...p, evals: 5 }), 30);
    // Then 30 + 25.6, 30 + 20.48, 30 + 16.384 (all farther from 37), 30 + 13.1072 (nearer): kept.
    assert.equal(lineSearch(score, { ...p, evals: 9 }), 30 + 40 * 0.8 ** 5);
    // One evaluation: the start itself.
    assert.equal(lineSearch(score, { ...p, evals: 1 }), 0);
  });
  test('without a rule the target is the mean, which every larger coefficient moves further', () => {
    // 19 expansions all improve: z = 10 (1 + 2 + ... + 2^18) = 10 (2^19 - 1).
    const z = 10 * (2 ** 19 - 1);
    const out = parseAttack('alie:optimal').attack.corrupt(omniCtx(HONEST, 3));
    close(out[0], 3 - z * Math.sqrt(8 / 3), 1e-9 * z);
    close(out[1], 6 - z * Math.sqrt(32 / 3), 1e-9 * z);
    const ipmOut = parseAttack('ipm:optimal,evals=3').attack.corrupt(omniCtx(HONEST, 3));
    assert.deepEqual(Array.from(ipmOut), [-30 * 3, -30 * 6]); // 0, 10, 30
  });
  test("against the run's rule: median, messages in rank order, the Byzantine ranks sending the candidate", () => {
    // Honest [1,2], [3,6], [5,10] at ranks 1, 2, 4; the candidate mu - z sigma at ranks 0 and 3.
    // z = 0: median of {1,3,5,3,3}, {2,6,10,6,6} = mu -> distortion 0. z = 10: both candidate
    // coordinates fall below every honest one, the median is [1, 2]: distortion sqrt(20). Every
    // larger z gives the same sqrt(20), never better, and contraction only probes z > 10: z = 10.
    const seen: string[] = [];
    const ctx = omniCtx([null, HONEST[0], HONEST[1], null, HONEST[2]], 3);
    ctx.rule = (xs) => {
      seen.push(
        xs
          .map((x) => (x === HONEST[0] ? 'h0' : x === HONEST[1] ? 'h1' : x === HONEST[2] ? 'h2' : 'b'))
          .join(''),
      );
      return buildAggregator('median', { n: 5, f: 2 }).aggregate(xs, { f: 2, rng: Rng.derive(1) });
    };
    const attack = parseAttack('alie:optimal').attack;
    assert.equal(attack.adaptive, true);
    assert.equal(parseAttack('alie').attack.adaptive, false);
    const out = attack.corrupt(ctx);
    close(out[0], 3 - 10 * Math.sqrt(8 / 3), 1e-12);
    close(out[1], 6 - 10 * Math.sqrt(32 / 3), 1e-12);
    assert.equal(seen.length, 20);
    assert.ok(seen.every((s) => s === 'bh0h1bh2'));
    // The second Byzantine of the step is served the same coefficient without a new search.
    const again = attack.corrupt({ ...ctx, worker: 0, rng: Rng.derive(1, 'attack', 3, 0) });
    assert.deepEqual(Array.from(again), Array.from(out));
    assert.equal(seen.length, 20);
  });
  test('as at the PS, non-finite messages never reach the rule: an overflowing candidate, a diverged honest one', () => {
    // Honest [1e37, 2], [3e37, 6], [5e37, 10] (float32) at ranks 1, 2, 4: mu = [3e37, 6], sigma[0]
    // = sqrt(8/3) 1e37. z = 10: the candidates' first coordinate, -1.33e38, is below every honest
    // one, the median is [1e37, 2]: distortion 2e37. z = 30 (and the contraction's 26 and 22.8)
    // overflows float32 to -Infinity: the PS would refuse both Byzantine messages, so the rule
    // sees the three honest ones (median = mu, distortion 0) instead of throwing on -Infinity.
    const big = [Float32Array.from([1e37, 2]), Float32Array.from([3e37, 6]), Float32Array.from([5e37, 10])];
    const seen: number[] = [];
    const median = (xs: readonly Vec[]) => {
      seen.push(xs.length);
      return buildAggregator('median', { n: xs.length, f: 0 }).aggregate(xs, { f: 0, rng: Rng.derive(1) });
    };
    const ctx = omniCtx([null, big[0], big[1], null, big[2]], 3);
    ctx.rule = median;
    const out = parseAttack('alie:optimal').attack.corrupt(ctx);
    assert.equal(out[0], Math.fround(3e37 - 10 * Math.sqrt(8 / 3) * 1e37));
    assert.equal(seen.length, 20);
    assert.deepEqual(seen.slice(0, 4), [5, 5, 3, 3]); // z = 0, 10, 30, 26
    // An honest message that is not finite (a diverged run's gradient) is refused too; here it
    // makes mu, and so every candidate, non-finite: the rule sees the two finite honest messages.
    seen.length = 0;
    const nan = omniCtx([null, big[0], big[1], null, Float32Array.from([NaN, 1])], 3);
    nan.rule = median;
    const sent = parseAttack('ipm:optimal').attack.corrupt(nan);
    assert.ok(Number.isNaN(sent[0])); // what the PS refuses, as it refuses the honest NaN
    assert.equal(seen.length, 20);
    assert.ok(seen.every((k) => k === 2));
  });
  test('spec: a bare key is a switch; bad search parameters are one-line errors', () => {
    assert.equal(parseAttack('ipm:optimal').params.optimal, 1);
    assert.equal(parseAttack('ipm').params.optimal, 0);
    assert.throws(() => parseAttack('alie:optimal,z=1'), /alie: give z or optimal, not both/);
    assert.throws(() => parseAttack('alie:optimal=2'), /alie: optimal is a switch, 0 or 1 \(got 2\)/);
    assert.throws(() => parseAttack('ipm:optimal,ratio=1'), /ipm: ratio must be in \(0.5, 1\)/);
    assert.throws(() => parseAttack('ipm:optimal,evals=0'), /ipm: evals must be an integer >= 1/);
    assert.throws(() => parseAttack('ipm:optimal,delta=0'), /ipm: delta must be a non-zero number/);
  });
});
