/**
 * Issue 21, volunteers in real browsers: Debian's chromium (playwright-core) opening the page
 * `draco ps --volunteers` serves, real PS and `draco worker` processes.
 *
 * - A mixed run: three browser tabs and two `draco worker` processes, one tab Byzantine (it runs
 *   `reverse` on its own message, flag in the page's URL), DRACO's repetition code. The run ends,
 *   the liar is a suspect at every step, and the model is the in-process run's with the same
 *   options and seed (paramsSha256).
 * - Volunteers come and go: a tab closed mid-run is an erasure at once (the PS logs it, the step
 *   does not wait for the deadline), a new tab takes the freed rank and answers the later steps, and
 *   the model is still the in-process run's.
 * - A tab opened from another machine's point of view (the PS's LAN address over plain http: not a
 *   secure context, no WebCrypto) runs the pure-JS cryptography and trains the same model.
 * Prints a volunteer's gradient time beside a Node worker's (the same partition size). Skips,
 * saying why, only where chromium cannot start.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { VolunteerStatus } from '../../src/browser/volunteer.js';
import { BIN, reaper, waitFor } from '../cluster/procs.js';
import { paramsSha, startVolunteerPs, stepRecords } from '../cluster/volunteer-ps.js';
import { launchChromium } from './chromium.js';

const pids = reaper();
const tmp = mkdtempSync(join(tmpdir(), 'draco-volunteer-tabs-'));
let browser: Browser | undefined;
let why: string | undefined;

before(async () => ({ browser, why } = await launchChromium()));
after(async () => {
  await browser?.close();
  rmSync(tmp, { recursive: true, force: true });
});

const status = (p: Page) =>
  p.evaluate(() => (globalThis as unknown as { dracoVolunteer?: VolunteerStatus }).dracoVolunteer ?? null);

async function openTab(link: string): Promise<Page> {
  const page = await browser!.newPage();
  page.on('pageerror', (e) => process.stderr.write(`page error: ${e.message}\n`));
  await page.goto(link);
  return page;
}

/** Wait until `cond` holds for the page's status (polling), or fail with the last status. */
async function waitStatus(
  p: Page,
  cond: (s: VolunteerStatus) => boolean,
  ms: number,
): Promise<VolunteerStatus> {
  const end = Date.now() + ms;
  let s: VolunteerStatus | null = null;
  while (Date.now() < end) {
    s = await status(p);
    if (s !== null && cond(s)) return s;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`page status: ${JSON.stringify(s)}`);
}

