/**
 * Resume and run outputs, with real `draco` processes: a run killed after a checkpoint resumes
 * into the same folder (or another) with exactly one record per step and the uninterrupted
 * model; refused resumes, finished runs and damaged checkpoints leave every file as it was; a
 * full disk gives one line and no partial files.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { readCheckpoint } from '../../src/train/checkpoint.js';
import { UsageError } from '../../src/core/errors.js';
import { resolveConfig } from '../../src/build/config.js';
import { train } from '../../src/build/train.js';
import { type StepRecord, type TrainSummary } from '../../src/train/loop.js';
import { nodeIo, type FileIo } from '../../src/core/files.js';
import { keptMetrics, RunWriter } from '../../src/train/output.js';
import { BIN, childrenOf, reaper } from './procs.js';
import { tempDir } from '../tmp.js';

const tmp = tempDir('draco-resume-');
const spawned = reaper();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const JOB = ['--dataset', 'synthetic', '--workers', '3', '--byzantine', '1', '--batch', '48'];
const JOB_TAIL = ['--eval-every', '0', '--seed', '2', '--quiet'];

function draco(args: string[], env: NodeJS.ProcessEnv = process.env): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env, timeout: 60_000 });
}

function trainArgs(steps: number, extra: string[]): string[] {
  return ['train', ...JOB, '--steps', String(steps), ...JOB_TAIL, ...extra];
}

function records(dir: string): StepRecord[] {
  return readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as StepRecord);
}

function summary(dir: string): TrainSummary {
  return JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as TrainSummary;
}

/** Exactly one record per step 0 .. steps-1, in order. */
function assertComplete(dir: string, steps: number): void {
  assert.deepEqual(
    records(dir).map((r) => r.step),
    Array.from({ length: steps }, (_, i) => i),
  );
}

/** The bytes of every file in `dir`, to show that nothing changed. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir).sort())
    out[f] = createHash('sha256')
      .update(readFileSync(join(dir, f)))
      .digest('hex');
  return out;
}

/** A refusal: exit 2 and one `draco: ...` line, no stack trace. */
function assertOneLine(r: SpawnSyncReturns<string>, re: RegExp): void {
  assert.equal(r.status, 2, r.stderr);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^draco: /);
  assert.match(lines[0], re);
  assert.doesNotMatch(r.stderr, /^\s+at /m);
}

const metricLines = (dir: string) => {
  try {
    return readFileSync(join(dir, 'metrics.jsonl'), 'utf8').split('\n').length - 1;
  } catch {
    return 0;
  }
};

/**
 * Start a checkpointing run and SIGKILL it once a checkpoint exists and records after it were
 * written (the records a resume must drop). SIGSTOP freezes it while we look.
 */
async function crashAfterCheckpoint(args: string[], dir: string): Promise<number> {
  const ps = spawn(process.execPath, [BIN, ...args], { stdio: 'ignore' });
  spawned.push(ps.pid!);
  const exited = new Promise<number | null>((r) => ps.once('exit', (c) => r(c)));
  const end = Date.now() + 60_000;
  for (;;) {
    assert.ok(Date.now() < end, 'no checkpoint with records after it');
    assert.ok(ps.exitCode === null, 'the run finished before it could be killed');
    if (existsSync(join(dir, 'checkpoint.bin'))) {
      process.kill(ps.pid!, 'SIGSTOP');
      spawned.push(...childrenOf(ps.pid!));
      const at = readCheckpoint(dir).meta.step;
      if (metricLines(dir) > at) {
        process.kill(ps.pid!, 'SIGKILL');
        await exited;
        return at;
      }
      process.kill(ps.pid!, 'SIGCONT');
    }
    await sleep(5);
  }
}

