/**
 * `--engine local`: the PS binds 127.0.0.1 on a random port with a fresh key set (keys.ts) and
 * spawns `n` `draco worker` child processes, each given only its own key. Children are killed on close, on error, on SIGINT/SIGTERM and
 * at process exit; each child also exits when its parent changes (the PS died with SIGKILL), so
 * no worker outlives the run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../core/errors.js';
import { generateKeySet, psKeysOf, type KeySet } from './keys.js';
import { ProcessEngine, type ProcessEngineOptions } from './process-engine.js';

/** The CLI entry point, relative to this compiled file (dist/src/cluster/local.js). */
const DRACO_BIN = fileURLToPath(new URL('../../../bin/draco.js', import.meta.url));

export class LocalEngine extends ProcessEngine {
  override readonly name = 'local';
  readonly children: ChildProcess[] = [];
  private readonly onExit = () => this.killAll();
  private readonly onSignal = (sig: NodeJS.Signals) => {
    // Someone else handles it (the training loop finishing its step and checkpointing): it
    // closes this engine afterwards, which stops the workers.
    if (process.listenerCount(sig) > 1) return;
    this.killAll();
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
    process.kill(process.pid, sig);
  };

  /**
   * The run's key set. This process made every key and hands each child its own, so holding them
   * all here reveals nothing; tests use them to play an insider.
   */
  readonly keySet: KeySet;

  /** Plugin modules every worker loads (`draco worker --plugin`), absolute paths. */
  private readonly plugins: readonly string[];

  constructor(o: ProcessEngineOptions & { keySet: KeySet; plugins?: readonly string[] }) {
    super(o);
    this.keySet = o.keySet;
    this.plugins = o.plugins ?? [];
  }

  /**
   * `keySet`: the run's keys (default: fresh ones; tests pass their own to play an insider).
   * `plugins`: modules each worker loads before it builds the run (the PS's own plugins).
   */
  static async start(
    o: Omit<ProcessEngineOptions, 'bind' | 'keys'> & { keySet?: KeySet; plugins?: readonly string[] },
  ): Promise<LocalEngine> {
    const keySet = o.keySet ?? generateKeySet(o.scheme.n);
    const e = new LocalEngine({ ...o, bind: 'tcp://127.0.0.1:*', keys: psKeysOf(keySet), keySet });
    try {
      await e.bind();
      e.spawnAll();
      const ready = await e.waitReady();
      if (ready < o.scheme.n) {
        throw new UsageError(
          `local engine: only ${ready} of ${o.scheme.n} workers started within ${o.startupTimeoutMs} ms`,
        );
      }
      return e;
    } catch (err) {
      await e.close();
      throw err;
    }
  }

  /** Process ids of the worker processes, by rank. */
  get pids(): number[] {
    return this.children.map((c) => c.pid ?? -1);
  }

  private spawnAll(): void {
    process.on('exit', this.onExit);
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
    for (let rank = 0; rank < this.o.scheme.n; rank++) {
      const child = spawn(
        process.execPath,
        [
          DRACO_BIN,
          'worker',
          '--connect',
          this.endpoint,
          '--exit-with-parent',
          '--timeout-ms',
          '0',
          ...this.plugins.flatMap((p) => ['--plugin', p]),
        ],
        {
          // Its own key only, through the environment, not argv (argv is world-readable in ps).
          env: { ...process.env, DRACO_WORKER_KEY: JSON.stringify(this.keySet.workers[rank]) },
          stdio: ['ignore', 'ignore', 'inherit'],
        },
      );
      child.on('exit', () => this.markGone(rank));
      child.on('error', () => this.markGone(rank));
      this.children.push(child);
    }
  }

  private killAll(): void {
    for (const c of this.children) {
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }
  }

  override async close(): Promise<void> {
    await super.close();
    // Workers exit on BYE; give them a moment, then make sure.
    const alive = () => this.children.filter((c) => c.exitCode === null && c.signalCode === null);
    const deadline = Date.now() + 1000;
    while (alive().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    this.killAll();
    await Promise.all(alive().map((c) => new Promise<void>((r) => c.once('exit', () => r()))));
    process.off('exit', this.onExit);
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }
}
