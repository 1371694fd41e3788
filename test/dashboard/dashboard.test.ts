/**
 * The dashboard (issue 20): what the server streams (status bits, history for a late page, the
 * end of a run, run and study folders, one-line errors), then, in Debian's chromium driven by
 * playwright-core, the live page of an `--engine local` job with a Byzantine worker and the
 * `draco view` page of the finished folder. The browser part skips, saying why, only where
 * chromium cannot start.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { STATUSES, workerStatuses, type DashEvent } from '../../src/dashboard/events.js';
import { DashboardServer } from '../../src/dashboard/server.js';
import { folderSource, LiveRun } from '../../src/dashboard/sources.js';
import { createPlacement } from '../../src/attacks/placement.js';
import { generateKeySet, writeKeySet } from '../../src/cluster/keys.js';
import { alive, BIN, reaper, waitFor } from '../cluster/procs.js';
import { tempDir } from '../tmp.js';
import { launchChromium } from '../browser/chromium.js';

const tmp = tempDir('draco-dashboard-');
const spawned = reaper();
const bit = (s: (typeof STATUSES)[number]) => 1 << STATUSES.indexOf(s);

/** Every SSE `data:` payload of a stream that ends (a finished run). */
async function readStream(url: string): Promise<DashEvent[]> {
  const text = await (await fetch(url)).text();
  return text
    .split('\n\n')
    .filter((b) => b.startsWith('data: '))
    .map((b) => JSON.parse(b.slice(6)) as DashEvent)
    .filter((e) => 'kind' in e);
}

function record(step: number, extra: Record<string, unknown> = {}) {
  return {
    step,
    lr: 0.1,
    trainLoss: 1 / (step + 1),
    byzantine: [2],
    suspects: [2],
    erasures: [],
    rejected: [],
    failures: [],
    aborted: false,
    recomputations: 0,
    time: {
      computeMs: [3, 5, 4],
      encodeMs: [0.5, 0.25, 1],
      bytesSent: [8, 8, 8],
      psWaitMs: 1,
      decodeMs: 2,
      recomputeMs: 0,
      updateMs: 1,
      stepWallMs: 10,
      commMs: 4,
      modeledParallelMs: 12,
    },
    ...extra,
  };
}

/** Start `draco ARGS`, resolve with the process and the dashboard URL it prints. */
async function startWithUrl(
  args: string[],
  pattern: RegExp,
): Promise<{ proc: ChildProcess; url: string; stderr: () => string }> {
  const proc = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  spawned.push(proc.pid!);
  let err = '';
  proc.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const ok = await waitFor(() => pattern.test(err) || proc.exitCode !== null, 60_000);
  const m = pattern.exec(err);
  assert.ok(ok && m !== null, `no dashboard address printed: ${err}`);
  return { proc, url: m![1], stderr: () => err };
}

