import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createPlacement } from '../../src/attacks/placement.js';
import { parseAttack } from '../../src/attacks/registry.js';
import type { AttackContext } from '../../src/attacks/types.js';
import { UsageError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';

const own = Float32Array.from([1, -2, 0.5, 0]);
const ctx = (worker = 3, step = 7): AttackContext => ({
  own,
  step,
  worker,
  rng: Rng.derive(1, 'attack', step, worker),
  n: 5,
  byzantine: [worker],
});

describe('attacks', () => {
  test('reverse sends -c * own (default c = 100) and leaves own untouched', () => {
    assert.deepEqual(Array.from(parseAttack('reverse').attack.corrupt(ctx())), [-100, 200, -50, -0]);
    assert.deepEqual(Array.from(parseAttack('reverse:c=2').attack.corrupt(ctx())), [-2, 4, -1, -0]);
    assert.deepEqual(Array.from(own), [1, -2, 0.5, 0]);
  });
  test('intermittent lies (-c * own) on a seeded p share of steps, else sends own unchanged', () => {
    const atk = parseAttack('intermittent:p=0.25,c=2').attack;
    let lies = 0;
    for (let step = 0; step < 400; step++) {
      const out = Array.from(atk.corrupt(ctx(3, step)));
      if (out[0] === -2) {
        assert.deepEqual(out, [-2, 4, -1, -0]);
        lies++;
      } else assert.deepEqual(out, [1, -2, 0.5, 0]);
      // The same step and worker: the same choice (the rng is derived from them).
      assert.deepEqual(Array.from(atk.corrupt(ctx(3, step))), out);
    }
    assert.ok(lies > 70 && lies < 130, `${lies} lies in 400 steps at p = 0.25`);
    assert.deepEqual(Array.from(parseAttack('intermittent:p=0').attack.corrupt(ctx())), [1, -2, 0.5, 0]);
  });
  test('sleeper: the k-th Byzantine rank is honest before start + k * stagger, then reverses', () => {
    const atk = parseAttack('sleeper:start=5,stagger=3,c=1').attack;
    const at = (worker: number, step: number) =>
      Array.from(atk.corrupt({ ...ctx(worker, step), byzantine: [7, 2, 4] }));
    // Ranks in order 2, 4, 7: awake from steps 5, 8, 11.
    for (const [worker, wake] of [
      [2, 5],
      [4, 8],
      [7, 11],
    ]) {
      assert.deepEqual(at(worker, wake - 1), [1, -2, 0.5, 0], `rank ${worker} before ${wake}`);
      assert.deepEqual(at(worker, wake), [-1, 2, -0.5, -0], `rank ${worker} at ${wake}`);
    }
  });
  test('constant fills v (default -100), keeps float64 messages float64', () => {
    assert.deepEqual(Array.from(parseAttack('constant').attack.corrupt(ctx())), [-100, -100, -100, -100]);
    const out = parseAttack('constant:v=3').attack.corrupt({ ...ctx(), own: new Float64Array(2) });
    assert.ok(out instanceof Float64Array);
    assert.deepEqual(Array.from(out), [3, 3]);
  });
  test('signflip negates', () => {
    assert.deepEqual(Array.from(parseAttack('signflip').attack.corrupt(ctx())), [-1, 2, -0.5, -0]);
  });
  test('gaussian: seeded per (step, worker), right scale', () => {
    const g = parseAttack('gaussian:sigma=2').attack;
    const big = { ...ctx(), own: new Float32Array(20000) };
    const a = g.corrupt({ ...big, rng: Rng.derive(1, 'attack', 7, 3) });
    const b = g.corrupt({ ...big, rng: Rng.derive(1, 'attack', 7, 3) });
    const c = g.corrupt({ ...big, rng: Rng.derive(1, 'attack', 7, 4) });
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    let m = 0;
    let sq = 0;
    for (const x of a) {
      m += x;
      sq += x * x;
    }
    m /= a.length;
    const sd = Math.sqrt(sq / a.length - m * m);
    assert.ok(Math.abs(m) < 0.05, `mean ${m}`);
    assert.ok(Math.abs(sd - 2) < 0.05, `sd ${sd}`);
  });
  test('labelflip poisons labels y -> C - 1 - y and sends its (poisoned) honest message', () => {
    const lf = parseAttack('labelflip').attack;
    assert.deepEqual(Array.from(lf.poisonLabels!(Int32Array.from([0, 3, 9]), 10)), [9, 6, 0]);
    assert.equal(lf.corrupt(ctx()), own);
  });
  test('spec errors name the problem', () => {
    assert.throws(
      () => parseAttack('nope'),
      (e: unknown) => e instanceof UsageError && /unknown attack 'nope' \(known: .*reverse/.test(e.message),
    );
    assert.throws(() => parseAttack('reverse:k=1'), /attack 'reverse' has no parameter 'k' \(known: c\)/);
    assert.throws(() => parseAttack('reverse:c=abc'), /parameter 'c' needs a finite number, got 'abc'/);
    assert.throws(() => parseAttack('signflip:c=1'), /it takes none/);
  });
});

describe('placement', () => {
  test('fixed: the same seeded s ranks every step', () => {
    const p = createPlacement('fixed', { n: 15, s: 2, seed: 1 });
    const first = p.byzantineAt(0);
    assert.equal(first.length, 2);
    for (let t = 1; t < 20; t++) assert.deepEqual(p.byzantineAt(t), first);
    assert.deepEqual(createPlacement('fixed', { n: 15, s: 2, seed: 1 }).byzantineAt(5), first);
  });
  test('random: a fresh sorted set of s distinct ranks per step, a pure function of (seed, step)', () => {
    const p = createPlacement('random', { n: 15, s: 3, seed: 4 });
    const seen = new Set<string>();
    for (let t = 0; t < 50; t++) {
      const b = p.byzantineAt(t);
      assert.equal(new Set(b).size, 3);
      assert.deepEqual(
        b,
        [...b].sort((x, y) => x - y),
      );
      assert.ok(b.every((w) => w >= 0 && w < 15));
      seen.add(b.join(','));
    }
    assert.ok(seen.size > 30, 'placements should vary by step');
    assert.deepEqual(p.byzantineAt(17), createPlacement('random', { n: 15, s: 3, seed: 4 }).byzantineAt(17));
  });
  test('more Byzantine than workers is refused', () => {
    assert.throws(
      () => createPlacement('fixed', { n: 3, s: 4, seed: 1 }),
      /cannot place 4 Byzantine workers among 3/,
    );
    assert.throws(() => createPlacement('nope', { n: 3, s: 1, seed: 1 }), /unknown placement 'nope'/);
  });
});
