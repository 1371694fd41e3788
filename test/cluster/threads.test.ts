/**
 * The in-process engine on task threads (src/cluster/inprocess.ts, task-pool.ts): the model is
 * bitwise the one-thread model whatever the scheme and attack, threads really compute tasks, a lazy
 * pool joins mid-run without changing the bits, and what cannot run on threads is refused in one
 * line (objects of this process, process engines, a thread that builds other data); a thread that
 * fails mid-run fails the run instead of hanging it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { InProcessEngine, lazyStart } from '../../src/cluster/inprocess.js';
import type { Engine } from '../../src/cluster/types.js';
import { datasetFromArrays, loadDataset, train, UsageError, type TrainOptions } from '../../src/index.js';
import { buildContext } from '../../src/build/components.js';
import { resolveConfig, type TrainConfigInput } from '../../src/build/config.js';
import { stepTasks } from '../../src/cluster/worker-step.js';
import { tempDir } from '../tmp.js';

const BIN = fileURLToPath(new URL('../../../bin/draco.js', import.meta.url));

const BASE: TrainOptions = {
  dataset: 'synthetic',
  model: 'mlp',
  workers: 7,
  byzantine: 2,
  batch: 70,
  steps: 6,
  evalEvery: 0,
  placement: 'fixed',
};

/**
 * A run, with the threads the engine computed on at each step. `settleAt`: before that step, give
 * a pool that is starting up to 60 s to come up (so that a test does not race the start).
 */
async function run(opts: TrainOptions, settleAt = -1) {
  const threads: number[] = [];
  const losses: number[] = [];
  const r = await train(opts, {
    onStep: (rec) => void losses.push(rec.trainLoss),
    wrapEngine: (engine: Engine) => ({
      name: engine.name,
      close: () => engine.close(),
      runStep: async (req) => {
        const e = engine as InProcessEngine;
        for (let t = 0; req.step === settleAt && e.poolStarting && t < 600; t++)
          await new Promise((resolve) => setTimeout(resolve, 100));
        const out = await engine.runStep(req);
        threads.push((engine as InProcessEngine).activeThreads);
        return out;
      },
    }),
  });
  return { sha: r.summary.paramsSha256, losses, threads };
}

/** `threads: auto` as two threads, started after the first step (the start's threshold at 0). */
async function withLazyTwoThreads(fn: () => Promise<void>): Promise<void> {
  const saved = { ms: lazyStart.ms, env: process.env.DRACO_THREADS };
  lazyStart.ms = 0;
  process.env.DRACO_THREADS = '2';
  try {
    await fn();
  } finally {
    lazyStart.ms = saved.ms;
    if (saved.env === undefined) delete process.env.DRACO_THREADS;
    else process.env.DRACO_THREADS = saved.env;
  }
}

describe('task threads: the one-thread model, bit for bit', () => {
  const cases: [string, TrainOptions][] = [
    ['uncoded + krum under alie (omniscient)', { scheme: 'uncoded', aggregator: 'krum', attack: 'alie' }],
    [
      'cyclic (a task per partition, float64 messages)',
      { scheme: 'cyclic', byzantine: 1, attack: 'reverse' },
    ],
    [
      'repetition under labelflip (poisoned tasks)',
      { scheme: 'repetition', redundancy: 3, byzantine: 1, attack: 'labelflip' },
    ],
    ['detox', { scheme: 'detox', workers: 9, byzantine: 1, attack: 'constant' }],
  ];
  for (const [name, extra] of cases) {
    test(name, async () => {
      const one = await run({ ...BASE, ...extra, threads: 1 });
      const two = await run({ ...BASE, ...extra, threads: 2 });
      assert.deepEqual(one.threads, [1, 1, 1, 1, 1, 1]);
      assert.deepEqual(two.threads, [2, 2, 2, 2, 2, 2]);
      assert.equal(two.sha, one.sha);
      assert.deepEqual(two.losses, one.losses); // the train loss sums the same tasks in the same order
    });
  }

  test('a lazy pool (threads: auto) joins after the first step; same model', async () => {
    await withLazyTwoThreads(async () => {
      const opts: TrainOptions = { ...BASE, scheme: 'uncoded', aggregator: 'median', steps: 8 };
      const lazy = await run({ ...opts, threads: 'auto' }, 4);
      const one = await run({ ...opts, threads: 1 });
      assert.equal(lazy.threads[0], 1, 'the first step runs before any pool is asked for');
      assert.deepEqual(
        lazy.threads.slice(4),
        [2, 2, 2, 2],
        `the pool never joined: ${lazy.threads.join(',')}`,
      );
      assert.equal(lazy.sha, one.sha);
    });
  });
});