describe('resume after a crash', { concurrency: false }, () => {
  const steps = 150;
  let want = '';

  test('uninterrupted reference run', () => {
    const r = draco(trainArgs(steps, ['--out', join(tmp, 'whole')]));
    assert.equal(r.status, 0, r.stderr);
    want = summary(join(tmp, 'whole')).paramsSha256;
    assertComplete(join(tmp, 'whole'), steps);
  });

  test('SIGKILL after a checkpoint: resume into another folder, then into the same one', async () => {
    const dir = join(tmp, 'crashed');
    const at = await crashAfterCheckpoint(trainArgs(steps, ['--checkpoint-every', '7', '--out', dir]), dir);
    assert.ok(at > 0 && at < steps, `checkpoint at ${at}`);
    assert.ok(records(dir).length > at, 'records after the checkpoint');
    appendFileSync(join(dir, 'metrics.jsonl'), '{"step":'); // torn by the crash mid-write
    const before = readFileSync(join(dir, 'metrics.jsonl'));
    const kept = before.subarray(0, before.indexOf(`{"step":${at},`));
    const untouched = snapshot(dir);

    // Another folder: a complete metrics.jsonl there, the crashed folder left as it was.
    const other = join(tmp, 'resumed-elsewhere');
    const r1 = draco(trainArgs(steps, ['--resume', dir, '--out', other]).filter((a) => a !== '--quiet'));
    assert.equal(r1.status, 0, r1.stderr);
    assertComplete(other, steps);
    assert.equal(summary(other).paramsSha256, want);
    // Progress counts from the checkpoint's totals, like the summary: every step's suspect.
    assert.match(
      r1.stderr,
      new RegExp(`step ${steps}/${steps} .* suspects ${summary(other).totalSuspectsFlagged}\\n`),
    );
    assert.equal(summary(other).totalSuspectsFlagged, steps);
    assert.deepEqual(snapshot(dir), untouched);

    // The same folder (README's example): the records before the checkpoint kept byte for byte,
    // the ones after it and the torn line dropped, the rest appended once.
    const r2 = draco(trainArgs(steps, ['--checkpoint-every', '7', '--out', dir, '--resume', dir]));
    assert.equal(r2.status, 0, r2.stderr);
    assertComplete(dir, steps);
    assert.deepEqual(readFileSync(join(dir, 'metrics.jsonl')).subarray(0, kept.length), kept);
    assert.equal(summary(dir).paramsSha256, want);
    assert.equal(readCheckpoint(dir).meta.step, steps); // final checkpoint: the run is finished
  });

  test('the same with --engine local (PS and workers killed, resumed in place)', async () => {
    const local = 40;
    const ref = await train(
      resolveConfig({
        dataset: 'synthetic',
        workers: 3,
        byzantine: 1,
        batch: 48,
        evalEvery: 0,
        seed: 2,
        steps: local,
      }),
    );
    const dir = join(tmp, 'crashed-local');
    const args = trainArgs(local, ['--engine', 'local', '--checkpoint-every', '4', '--out', dir]);
    const at = await crashAfterCheckpoint(args, dir);
    assert.ok(at > 0 && at < local, `checkpoint at ${at}`);
    const r = draco([...args, '--resume', dir]);
    assert.equal(r.status, 0, r.stderr);
    assertComplete(dir, local);
    assert.equal(summary(dir).paramsSha256, ref.summary.paramsSha256);
  });
});

