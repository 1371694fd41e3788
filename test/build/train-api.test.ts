/**
 * The library's `train()` with the user's objects in place of names: a rule object, an attack
 * object, a Dataset, a TrainableModel and a tfjs LayersModel, each checked against the named run
 * it stands for (same bytes) or against what it must refuse.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  createAggregator,
  createAttack,
  createPlacement,
  createScheme,
  datasetFromArrays,
  getModelDef,
  initBackend,
  loadDataset,
  tf,
  train,
  UsageError,
  type Aggregator,
  type Attack,
  type Placement,
  type SchemeOptions,
  type TrainOptions,
} from '../../src/index.js';

const BASE: TrainOptions = {
  dataset: 'synthetic',
  model: 'mlp',
  workers: 5,
  byzantine: 1,
  batch: 40,
  steps: 5,
  evalEvery: 0,
  placement: 'fixed',
};

describe('train() takes objects where the config takes names', () => {
  test('a rule object gives the same model as its spec; a different rule does not', async () => {
    const named = await train({ ...BASE, scheme: 'uncoded', aggregator: 'median' });
    const median = createAggregator('median');
    let calls = 0;
    const counted: Aggregator = {
      name: 'my-median',
      description: 'median, counted',
      precondition: (n, f) => median.precondition(n, f),
      aggregate(inputs, ctx) {
        calls++;
        return median.aggregate(inputs, ctx);
      },
    };
    const object = await train({ ...BASE, scheme: 'uncoded', aggregator: counted });
    assert.equal(calls, BASE.steps);
    assert.equal(object.summary.paramsSha256, named.summary.paramsSha256);
    assert.equal(object.summary.config.aggregator, 'my-median');
    const mean = await train({ ...BASE, scheme: 'uncoded', aggregator: 'mean' });
    assert.notEqual(mean.summary.paramsSha256, named.summary.paramsSha256);
  });

  test("a rule object's precondition is checked like ours", async () => {
    const never: Aggregator = {
      name: 'never',
      description: '',
      precondition: (n, f) => `never works (n = ${n}, f = ${f})`,
      aggregate: () => new Float64Array(0),
    };
    await assert.rejects(train({ ...BASE, scheme: 'uncoded', aggregator: never }), (e: unknown) => {
      assert.ok(e instanceof UsageError);
      assert.match(e.message, /never works \(n = 5, f = 1\)/);
      return true;
    });
  });

  test('an attack object gives the same model as its spec', async () => {
    const named = await train({ ...BASE, scheme: 'uncoded', aggregator: 'mean', attack: 'gaussian:sigma=3' });
    const object = await train({
      ...BASE,
      scheme: 'uncoded',
      aggregator: 'mean',
      attack: createAttack('gaussian:sigma=3'),
    });
    assert.equal(object.summary.paramsSha256, named.summary.paramsSha256);
    assert.equal(object.summary.config.attack, 'gaussian:sigma=3');
  });

  test('an unregistered attack object runs in-process and is refused for worker processes', async () => {
    let seen = 0;
    const zero: Attack = {
      name: 'my-zero',
      omniscient: false,
      corrupt(ctx) {
        seen++;
        return ctx.own.map(() => 0);
      },
    };
    const r = await train({ ...BASE, scheme: 'repetition', redundancy: 5, attack: zero });
    assert.equal(seen, BASE.steps); // one Byzantine worker per step
    const clean = await train({ ...BASE, scheme: 'repetition', redundancy: 5, attack: 'none' });
    assert.equal(r.summary.paramsSha256, clean.summary.paramsSha256);
    await assert.rejects(
      train({ ...BASE, scheme: 'repetition', redundancy: 5, attack: zero, engine: 'local' }),
      /attack 'my-zero' is an object of this process; worker processes build attacks by name: register it in a plugin/,
    );
  });

  test('a Dataset object gives the same model as the named dataset', async () => {
    const ds = loadDataset('synthetic', { seed: 1 });
    const copy = datasetFromArrays({
      name: 'my-data',
      inputShape: ds.inputShape,
      numClasses: ds.numClasses,
      train: { x: new Float32Array(ds.train.x), y: Array.from(ds.train.y) },
      test: { x: new Float32Array(ds.test.x), y: Array.from(ds.test.y) },
    });
    const named = await train({ ...BASE, seed: 1 });
    const object = await train({ ...BASE, seed: 1, dataset: copy });
    assert.equal(object.summary.paramsSha256, named.summary.paramsSha256);
    assert.equal(object.summary.config.dataset, 'my-data');
  });

  test('a TrainableModel object is trained in place and returned', async () => {
    const ds = loadDataset('synthetic', { seed: 1 });
    await initBackend('wasm');
    const model = getModelDef('mlp').create(ds.inputShape, ds.numClasses, 1);
    try {
      const named = await train({ ...BASE, seed: 1 });
      const object = await train({ ...BASE, seed: 1, model });
      assert.equal(object.summary.paramsSha256, named.summary.paramsSha256);
      assert.equal(object.model, model);
      assert.deepEqual(model.getParams(), object.params);
    } finally {
      model.dispose();
    }
  });

  test('a tfjs LayersModel trains, exactly, under the repetition code', async () => {
    await initBackend('wasm');
    const make = () =>
      tf.sequential({
        layers: [
          tf.layers.dense({
            inputShape: [32],
            units: 8,
            activation: 'relu',
            kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
          }),
          tf.layers.dense({ units: 4, kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }),
        ],
      });
    const opts: TrainOptions = {
      ...BASE,
      byzantine: 2,
      workers: 5,
      scheme: 'repetition',
      redundancy: 5,
      steps: 8,
      lr: 0.3, // a model of the user's gets 0.05 unless told
    };
    const m1 = make();
    const m2 = make();
    try {
      const attacked = await train({ ...opts, model: m1, attack: 'reverse:c=100' });
      const clean = await train({ ...opts, model: m2, attack: 'none' });
      assert.equal(attacked.summary.paramsSha256, clean.summary.paramsSha256);
      assert.ok(attacked.summary.finalTestAccuracy > 0.5, `accuracy ${attacked.summary.finalTestAccuracy}`);
      assert.equal(attacked.summary.numParams, 32 * 8 + 8 + 8 * 4 + 4);
      assert.ok(attacked.summary.config.tfjsModel !== undefined);
    } finally {
      m1.dispose();
      m2.dispose();
    }
  });

  test('a model that does not fit the data is one line', async () => {
    await initBackend('wasm');
    const m = tf.sequential({ layers: [tf.layers.dense({ inputShape: [7], units: 4 })] });
    try {
      await assert.rejects(train({ ...BASE, model: m }), (e: unknown) => {
        assert.ok(e instanceof UsageError);
        assert.match(e.message, /\[7\].*\[32\]|\[32\].*\[7\]/);
        return true;
      });
    } finally {
      m.dispose();
    }
  });

  test('a Placement object and a scheme definition stand in for their names', async () => {
    const opts: TrainOptions = {
      ...BASE,
      byzantine: 2,
      scheme: 'repetition',
      redundancy: 5,
      attack: 'reverse',
    };
    const named = await train({ ...opts, placement: 'fixed' });
    const asked: number[] = [];
    const fixed = createPlacement('fixed', { n: 5, s: 2, seed: 1 });
    const placement: Placement = {
      name: 'my-fixed',
      byzantineAt(step) {
        asked.push(step);
        return fixed.byzantineAt(step);
      },
    };
    const withPlacement = await train({ ...opts, placement });
    assert.deepEqual(asked, [0, 1, 2, 3, 4]);
    assert.equal(withPlacement.summary.paramsSha256, named.summary.paramsSha256);
    assert.equal(withPlacement.summary.totalByzantineSlots, 10);
    let built = 0;
    const scheme = {
      name: 'my-repetition',
      description: 'the repetition code, counted',
      create(o: SchemeOptions) {
        built++;
        return createScheme('repetition', o);
      },
    };
    const withScheme = await train({ ...opts, placement: 'fixed', scheme });
    assert.equal(built, 1);
    assert.equal(withScheme.summary.paramsSha256, named.summary.paramsSha256);
    await assert.rejects(
      train({ ...opts, scheme, engine: 'local' }),
      /scheme 'my-repetition' is an object of this process; worker processes build schemes by name/,
    );
  });

  test('objects of the wrong shape are refused by name', async () => {
    await assert.rejects(
      train({ ...BASE, aggregator: {} as Aggregator }),
      /aggregator: expected a spec string or an object/,
    );
    await assert.rejects(
      train({ ...BASE, attack: {} as Attack }),
      /attack: expected a spec string or an object with corrupt/,
    );
  });
});
