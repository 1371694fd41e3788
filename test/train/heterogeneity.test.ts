/**
 * Heterogeneous data and the exact schemes (docs/data.md "Heterogeneous data"): `--partition iid`
 * is today's schedule bit for bit; under dirichlet:alpha=0.1 the repetition code still trains the
 * adversary-free model bit for bit, and the cyclic code decodes every step's honest sum to 1e-9
 * and ends within 1e-5 of the adversary-free parameters, although the honest gradients now differ
 * widely from partition to partition.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Rng } from '../../src/core/rng.js';
import { resolveConfig, type TrainConfigInput } from '../../src/build/config.js';
import { buildContext } from '../../src/build/components.js';
import { train } from '../../src/build/train.js';
import { computeMessages } from '../../src/cluster/worker-step.js';
import { gatherBatch } from '../../src/data/batch.js';
import type { Partitioner } from '../../src/data/partition/types.js';
import { UsageError } from '../../src/core/errors.js';

const README = fileURLToPath(new URL('../../../README.md', import.meta.url));

const run = async (cfg: TrainConfigInput) => (await train(cfg)).summary;

/** ||a - b|| / ||b||. */
function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / den);
}

describe('partition iid', () => {
  test('the default job with --partition iid gives the params sha256 README prints (recorded before partitioners existed)', async () => {
    const printed = /params sha256\s+([0-9a-f]{8})\.\.\./.exec(readFileSync(README, 'utf8'));
    assert.ok(printed, "README's default-job summary shows its params sha256");
    const s = await run({ partition: 'iid' });
    // The whole hash of the default job at commit 81ddf12, the last one without partitioners.
    assert.equal(s.paramsSha256, '82ea2efe89fc5f64ac34ea78f66a88740ce7dc2b0a1882eb43b2f642eb82dd44');
    assert.ok(s.paramsSha256.startsWith(printed[1]));
  });
});

