/**
 * The process engines against the in-process engine: same seed -> same paramsSha256; a worker
 * killed with SIGKILL is an erasure the repetition code absorbs; a fuzzed PS refuses and counts
 * every bad frame; a killed PS resumes from its checkpoint to the same model; no worker process
 * outlives its run.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

import { join } from 'node:path';
import { describe, test } from 'node:test';
import { randomBytes } from 'node:crypto';
import { LocalEngine } from '../../src/cluster/local.js';
import { buildMessage, Dtype, MsgType } from '../../src/cluster/protocol.js';
import { Peer, workerKey } from './peer.js';
import { alive, BIN, childrenOf, reaper, waitFor } from './procs.js';
import type { Engine } from '../../src/cluster/types.js';
import { readCheckpoint } from '../../src/train/checkpoint.js';
import { resolveConfig, type TrainConfigInput } from '../../src/build/config.js';
import { train } from '../../src/build/train.js';
import { type StepRecord } from '../../src/train/loop.js';
import { tempDir } from '../tmp.js';

const tmp = tempDir('draco-cluster-');
const spawned = reaper();

const base: TrainConfigInput = {
  dataset: 'synthetic',
  workers: 6,
  byzantine: 1,
  steps: 5,
  batch: 60,
  evalEvery: 0,
  seed: 3,
};

async function run(extra: TrainConfigInput, hooks: Parameters<typeof train>[1] = {}) {
  const records: StepRecord[] = [];
  let engine: Engine | undefined;
  const r = await train(resolveConfig({ ...base, ...extra }), {
    async onStart(info) {
      engine = info.engine;
      if (info.engine instanceof LocalEngine) spawned.push(...info.engine.pids);
      await hooks.onStart?.(info);
    },
    async onStep(rec) {
      records.push(rec);
      await hooks.onStep?.(rec);
    },
  });
  return { summary: r.summary, records, engine: engine! };
}

describe('process engines', { concurrency: false }, () => {
  // Also the repetition equality local == inprocess: a strictly harder case than a clean run.
  test('local == inprocess (repetition); SIGKILL of a worker mid-run is an erasure, model unchanged; no orphans', async () => {
    // One group of 6 (r = 5 >= 2s + 1): 1 Byzantine + 1 dead still leaves a strict majority of 4.
    const cfg = { scheme: 'repetition', redundancy: 5, attack: 'reverse', steps: 6 };
    const clean = await run({ ...cfg, engine: 'inprocess' });
    const victim = 4;
    let engine: LocalEngine | undefined;
    const b = await run(
      { ...cfg, engine: 'local' },
      {
        onStart: (i) => {
          engine = i.engine as LocalEngine;
        },
        onStep: async (rec) => {
          if (rec.step !== 1) return;
          const pid = engine!.pids[victim];
          process.kill(pid, 'SIGKILL');
          await waitFor(() => !alive(pid), 5000);
        },
      },
    );
    assert.deepEqual(
      b.records.map((r) => r.erasures),
      [[], [], [victim], [victim], [victim], [victim]],
    );
    assert.equal(b.summary.abortedSteps, 0);
    assert.equal(b.summary.paramsSha256, clean.summary.paramsSha256);
    assert.deepEqual(
      b.records.map((r) => r.trainLoss),
      clean.records.map((r) => r.trainLoss),
    );
    assert.deepEqual(
      b.records.map((r) => r.byzantine),
      clean.records.map((r) => r.byzantine),
    );
    // Messages really crossed the wire: the documented 48-byte header, the payload, and the
    // 28-byte MAC frame (12-byte nonce, 16-byte GMAC tag) per worker per step.
    assert.equal(b.records[0].time.bytesSent[0], 48 + clean.records[0].time.bytesSent[0] + 28);
    assert.equal(b.records[3].time.bytesSent[victim], 0);
    const pids = engine!.pids;
    assert.equal(pids.length, 6);
    assert.ok(
      pids.every((p) => !alive(p)),
      'a worker process outlived the run',
    );
  });

  test('fuzz: 10,000 malformed, forged, replayed and handshake frames during training; outsiders refused', async () => {
    const cfg = { scheme: 'uncoded', aggregator: 'median', attack: 'gaussian', steps: 6 };
    const clean = await run({ ...cfg, engine: 'inprocess' });
    const N = 10_000;
    let engine: LocalEngine | undefined;
    let fuzzing: Promise<FuzzCounts> | undefined;
    let counts: FuzzCounts | undefined;
    const refused = () =>
      [...engine!.rejectedTotals]
        .filter(([k]) => !k.startsWith('handshake refused'))
        .reduce((a, [, v]) => a + v, 0);
    const b = await run(
      { ...cfg, engine: 'local' },
      {
        onStart: (i) => {
          engine = i.engine as LocalEngine;
          fuzzing = fuzz(engine, N);
        },
        onStep: async (rec) => {
          if (rec.step !== 3) return;
          counts = await fuzzing;
          assert.ok(
            await waitFor(() => refused() >= counts!.bad, 20_000),
            `only ${refused()} of ${counts!.bad} counted`,
          );
        },
      },
    );
    // Every frame the insider sent is accounted for: refused by reason, or a HELLO answered with
    // a challenge that led nowhere. No session was opened or taken.
    assert.equal(counts!.bad + counts!.hellos, N);
    assert.equal(refused(), counts!.bad);
    assert.equal(engine!.handshakeTotals.challenges, 6 + counts!.hellos);
    assert.equal(engine!.handshakeTotals.sessions, 6);
    assert.equal(engine!.handshakeTotals.evictions, 0);
    const totals = Object.fromEntries(engine!.rejectedTotals);
    for (const reason of [
      'bad mac',
      'bad magic',
      'bad version',
      'bad frame count',
      'oversize',
      'bad length field',
      'unknown rank',
      'not authenticated',
      'stale auth',
      'handshake refused: key not in the run',
    ])
      assert.ok((totals[reason] ?? 0) > 0, `no '${reason}' in ${JSON.stringify(totals)}`);
    // ... and every refusal is in the step records (the fuzz ended before the last step).
    const inRecords = b.records.reduce(
      (a, r) =>
        a +
        Object.entries(r.rejectedFrames ?? {})
          .filter(([k]) => !k.startsWith('handshake refused'))
          .reduce((x, [, y]) => x + y, 0),
      0,
    );
    assert.equal(inRecords, counts!.bad);
    assert.deepEqual(
      b.records.map((r) => r.erasures),
      clean.records.map(() => []),
    );
    assert.equal(b.summary.paramsSha256, clean.summary.paramsSha256);
  });

  test('PS killed with SIGKILL, then --resume: same final params as an uninterrupted run', async () => {
    const args = [
      'train',
      '--dataset',
      'synthetic',
      '--workers',
      '4',
      '--byzantine',
      '1',
      '--redundancy',
      '3',
      '--batch',
      '60',
      '--eval-every',
      '0',
      '--steps',
      '24',
      '--seed',
      '5',
      '--quiet',
    ];
    const whole = join(tmp, 'whole');
    const r0 = spawnSync(process.execPath, [BIN, ...args, '--out', whole], { encoding: 'utf8' });
    assert.equal(r0.status, 0, r0.stderr);
    const wholeSummary = JSON.parse(readFileSync(join(whole, 'summary.json'), 'utf8'));
    const want = wholeSummary.paramsSha256;
    // The model's size from the uninterrupted run, not from the checkpoint under test.
    const numParams: number = wholeSummary.numParams;

    const dir = join(tmp, 'crashed');
    const ps = spawn(
      process.execPath,
      [BIN, ...args, '--engine', 'local', '--checkpoint-every', '3', '--out', dir],
      { stdio: 'ignore' },
    );
    spawned.push(ps.pid!);
    const ck = join(dir, 'checkpoint.bin');
    assert.ok(await waitFor(() => existsSync(ck), 60_000), 'no checkpoint written');
    const workers = childrenOf(ps.pid!);
    spawned.push(...workers);
    ps.kill('SIGKILL');
    const at = readCheckpoint(dir, numParams).meta.step;
    assert.ok(at < 24, `the run finished before the PS was killed (checkpoint at ${at})`);
    assert.ok(workers.length === 4, `expected 4 workers, found ${workers.length}`);
    // Workers notice their parent died and exit: no orphans.
    assert.ok(await waitFor(() => workers.every((p) => !alive(p)), 5000), 'orphan workers');

    const r1 = spawnSync(
      process.execPath,
      [BIN, ...args, '--engine', 'local', '--resume', dir, '--out', join(tmp, 'resumed')],
      { encoding: 'utf8' },
    );
    assert.equal(r1.status, 0, r1.stderr);
    const got = JSON.parse(readFileSync(join(tmp, 'resumed', 'summary.json'), 'utf8'));
    assert.equal(got.paramsSha256, want);
    const lines = readFileSync(join(tmp, 'resumed', 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n');
    // The new folder holds the whole run: the records before the checkpoint, copied, then the rest.
    assert.deepEqual(
      lines.map((l) => JSON.parse(l).step),
      Array.from({ length: 24 }, (_, i) => i),
    );
  });
});

describe('SIGINT/SIGTERM', () => {
  test('SIGTERM: finish the step, final checkpoint, exit 2; --resume gives the uninterrupted model', async () => {
    const opts = {
      dataset: 'synthetic',
      workers: 3,
      byzantine: 1,
      batch: 48,
      evalEvery: 0,
      seed: 2,
      steps: 300,
    };
    const { summary: ref } = await train(resolveConfig(opts));
    const want = ref.paramsSha256;
    const args = [
      'train',
      '--dataset',
      'synthetic',
      '--workers',
      '3',
      '--byzantine',
      '1',
      '--batch',
      '48',
      '--eval-every',
      '0',
      '--seed',
      '2',
      '--steps',
      '300',
      '--quiet',
    ];
    const dir = join(tmp, 'sigterm');
    const child = spawn(process.execPath, [BIN, ...args, '--checkpoint-every', '1000', '--out', dir], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    spawned.push(child.pid!);
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const metrics = join(dir, 'metrics.jsonl');
    assert.ok(await waitFor(() => existsSync(metrics) && readFileSync(metrics, 'utf8').length > 0, 60_000));
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    assert.equal(code, 2, err);
    assert.match(err, /stopped by SIGTERM after step \d+; resume with --resume/);
    const at = readCheckpoint(dir, ref.numParams).meta.step;
    assert.ok(at > 0 && at < 300, `checkpoint at ${at}`);
    const r = spawnSync(process.execPath, [BIN, ...args, '--resume', dir, '--out', join(tmp, 'sigterm2')], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(readFileSync(join(tmp, 'sigterm2', 'summary.json'), 'utf8')).paramsSha256, want);
  });
});

describe('Ctrl-C with --engine local', () => {
  test('SIGINT to the PS stops the run and every worker process with it', async () => {
    const ps = spawn(
      process.execPath,
      [
        BIN,
        'train',
        '--engine',
        'local',
        '--workers',
        '4',
        '--byzantine',
        '1',
        '--dataset',
        'synthetic',
        '--steps',
        '100000',
        '--quiet',
      ],
      { stdio: 'ignore' },
    );
    spawned.push(ps.pid!);
    assert.ok(await waitFor(() => childrenOf(ps.pid!).length === 4, 60_000), 'the 4 workers did not start');
    const workers = childrenOf(ps.pid!);
    spawned.push(...workers);
    const exited = new Promise<void>((r) => ps.once('exit', () => r()));
    ps.kill('SIGINT');
    await exited;
    assert.ok(await waitFor(() => workers.every((p) => !alive(p)), 5000), 'a worker outlived Ctrl-C');
  });
});

interface FuzzCounts {
  /** Frames the PS must refuse. */
  bad: number;
  /** Valid HELLOs (the PS answers each with a challenge that is never answered). */
  hellos: number;
}

