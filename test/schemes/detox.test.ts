/**
 * DETOX (docs/schemes.md "DETOX"): f' = floor(s / ceil(r/2)), bucket sizes, hand-computed
 * median of means and decodes, the robust stage's guarantee with at most f' captured groups,
 * preconditions, and `draco train --scheme detox` for every mode.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createPlacement } from '../../src/attacks/placement.js';
import { splitBuckets } from '../../src/aggregators/detox-multi-krum.js';
import { UsageError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import type { Vec } from '../../src/core/vec.js';
import { createDetox, detoxF, medianOfMeans, type DetoxMode } from '../../src/schemes/detox.js';
import { createScheme } from '../../src/schemes/registry.js';
import type { SchemeOptions } from '../../src/schemes/types.js';
import { tempDir } from '../tmp.js';

const f32 = (...x: number[]) => Float32Array.from(x);
const decodeCtx = (n: number, size = 4, step = 0) => ({
  step,
  partitionSizes: new Array(n).fill(size),
  rng: Rng.derive(1, 'ps', step),
});

/** Messages by rank: each honest member sends its group's value; `byz` ranks send `bad(rank)`. */
function messagesFor(
  groups: readonly (readonly number[])[],
  values: Vec[],
  byz: number[],
  bad: (w: number) => Vec,
) {
  const n = groups.reduce((a, g) => a + g.length, 0);
  const msgs: (Vec | null)[] = new Array(n);
  groups.forEach((g, k) => g.forEach((w) => (msgs[w] = byz.includes(w) ? bad(w) : values[k])));
  return msgs;
}

