/**
 * The measurement behind `draco bench dashboard` (docs/dashboard.md "Cost"): the median step time
 * of one config trained without and with the dashboard, run by run in turn, with a page watching:
 * a stream reader in a process of its own (the PS's cost: reducing each record and writing it
 * out) or chromium rendering the page (a browser on the same machine also competes with the run
 * for its cores).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolveConfig, type TrainConfigInput } from '../build/config.js';
import { trainResolved } from '../build/train.js';
import { UsageError } from '../core/errors.js';
import { median } from '../core/stats.js';
import { DashboardServer } from '../dashboard/server.js';
import { LiveRun } from '../dashboard/sources.js';

export interface BenchDashboardResult {
  runs: number;
  /** Median over runs of each run's median step wall time (ms). */
  offMs: number;
  onMs: number;
  /** onMs / offMs. */
  ratio: number;
  /** Bytes the watching page received per step (stream mode). */
  bytesPerStep: number;
  sameModel: boolean;
}

interface Watcher {
  open(url: string): Promise<void>;
  close(): Promise<void>;
  bytes: number;
}

/**
 * A page that only reads the stream, in a process of its own (as a browser elsewhere would be):
 * what is left in the run's process is the PS's work, reducing records and writing them out.
 */
function streamWatcher(): Watcher {
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let out = '';
  const w: Watcher = {
    bytes: 0,
    async open(url) {
      const reader =
        'let n = 0; const r = await fetch(process.argv[1]); for await (const c of r.body) n += c.length; console.log(n);';
      child = spawn(process.execPath, ['--input-type=module', '-e', reader, `${url}events`], {
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
      exited = new Promise((resolve) => child!.once('exit', () => resolve()));
      // Connected once the history (the run's meta) arrives: wait until the server has a stream.
      await new Promise((r) => setTimeout(r, 300));
    },
    async close() {
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      child?.kill();
      w.bytes = Number(out.trim()) || 0;
      out = '';
    },
  };
  return w;
}

async function browserWatcher(executablePath: string): Promise<Watcher & { quit(): Promise<void> }> {
  let chromium: { launch(o: object): Promise<BrowserLike> };
  try {
    ({ chromium } = (await import('playwright-core')) as unknown as { chromium: typeof chromium });
  } catch {
    throw new UsageError('bench dashboard --browser needs the playwright-core package (a dev dependency)');
  }
  let browser: BrowserLike;
  try {
    browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
  } catch (e) {
    throw new UsageError(
      `bench dashboard: chromium at ${executablePath} did not start: ${(e as Error).message.split('\n')[0]}`,
    );
  }
  let page: PageLike | null = null;
  return {
    bytes: 0,
    async open(url) {
      page = await browser.newPage();
      await page.goto(url);
    },
    async close() {
      await page?.close();
      page = null;
    },
    quit: () => browser.close(),
  };
}

interface PageLike {
  goto(url: string): Promise<unknown>;
  close(): Promise<void>;
}
interface BrowserLike {
  newPage(): Promise<PageLike>;
  close(): Promise<void>;
}

export async function benchDashboard(
  config: TrainConfigInput,
  runs: number,
  browserPath?: string,
): Promise<BenchDashboardResult> {
  const resolved = resolveConfig(config);
  const off: number[] = [];
  const on: number[] = [];
  const shas = new Set<string>();
  let bytes = 0;
  let steps = 0;
  const browser = browserPath !== undefined ? await browserWatcher(browserPath) : null;
  try {
    for (let r = 0; r < runs; r++) {
      const plain = await trainResolved(resolved);
      off.push(plain.summary.medianStepWallMs);
      shas.add(plain.summary.paramsSha256);

      const live = new LiveRun();
      const server = new DashboardServer(live);
      const url = await server.listen({ host: '127.0.0.1', port: 0 });
      const watcher = browser ?? streamWatcher();
      watcher.bytes = 0;
      await watcher.open(url);
      try {
        const watched = await trainResolved(
          resolved,
          {},
          {
            onStart: ({ model, dataset }) => live.start(resolved, `${model.name} on ${dataset.name}`),
            onStep: (rec) => live.step(rec),
          },
        );
        live.finish(watched.summary);
        on.push(watched.summary.medianStepWallMs);
        shas.add(watched.summary.paramsSha256);
        await watcher.close();
        bytes += watcher.bytes;
        steps += watched.summary.steps;
      } finally {
        await server.close();
      }
    }
  } finally {
    await browser?.quit();
  }
  const offMs = median(off);
  const onMs = median(on);
  return {
    runs,
    offMs,
    onMs,
    ratio: onMs / offMs,
    bytesPerStep: steps > 0 ? bytes / steps : 0,
    sameModel: shas.size === 1,
  };
}
