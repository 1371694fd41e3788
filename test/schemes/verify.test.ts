/**
 * The verify scheme (src/schemes/verify.ts, docs/schemes.md "Verify"): s + 1 copies, disputes
 * settled by the PS. Attacked runs, with or without erasures, are bitwise the adversary-free model
 * for n in {6, 14, 15, 31}, attacks and placements; with fixed and worst placements the PS
 * recomputes at most once per Byzantine rank; bans survive a resume; in-process and local engines
 * agree; r below s + 1 is refused.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { attacks } from '../../src/attacks/registry.js';
import { Rng } from '../../src/core/rng.js';
import { train, type TrainOptions } from '../../src/index.js';
import type { StepRecord } from '../../src/train/loop.js';
import { Erasing } from '../erasing.js';
import { tempDir } from '../tmp.js';
import { crashAfterCheckpoint } from '../crash.js';

const BIN = fileURLToPath(new URL('../../../bin/draco.js', import.meta.url));

async function run(opts: TrainOptions, erase: (step: number) => Iterable<number> = () => []) {
  const records: StepRecord[] = [];
  const r = await train(opts, {
    wrapEngine: (e) => new Erasing(e, erase),
    onStep: (rec) => void records.push(rec),
  });
  return { summary: r.summary, records };
}

describe('verify: the adversary-free model, bit for bit', () => {
  test('property: every attack, n in {6, 14, 15, 31}, fixed/random/worst, random s, r >= s + 1, erasures', async () => {
    const rng = Rng.derive(41, 'verify-property');
    const clean = new Map<string, string>();
    let recomputed = 0;
    // Every registered attack, twice, on rotating sizes and placements: each n and placement
    // meets several attacks, each attack several sizes.
    const names = attacks.names().filter((a) => a !== 'none');
    for (let i = 0; i < 2 * names.length; i++) {
      const attack = names[i % names.length];
      const n = [6, 14, 15, 31][i % 4];
      const placement = ['fixed', 'random', 'worst'][i % 3];
      const s = 1 + (i % Math.min(3, Math.floor((n - 1) / 2)));
      const r = s + 1 + (i % 2);
      const steps = 6;
      const base: TrainOptions = {
        dataset: 'synthetic',
        model: 'mlp',
        scheme: 'verify',
        workers: n,
        byzantine: s,
        redundancy: r,
        placement,
        batch: 4 * n,
        steps,
        evalEvery: 0,
        seed: 7 + n,
      };
      const key = JSON.stringify(base);
      if (!clean.has(key)) {
        const ref = await run({ ...base, attack: 'none' });
        assert.equal(ref.summary.psRecomputations, 0);
        clean.set(key, ref.summary.paramsSha256);
      }
      // Erasures on half the runs: up to s ranks of the cluster each step.
      const erased = Array.from({ length: steps }, () =>
        i % 2 ? new Set(Array.from({ length: rng.int(s + 1) }, () => rng.int(n))) : new Set<number>(),
      );
      const attacked = await run({ ...base, attack }, (t) => erased[t]);
      const what = `n = ${n}, s = ${s}, r = ${r}, ${placement}, ${attack}`;
      assert.equal(attacked.summary.paramsSha256, clean.get(key), what);
      assert.equal(attacked.summary.partialSteps + attacked.summary.abortedSteps, 0, what);
      // Every suspect is a Byzantine rank of its step (the PS proved it), never an honest one.
      for (const rec of attacked.records)
        for (const w of rec.suspects)
          assert.ok(rec.byzantine.includes(w), `${what}: step ${rec.step} suspect ${w}`);
      recomputed += attacked.summary.psRecomputations;
    }
    assert.ok(recomputed > 0, 'no run needed the PS: the property was not exercised');
  });
});

describe('verify: what the adversary can make the PS do', () => {
  for (const placement of ['fixed', 'worst']) {
    test(`${placement} placement, banning on (auto): at most one recomputation per Byzantine rank`, async () => {
      // inf: the PS refuses the messages (not finite); refused is not missing, so banned too.
      for (const attack of ['reverse', 'alie', 'labelflip', 'inf']) {
        const opts: TrainOptions = {
          dataset: 'synthetic',
          scheme: 'verify',
          workers: 15,
          byzantine: 3,
          placement,
          attack,
          batch: 60,
          steps: 12,
          evalEvery: 0,
        };
        const { summary, records } = await run(opts);
        assert.ok(
          summary.psRecomputations >= 1 && summary.psRecomputations <= 3,
          `${attack}: ${summary.psRecomputations}`,
        );
        const last = records[records.length - 1];
        assert.deepEqual(
          last.banned,
          [...last.byzantine].sort((a, b) => a - b),
          attack,
        );
        // Once banned, a liar costs nothing: no recomputation after the first steps.
        assert.deepEqual(
          records.slice(2).map((r) => r.recomputations),
          new Array(records.length - 2).fill(0),
          attack,
        );
        // The recomputations are charged to the PS: inside its decode time.
        for (const rec of records) assert.ok(rec.time.recomputeMs <= rec.time.decodeMs + 1e-9);
      }
    });
  }

  test('banning off (--ban off, or random placement under auto): a liar costs a recomputation every step', async () => {
    const base: TrainOptions = {
      dataset: 'synthetic',
      scheme: 'verify',
      workers: 6,
      byzantine: 1,
      attack: 'reverse',
      batch: 24,
      steps: 5,
      evalEvery: 0,
    };
    const off = await run({ ...base, placement: 'fixed', ban: 'off' });
    assert.equal(off.summary.psRecomputations, 5);
    assert.ok(off.records.every((r) => r.banned!.length === 0));
    const random = await run({ ...base, placement: 'random' });
    assert.equal(random.summary.psRecomputations, 5);
  });
});

describe('verify: bans and engines', () => {
  const tmp = tempDir('draco-verify-');
  const draco = (args: string[]) => {
    const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 300_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const RUN = ['train', '--dataset', 'synthetic', '--scheme', 'verify', '--workers', '6', '--byzantine', '2'];
  const RUN2 = ['--placement', 'fixed', '--attack', 'alie', '--batch', '24', '--eval-every', '0', '--quiet'];
  const summary = (dir: string) =>
    JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as {
      paramsSha256: string;
      psRecomputations: number;
    };

  test('bans survive --resume: no second recomputation, the uninterrupted model', async () => {
    const opts: TrainOptions = {
      dataset: 'synthetic',
      scheme: 'verify',
      workers: 6,
      byzantine: 2,
      placement: 'fixed',
      attack: 'alie',
      batch: 24,
      steps: 8,
      evalEvery: 0,
    };
    const whole = await run(opts);
    const dir = join(tmp, 'part');
    mkdirSync(dir);
    // A crash after the checkpoint of step 4 (written before step index 4 runs its hooks' end).
    await crashAfterCheckpoint(opts, dir, 4, 4);
    const resumed = await run({ ...opts, checkpointEvery: 4, out: dir, resume: dir });
    assert.equal(resumed.records[0].step, 4);
    assert.deepEqual(resumed.records[0].banned, whole.records[4].banned);
    assert.ok(resumed.records[0].banned!.length > 0, 'nothing was banned before the crash');
    assert.ok(
      resumed.records.every((r) => r.recomputations === 0),
      'a banned liar cost a recomputation again',
    );
    assert.equal(resumed.summary.paramsSha256, whole.summary.paramsSha256);
    assert.equal(resumed.summary.psRecomputations, whole.summary.psRecomputations);
  });

  test('in-process and --engine local give the same model', () => {
    const a = join(tmp, 'inproc');
    const b = join(tmp, 'local');
    assert.equal(draco([...RUN, ...RUN2, '--steps', '5', '--out', a]).code, 0);
    const r = draco([...RUN, ...RUN2, '--steps', '5', '--out', b, '--engine', 'local']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(summary(b).paramsSha256, summary(a).paramsSha256);
    assert.equal(summary(b).psRecomputations, 2);
  });

  test('r below s + 1: one line, exit 2', () => {
    const r = draco([...RUN, '--redundancy', '2', '--byzantine', '2', '--steps', '1']);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      'draco: verify needs r >= s + 1 so that every group holds an honest member (r = 2, s = 2: use r >= 3)\n',
    );
  });
});
