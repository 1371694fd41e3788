/**
 * The process engines against the in-process engine: same seed -> same paramsSha256; a worker
 * killed with SIGKILL is an erasure the repetition code absorbs; a fuzzed PS refuses and counts
 * every bad frame; a killed PS resumes from its checkpoint to the same model; no worker process
 * outlives its run.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { Dealer } from 'zeromq';
import { ProcessEngine } from '../../src/cluster/process-engine.js';
import { HEADER_BYTES, MAC_BYTES, parseMessage, vecBytes } from '../../src/cluster/protocol.js';
import { createScheme } from '../../src/schemes/registry.js';
import { LocalEngine } from '../../src/cluster/local.js';
import { buildMessage, Dtype, MsgType } from '../../src/cluster/protocol.js';
import type { Engine } from '../../src/cluster/types.js';
import { readCheckpoint } from '../../src/cluster/checkpoint.js';
import { resolveConfig, type TrainConfigInput } from '../../src/experiment/config.js';
import { train, type StepRecord } from '../../src/train/loop.js';

const BIN = fileURLToPath(new URL('../../../bin/draco.js', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'draco-cluster-'));
const spawned: number[] = [];

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  return cond();
}

// Even when a test fails: no process of ours survives the file.
after(() => {
  for (const pid of spawned) if (alive(pid)) process.kill(pid, 'SIGKILL');
});

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
    // Messages really crossed the wire: header + payload + MAC per worker per step.
    assert.equal(
      b.records[0].time.bytesSent[0],
      HEADER_BYTES + clean.records[0].time.bytesSent[0] + MAC_BYTES,
    );
    assert.equal(HEADER_BYTES + MAC_BYTES, 48 + 12 + 16); // header, nonce, GMAC tag
    assert.equal(b.records[3].time.bytesSent[victim], 0);
    const pids = engine!.pids;
    assert.equal(pids.length, 6);
    assert.ok(
      pids.every((p) => !alive(p)),
      'a worker process outlived the run',
    );
  });

  test('fuzz: 10,000 malformed or unauthenticated frames during training are refused and counted', async () => {
    const cfg = { scheme: 'uncoded', aggregator: 'median', attack: 'gaussian', steps: 6 };
    const clean = await run({ ...cfg, engine: 'inprocess' });
    const N = 10_000;
    let engine: LocalEngine | undefined;
    let fuzzing: Promise<void> | undefined;
    const counted = () => [...engine!.rejectedTotals.values()].reduce((a, b) => a + b, 0);
    const b = await run(
      { ...cfg, engine: 'local' },
      {
        onStart: (i) => {
          engine = i.engine as LocalEngine;
          fuzzing = fuzz(engine, N);
        },
        onStep: async (rec) => {
          if (rec.step !== 5) return;
          await fuzzing;
          assert.ok(await waitFor(() => counted() >= N, 20_000), `only ${counted()} of ${N} counted`);
        },
      },
    );
    assert.equal(counted(), N);
    const totals = Object.fromEntries(engine!.rejectedTotals);
    for (const reason of [
      'bad mac',
      'bad magic',
      'bad version',
      'bad frame count',
      'oversize',
      'bad length field',
      'wrong session',
      'unknown rank',
      'rank not joined from this peer',
    ])
      assert.ok((totals[reason] ?? 0) > 0, `no '${reason}' in ${JSON.stringify(totals)}`);
    const inRecords = b.records.reduce(
      (a, r) => a + Object.values(r.rejectedFrames ?? {}).reduce((x, y) => x + y, 0),
      0,
    );
    assert.ok(inRecords > 0 && inRecords <= N);
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
    const want = JSON.parse(readFileSync(join(whole, 'summary.json'), 'utf8')).paramsSha256;

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
    const at = readCheckpoint(dir, readCheckpointParams(ck)).meta.step;
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
    assert.equal(JSON.parse(lines[0]).step, readCheckpoint(dir, readCheckpointParams(ck)).meta.step);
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
    const want = (await train(resolveConfig(opts))).summary.paramsSha256;
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
    const at = readCheckpoint(dir, readCheckpointParams(join(dir, 'checkpoint.bin'))).meta.step;
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

/** Number of parameters from the checkpoint's size (meta first). */
function readCheckpointParams(path: string): number {
  const b = readFileSync(path);
  const jl = b.readUInt32LE(8);
  const start = 12 + jl + ((4 - ((12 + jl) % 4)) % 4);
  return (b.length - start) / 8;
}