describe('scheme.tasks: what encode asks for', () => {
  test('every built-in scheme declares exactly the tasks its encode asks for, in order', async () => {
    for (const [scheme, extra] of [
      ['uncoded', {}],
      ['repetition', { redundancy: 3, byzantine: 1 }],
      ['detox', { workers: 9, byzantine: 1 }],
      ['cyclic', { byzantine: 1 }],
      ['solon', { byzantine: 1, compression: 2, workers: 8 }],
    ] as const) {
      const config = resolveConfig({ ...BASE, scheme, attack: 'labelflip', ...extra } as TrainConfigInput);
      const ctx = await buildContext(config, 'ps');
      try {
        assert.ok(ctx.scheme.tasks, `${scheme} declares no tasks`);
        const ranks = Array.from({ length: ctx.scheme.n }, (_, i) => i);
        const byz = [0, ctx.scheme.n - 1];
        const declared = stepTasks(ctx, ranks, byz);
        // The same scheme without its declaration: stepTasks runs encode against zeros.
        const bare = { ...ctx, scheme: { ...ctx.scheme, tasks: undefined } };
        assert.deepEqual(declared, stepTasks(bare, ranks, byz), scheme);
      } finally {
        ctx.model.dispose();
      }
    }
  });
});

describe('task threads: what they cannot run is refused', () => {
  test('a dataset object under threads: 2 is one UsageError; under auto the run stays in one thread', async () => {
    const syn = loadDataset('synthetic', { seed: 1 });
    const dataset = datasetFromArrays({
      name: 'mine',
      inputShape: syn.inputShape,
      train: syn.train,
      test: syn.test,
    });
    const opts: TrainOptions = { ...BASE, dataset, scheme: 'uncoded', aggregator: 'mean' };
    await assert.rejects(train({ ...opts, threads: 2 }), (e: unknown) => {
      assert.ok(e instanceof UsageError);
      assert.match(
        e.message,
        /^threads: dataset 'mine' is an object of this process; threads load data by name/,
      );
      return true;
    });
    await withLazyTwoThreads(async () => {
      const r = await run({ ...opts, threads: 'auto' }, 3);
      assert.ok(
        r.threads.every((t) => t === 1),
        r.threads.join(','),
      );
    });
  });

  const tmp = tempDir('draco-threads-');
  // A dataset that loads differently off the main thread, and an attack that throws there.
  const plugin = join(tmp, 'plugin.mjs');
  writeFileSync(
    plugin,
    `import { isMainThread } from 'node:worker_threads';
export default function register(api) {
  api.registerDataset({
    name: 'drifting',
    description: 'fewer samples off the main thread (test)',
    load: () => {
      const n = isMainThread ? 64 : 48;
      const x = new Float32Array(n * 4).map((_, i) => Math.sin(i));
      const y = Int32Array.from({ length: n }, (_, i) => i % 2);
      return { name: 'drifting', inputShape: [4], numClasses: 2, train: { n, x, y }, test: { n, x, y } };
    },
  });
  api.registerAttack({
    name: 'thread-bomb',
    description: 'poisons labels; throws off the main thread (test)',
    defaults: {},
    create: () => ({
      name: 'thread-bomb',
      omniscient: false,
      poisonLabels(y) {
        if (!isMainThread) throw new Error('thread-bomb went off');
        return y;
      },
      corrupt: (ctx) => ctx.own,
    }),
  });
}
`,
  );
  const draco = (args: string[]) => {
    const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
    return { code: r.status, stderr: r.stderr };
  };
  const RUN = ['train', '--plugin', plugin, '--model', 'mlp', '--steps', '3', '--eval-every', '0', '--quiet'];

  test('threads with a process engine: one line, exit 2', () => {
    const r = draco([...RUN, '--dataset', 'synthetic', '--engine', 'local', '--threads', '2']);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      "draco: threads: only the in-process engine runs threads (engine 'local' runs one process per worker)\n",
    );
  });

  test('a thread that builds other data is refused at the start: one line, exit 2', () => {
    const r = draco([
      ...RUN,
      '--dataset',
      'drifting',
      '--workers',
      '4',
      '--byzantine',
      '1',
      '--batch',
      '8',
      '--threads',
      '2',
    ]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /^draco: threads: a task thread built a different run \(.*48 training samples.*this thread: .*64 training samples.*\(--threads 1 computes every task in this thread\)\n$/,
    );
  });

  test('a thread that fails mid-run fails the run with its error (no hang, no model)', () => {
    const r = draco([
      ...RUN,
      '--dataset',
      'synthetic',
      '--scheme',
      'uncoded',
      '--workers',
      '4',
      '--byzantine',
      '3', // of 4: whatever the placement, a poisoned task is shared out to the thread
      '--attack',
      'thread-bomb',
      '--threads',
      '2',
    ]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /task thread: thread-bomb went off/);
  });
});