/** `draco train` (in-process) with the run's options: the reference model. */
function reference(args: string[], name: string): string {
  const out = join(tmp, name);
  const r = spawnSync(process.execPath, [BIN, 'train', ...args, '--out', out], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return paramsSha(out);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

describe('volunteers in chromium', () => {
  test(
    'three tabs (one Byzantine) and two draco workers: the repetition code trains the in-process model',
    { timeout: 240_000 },
    async (t) => {
      if (browser === undefined) return t.skip(why);
      const keys = join(tmp, 'keys');
      const k = spawnSync(process.execPath, [BIN, 'keys', '--workers', '5', '--out', keys], {
        encoding: 'utf8',
      });
      assert.equal(k.status, 0, k.stderr);
      const run = '--workers 5 --byzantine 1 --attack none --scheme repetition --steps 6 --seed 3'.split(' ');
      const out = join(tmp, 'mixed');
      const ps = await startVolunteerPs(
        ['--volunteers', '0-2', '--bind', 'tcp://127.0.0.1:*', '--key', join(keys, 'ps.key'), ...run],
        out,
        pids,
      );
      const workers = [3, 4].map((r) => {
        const w = spawn(
          process.execPath,
          [BIN, 'worker', '--connect', ps.endpoint!, '--key', join(keys, `worker-${r}.key`)],
          {
            stdio: 'ignore',
          },
        );
        pids.push(w.pid!);
        return new Promise<number | null>((resolve) => w.on('exit', resolve));
      });
      const pages = [
        await openTab(ps.link + '&attack=reverse'),
        await openTab(ps.link),
        await openTab(ps.link),
      ];
      const { code, stderr } = await ps.exited;
      assert.equal(code, 0, stderr);
      assert.deepEqual(await Promise.all(workers), [0, 0], 'the draco workers end with the run');
      const ends = await Promise.all(pages.map((p) => waitStatus(p, (s) => s.state === 'done', 10_000)));
      assert.deepEqual(
        ends.map((s) => s.steps),
        [6, 6, 6],
      );
      assert.deepEqual(
        new Set(ends.map((s) => s.rank)),
        new Set([0, 1, 2]),
        'the tabs took the volunteer ranks',
      );
      const liar = ends[0].rank!;
      assert.equal(ends[0].attack, 'reverse');
      const steps = stepRecords(out);
      assert.equal(steps.length, 6);
      for (const s of steps)
        assert.ok(s.suspects.includes(liar), `step ${s.step}: the lying tab is a suspect`);
      assert.equal(paramsSha(out), reference(run, 'mixed-ref'), "the model is the in-process run's");

      // One gradient of the same partition in a tab and in a draco worker, over the steps after the first.
      const times = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('{"step"'))
        .map((l) => (JSON.parse(l) as { time: { computeMs: number[] } }).time.computeMs)
        .slice(1);
      const honestTabs = ends.filter((s) => s.rank !== liar).map((s) => s.rank!);
      const tab = median(times.flatMap((c) => honestTabs.map((r) => c[r])));
      const node = median(times.flatMap((c) => [c[3], c[4]]));
      process.stdout.write(
        `# volunteer gradient ${tab.toFixed(1)} ms (chromium tab), draco worker ${node.toFixed(1)} ms (median)\n`,
      );
      await Promise.all(pages.map((p) => p.close()));
    },
  );

  test(
    'a tab closed mid-run is an erasure, a new tab takes its rank, and the model is unchanged',
    { timeout: 240_000 },
    async (t) => {
      if (browser === undefined) return t.skip(why);
      const run = '--workers 3 --byzantine 1 --attack none --scheme repetition --steps 40 --seed 8'.split(
        ' ',
      );
      const out = join(tmp, 'churn');
      const ps = await startVolunteerPs(['--volunteers', ...run], out, pids);
      const pages = [await openTab(ps.link), await openTab(ps.link), await openTab(ps.link)];
      const leaving = pages[1];
      const left = await waitStatus(leaving, (s) => s.steps >= 3, 60_000);
      await leaving.close();
      assert.ok(await waitFor(() => /volunteer of rank \d+ left/.test(ps.stderr()), 10_000), ps.stderr());
      const newcomer = await openTab(ps.link);
      const joined = await waitStatus(newcomer, (s) => s.steps >= 1, 60_000);
      assert.equal(joined.rank, left.rank, 'the new tab took the freed rank');

      const { code, stderr } = await ps.exited;
      assert.equal(code, 0, stderr);
      assert.match(stderr, new RegExp(`volunteer of rank ${left.rank} left; its messages are erasures`));
      const steps = stepRecords(out);
      assert.equal(steps.length, 40);
      const erased = steps.filter((s) => s.erasures.includes(left.rank!)).map((s) => s.step);
      assert.ok(erased.length > 0, 'the closed tab was an erasure');
      const back = steps.filter((s) => s.step > Math.max(...erased) && s.erasures.length === 0);
      assert.ok(back.length > 0, 'after the new tab joined, the rank answered again');
      assert.ok(
        steps.every((s) => s.suspects.length === 0),
        'an erasure is not a suspect (nobody lied)',
      );
      assert.equal(paramsSha(out), reference(run, 'churn-ref'), "the model is the in-process run's");
      await Promise.all([...pages.filter((p) => p !== leaving), newcomer].map((p) => p.close()));
    },
  );

  test(
    'a tab on plain http from another address (no WebCrypto) uses the pure-JS crypto and trains the same model',
    { timeout: 120_000 },
    async (t) => {
      if (browser === undefined) return t.skip(why);
      const lan = Object.values(networkInterfaces())
        .flat()
        .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal);
      if (lan === undefined) return t.skip('this machine has no non-loopback IPv4 address');
      const run = '--workers 1 --byzantine 0 --attack none --scheme uncoded --steps 4 --seed 2'.split(' ');
      const out = join(tmp, 'lan');
      const ps = await startVolunteerPs(['--volunteers', ...run], out, pids);
      const page = await openTab(ps.link.replace('127.0.0.1', lan.address));
      const end = await waitStatus(page, (s) => s.state === 'done' || s.state === 'error', 60_000);
      assert.equal(end.state, 'done', end.message);
      assert.equal(end.crypto, 'noble', 'not a secure context: no WebCrypto');
      assert.equal((await ps.exited).code, 0);
      assert.equal(paramsSha(out), reference(run, 'lan-ref'));
      await page.close();
    },
  );
});