describe('nothing the user has is lost', { concurrency: false }, () => {
  const steps = 12;
  const done = join(tmp, 'done');

  test('a finished run: resume in place exits 0 at once and changes nothing; draco ps too', () => {
    const r0 = draco(trainArgs(steps, ['--checkpoint-every', '5', '--out', done]));
    assert.equal(r0.status, 0, r0.stderr);
    assert.equal(readCheckpoint(done).meta.step, steps);
    const untouched = snapshot(done);
    const r1 = draco(trainArgs(steps, ['--checkpoint-every', '5', '--out', done, '--resume', done]));
    assert.equal(r1.status, 0, r1.stderr);
    assert.deepEqual(snapshot(done), untouched);
    // The PS of a remote run: no workers, no cluster key, and yet it must not wait for either.
    const env = { ...process.env };
    delete env.DRACO_CLUSTER_SECRET;
    const t0 = Date.now();
    const psArgs = ['ps', ...JOB, '--steps', String(steps), '--eval-every', '0', '--seed', '2'];
    const r2 = draco([...psArgs, '--bind', 'tcp://127.0.0.1:0', '--out', done, '--resume', done], env);
    assert.equal(r2.status, 0, `${r2.signal ?? ''} ${r2.stderr}`);
    assert.match(r2.stderr, /finished all 12 steps; nothing to do/);
    assert.ok(Date.now() - t0 < 20_000, 'draco ps took too long');
    assert.deepEqual(snapshot(done), untouched);
  });

  test('a finished run killed before summary.json, or resumed elsewhere, gets consistent outputs', () => {
    const dir = join(tmp, 'done-no-summary');
    cpSync(done, dir, { recursive: true });
    const want = summary(done).paramsSha256;
    const metrics = readFileSync(join(dir, 'metrics.jsonl'));
    for (const f of ['summary.json', 'params.npy']) rmSync(join(dir, f));
    const r = draco(trainArgs(steps, ['--out', dir, '--resume', dir]));
    assert.equal(r.status, 0, r.stderr);
    assert.equal(summary(dir).paramsSha256, want);
    assert.ok(existsSync(join(dir, 'params.npy')));
    assert.deepEqual(readFileSync(join(dir, 'metrics.jsonl')), metrics);
    const other = join(tmp, 'done-elsewhere');
    const r2 = draco(trainArgs(steps, ['--out', other, '--resume', done]));
    assert.equal(r2.status, 0, r2.stderr);
    assert.deepEqual(readFileSync(join(other, 'metrics.jsonl')), metrics);
    assert.equal(summary(other).paramsSha256, want);
  });

  test('a refused resume (another --lr) and a new run into a used --out change no file', () => {
    const untouched = snapshot(done);
    assertOneLine(
      draco(trainArgs(steps, ['--out', done, '--resume', done, '--lr', '0.1'])),
      /--resume \S+done: option lr differs from the checkpointed run$/,
    );
    assert.deepEqual(snapshot(done), untouched);
    assertOneLine(
      draco(trainArgs(steps, ['--out', done])),
      /--out \S+done already holds a finished run \(summary\.json\); choose another folder$/,
    );
    assert.deepEqual(snapshot(done), untouched);
    // A checkpointed, unfinished run: refused too, with the way to continue it.
    const unfinished = join(tmp, 'unfinished');
    cpSync(done, unfinished, { recursive: true });
    rmSync(join(unfinished, 'summary.json'));
    const kept = snapshot(unfinished);
    assertOneLine(
      draco(trainArgs(steps, ['--out', unfinished, '--resume', done])),
      /--out \S+unfinished already holds an unfinished run \(checkpoint\.bin\); continue it with --resume \S+unfinished, or choose another folder$/,
    );
    assert.deepEqual(snapshot(unfinished), kept);
  });

  test('a run interrupted before its first checkpoint: its files are set aside, not overwritten', () => {
    const dir = join(tmp, 'no-checkpoint');
    mkdirSync(dir);
    writeFileSync(join(dir, 'metrics.jsonl'), '{"step":0}\n');
    writeFileSync(join(dir, 'metrics.jsonl.1'), 'an earlier one\n');
    const r = draco(trainArgs(steps, ['--out', dir]).filter((a) => a !== '--quiet'));
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stderr,
      /note: \S+ held a run interrupted before any checkpoint; its metrics\.jsonl kept as metrics\.jsonl\.2/,
    );
    assert.equal(readFileSync(join(dir, 'metrics.jsonl.2'), 'utf8'), '{"step":0}\n');
    assert.equal(readFileSync(join(dir, 'metrics.jsonl.1'), 'utf8'), 'an earlier one\n');
    assertComplete(dir, steps);
  });

  test('a damaged checkpoint is refused with one line and changes no file', () => {
    const dir = join(tmp, 'damaged');
    const good = readFileSync(join(done, 'checkpoint.bin'));
    const jl = good.readUInt32LE(8);
    const at = 12 + jl + ((4 - ((12 + jl) % 4)) % 4); // first parameter
    const reseal = (b: Buffer) =>
      createHash('sha256')
        .update(b.subarray(0, b.length - 32))
        .digest()
        .copy(b, b.length - 32);
    const flipped = Buffer.from(good);
    flipped[at + 401] ^= 0x04;
    const nan = Buffer.from(good);
    nan.writeFloatLE(NaN, at + 40);
    reseal(nan); // a valid checksum: the finiteness check refuses it
    const badJson = Buffer.from(good);
    badJson[12] = 0x5b; // '[' for the opening '{'
    reseal(badJson);
    const cases: [string, Buffer, RegExp][] = [
      ['one flipped bit', flipped, /checkpoint\.bin is corrupt \(checksum mismatch/],
      ['NaN in params', nan, /non-finite parameters or momentum/],
      ['corrupt JSON metadata', badJson, /corrupt metadata \(not JSON\)/],
      ['truncated', good.subarray(0, good.length - 1000), /checksum mismatch: damaged or truncated/],
    ];
    for (const [what, bytes, re] of cases) {
      cpSync(done, dir, { recursive: true });
      writeFileSync(join(dir, 'checkpoint.bin'), bytes);
      const untouched = snapshot(dir);
      const r = draco(trainArgs(steps, ['--out', dir, '--resume', dir]));
      assertOneLine(r, re);
      assert.deepEqual(snapshot(dir), untouched, what);
    }
  });

  test('metrics.jsonl: a record of an earlier step after the cut is refused, gaps are noted', () => {
    const dir = join(tmp, 'metrics-unit');
    mkdirSync(dir);
    const path = join(dir, 'metrics.jsonl');
    const line = (step: number) => JSON.stringify({ step, lr: 0.1 }) + '\n';
    writeFileSync(path, line(0) + line(1) + line(2) + line(3) + '{"st');
    const k = keptMetrics(path, 2);
    assert.equal(k.bytes.toString(), line(0) + line(1));
    assert.equal(k.note, undefined);
    writeFileSync(path, line(0) + 'garbage\n' + line(1) + line(2));
    assert.throws(
      () => keptMetrics(path, 2),
      (e: unknown) => e instanceof UsageError && /line 2 is not a record .* but line 3 is/.test(e.message),
    );
    writeFileSync(path, line(0) + line(2));
    assert.match(keptMetrics(path, 3).note ?? '', /holds 2 records before step 3/);
  });
});

