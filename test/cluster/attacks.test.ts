/**
 * `draco ps` and `draco worker` as real processes, attacked the way an insider, a network observer
 * or an operator's mistake would: an insider process with a valid key speaking for another rank;
 * TCP bytes captured from one run and replayed into it and into a later run with the same keys;
 * a second process with the same worker key; a flood of large frames; user mistakes on the
 * command line. In every case the model is the in-process engine's, bit for bit, or the process
 * ends with one line and exit 2.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import net from 'node:net';

import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { createPlacement } from '../../src/attacks/placement.js';
import { generateKeySet, writeKeySet } from '../../src/cluster/keys.js';
import { repetitionGroups } from '../../src/schemes/repetition.js';
import { resolveConfig, type TrainConfigInput } from '../../src/build/config.js';
import { train } from '../../src/build/train.js';
import { type StepRecord } from '../../src/train/loop.js';
import { readCheckpoint } from '../../src/train/checkpoint.js';
import { Peer, workerKey } from './peer.js';
import { BIN, childrenOf, waitFor } from './procs.js';
import { tempDir } from '../tmp.js';

const INSIDER = fileURLToPath(new URL('./insider.js', import.meta.url));
const tmp = tempDir('draco-attacks-');
const procs: ChildProcess[] = [];

after(() => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});

interface Proc {
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

function start(args: string[], env: NodeJS.ProcessEnv = {}, bin = BIN): Proc {
  const proc = spawn(process.execPath, [bin, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  procs.push(proc);
  let err = '';
  let out = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  return { proc, stdout: () => out, stderr: () => err, exit };
}

/** `draco ps` on a free port of 127.0.0.1; resolves once it listens, with its endpoint. */
async function startPs(opts: string[], keyDir: string, out: string): Promise<Proc & { endpoint: string }> {
  const p = start([
    'ps',
    ...opts,
    '--bind',
    'tcp://127.0.0.1:*',
    '--key',
    join(keyDir, 'ps.key'),
    '--out',
    out,
  ]);
  const listening = () => /listening on (tcp:\/\/\S+)/.exec(p.stderr());
  assert.ok(await waitFor(() => listening() !== null || p.proc.exitCode !== null, 60_000), p.stderr());
  assert.ok(listening(), `the PS did not start: ${p.stderr()}`);
  return { ...p, endpoint: listening()![1] };
}

function worker(endpoint: string, keyDir: string, rank: number, extra: string[] = []): Proc {
  return start(['worker', '--connect', endpoint, '--key', join(keyDir, `worker-${rank}.key`), ...extra]);
}

function keys(n: number, name: string): string {
  const dir = join(tmp, name);
  writeKeySet(dir, generateKeySet(n));
  return dir;
}

function records(out: string): StepRecord[] {
  return readFileSync(join(out, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as StepRecord);
}

const summary = (out: string) => JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));

/** Refusals of one reason over the whole run, from its step records. */
const refusals = (recs: StepRecord[], reason: string) =>
  recs.reduce((a, r) => a + (r.rejectedFrames?.[reason] ?? 0), 0);

/** What the --k8s manifests' tests read. */
interface K8sDoc {
  metadata: { name: string };
  stringData?: Record<string, string>;
  spec?: {
    template: {
      spec: { volumes: { secret?: { secretName: string } }[]; containers: { args: string[] }[] };
    };
  };
}

/** Flags and the same run as a config for the in-process reference. */
function job(cfg: Record<string, string | number>): { args: string[]; config: TrainConfigInput } {
  const args = Object.entries(cfg).flatMap(([k, v]) => [`--${k}`, String(v)]);
  // Flag -> config key (the one flag whose key differs: --on-no-majority is noMajority).
  const key = (k: string) =>
    k === 'on-no-majority' ? 'noMajority' : k.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
  const config = Object.fromEntries(Object.entries(cfg).map(([k, v]) => [key(k), v])) as TrainConfigInput;
  return { args: [...args, '--quiet'], config };
}

async function reference(config: TrainConfigInput): Promise<string> {
  return (await train(resolveConfig(config))).summary.paramsSha256;
}

