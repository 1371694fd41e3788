/**
 * The guarantee under erasures, at the level of the trained model: with at most s Byzantine
 * workers and any pattern of missing messages, every repetition step either updates the model
 * exactly as the adversary-free run would, or is logged (a group skipped, or the step aborted).
 * The reference is the adversary-free run with the same steps aborted and the same groups skipped
 * (all their members erased): the two models must be bitwise equal. Nothing else can happen.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Rng } from '../../src/core/rng.js';
import { resolveConfig, type TrainConfigInput } from '../../src/build/config.js';
import { repetitionGroups } from '../../src/schemes/repetition.js';
import { train } from '../../src/build/train.js';
import { type StepRecord } from '../../src/train/loop.js';
import { Erasing } from '../erasing.js';

async function run(cfg: TrainConfigInput, erase: (step: number) => Iterable<number>) {
  const records: StepRecord[] = [];
  const r = await train(resolveConfig(cfg), {
    wrapEngine: (e) => new Erasing(e, erase),
    onStep: (rec) => void records.push(rec),
  });
  return { summary: r.summary, records };
}

describe('repetition under erasures: the adversary-free model, or a logged step', () => {
  test('property: random n, s, r, attacks, placements, policies and erasure patterns', async () => {
    const rng = Rng.derive(31, 'erasure-property');
    let partial = 0;
    let aborted = 0;
    let exact = 0;
    for (let trial = 0; trial < 12; trial++) {
      const s = 1 + rng.int(2);
      const r = 2 * s + 1 + rng.int(2);
      const n = r * (1 + rng.int(3)) + rng.int(r);
      const steps = 10;
      const noMajority = rng.int(2) ? 'skip' : 'abort';
      const cfg: TrainConfigInput = {
        dataset: 'synthetic',
        workers: n,
        byzantine: s,
        redundancy: r,
        attack: ['reverse', 'collude', 'gaussian', 'constant'][rng.int(4)],
        placement: ['fixed', 'random', 'worst'][rng.int(3)],
        noMajority,
        batch: 6 * n,
        steps,
        evalEvery: 0,
        seed: 100 + trial,
      };
      // Erasures: each step its own rate, from none to most of the cluster.
      const erased = Array.from({ length: steps }, () => {
        const p = rng.float() * 0.7;
        return new Set(Array.from({ length: n }, (_, w) => w).filter(() => rng.float() < p));
      });
      const attacked = await run(cfg, (t) => erased[t]);
      const groups = repetitionGroups(n, r);
      // Reference: no attack; a step the attacked run aborted loses every message, a group it
      // skipped loses all its members; everything else arrives.
      const lost = attacked.records.map((rec) => {
        if (rec.aborted) return new Set(Array.from({ length: n }, (_, w) => w));
        const skipped = rec.failures.map((f) => Number(/^group (\d+) \(/.exec(f)![1]));
        return new Set(skipped.flatMap((k) => groups[k]));
      });
      const clean = await run({ ...cfg, attack: 'none' }, (t) => lost[t]);
      const where = `trial ${trial}: ${JSON.stringify(cfg)}`;
      assert.equal(attacked.summary.paramsSha256, clean.summary.paramsSha256, where);
      // And every logged group was genuinely undecodable (s or fewer honest copies arrived),
      // every other group genuinely decodable.
      attacked.records.forEach((rec, t) => {
        const byz = new Set(rec.byzantine);
        const failedGroups = new Set(rec.failures.map((f) => Number(/^group (\d+) \(/.exec(f)![1])));
        groups.forEach((g, k) => {
          const honest = g.filter((w) => !byz.has(w) && !erased[t].has(w)).length;
          if (honest <= s) assert.ok(rec.aborted || failedGroups.has(k), `${where} step ${t} group ${k}`);
          else
            assert.ok(
              !failedGroups.has(k),
              `${where} step ${t} group ${k} logged with ${honest} honest copies`,
            );
        });
        if (rec.aborted) aborted++;
        else if (rec.failures.length > 0) partial++;
        else exact++;
      });
      assert.equal(
        attacked.summary.partialSteps + attacked.summary.abortedSteps,
        attacked.records.filter((x) => x.failures.length > 0 || x.aborted).length,
      );
    }
    assert.ok(
      partial > 5 && aborted > 5 && exact > 5,
      `coverage: ${exact} exact, ${partial} partial, ${aborted} aborted steps`,
    );
  });

  test('a run whose steps all aborted fails loudly: summary.failed, warnings', async () => {
    const { summary } = await run(
      { dataset: 'synthetic', workers: 3, byzantine: 1, batch: 30, steps: 4, evalEvery: 0 },
      () => [0, 1],
    );
    assert.equal(summary.abortedSteps, 4);
    assert.match(summary.failed ?? '', /^4 of 4 steps aborted: the model barely trained/);
    assert.match(summary.warnings[0], /^4 of 4 steps aborted/);
    const ok = await run(
      { dataset: 'synthetic', workers: 3, byzantine: 1, batch: 30, steps: 4, evalEvery: 0 },
      (t) => (t === 0 ? [0, 1] : []),
    );
    assert.equal(ok.summary.failed, null);
    assert.equal(ok.summary.warnings.length, 1);
  });
});