/** A FileIo whose `op` fails like a full disk on its `nth` call for a file matching `file`. */
function fullDisk(op: 'write' | 'open', file: RegExp, nth = 1): FileIo {
  const enospc = () => {
    const e = new Error('ENOSPC: no space left on device, write') as NodeJS.ErrnoException;
    e.code = 'ENOSPC';
    return e;
  };
  const paths = new Map<number, string>();
  let calls = 0;
  return {
    ...nodeIo,
    open(p, f) {
      if (op === 'open' && file.test(p) && ++calls === nth) throw enospc();
      const fd = nodeIo.open(p, f);
      paths.set(fd, p);
      return fd;
    },
    write(fd, b, off, len, pos) {
      if (op === 'write' && file.test(paths.get(fd) ?? '') && ++calls === nth) {
        // Part of the data reaches the disk first, as it does when space runs out mid-write.
        nodeIo.write(fd, b, off, Math.min(len, 7), pos);
        throw enospc();
      }
      return nodeIo.write(fd, b, off, len, pos);
    },
  };
}

describe('a full disk', () => {
  const rec = (step: number) => ({ step, lr: 0.1 }) as unknown as StepRecord;
  const sum = { paramsSha256: 'x' } as unknown as TrainSummary;
  const oneLine = (re: RegExp) => (e: unknown) =>
    e instanceof UsageError && re.test(e.message) && !e.message.includes('\n');

  test('metrics.jsonl: one line, no torn record', () => {
    const dir = join(tmp, 'full-metrics');
    const w = new RunWriter(dir, { io: fullDisk('write', /metrics\.jsonl$/, 3) });
    w.step(rec(0));
    w.step(rec(1));
    assert.throws(() => w.step(rec(2)), oneLine(/metrics\.jsonl: ENOSPC \(no space left on device\)$/));
    w.close();
    assert.equal(
      readFileSync(join(dir, 'metrics.jsonl'), 'utf8'),
      '{"step":0,"lr":0.1}\n{"step":1,"lr":0.1}\n',
    );
  });

  for (const file of ['params.npy', 'summary.json']) {
    test(`${file}: one line, no partial or temporary file`, () => {
      const dir = join(tmp, `full-${file}`);
      const w = new RunWriter(dir, { io: fullDisk('write', new RegExp(`${file}\\.tmp$`)) });
      w.step(rec(0));
      assert.throws(
        () => w.finish(sum, new Float32Array(8)),
        oneLine(new RegExp(`cannot write \\S+${file}: ENOSPC \\(no space left on device\\)$`)),
      );
      const left = readdirSync(dir).sort();
      assert.deepEqual(left, file === 'params.npy' ? ['metrics.jsonl'] : ['metrics.jsonl', 'params.npy']);
    });
  }
});