/**
 * N frames from an insider holding rank 1's key (its CURVE key gets it to the PS) that never
 * completes a handshake: garbage, tampered and forged frames, valid HELLOs, stale AUTHs, frames
 * for unknown ranks or without a session, oversize frames. Meanwhile outsiders with keys of no
 * run try to connect. Each insider frame is refused exactly once or answered with a challenge.
 */
async function fuzz(engine: LocalEngine, N: number): Promise<FuzzCounts> {
  const key = workerKey(engine.keySet, 1);
  const insider = new Peer(engine.endpoint, key);
  const outsiders = [Peer.outsider(engine.endpoint, key), Peer.outsider(engine.endpoint, key)];
  const other = randomBytes(32);
  const hello = () => insider.hello();
  const tamper = (i: number, v: number) => () => {
    const m = hello();
    m[0] = Buffer.from(m[0]);
    m[0][i] = v;
    return m;
  };
  const makers: [bad: boolean, make: () => Buffer[]][] = [
    [true, () => [randomBytes(1 + Math.floor(Math.random() * 200))]],
    [true, () => [randomBytes(48), randomBytes(64), randomBytes(32)]],
    [true, () => buildMessage(other, { type: MsgType.HELLO, rank: 1 }, randomBytes(32))],
    [true, tamper(0, 0)],
    [true, tamper(4, 9)],
    [
      true,
      () => {
        const m = hello();
        m[2] = Buffer.from(m[2]);
        m[2][20] ^= 1;
        return m;
      },
    ],
    [true, () => buildMessage(key.rankKey, { type: MsgType.HELLO, rank: 99 }, randomBytes(32))],
    [
      true,
      () =>
        buildMessage(key.rankKey, { type: MsgType.AUTH, rank: 1, session: engine.session }, randomBytes(64)),
    ],
    [
      true,
      () =>
        buildMessage(
          key.rankKey,
          { type: MsgType.GRAD, dtype: Dtype.FLOAT32, rank: 1, session: engine.session },
          Buffer.alloc(64),
        ),
    ],
    // Beyond what an unauthenticated peer may send, below ZeroMQ's hard cap (which drops, not counts).
    [true, () => [Buffer.alloc(48), Buffer.alloc(20_000), Buffer.alloc(28)]],
    [
      true,
      () => {
        const m = hello();
        m[0] = Buffer.from(m[0]);
        m[0].writeUInt32LE(5, 16);
        return m;
      },
    ],
    [false, hello],
  ];
  const counts: FuzzCounts = { bad: 0, hellos: 0 };
  try {
    for (const o of outsiders) void o.send(o.hello()).catch(() => undefined);
    for (let i = 0; i < N; i++) {
      const [bad, make] = makers[i % makers.length];
      await insider.send(make());
      if (bad) counts.bad++;
      else counts.hellos++;
    }
    await waitFor(() => (engine.rejectedTotals.get('handshake refused: key not in the run') ?? 0) > 0, 5000);
    // Sent means queued: closing the socket (linger 0) before they leave would drop the rest.
    await waitFor(
      () =>
        [...engine.rejectedTotals]
          .filter(([k]) => !k.startsWith('handshake refused'))
          .reduce((a, [, v]) => a + v, 0) >= counts.bad && engine.handshakeTotals.challenges >= counts.hellos,
      30_000,
    );
  } finally {
    for (const p of [insider, ...outsiders]) await p.close();
  }
  return counts;
}
