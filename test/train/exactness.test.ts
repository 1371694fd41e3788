/**
 * DRACO's promise, end to end: with at most s Byzantine workers per group the repetition code
 * trains bit for bit the model an adversary-free run trains (docs/design.md "Exactness").
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Rng } from '../../src/core/rng.js';
import { resolveConfig, type TrainConfigInput } from '../../src/build/config.js';
import { train } from '../../src/build/train.js';

const ATTACKS = ['reverse', 'constant', 'gaussian', 'signflip', 'labelflip'];
const PLACEMENTS = ['fixed', 'random'];

async function run(cfg: TrainConfigInput) {
  return (await train(resolveConfig(cfg))).summary;
}

describe('repetition code: bitwise the adversary-free model', () => {
  test('MNIST, n = 15, s = 2, r = 5: every attack, both placements', async () => {
    const base = { scheme: 'repetition', workers: 15, redundancy: 5, steps: 30, evalEvery: 0, seed: 1 };
    const clean = await run({ ...base, byzantine: 0 });
    assert.ok(clean.finalTestAccuracy > 0.8, `clean run should learn, got ${clean.finalTestAccuracy}`);
    for (const placement of PLACEMENTS) {
      for (const attack of ATTACKS) {
        const attacked = await run({ ...base, byzantine: 2, attack, placement });
        assert.equal(attacked.paramsSha256, clean.paramsSha256, `${attack} / ${placement}`);
        // Every Byzantine message differs from its group's honest value, so each is flagged, and
        // no honest worker is.
        assert.equal(attacked.totalSuspectsFlagged, attacked.totalByzantineSlots, `${attack} / ${placement}`);
        assert.equal(attacked.suspectsThatWereByzantine, attacked.totalSuspectsFlagged);
        assert.equal(attacked.decoderFailures, 0);
      }
    }
  });

  test('property: random (n, s, r, attack, placement) at small sizes', async () => {
    const rng = Rng.derive(2024, 'exactness-property');
    for (let trial = 0; trial < 40; trial++) {
      const s = 1 + rng.int(2);
      const r = 2 * s + 1 + rng.int(2);
      const n = r + rng.int(2 * r);
      const cfg = {
        dataset: 'synthetic',
        model: 'mlp',
        scheme: 'repetition',
        workers: n,
        redundancy: r,
        batch: 4 * n + rng.int(3 * n),
        steps: 6,
        evalEvery: 0,
        lr: 0.05,
        seed: rng.int(1000),
      };
      const attack = ATTACKS[rng.int(ATTACKS.length)];
      const placement = PLACEMENTS[rng.int(PLACEMENTS.length)];
      const clean = await run({ ...cfg, byzantine: 0 });
      const attacked = await run({ ...cfg, byzantine: s, attack, placement });
      const label = `n=${n} s=${s} r=${r} ${attack}/${placement} seed=${cfg.seed}`;
      assert.equal(attacked.paramsSha256, clean.paramsSha256, label);
      assert.equal(attacked.decoderFailures, 0, label);
      assert.equal(attacked.totalByzantineSlots, 6 * s, label);
      assert.equal(attacked.totalSuspectsFlagged, attacked.totalByzantineSlots, label);
    }
  });
});

describe('the attacks are real', () => {
  test('uncoded mean with 2 reverse-gradient workers fails to train; the same run without them learns', async () => {
    const base = { scheme: 'uncoded', aggregator: 'mean', workers: 15, steps: 40, evalEvery: 0, seed: 1 };
    const clean = await run({ ...base, byzantine: 0 });
    const attacked = await run({ ...base, byzantine: 2, attack: 'reverse', placement: 'fixed' });
    assert.ok(clean.finalTestAccuracy > 0.85, `clean accuracy ${clean.finalTestAccuracy}`);
    const diverged = !Number.isFinite(attacked.finalTestLoss) || attacked.finalTestLoss > 10;
    assert.ok(
      attacked.finalTestAccuracy < 0.2 || diverged,
      `attacked accuracy ${attacked.finalTestAccuracy}, loss ${attacked.finalTestLoss}`,
    );
  });
});