/** Child pids of `pid` (Linux /proc). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(d));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/**
 * N bad frames from two peers: garbage, tampered and forged frames (other secret), and
 * authenticated frames the PS must still refuse (wrong session, unknown rank, a rank that joined
 * from another peer). Each one is refused exactly once.
 */
async function fuzz(engine: LocalEngine, N: number): Promise<void> {
  const socks = [new Dealer({ linger: 0 }), new Dealer({ linger: 0 })];
  for (const s of socks) s.connect(engine.endpoint);
  const other = randomBytes(32);
  const good = () =>
    buildMessage(
      engine.secret,
      { type: MsgType.GRAD, dtype: Dtype.FLOAT32, rank: 1, step: 0, session: engine.session },
      Buffer.alloc(64),
    );
  const makers: (() => Buffer[])[] = [
    () => [randomBytes(1 + Math.floor(Math.random() * 200))],
    () => [randomBytes(48), randomBytes(64), randomBytes(32)],
    () => buildMessage(other, { type: MsgType.HELLO, rank: 0 }),
    () => {
      const m = good();
      m[1] = Buffer.concat([m[1], Buffer.alloc(4)]);
      return m;
    },
    () => {
      const m = good();
      m[0] = Buffer.from(m[0]);
      m[0][0] ^= 0xff;
      return m;
    },
    () => {
      const m = good();
      m[0] = Buffer.from(m[0]);
      m[0][4] = 9;
      return m;
    },
    () => {
      const m = good();
      m[2] = Buffer.from(m[2]);
      m[2][5] ^= 1;
      return m;
    },
    () => buildMessage(engine.secret, { type: MsgType.GRAD, dtype: Dtype.FLOAT32, rank: 2, session: 12345n }),
    () =>
      buildMessage(engine.secret, {
        type: MsgType.GRAD,
        dtype: Dtype.FLOAT32,
        rank: 99,
        session: engine.session,
      }),
    // Authenticated, right session, but this peer never said HELLO for rank 1.
    good,
    // Beyond the largest legitimate GRAD, below ZeroMQ's hard cap (which would drop, not count).
    () => [Buffer.alloc(48), Buffer.alloc(200_000), Buffer.alloc(32)],
    () => {
      const m = good();
      m[0] = Buffer.from(m[0]);
      m[0].writeUInt32LE(5, 16);
      return m;
    },
  ];
  let sent = 0;
  try {
    for (let i = 0; sent < N; i++) {
      const frames = makers[i % makers.length]();
      await socks[i % 2].send(frames);
      sent++;
    }
  } finally {
    await new Promise((r) => setTimeout(r, 100));
    for (const s of socks) s.close();
  }
}

