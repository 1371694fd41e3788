/**
 * The optimised attacks in training (issue 19): the attacker's model of the PS is the run's own
 * rule, built alike at the PS and in every worker process (so the local engine sends the bytes
 * the in-process engine computes), none under a coded scheme, whose exact decoding keeps the
 * clean model bit for bit.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildAggregator } from '../../src/aggregators/registry.js';
import { buildContext } from '../../src/build/components.js';
import { resolveConfig, type TrainConfigInput } from '../../src/build/config.js';
import { train } from '../../src/build/train.js';
import { Rng } from '../../src/core/rng.js';

const base: TrainConfigInput = {
  dataset: 'synthetic',
  workers: 7,
  byzantine: 2,
  placement: 'fixed',
  batch: 70,
  steps: 6,
  evalEvery: 0,
  seed: 5,
};

const summary = async (cfg: TrainConfigInput) => (await train(resolveConfig({ ...base, ...cfg }))).summary;

describe('optimised attacks in training', { concurrency: false }, () => {
  test("the attacker's rule is the run's rule with its pre-aggregators (worker side too); none for coded schemes", async () => {
    const cfg = resolveConfig({
      ...base,
      scheme: 'uncoded',
      aggregator: 'trimmed-mean',
      preAggregator: 'nnm',
      attack: 'ipm:optimal',
    });
    const ctx = await buildContext(cfg, 'worker');
    const xs = [
      [1, 9],
      [2, 5],
      [4, 4],
      [40, -3],
      [5, 0],
      [6, 1],
      [7, 2],
    ].map((x) => Float32Array.from(x));
    const expected = buildAggregator('trimmed-mean', { n: 7, f: 2, pre: 'nnm' }).aggregate(xs, {
      f: 2,
      rng: Rng.derive(5, 'ps', 3),
    });
    assert.deepEqual(Array.from(ctx.rule!(xs, 3)), Array.from(expected));
    // Too few messages for the rule (trimmed mean, b = 2, needs 5): the PS would abort the step,
    // so there is no aggregate (NaN, never a gain for the search) rather than a rule on 3 inputs.
    assert.ok(Array.from(ctx.rule!(xs.slice(0, 3), 3)).every((v) => Number.isNaN(v)));
    const coded = await buildContext(
      resolveConfig({ ...base, scheme: 'repetition', attack: 'ipm:optimal' }),
      'worker',
    );
    assert.equal(coded.rule, undefined);
    const fixed = await buildContext(resolveConfig({ ...base, scheme: 'uncoded', attack: 'ipm' }), 'worker');
    assert.equal(fixed.rule, undefined, 'built only for an adaptive attack');
  });

  test('uncoded + multi-krum under alie:optimal: the local engine trains the in-process model bit for bit', async () => {
    // Multi-Krum averages the candidates it keeps, so the distortion grows with z until they are
    // dropped: the search stops at a moderate z, where against the mean it would run to the
    // largest; a worker searching against another rule would send other bytes.
    const cfg = { scheme: 'uncoded', aggregator: 'multi-krum', attack: 'alie:optimal' };
    const a = await summary({ ...cfg, engine: 'inprocess' });
    const b = await summary({ ...cfg, engine: 'local' });
    assert.equal(b.paramsSha256, a.paramsSha256);
    const plain = await summary({ ...cfg, attack: 'alie' });
    assert.notEqual(plain.paramsSha256, a.paramsSha256, 'the search chose a different z than z_max');
  });

  test('a run the search breaks (nnm + mean under alie:optimal) diverges and ends failed, not with a throw', async () => {
    // NNM mixes each Byzantine with its twin (2/(n - f) of the candidate), the mean passes that on:
    // the distortion grows without bound in z, the model blows up, and from then on the honest
    // gradients are NaN. The attacker's model of the PS refuses them, as the PS does, instead of
    // handing them to NNM's distances (NonFiniteInputError, which ended the process).
    const s = await summary({
      scheme: 'uncoded',
      aggregator: 'mean',
      preAggregator: 'nnm',
      attack: 'alie:optimal',
    });
    assert.match(s.failed ?? '', /training diverged/);
    assert.ok(s.abortedSteps > 0);
  });

  test('repetition (n = 10, r = 5) under alie:optimal and ipm:optimal: the clean model bit for bit', async () => {
    const rep = { scheme: 'repetition', redundancy: 5, workers: 10, batch: 100 }; // two groups: sigma != 0
    const clean = await summary({ ...rep, byzantine: 0 });
    for (const attack of ['alie:optimal', 'ipm:optimal']) {
      const attacked = await summary({ ...rep, attack });
      assert.equal(attacked.paramsSha256, clean.paramsSha256, attack);
      assert.equal(attacked.totalSuspectsFlagged, attacked.totalByzantineSlots, attack);
    }
  });
});