describe('dashboard server', () => {
  test('status bits: a caught attacker is byzantine and suspect; rejected ranks parse from "rank: reason"', () => {
    const s = workerStatuses({
      byzantine: [1, 4],
      suspects: [1, 3],
      erasures: [0],
      rejected: ['4: bad MAC'],
      banned: [1],
    });
    assert.deepEqual(s, [
      [0, bit('erased')],
      [1, bit('byzantine') | bit('suspect') | bit('banned')],
      [3, bit('suspect')],
      [4, bit('byzantine') | bit('rejected')],
    ]);
  });

  test('a live run: a late page gets the history first, then every step, then the summary and the end', async () => {
    const live = new LiveRun();
    const server = new DashboardServer(live);
    const url = await server.listen({ host: '127.0.0.1', port: 0 });
    try {
      live.start({ steps: 3, workers: 3, byzantine: 1, scheme: 'repetition', attack: 'reverse' }, 'job');
      live.step(record(0) as never);
      const stream = readStream(`${url}events`); // opened after step 0
      await new Promise((r) => setTimeout(r, 100));
      live.step(record(1) as never);
      live.step(record(2, { testAccuracy: 0.75 }) as never);
      live.finish({
        finalTestAccuracy: 0.75,
        finalTestLoss: 0.5,
        steps: 3,
        paramsSha256: 'ab',
        warnings: [],
        failed: null,
      } as never);
      const events = await stream;
      assert.deepEqual(
        events.map((e) => e.kind),
        ['meta', 'step', 'step', 'step', 'summary'],
      );
      const steps = events.flatMap((e) => (e.kind === 'step' ? [e.step] : []));
      // Cumulative times; the slowest worker's compute and encode.
      assert.deepEqual(
        steps.map((s) => [s.step, s.wallMs, s.modeledMs, s.computeMs, s.encodeMs]),
        [
          [0, 10, 12, 5, 1],
          [1, 20, 24, 5, 1],
          [2, 30, 36, 5, 1],
        ],
      );
      assert.equal(steps[2].testAccuracy, 0.75);
      assert.deepEqual(steps[0].workers, [[2, bit('byzantine') | bit('suspect')]]);
      // After the end a new page still gets the whole run.
      assert.equal((await readStream(`${url}events`)).length, 5);
      const page = await fetch(url);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<script src="\/vendor\/vega-lite.min.js">/);
      for (const asset of ['vendor/vega.min.js', 'vendor/vega-lite.min.js', 'dashboard.js', 'dashboard.css'])
        assert.equal((await fetch(url + asset)).status, 200, asset);
      assert.equal((await fetch(`${url}nope`)).status, 404);
      assert.equal((await fetch(url, { method: 'POST' })).status, 405);
    } finally {
      await server.close();
    }
  });

  test('run and study folders; errors are one line, exit 2', async () => {
    const run = join(tmp, 'study', 'runs', 'a');
    mkdirSync(run, { recursive: true });
    writeFileSync(
      join(run, 'metrics.jsonl'),
      [0, 1].map((i) => JSON.stringify(record(i))).join('\n') + '\n{"step": 2, "tru',
    );
    mkdirSync(join(tmp, 'study', 'runs', 'b'));
    writeFileSync(join(tmp, 'study', 'runs', 'b', 'metrics.jsonl'), JSON.stringify(record(0)) + '\n');
    const study = folderSource(join(tmp, 'study'));
    assert.deepEqual(
      study.runs().map((r) => r.id),
      ['a', 'b'],
    );
    // The torn last line of an interrupted run is left out; no summary: unfinished.
    assert.deepEqual(
      study
        .runs()[0]
        .events()
        .map((e) => e.kind),
      ['meta', 'step', 'step'],
    );
    assert.equal(folderSource(run).runs()[0].id, 'a');
    for (const [dir, why] of [
      [join(tmp, 'missing'), /is not a folder/],
      [tmp, /holds no run \(no metrics.jsonl or summary.json\) and no study/],
    ] as const) {
      const r = spawnSync(process.execPath, [BIN, 'view', dir, '--port', '0'], { encoding: 'utf8' });
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, why);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
    const hostOnly = spawnSync(process.execPath, [BIN, 'train', '--dashboard-host', '0.0.0.0'], {
      encoding: 'utf8',
    });
    assert.equal(hostOnly.status, 2);
    assert.match(hostOnly.stderr, /--dashboard-host needs --dashboard/);
    // A port in use.
    const blocker = createServer().listen(0, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    const port = (blocker.address() as { port: number }).port;
    const busy = spawnSync(process.execPath, [BIN, 'view', run, '--port', String(port)], {
      encoding: 'utf8',
    });
    blocker.close();
    assert.equal(busy.status, 2);
    assert.match(
      busy.stderr,
      new RegExp(`dashboard: port ${port} is in use on 127.0.0.1 \\(pick another, or 0 for any free port\\)`),
    );
    const badPort = spawnSync(process.execPath, [BIN, 'train', '--dashboard', '70000'], { encoding: 'utf8' });
    assert.equal(badPort.status, 2);
    assert.match(badPort.stderr, /expected a port number, 0 to 65535/);
  });

  test('draco ps --dashboard: a multi-machine run streams its steps and summary (remote engine)', async () => {
    const dir = join(tmp, 'ps-keys');
    writeKeySet(dir, generateKeySet(3));
    const out = join(tmp, 'ps-run');
    const ps = await startWithUrl(
      [
        'ps',
        '--bind',
        'tcp://127.0.0.1:*',
        '--key',
        join(dir, 'ps.key'),
        '--out',
        out,
        '--dataset',
        'synthetic',
        '--workers',
        '3',
        '--byzantine',
        '1',
        '--batch',
        '48',
        '--steps',
        '8',
        '--eval-every',
        '4',
        '--quiet',
        '--dashboard',
        '0',
      ],
      /dashboard at (http:\S+)/,
    );
    const stream = readStream(`${ps.url}events`); // opened before any worker joins: all live
    const endpoint = await (async () => {
      await waitFor(() => /listening on (tcp:\/\/\S+)/.test(ps.stderr()), 60_000);
      return /listening on (tcp:\/\/\S+)/.exec(ps.stderr())![1];
    })();
    const workers = [0, 1, 2].map((r) => {
      const w = spawn(
        process.execPath,
        [BIN, 'worker', '--connect', endpoint, '--key', join(dir, `worker-${r}.key`)],
        {
          stdio: 'ignore',
        },
      );
      spawned.push(w.pid!);
      return w;
    });
    const events = await stream;
    await waitFor(() => ps.proc.exitCode !== null && workers.every((w) => w.exitCode !== null), 60_000);
    assert.equal(ps.proc.exitCode, 0, ps.stderr());
    const meta = events.find((e) => e.kind === 'meta');
    assert.equal(meta?.kind === 'meta' && meta.meta.engine, 'remote');
    assert.deepEqual(
      events.flatMap((e) => (e.kind === 'step' ? [e.step.step] : [])),
      [0, 1, 2, 3, 4, 5, 6, 7],
    );
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { paramsSha256: string };
    const last = events[events.length - 1];
    assert.equal(last.kind === 'summary' && last.summary.paramsSha256, summary.paramsSha256);
  });
});