/** Root with `unshare -m`: a real full disk, a tiny tmpfs in a private mount namespace. */
const canMount =
  process.getuid?.() === 0 &&
  spawnSync('unshare', [
    '-m',
    'mount',
    '-t',
    'tmpfs',
    '-o',
    'size=16k',
    'tmpfs',
    mkdtempSync(join(tmp, 'probe-')),
  ]).status === 0;

describe(
  'a real full disk (tmpfs)',
  { skip: canMount ? false : 'needs root and unshare -m to mount a tmpfs' },
  () => {
    /** Run draco on a fresh tmpfs of `size`, then copy the run folder out for inspection. */
    function onTmpfs(size: string, args: string[], copyTo: string) {
      const mnt = tempDir('draco-tmpfs-');
      mkdirSync(copyTo, { recursive: true });
      const script =
        `mount -t tmpfs -o size=${size} tmpfs "$1" || exit 99; shift; dest="$1"; shift; ` +
        `"$@"; rc=$?; cp -a "${mnt}/run/." "$dest/"; exit $rc`;
      return spawnSync(
        'unshare',
        ['-m', 'sh', '-c', script, 'sh', mnt, copyTo, process.execPath, BIN, ...args, '--out', `${mnt}/run`],
        { encoding: 'utf8', timeout: 60_000 },
      );
    }

    test('checkpoint: one line, no temporary file, the last good checkpoint kept and resumable', () => {
      // Room for metrics.jsonl and one checkpoint, not for the temporary copy of the next one.
      const got = join(tmp, 'tmpfs-ck');
      const r = onTmpfs('48k', trainArgs(30, ['--checkpoint-every', '10']), got);
      assertOneLine(
        r,
        /cannot write \S+checkpoint\.bin: ENOSPC \(no space left on device\); the last good checkpoint, if any, is kept$/,
      );
      assert.deepEqual(readdirSync(got).sort(), ['checkpoint.bin', 'metrics.jsonl']);
      assert.equal(readCheckpoint(got).meta.step, 10);
      const whole = draco(trainArgs(30, ['--out', join(tmp, 'tmpfs-whole')]));
      assert.equal(whole.status, 0, whole.stderr);
      const r2 = draco(trainArgs(30, ['--out', got, '--resume', got]));
      assert.equal(r2.status, 0, r2.stderr);
      assertComplete(got, 30);
      assert.equal(summary(got).paramsSha256, summary(join(tmp, 'tmpfs-whole')).paramsSha256);
    });

    test('params.npy: one line, no partial params.npy or summary.json', () => {
      const got = join(tmp, 'tmpfs-npy');
      const r = onTmpfs('16k', trainArgs(10, []), got);
      assertOneLine(r, /cannot write \S+params\.npy: ENOSPC/);
      assert.deepEqual(readdirSync(got), ['metrics.jsonl']);
      assertComplete(got, 10);
    });

    test('metrics.jsonl: one line, whole records only', () => {
      const got = join(tmp, 'tmpfs-metrics');
      const r = onTmpfs('4k', trainArgs(40, []), got);
      assertOneLine(r, /cannot write \S+metrics\.jsonl: ENOSPC/);
      const n = records(got).length; // parses: no torn record
      assert.ok(n > 0 && n < 40, `${n} records`);
      assert.ok(readFileSync(join(got, 'metrics.jsonl'), 'utf8').endsWith('\n'));
    });
  },
);