describe('real processes under attack', { concurrency: false }, () => {
  test('an insider process with a valid key cannot speak for another rank; the model is unchanged', async () => {
    // 7 workers, groups 0-3 and 4-6. The insider owns rank 4 and forges rank 5 at every step.
    const { args, config } = job({
      dataset: 'synthetic',
      workers: 7,
      byzantine: 1,
      attack: 'none',
      batch: 70,
      steps: 4,
      'eval-every': 0,
      seed: 4,
      'step-deadline-ms': 60_000,
    });
    const dir = keys(7, 'insider');
    const out = join(tmp, 'insider-run');
    const ps = await startPs(args, dir, out);
    const honest = [0, 1, 2, 3, 5, 6].map((r) => worker(ps.endpoint, dir, r));
    const insider = start(
      [ps.endpoint, join(dir, 'worker-4.key'), '5'],
      { DRACO_TEST_INSIDER: '1' },
      INSIDER,
    );
    assert.equal(await ps.exit, 0, ps.stderr());
    assert.deepEqual(await Promise.all(honest.map((w) => w.exit)), [0, 0, 0, 0, 0, 0]);
    assert.equal(await insider.exit, 0, `the insider was evicted or failed: ${insider.stderr()}`);
    const recs = records(out);
    // Its HELLO as rank 5 and one forged GRAD per step: all refused, none reached the decoder.
    assert.equal(refusals(recs, 'bad mac'), 1);
    assert.equal(refusals(recs, 'rank not joined from this peer'), 4);
    assert.deepEqual(
      recs.map((r) => [r.erasures, r.suspects]),
      [0, 1, 2, 3].map(() => [[], [4]]),
    );
    assert.equal(summary(out).paramsSha256, await reference(config));
    // What the person running an honest worker saw.
    assert.deepEqual(honest[0].stdout().trim().split('\n'), [
      `draco worker 0: waiting for the PS at ${ps.endpoint}`,
      'draco worker 0: joined the run as rank 0 of 7: 3,704 params, 2 groups (r = 3, tolerates 1 Byzantine): ranks 0-3, 4-6',
      'draco worker 0: the run is over (4 steps answered)',
    ]);
  });

  test('TCP bytes captured from a worker, replayed into the same run and a later one with the same keys, are refused', async () => {
    const { args, config } = job({
      dataset: 'synthetic',
      workers: 3,
      byzantine: 1,
      attack: 'reverse',
      placement: 'fixed',
      batch: 48,
      steps: 150,
      'eval-every': 0,
      seed: 6,
    });
    const dir = keys(3, 'replay');
    const runA = join(tmp, 'replay-a');
    const psA = await startPs(
      args.map((a) => (a === '150' ? '3' : a)),
      dir,
      runA,
    );
    const capA = await captureProxy(psA.endpoint);
    const wA = [worker(psA.endpoint, dir, 0), worker(psA.endpoint, dir, 1), worker(capA.endpoint, dir, 2)];
    assert.equal(await psA.exit, 0, psA.stderr());
    await Promise.all(wA.map((w) => w.exit));
    capA.close();
    assert.ok(capA.bytes().length > 1000, 'nothing captured from run A');

    const runB = join(tmp, 'replay-b');
    const psB = await startPs(args, dir, runB);
    const capB = await captureProxy(psB.endpoint);
    const wB = [worker(psB.endpoint, dir, 0), worker(psB.endpoint, dir, 1), worker(capB.endpoint, dir, 2)];
    const metrics = join(runB, 'metrics.jsonl');
    assert.ok(
      await waitFor(
        () => existsSync(metrics) && readFileSync(metrics, 'utf8').split('\n').length > 3,
        60_000,
      ),
    );
    const port = Number(psB.endpoint.slice(psB.endpoint.lastIndexOf(':') + 1));
    await replay(port, capA.bytes()); // an earlier run's handshake and frames
    await replay(port, capB.bytes()); // this run's, so far
    assert.equal(await psB.exit, 0, psB.stderr());
    await Promise.all(wB.map((w) => w.exit));
    capB.close();
    const recs = records(runB);
    assert.ok(
      refusals(recs, 'handshake refused: protocol') >= 2,
      JSON.stringify(recs.map((r) => r.rejectedFrames)),
    );
    assert.ok(recs.every((r) => r.erasures.length === 0));
    assert.equal(summary(runB).paramsSha256, await reference(config));
  });

  test('a second process with the same worker key takes the rank; the first is told, exits 2, and the model is unchanged', async () => {
    // One group of 4 (s = 1 needs 2 identical): rank 3 is paused so that every step lasts the
    // deadline (the takeover happens mid-run), and ranks 0 and 2 carry every step meanwhile.
    const { args, config } = job({
      dataset: 'synthetic',
      workers: 4,
      byzantine: 1,
      redundancy: 3,
      attack: 'none',
      batch: 48,
      steps: 24,
      'eval-every': 0,
      seed: 8,
      'step-deadline-ms': 500,
    });
    const dir = keys(4, 'evict');
    const out = join(tmp, 'evict-run');
    const ps = await startPs(args, dir, out);
    const w = [0, 1, 2, 3].map((r) => worker(ps.endpoint, dir, r));
    const metrics = join(out, 'metrics.jsonl');
    const lines = () => (existsSync(metrics) ? readFileSync(metrics, 'utf8').split('\n').length - 1 : 0);
    assert.ok(await waitFor(() => lines() >= 1, 60_000), ps.stderr());
    w[3].proc.kill('SIGSTOP');
    const twin = worker(ps.endpoint, dir, 1);
    assert.equal(await w[1].exit, 2, w[1].stderr());
    assert.ok(lines() < 24, 'the takeover came after the run');
    assert.match(w[1].stderr(), /^draco: worker 1: another connection authenticated as rank 1 at the PS/);
    assert.equal(w[1].stderr().trim().split('\n').length, 1, w[1].stderr());
    assert.equal(await ps.exit, 0, ps.stderr());
    w[3].proc.kill('SIGCONT');
    assert.deepEqual(await Promise.all([w[0].exit, w[2].exit, twin.exit]), [0, 0, 0]);
    const recs = records(out);
    // Every step decoded (ranks 0 and 2, and 1 but for the takeover): nothing skipped.
    assert.deepEqual(
      recs.flatMap((r) => r.failures),
      [],
    );
    assert.equal(summary(out).paramsSha256, await reference(config));
  });

  test("a flood of large frames from outsiders and from an insider that never authenticates: the PS's memory stays bounded", async (t) => {
    const dir = keys(2, 'flood');
    const ps = await startPs(
      ['--workers', '2', '--byzantine', '0', '--steps', '1', '--quiet'],
      dir,
      join(tmp, 'flood'),
    );
    // With no worker the PS runs no step: its refusals are in the status it prints while it waits.
    const oversize = () =>
      Math.max(0, ...[...ps.stderr().matchAll(/oversize (\d+)/g)].map((m) => Number(m[1])));
    const rss = () =>
      Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${ps.proc.pid}/status`, 'utf8'))![1]) / 1024;
    await new Promise((r) => setTimeout(r, 500));
    const before = rss();
    const frames = 400;
    const big = Buffer.alloc(600_000); // below the MNIST mlp's largest GRAD (636,080 bytes)
    const insider = new Peer(ps.endpoint, workerKeyFromDir(dir, 1));
    const outsider = Peer.outsider(ps.endpoint, workerKeyFromDir(dir, 0));
    const port = Number(ps.endpoint.slice(ps.endpoint.lastIndexOf(':') + 1));
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rss())), 50);
    try {
      // Outsiders: a CURVE peer with a key of no run, and raw connections writing 240 MB of junk.
      void outsider.send([Buffer.alloc(48), big, Buffer.alloc(28)]).catch(() => undefined);
      const junk = Array.from({ length: 40 }, () => replay(port, Buffer.alloc(6_000_000, 0x55)));
      // The insider: a valid CURVE key, never authenticated, 400 frames of 600 kB.
      for (let i = 0; i < frames; i++) await insider.send([Buffer.alloc(48), big, Buffer.alloc(28)]);
      await Promise.all(junk);
      assert.ok(
        await waitFor(() => oversize() >= frames, 60_000),
        `${oversize()} of ${frames} insider frames counted`,
      );
    } finally {
      clearInterval(sampler);
    }
    await insider.close();
    await outsider.close();
    // 240 MB from the insider were read one frame at a time and refused before authentication
    // (as oversize: nothing but a handshake frame is read from an unauthenticated peer); nothing
    // from the outsiders was read beyond the CURVE handshake.
    t.diagnostic(`PS RSS ${before.toFixed(0)} MB before, ${peak.toFixed(0)} MB at the peak of the flood`);
    assert.ok(peak - before < 100, `RSS grew from ${before.toFixed(0)} to ${peak.toFixed(0)} MB`);
    ps.proc.kill('SIGKILL');
  });
});

describe('faults on real processes: exact, or logged and loud', { concurrency: false }, () => {
  test('SIGSTOP of two honest members past the deadline: the lone Byzantine member cannot speak for its group', async () => {
    // 7 workers, groups 0-3 and 4-6 (s = 1: a value needs 2 identical messages); the fixed
    // Byzantine rank is 5. Pausing 4 and 6 leaves 5 alone in its group: undecodable, never -100x.
    const groups = repetitionGroups(7, 3);
    const seed = Array.from({ length: 200 }, (_, i) => i + 1).find(
      (sd) => createPlacement('fixed', { n: 7, s: 1, seed: sd, groups }).byzantineAt(0)[0] === 5,
    )!;
    const cfg = {
      dataset: 'synthetic',
      workers: 7,
      byzantine: 1,
      redundancy: 3,
      attack: 'reverse',
      placement: 'fixed',
      'on-no-majority': 'abort',
      batch: 70,
      steps: 10,
      'eval-every': 0,
      seed,
      'step-deadline-ms': 1000,
    };
    const { args, config } = job(cfg);
    const out = join(tmp, 'sigstop');
    const ps = start(['train', ...args, '--engine', 'local', '--out', out]);
    const metrics = join(out, 'metrics.jsonl');
    const lines = () => (existsSync(metrics) ? readFileSync(metrics, 'utf8').split('\n').length - 1 : 0);
    assert.ok(await waitFor(() => lines() >= 2, 60_000), ps.stderr());
    const byRank = workerPids(ps.proc.pid!);
    for (const r of [4, 6]) process.kill(byRank.get(r)!, 'SIGSTOP');
    const stoppedAt = lines();
    assert.ok(await waitFor(() => lines() >= stoppedAt + 3, 60_000));
    for (const r of [4, 6]) process.kill(byRank.get(r)!, 'SIGCONT');
    assert.equal(await ps.exit, 0, ps.stderr());
    const recs = records(out);
    // Group 1's honest copies: ranks 4 and 6 unless erased. One copy (or none) cannot reach s + 1.
    const honestCopies = (r: StepRecord) => [4, 6].filter((w) => !r.erasures.includes(w)).length;
    const lost = recs.filter((r) => honestCopies(r) <= 1);
    assert.ok(
      recs.filter((r) => honestCopies(r) === 0).length >= 2,
      'ranks 4 and 6 were not both paused for 2 steps',
    );
    for (const r of recs) {
      if (honestCopies(r) <= 1) {
        assert.equal(r.aborted, true, `step ${r.step}`);
        assert.match(
          r.failures[0],
          /^group 1 \(ranks 4-6\): \d of 3 received \(\d erased\), value classes 1(-1)?; needs 2 identical .*; step aborted$/,
        );
        // The lone -100x gradient never won.
        assert.ok(
          !r.suspects.includes(4) && !r.suspects.includes(6),
          `step ${r.step}: an honest rank suspected`,
        );
      } else assert.deepEqual([r.aborted, r.failures], [false, []], `step ${r.step}`);
    }
    assert.match(ps.stderr(), new RegExp(`draco: warning: ${lost.length} of 10 steps aborted`));
    // The model: the adversary-free run with exactly those steps aborted, bit for bit.
    const abortedSteps = new Set(lost.map((r) => r.step));
    const ref = await train(resolveConfig({ ...config, attack: 'none' }), {
      wrapEngine: (e) => ({
        name: 'erasing',
        close: () => e.close(),
        runStep: async (req) => {
          const res = await e.runStep(req);
          if (abortedSteps.has(req.step)) res.reports = res.reports.map((x) => ({ ...x, message: null }));
          return res;
        },
      }),
    });
    assert.equal(summary(out).paramsSha256, ref.summary.paramsSha256);
  });

  test('verify: honest members SIGSTOPped past the deadline and one SIGKILLed; the PS settles, the model is the attack-free one', async () => {
    // 6 workers, groups 0-2 and 3-5 (s = 2, r = 3), a fixed Byzantine pair sending -100x. A
    // missing honest copy makes its group disputed: the PS computes it, so no step is lost.
    const groups = repetitionGroups(6, 3);
    const seed = 3;
    const byz = createPlacement('fixed', { n: 6, s: 2, seed, groups }).byzantineAt(0);
    const honest = [0, 1, 2, 3, 4, 5].filter((w) => !byz.includes(w));
    const cfg = {
      dataset: 'synthetic',
      scheme: 'verify',
      workers: 6,
      byzantine: 2,
      attack: 'reverse',
      placement: 'fixed',
      batch: 60,
      steps: 10,
      'eval-every': 0,
      seed,
      'step-deadline-ms': 1000,
    };
    const { args, config } = job(cfg);
    const out = join(tmp, 'verify-faults');
    const ps = start(['train', ...args, '--engine', 'local', '--out', out]);
    const metrics = join(out, 'metrics.jsonl');
    const lines = () => (existsSync(metrics) ? readFileSync(metrics, 'utf8').split('\n').length - 1 : 0);
    assert.ok(await waitFor(() => lines() >= 2, 60_000), ps.stderr());
    const byRank = workerPids(ps.proc.pid!);
    const [paused, killed] = [honest.slice(0, 2), honest[2]];
    for (const r of paused) process.kill(byRank.get(r)!, 'SIGSTOP');
    const stoppedAt = lines();
    assert.ok(await waitFor(() => lines() >= stoppedAt + 2, 60_000));
    for (const r of paused) process.kill(byRank.get(r)!, 'SIGCONT');
    process.kill(byRank.get(killed)!, 'SIGKILL');
    assert.equal(await ps.exit, 0, ps.stderr());
    const recs = records(out);
    assert.ok(
      recs.some((r) => paused.every((w) => r.erasures.includes(w))),
      'the paused ranks were never missing together',
    );
    assert.ok(recs[recs.length - 1].erasures.includes(killed), 'the killed rank still answered');
    for (const r of recs) {
      assert.deepEqual([r.aborted, r.failures], [false, []], `step ${r.step}`);
      for (const w of r.suspects) assert.ok(byz.includes(w), `step ${r.step}: honest rank ${w} suspected`);
      // A group missing a copy is settled by the PS every step.
      if (r.erasures.length > 0) assert.ok(r.recomputations > 0, `step ${r.step}: erasures, no recompute`);
    }
    // Bit for bit the adversary-free, fault-free in-process model.
    assert.equal(summary(out).paramsSha256, await reference({ ...config, attack: 'none' }));
  });

  test('draco ps SIGKILLed while its draco workers run; the same command with --resume: they authenticate again, same model', async () => {
    const { args, config } = job({
      dataset: 'synthetic',
      workers: 3,
      byzantine: 1,
      batch: 48,
      steps: 300,
      'eval-every': 0,
      seed: 6,
    });
    args.push('--checkpoint-every', '10');
    const dir = keys(3, 'ps-crash');
    const out = join(tmp, 'ps-crash');
    const ps = await startPs(args, dir, out);
    const workers = [0, 1, 2].map((r) => worker(ps.endpoint, dir, r));
    // Kill it mid-run: once a checkpoint exists, with steps left to run.
    assert.ok(await waitFor(() => existsSync(join(out, 'checkpoint.bin')), 60_000), ps.stderr());
    ps.proc.kill('SIGKILL');
    await ps.exit;
    assert.ok(readCheckpoint(out).meta.step < 300, 'the run finished before the PS was killed');
    // The same address (the workers know no other), the same command, plus --resume.
    const resumed = start([
      'ps',
      ...args,
      '--bind',
      ps.endpoint,
      '--key',
      join(dir, 'ps.key'),
      '--out',
      out,
      '--resume',
      out,
    ]);
    assert.equal(await resumed.exit, 0, resumed.stderr());
    assert.deepEqual(await Promise.all(workers.map((w) => w.exit)), [0, 0, 0]);
    // Their pings in the dead PS's sessions were refused, and the operator was told why.
    assert.match(
      resumed.stderr(),
      /refused so far: not authenticated \d \(not authenticated: e\.g\. workers of a PS that restarted/,
    );
    assert.equal(summary(out).paramsSha256, await reference(config));
    assert.deepEqual(
      records(out).map((r) => r.step),
      Array.from({ length: 300 }, (_, i) => i),
    );
    for (const w of workers) {
      assert.match(w.stdout(), /: the PS stopped answering \(restarted\?\); authenticating again\n/);
      assert.match(w.stdout(), /: the run is over \(\d+ steps answered\)\n$/);
    }
  });

  test('every worker killed: every later step aborts, the run fails with exit 3 and says why', async () => {
    const { args } = job({
      dataset: 'synthetic',
      workers: 3,
      byzantine: 1,
      batch: 30,
      steps: 40,
      'eval-every': 0,
      seed: 2,
    });
    const out = join(tmp, 'all-dead');
    const ps = start(['train', ...args, '--engine', 'local', '--out', out]);
    const metrics = join(out, 'metrics.jsonl');
    assert.ok(
      await waitFor(() => existsSync(metrics) && readFileSync(metrics, 'utf8').length > 0, 60_000),
      ps.stderr(),
    );
    for (const pid of workerPids(ps.proc.pid!).values()) process.kill(pid, 'SIGKILL');
    assert.equal(await ps.exit, 3, ps.stderr());
    assert.match(ps.stderr(), /^draco: run failed: \d+ of 40 steps aborted: the model barely trained/m);
    const sum = summary(out);
    assert.ok(sum.abortedSteps > 20);
    assert.match(sum.failed, /steps aborted/);
  });
});

describe('user mistakes end with one line and exit 2', () => {
  const oneLine = (r: { status: number | null; stderr: string }, re: RegExp) => {
    assert.equal(r.status, 2, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], re);
  };
  const run = (args: string[]) =>
    spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });

  test('draco keys: 0600 files, never overwritten', () => {
    const dir = join(tmp, 'keys-cli');
    const r = run(['keys', '--workers', '3', '--out', dir]);
    assert.equal(r.status, 0, r.stderr);
    for (const f of ['ps.key', 'worker-0.key', 'worker-2.key'])
      assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600);
    const before = readFileSync(join(dir, 'ps.key'), 'utf8');
    oneLine(
      run(['keys', '--workers', '3', '--out', dir]),
      /ps\.key already exists: keys are never overwritten/,
    );
    assert.equal(readFileSync(join(dir, 'ps.key'), 'utf8'), before);
  });

  test('draco keys --k8s: each worker Job mounts its own key Secret and no other', () => {
    const dir = join(tmp, 'keys-k8s');
    assert.equal(run(['keys', '--workers', '3', '--out', dir, '--k8s']).status, 0);
    const docs = (f: string) =>
      parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJS() as K8sDoc);
    const secrets = docs('k8s-keys.yaml');
    assert.deepEqual(
      secrets.map((x) => x.metadata.name),
      ['draco-ps-key', 'draco-worker-key-0', 'draco-worker-key-1', 'draco-worker-key-2'],
    );
    // The Secrets hold the very key files (the PS's has no worker secret).
    const file = (f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as unknown;
    assert.deepEqual(JSON.parse(secrets[0].stringData!['ps.key']), file('ps.key'));
    assert.deepEqual(JSON.parse(secrets[2].stringData!['worker.key']), file('worker-1.key'));
    const jobs = docs('k8s-workers.yaml');
    assert.equal(jobs.length, 3);
    jobs.forEach((job, rank) => {
      const pod = job.spec!.template.spec;
      assert.deepEqual(
        pod.volumes.map((v) => v.secret?.secretName),
        [`draco-worker-key-${rank}`],
      );
      assert.deepEqual(pod.containers[0].args, [
        'worker',
        '--connect',
        'tcp://draco-ps:5555',
        '--key',
        '/etc/draco/worker.key',
      ]);
    });
  });

  test('draco worker: bad address, unreachable PS, wrong rank, missing key', () => {
    const dir = keys(2, 'worker-cli');
    oneLine(
      run(['worker', '--connect', 'foo', '--key', join(dir, 'worker-0.key')]),
      /invalid PS address 'foo': expected tcp:\/\/HOST:PORT/,
    );
    oneLine(
      run([
        'worker',
        '--connect',
        'tcp://127.0.0.1:9',
        '--key',
        join(dir, 'worker-0.key'),
        '--timeout-ms',
        '1500',
      ]),
      /worker 0: cannot reach the PS at tcp:\/\/127\.0\.0\.1:9: no connection within 2 s/,
    );
    oneLine(
      run(['worker', '--connect', 'tcp://127.0.0.1:9', '--key', join(dir, 'worker-0.key'), '--rank', '1']),
      /--rank 1 but the key is rank 0's/,
    );
    oneLine(
      run(['worker', '--connect', 'tcp://127.0.0.1:9', '--key', join(dir, 'nope.key')]),
      /cannot read worker key file .*nope\.key: ENOENT/,
    );
    oneLine(
      run(['worker', '--connect', 'tcp://127.0.0.1:9', '--key', join(dir, 'ps.key')]),
      /is the PS's key; a worker needs its own/,
    );
  });

  test('draco worker with a key of another key set: refused by the PS, says so', async () => {
    const dir = keys(2, 'ps-real');
    const stranger = keys(2, 'stranger');
    const ps = await startPs(
      ['--workers', '2', '--byzantine', '0', '--dataset', 'synthetic', '--steps', '1', '--quiet'],
      dir,
      join(tmp, 'stranger-run'),
    );
    try {
      const r = spawnSync(
        process.execPath,
        [
          BIN,
          'worker',
          '--connect',
          ps.endpoint,
          '--key',
          join(stranger, 'worker-0.key'),
          '--timeout-ms',
          '20000',
        ],
        { encoding: 'utf8', timeout: 60_000 },
      );
      oneLine(
        r,
        /worker 0: (the PS at .* refused this worker's key|no secure connection to .*: the CURVE handshake failed)/,
      );
    } finally {
      ps.proc.kill('SIGKILL');
    }
  });

  test('draco ps: port in use, bad bind, no key', async () => {
    const dir = keys(2, 'ps-cli');
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const base = [
        'ps',
        '--workers',
        '2',
        '--byzantine',
        '0',
        '--dataset',
        'synthetic',
        '--steps',
        '1',
        '--quiet',
      ];
      oneLine(
        run([...base, '--bind', `tcp://127.0.0.1:${port}`, '--key', join(dir, 'ps.key')]),
        /cannot bind tcp:\/\/127\.0\.0\.1:\d+: the address is already in use/,
      );
      oneLine(
        run([...base, '--bind', 'localhost', '--key', join(dir, 'ps.key')]),
        /invalid bind address 'localhost'/,
      );
      oneLine(
        run([...base, '--bind', 'tcp://10.255.255.1:5555', '--key', join(dir, 'ps.key')]),
        /cannot bind tcp:\/\/10\.255\.255\.1:5555: no such local address/,
      );
      oneLine(run([...base, '--bind', 'tcp://127.0.0.1:*']), /no PS key/);
      oneLine(
        run([...base, '--bind', 'tcp://127.0.0.1:*', '--key', join(dir, 'worker-0.key')]),
        /is a worker key; the PS needs ps\.key/,
      );
    } finally {
      server.close();
    }
  });
});