describe('PS validation of authenticated frames', () => {
  test('stale step, duplicate rank, wrong dtype/length, non-finite are refused; deadline -> erasure', async () => {
    const d = 4;
    const scheme = createScheme('uncoded', { n: 3, s: 0, d, aggregator: 'mean' });
    const ps = new ProcessEngine({
      bind: 'tcp://127.0.0.1:*',
      secret: randomBytes(32),
      config: resolveConfig({ workers: 3, byzantine: 0 }),
      scheme,
      numParams: d,
      stepDeadlineMs: 300,
      startupTimeoutMs: 5000,
    });
    await ps.bind();
    const peers = [0, 1, 2].map(() => new Dealer({ linger: 0 }));
    const inbox: Buffer[][][] = [[], [], []];
    try {
      peers.forEach((p, rank) => {
        p.connect(ps.endpoint);
        void (async () => {
          for await (const parts of p) inbox[rank].push(parts);
        })().catch(() => undefined);
      });
      const next = async (rank: number) => {
        assert.ok(await waitFor(() => inbox[rank].length > 0, 5000), `rank ${rank}: nothing from the PS`);
        const r = parseMessage(inbox[rank].shift()!, ps.secret, 1 << 20);
        assert.ok(r.ok);
        return r.frame;
      };
      for (let rank = 0; rank < 3; rank++) {
        await peers[rank].send(buildMessage(ps.secret, { type: MsgType.HELLO, rank }));
        const cfg = await next(rank);
        assert.equal(cfg.header.type, MsgType.CONFIG);
        assert.equal(JSON.parse(cfg.payload.toString('utf8')).workers, 3);
        await peers[rank].send(buildMessage(ps.secret, { type: MsgType.READY, rank, session: ps.session }));
      }
      assert.equal(await ps.waitReady(), 3);
      const params = new Float32Array([1, 2, 3, 4]);
      const stepP = ps.runStep({ step: 7, params, partitions: [], byzantine: [2] });
      const grad = (rank: number, v: Float32Array | Float64Array, step = 7) =>
        buildMessage(
          ps.secret,
          {
            type: MsgType.GRAD,
            dtype: v instanceof Float64Array ? Dtype.FLOAT64 : Dtype.FLOAT32,
            rank,
            step,
            session: ps.session,
          },
          vecBytes(v),
        );
      for (const r of [1, 2]) assert.equal((await next(r)).header.step, 7);
      const st = await next(0);
      assert.equal(st.header.type, MsgType.STEP);
      assert.equal(st.header.step, 7);
      // STEP payload: the float32 params then the Byzantine ranks (u32).
      assert.deepEqual(
        [...new Float32Array(st.payload.buffer.slice(st.payload.byteOffset, st.payload.byteOffset + 16))],
        [1, 2, 3, 4],
      );
      assert.equal(st.payload.readUInt32LE(16), 2);
      await peers[0].send(grad(0, new Float32Array([9, 9, 9, 9]), 6)); // stale
      await peers[0].send(grad(0, new Float32Array([0.5, 0, 0, -1]))); // accepted
      await peers[0].send(grad(0, new Float32Array([7, 7, 7, 7]))); // duplicate
      // (Wait before the last answers: a frame after the step closed would count as stale.)
      assert.ok(await waitFor(() => ps.rejectedTotals.get('duplicate rank') === 1, 5000));
      await peers[1].send(grad(1, new Float32Array([1, NaN, 0, 0]))); // non-finite
      await peers[2].send(grad(2, new Float64Array([1, 2, 3, 4]))); // wrong dtype
      const res = await stepP;
      assert.deepEqual([...(res.reports[0].message as Float32Array)], [0.5, 0, 0, -1]);
      assert.equal(res.reports[1].message, null);
      assert.equal(res.reports[1].rejected, 'non-finite');
      assert.equal(res.reports[2].rejected, 'wrong dtype');
      assert.deepEqual(res.rejectedFrames, {
        'stale step': 1,
        'duplicate rank': 1,
        'non-finite': 1,
        'wrong dtype': 1,
      });
      // Step 8: rank 1 answers with a wrong length, rank 2 never answers -> erasure at the deadline.
      const t0 = Date.now();
      const step8 = ps.runStep({ step: 8, params, partitions: [], byzantine: [] });
      for (const r of [0, 1, 2]) assert.equal((await next(r)).header.step, 8);
      await peers[0].send(grad(0, new Float32Array([1, 1, 1, 1]), 8));
      await peers[1].send(grad(1, new Float32Array([1, 1, 1, 1, 1]), 8));
      const res8 = await step8;
      assert.ok(Date.now() - t0 >= 290, 'the step waited for the deadline');
      assert.deepEqual(
        res8.reports.map((r) => r.message === null),
        [false, true, true],
      );
      assert.equal(res8.reports[1].rejected, 'wrong length');
      assert.equal(res8.reports[2].rejected, undefined);
      // A restarted worker (new peer, same rank) rejoins and gets the current step at READY.
      const reborn = new Dealer({ linger: 0 });
      peers.push(reborn);
      reborn.connect(ps.endpoint);
      inbox.push([]);
      void (async () => {
        for await (const parts of reborn) inbox[3].push(parts);
      })().catch(() => undefined);
      const step9 = ps.runStep({ step: 9, params, partitions: [], byzantine: [] });
      await reborn.send(buildMessage(ps.secret, { type: MsgType.HELLO, rank: 2 }));
      assert.equal((await next(3)).header.type, MsgType.CONFIG);
      await reborn.send(buildMessage(ps.secret, { type: MsgType.READY, rank: 2, session: ps.session }));
      assert.equal((await next(3)).header.step, 9);
      for (const r of [0, 1]) assert.equal((await next(r)).header.step, 9);
      await peers[2].send(grad(2, new Float32Array([3, 3, 3, 3]), 9)); // the old peer: refused
      assert.ok(await waitFor(() => ps.rejectedTotals.get('rank not joined from this peer') === 1, 5000));
      for (const [r, p] of [
        [0, peers[0]],
        [1, peers[1]],
        [2, reborn],
      ] as const)
        await p.send(grad(r, new Float32Array([r, r, r, r]), 9));
      const res9 = await step9;
      assert.deepEqual(
        res9.reports.map((r) => [...(r.message as Float32Array)]),
        [
          [0, 0, 0, 0],
          [1, 1, 1, 1],
          [2, 2, 2, 2],
        ],
      );
      assert.deepEqual(res9.rejectedFrames, { 'rank not joined from this peer': 1 });
    } finally {
      await ps.close();
      for (const p of peers) p.close();
    }
  });
});