describe('detox: worked examples', () => {
  test("f' = floor(s / ceil(r/2)); b buckets of sizes differing by at most one", () => {
    assert.equal(detoxF(2, 3), 1);
    assert.equal(detoxF(5, 3), 2);
    assert.equal(detoxF(3, 5), 1);
    assert.equal(detoxF(2, 5), 0);
    assert.equal(detoxF(4, 1), 4);
    assert.deepEqual(splitBuckets([0, 1, 2, 3, 4], 3), [[0, 1], [2, 3], [4]]);
    assert.deepEqual(
      splitBuckets([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 3).map((b) => b.length),
      [4, 3, 3],
    );
    // Scheme defaults: n = 15, r = 3 -> G = 5; s = 2 -> f' = 1, median of means with b = 2f'+1 = 3.
    const sch = createDetox({ n: 15, s: 2, d: 1 });
    assert.deepEqual(sch.groups, [
      [0, 1, 2],
      [3, 4, 5],
      [6, 7, 8],
      [9, 10, 11],
      [12, 13, 14],
    ]);
    assert.match(
      sch.describe(),
      /^5 groups \(r = 3\): ranks 0-2, .*, 12-14; majority vote, then median-of-means:b=3 over the group outputs with f' = 1$/,
    );
    assert.deepEqual(sch.assignment[4], [3, 4, 5]);
    const s5 = createDetox({ n: 30, s: 5, d: 1 }); // G = 10, f' = 2 -> b = 5
    assert.match(s5.describe(), /then median-of-means:b=5 over the group outputs with f' = 2$/);
  });

  test('median of means by hand: shuffle [4,0,1,5,2,3], buckets {4,0} {1,5} {2,3}', () => {
    const rng = Rng.derive(7, 'mom');
    assert.deepEqual(Array.from(Rng.derive(7, 'mom').permutation(6)), [4, 0, 1, 5, 2, 3]);
    const xs = [f32(0, 5), f32(1, 4), f32(2, 3), f32(3, 2), f32(4, 1), f32(100, -100)];
    // bucket means [2, 3], [50.5, -48], [2.5, 2.5]; coordinate medians 2.5 and 2.5
    assert.deepEqual(Array.from(medianOfMeans(xs, 3, rng)), [2.5, 2.5]);
    // b = 1: the mean; b = G: the coordinate median (whatever the shuffle).
    assert.deepEqual(Array.from(medianOfMeans(xs.slice(0, 3), 1, Rng.derive(1))), [1, 4]);
    assert.deepEqual(Array.from(medianOfMeans([f32(1), f32(50), f32(3)], 3, Rng.derive(2))), [3]);
  });

  test('decode: a captured group is outvoted by the median; suspects, scaling', () => {
    // n = 9, r = 3, s = 2: G = 3, f' = 1, b = 3 (= the coordinate median of the group outputs).
    const sch = createDetox({ n: 9, s: 2, d: 2 });
    const values = [f32(1, 10), f32(2, 20), f32(3, 30)];
    const msgs = messagesFor(sch.groups!, values, [0, 1], () => f32(1000, -1000));
    const out = sch.decode(msgs, decodeCtx(9));
    assert.deepEqual(Array.from(out.gradient), [3, 20]);
    assert.equal(out.samplesCovered, 12); // each group: 3 partitions x 4 samples
    assert.deepEqual(out.suspects, [2]); // the honest member outvoted in the captured group
    assert.deepEqual(out.failures, []);
    assert.equal(out.abort, false);
  });

  test('no majority: the group is dropped and reported, or the step aborts', () => {
    const opts: SchemeOptions = { n: 9, s: 1, d: 1, detoxMode: 'rule', aggregator: 'mean' };
    const values = [f32(1), f32(2), f32(4)];
    const msgs = messagesFor(createDetox(opts).groups!, values, [0, 1], (w) => f32(100 + w));
    const skip = createDetox(opts).decode(msgs, decodeCtx(9));
    assert.deepEqual(Array.from(skip.gradient), [3]); // mean of groups 1 and 2
    assert.equal(skip.failures.length, 1);
    assert.equal(
      skip.failures[0],
      "group 0 (ranks 0-2): 3 of 3 received, value classes 1-1-1; needs 2 identical (strict majority of the group's 3 " +
        'members; decodable while erasures + liars <= 1); dropped from the robust stage',
    );
    assert.deepEqual(skip.suspects, []);
    const abort = createDetox({ ...opts, noMajority: 'abort' }).decode(msgs, decodeCtx(9));
    assert.equal(abort.abort, true);
  });

  test('erasures count against the group: one of three members arriving is no majority', () => {
    const opts: SchemeOptions = { n: 9, s: 1, d: 1, detoxMode: 'rule', aggregator: 'mean' };
    const sch = createDetox(opts);
    const values = [f32(1), f32(2), f32(4)];
    const msgs = messagesFor(sch.groups!, values, [1], () => f32(-100));
    msgs[0] = null;
    msgs[2] = null; // group 0: only the Byzantine rank 1 arrived
    const out = sch.decode(msgs, decodeCtx(9));
    assert.deepEqual(Array.from(out.gradient), [3]);
    assert.match(
      out.failures[0],
      /^group 0 \(ranks 0-2\): 1 of 3 received \(2 erased\), value classes 1; needs 2/,
    );
  });

  test('groups of unequal sample counts are rescaled to the mean count', () => {
    // n = 10, r = 3: groups of 4, 3, 3 ranks; 2 samples per partition -> 8, 6, 6 samples, mean 20/3.
    const sch = createDetox({ n: 10, s: 1, d: 1, detoxMode: 'rule', aggregator: 'mean' });
    assert.deepEqual(
      sch.groups!.map((g) => g.length),
      [4, 3, 3],
    );
    const values = [f32(8), f32(12), f32(18)]; // per-sample gradients 1, 2, 3
    const out = sch.decode(
      messagesFor(sch.groups!, values, [], () => f32(0)),
      decodeCtx(10, 2),
    );
    assert.ok(Math.abs(out.samplesCovered - 20 / 3) < 1e-12);
    assert.ok(Math.abs(out.gradient[0] / out.samplesCovered - 2) < 1e-12, `${out.gradient[0]}`);
  });
});

describe("detox: with at most f' captured groups the output stays in the honest range", () => {
  const cases: { mode: DetoxMode; extra?: Partial<SchemeOptions> }[] = [
    { mode: 'median-of-means' },
    { mode: 'median-of-means', extra: { detoxBuckets: 5 } },
    { mode: 'multi-krum' },
    { mode: 'bulyan' },
    { mode: 'rule', extra: { aggregator: 'median' } },
    { mode: 'rule', extra: { aggregator: 'trimmed-mean', preAggregator: 'nnm' } },
  ];
  for (const { mode, extra } of cases) {
    test(`${mode} ${JSON.stringify(extra ?? {})}`, () => {
      const rng = Rng.derive(99, mode, JSON.stringify(extra ?? {}));
      for (let trial = 0; trial < 12; trial++) {
        const n = 30 + 3 * rng.int(4); // G = 10..13
        const s = 2 + rng.int(2); // f' = 1
        const d = 7;
        const sch = createScheme('detox', { n, s, d, r: 3, detoxMode: mode, ...extra });
        const groups = sch.groups!;
        const byz = createPlacement('worst', { n, s, seed: 1, groups }).byzantineAt(0);
        const values = groups.map(() => {
          const v = new Float32Array(d);
          for (let j = 0; j < d; j++) v[j] = rng.normal();
          return v;
        });
        // Colluders: one far vector (identical bytes), so they win every group they hold 2 of 3 seats in.
        const far = new Float32Array(d).map((_, j) => (j % 2 ? 1e6 : -1e6) * (1 + rng.float()));
        const msgs = messagesFor(groups, values, byz, () => far);
        const out = sch.decode(msgs, decodeCtx(n, 4, trial));
        assert.equal(out.abort, false);
        const captured = groups.filter((g) => g.filter((w) => byz.includes(w)).length >= 2).length;
        assert.equal(captured, detoxF(s, 3), 'worst placement captures f groups');
        const honest = values.filter((_, k) => groups[k].filter((w) => byz.includes(w)).length < 2);
        for (let j = 0; j < d; j++) {
          const lo = Math.min(...honest.map((v) => v[j]));
          const hi = Math.max(...honest.map((v) => v[j]));
          const g = out.gradient[j];
          assert.ok(
            g >= lo - 1e-9 && g <= hi + 1e-9,
            `${mode} trial ${trial} coord ${j}: ${g} not in [${lo}, ${hi}]`,
          );
        }
      }
    });
  }
});

describe('detox: preconditions', () => {
  const usage = (fn: () => unknown, re: RegExp) =>
    assert.throws(fn, (e: unknown) => e instanceof UsageError && re.test(e.message));
  test('each mode checks its bound on (G, f) at construction', () => {
    // n = 15, r = 3, s = 2: G = 5, f' = 1.
    usage(
      () => createDetox({ n: 15, s: 2, d: 1, detoxMode: 'multi-krum' }),
      /detox \(G = 5 groups of r = 3, f' = .* = 1\): detox-multi-krum needs floor\(n \/ buckets\) >= 2f \+ 3/,
    );
    usage(
      () => createDetox({ n: 15, s: 2, d: 1, detoxMode: 'bulyan' }),
      /detox-bulyan needs n >= 3f \+ 3 \(n = 5, f = 1/,
    );
    usage(
      () => createDetox({ n: 15, s: 2, d: 1, detoxBuckets: 2 }),
      /median-of-means needs 2f' \+ 1 <= b <= G/,
    );
    usage(() => createDetox({ n: 15, s: 2, d: 1, detoxBuckets: 6 }), /b <= G buckets \(b = 6, G = 5\)/);
    usage(
      () => createDetox({ n: 15, s: 6, d: 1 }),
      /f' = .* = 3\): median-of-means needs G >= 2f' \+ 1 groups \(G = 5: G >= 7\)/,
    );
    usage(
      () => createDetox({ n: 15, s: 4, d: 1, detoxMode: 'rule', aggregator: 'krum' }),
      /f' = .* = 2\): krum needs n >= 2f \+ 3 \(n = 5, f = 2/,
    );
    usage(
      () => createDetox({ n: 15, s: 2, d: 1, detoxMode: 'bulyan', detoxBuckets: 2 }),
      /--detox-buckets applies/,
    );
    usage(
      () => createDetox({ n: 15, s: 2, d: 1, preAggregator: 'nnm' }),
      /--pre-aggregator applies only with --detox-mode rule/,
    );
    usage(() => createDetox({ n: 2, s: 0, d: 1 }), /detox needs 1 <= r <= n \(n = 2, r = 3\)/);
    // DETOX does not need r >= 2s + 1: s = 5 with r = 3 is fine when G allows it.
    assert.equal(createDetox({ n: 30, s: 5, d: 1, r: 3 }).groups!.length, 10);
    assert.ok(createDetox({ n: 30, s: 2, d: 1, detoxMode: 'multi-krum' }));
    assert.ok(createDetox({ n: 30, s: 2, d: 1, detoxMode: 'bulyan' }));
  });
  test('too few group outputs at decode time: the step aborts with the reason', () => {
    // n = 9, G = 3, f' = 1, b = 3; two groups without majority leave 1 output.
    const sch = createDetox({ n: 9, s: 2, d: 1 });
    const msgs = messagesFor(sch.groups!, [f32(1), f32(2), f32(3)], [0, 1, 3, 4], (w) => f32(w + 10));
    const out = sch.decode(msgs, decodeCtx(9));
    assert.equal(out.abort, true);
    assert.match(out.failures[out.failures.length - 1], /1 group outputs: median-of-means needs/);
  });
});

describe('draco train --scheme detox', () => {
  const BIN = fileURLToPath(new URL('../../../bin/draco.js', import.meta.url));
  const tmp = tempDir('draco-detox-');
  for (const mode of ['median-of-means', 'multi-krum', 'bulyan', 'rule']) {
    test(`--detox-mode ${mode} trains on synthetic data under the worst-case colluders`, () => {
      const out = join(tmp, mode);
      const args = [
        BIN,
        'train',
        '--dataset',
        'synthetic',
        '--scheme',
        'detox',
        '--redundancy',
        '3',
        '--detox-mode',
        mode,
        '--workers',
        '30',
        '--byzantine',
        '3',
        '--attack',
        'collude',
        '--placement',
        'worst',
        '--batch',
        '120',
        '--lr',
        '0.1',
        '--steps',
        '15',
        '--eval-every',
        '0',
        '--quiet',
        '--out',
        out,
        ...(mode === 'rule' ? ['--aggregator', 'median'] : []),
      ];
      const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 120_000 });
      assert.equal(r.status, 0, r.stderr);
      const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
      assert.ok(summary.finalTestAccuracy > 0.9, `${mode}: accuracy ${summary.finalTestAccuracy}`);
      // worst placement: ranks 0,1 (group 0 captured) and 3 (outvoted in group 1) every step.
      const first = JSON.parse(readFileSync(join(out, 'metrics.jsonl'), 'utf8').split('\n')[0]);
      assert.deepEqual(first.byzantine, [0, 1, 3]);
      assert.deepEqual(first.suspects, [2, 3]);
      assert.equal(summary.abortedSteps, 0);
    });
  }
});