describe('dirichlet:alpha=0.1, n = 15, s = 2', () => {
  const base = {
    workers: 15,
    steps: 40,
    evalEvery: 0,
    seed: 3,
    partition: 'dirichlet:alpha=0.1',
  } satisfies TrainConfigInput;

  test('the honest partition gradients spread far more than under iid', async (t) => {
    const spread = async (partition: string) => {
      const ctx = await buildContext(resolveConfig({ ...base, partition }), 'ps');
      try {
        const grads = ctx.schedule.partitions(0).map((ids) => {
          const b = gatherBatch(ctx.dataset, ctx.dataset.train, ids);
          return ctx.model.gradient(b).grad;
        });
        const mean = new Float64Array(grads[0].length);
        for (const g of grads) for (let i = 0; i < g.length; i++) mean[i] += g[i] / grads.length;
        return grads.reduce((a, g) => a + relDiff(g, mean), 0) / grads.length;
      } finally {
        ctx.model.dispose();
      }
    };
    const [iid, skewed] = [await spread('iid'), await spread('dirichlet:alpha=0.1')];
    t.diagnostic(
      `mean relative distance to the mean gradient: iid ${iid.toFixed(3)}, alpha 0.1 ${skewed.toFixed(3)}`,
    );
    assert.ok(
      skewed > 1.5 * iid,
      `mean distance to the mean gradient, relative: iid ${iid}, alpha 0.1 ${skewed}`,
    );
  });

  test('repetition: with 2 Byzantine workers (alie, reverse), bitwise the adversary-free model', async () => {
    const clean = await run({ ...base, scheme: 'repetition', byzantine: 2, attack: 'none' });
    assert.ok(clean.finalTestAccuracy > 0.5, `the clean run learns: ${clean.finalTestAccuracy}`);
    for (const attack of ['alie', 'reverse']) {
      const attacked = await run({ ...base, scheme: 'repetition', byzantine: 2, attack });
      assert.equal(attacked.paramsSha256, clean.paramsSha256, attack);
      assert.equal(attacked.totalSuspectsFlagged, attacked.totalByzantineSlots, attack);
    }
  });

  test("cyclic: every step's decode is the honest sum within 1e-9 relative, under alie", async (t) => {
    const config = resolveConfig({ ...base, scheme: 'cyclic', byzantine: 2, attack: 'alie' });
    const ctx = await buildContext(config, 'ps');
    try {
      const params = ctx.model.getParams();
      const rng = Rng.derive(7, 'byzantine');
      let worst = 0;
      for (let step = 0; step < 6; step++) {
        const byzantine = rng.sample(15, 2);
        const ranks = Array.from({ length: 15 }, (_, w) => w);
        const { outputs } = computeMessages(ctx, ranks, step, params, byzantine);
        const partitions = ctx.schedule.partitions(step);
        const decoded = ctx.scheme.decode(
          outputs.map((o) => o.message),
          { step, partitionSizes: partitions.map((p) => p.length), rng: Rng.derive(1, 'ps', step) },
        );
        const honest = new Float64Array(ctx.model.numParams);
        ctx.model.setParams(params);
        for (const ids of partitions) {
          const g = ctx.model.gradient(gatherBatch(ctx.dataset, ctx.dataset.train, ids)).grad;
          for (let i = 0; i < g.length; i++) honest[i] += g[i];
        }
        const err = relDiff(decoded.gradient, honest);
        assert.ok(err < 1e-9, `step ${step} (Byzantine ${byzantine}): relative error ${err}`);
        worst = Math.max(worst, err);
        assert.deepEqual(
          [...decoded.suspects].sort((a, b) => a - b),
          byzantine,
          `step ${step}`,
        );
      }
      t.diagnostic(`largest relative error of a decoded step: ${worst.toExponential(2)}`);
    } finally {
      ctx.model.dispose();
    }
  });

  test('cyclic: with 2 Byzantine workers (alie), final params within 1e-5 relative of the adversary-free run', async (t) => {
    const cfg = { ...base, scheme: 'cyclic', byzantine: 2 };
    const clean = await train({ ...cfg, attack: 'none' });
    const attacked = await train({ ...cfg, attack: 'alie' });
    const d = relDiff(attacked.params, clean.params);
    t.diagnostic(`relative parameter difference after ${cfg.steps} steps: ${d.toExponential(2)}`);
    assert.ok(d < 1e-5, `relative parameter difference ${d}`);
    assert.ok(
      clean.summary.finalTestAccuracy > 0.5,
      `the clean run learns: ${clean.summary.finalTestAccuracy}`,
    );
  });
});

describe('every engine', () => {
  test('dirichlet and shards on the local engine (worker processes) give the in-process model', async () => {
    for (const partition of ['dirichlet:alpha=0.3', 'shards:k=2']) {
      const cfg = {
        dataset: 'synthetic',
        workers: 5,
        byzantine: 1,
        steps: 8,
        evalEvery: 0,
        seed: 2,
        partition,
      };
      const local = await run({ ...cfg, engine: 'local' });
      const inproc = await run(cfg);
      assert.equal(local.paramsSha256, inproc.paramsSha256, partition);
    }
  });
});

describe('partitioners from the API', () => {
  test("a user's Partitioner object lays out the data in-process; process engines need it registered", async () => {
    // Every partition gets the samples of one parity of its index: a layout no spec names.
    const parity: Partitioner = {
      name: 'parity',
      shards: ({ labels, batchSizes }) =>
        batchSizes.map((_, j) =>
          Int32Array.from(
            Array.from({ length: labels.length }, (_, i) => i).filter(
              (i) => i % batchSizes.length === j && labels[i] % 2 === j % 2,
            ),
          ),
        ),
    };
    const cfg = { dataset: 'synthetic', workers: 4, byzantine: 1, steps: 3, evalEvery: 0 } as const;
    const out = await train({ ...cfg, partition: parity });
    assert.equal(out.summary.config.partition, 'parity');
    const named = await train({ ...cfg, partition: 'iid' });
    assert.notEqual(out.summary.paramsSha256, named.summary.paramsSha256);
    await assert.rejects(
      train({ ...cfg, partition: parity, engine: 'local' }),
      (e: Error) =>
        e instanceof UsageError && /partition 'parity' is an object of this process/.test(e.message),
    );
  });
});