describe('dashboard in chromium', { concurrency: false }, () => {
  test('live page of an --engine local job, then draco view of its folder', async (t) => {
    const b = await launchChromium();
    if (b.browser === undefined) {
      process.stdout.write(`# skipped: ${b.why}\n`);
      t.skip(b.why);
      return;
    }
    const out = join(tmp, 'live');
    const cfg = { workers: 6, byzantine: 1, seed: 4 };
    const byzRank = createPlacement('fixed', {
      n: cfg.workers,
      s: cfg.byzantine,
      seed: cfg.seed,
    }).byzantineAt(0)[0];
    try {
      const job = await startWithUrl(
        [
          'train',
          '--engine',
          'local',
          '--scheme',
          'repetition',
          '--redundancy',
          '3',
          '--workers',
          String(cfg.workers),
          '--byzantine',
          String(cfg.byzantine),
          '--placement',
          'fixed',
          '--attack',
          'reverse',
          '--seed',
          String(cfg.seed),
          '--batch',
          '120',
          '--steps',
          '60',
          '--eval-every',
          '10',
          '--out',
          out,
          '--quiet',
          '--dashboard',
          '0',
        ],
        /dashboard at (http:\S+)/,
      );
      const page = await b.browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(job.url);
      const counter = async () =>
        Number(/step (\d+) \//.exec((await page.locator('#step-counter').textContent()) ?? '')?.[1] ?? -1);
      // The step counter advances while the run is live.
      // (Page expressions as strings: they run in the browser.)
      const stepShown = "Number(/step (\\d+)/.exec(document.querySelector('#step-counter').textContent)[1])";
      await page.waitForFunction(`${stepShown} > 0`, null, { timeout: 60_000 });
      const first = await counter();
      assert.equal(await page.locator('#state').textContent(), 'live');
      await page.waitForFunction(`${stepShown} > ${first}`, null, { timeout: 60_000 });
      assert.ok((await counter()) > first);
      // The curves have points: the rows bound to the charts (canvas), and a drawn canvas.
      const rows = (chart: string) =>
        page.evaluate(`window.dracoViews[${JSON.stringify(chart)}].data('rows')`) as Promise<
          Record<string, number | string>[]
        >;
      await page.waitForFunction(
        // (A view not yet run has no dataset: null until its first rows are drawn.)
        "(window.dracoViews?.['acc-chart']?.data('rows')?.length ?? 0) > 0",
        null,
        {
          timeout: 60_000,
        },
      );
      assert.ok((await rows('loss-chart')).length >= 2);
      assert.equal(await page.locator('#loss-chart canvas').count(), 1);
      // The Byzantine worker is marked suspect in the strip (only it), and in the table.
      await page.waitForFunction(
        `(window.dracoViews?.strip?.data('rows') ?? []).some((r) => r.worker === ${byzRank} && r.status === 'suspect')`,
        null,
        { timeout: 60_000 },
      );
      const marked = (await rows('strip')).filter((r) => r.status === 'suspect');
      assert.ok(
        marked.length > 0 && marked.every((r) => r.worker === byzRank),
        JSON.stringify(marked.slice(0, 3)),
      );
      assert.ok(
        Number(await page.locator(`td[data-worker="${byzRank}"][data-status="suspect"]`).textContent()) > 0,
      );
      await page.screenshot({ path: join(tmp, 'live-mid.png'), fullPage: true });
      // The final accuracy appears when the run ends.
      await page.waitForSelector('#final:not([hidden])', { timeout: 120_000 });
      await waitFor(() => job.proc.exitCode !== null, 30_000);
      assert.equal(job.proc.exitCode, 0, job.stderr());
      const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as {
        finalTestAccuracy: number;
      };
      const shown = `${(100 * summary.finalTestAccuracy).toFixed(2)}%`;
      assert.equal(await page.locator('#final-accuracy').textContent(), shown);
      assert.equal(await page.locator('#state').textContent(), 'finished');
      assert.deepEqual(errors, []);

      // draco view of the finished folder shows the same final accuracy.
      const view = await startWithUrl(['view', out, '--port', '0'], /at (http:\S+) \(Ctrl-C/);
      const again = await b.browser.newPage();
      await again.goto(view.url);
      await again.waitForSelector('#final:not([hidden])', { timeout: 30_000 });
      assert.equal(await again.locator('#final-accuracy').textContent(), shown);
      assert.equal(await again.locator('#step-counter').textContent(), 'step 60 / 60');
      view.proc.kill('SIGINT');
      await waitFor(() => view.proc.exitCode !== null, 10_000);
      assert.equal(view.proc.exitCode, 0);
      assert.ok(!alive(view.proc.pid!));
    } finally {
      await b.browser.close();
    }
  });
});