/** The local engine's worker processes by rank (each child's rank is in its key, in its environment). */
function workerPids(psPid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of childrenOf(psPid)) {
    try {
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      const key = env.find((e) => e.startsWith('DRACO_WORKER_KEY='));
      if (key) out.set((JSON.parse(key.slice('DRACO_WORKER_KEY='.length)) as { rank: number }).rank, pid);
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** A TCP proxy on 127.0.0.1 that records every byte a client sends to the PS. */
async function captureProxy(
  psEndpoint: string,
): Promise<{ endpoint: string; bytes: () => Buffer; close: () => void }> {
  const port = Number(psEndpoint.slice(psEndpoint.lastIndexOf(':') + 1));
  const chunks: Buffer[] = [];
  const sockets: net.Socket[] = [];
  const server = net.createServer((c) => {
    const up = net.connect(port, '127.0.0.1');
    sockets.push(c, up);
    c.on('data', (d: Buffer) => {
      chunks.push(Buffer.from(d));
      up.write(d);
    });
    up.on('data', (d: Buffer) => c.write(d));
    for (const s of [c, up]) s.on('error', () => undefined);
    c.on('close', () => up.destroy());
    up.on('close', () => c.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    endpoint: `tcp://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    bytes: () => Buffer.concat(chunks),
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/** Write captured bytes to the PS on a new connection, as a network attacker would. */
async function replay(port: number, bytes: Buffer): Promise<void> {
  await new Promise<void>((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(bytes));
    s.on('error', () => resolve());
    s.on('close', () => resolve());
    setTimeout(() => {
      s.destroy();
      resolve();
    }, 2000);
  });
}

function workerKeyFromDir(dir: string, rank: number) {
  return workerKey(
    { ps: null!, workers: [JSON.parse(readFileSync(join(dir, `worker-${rank}.key`), 'utf8'))] },
    0,
  );
}
