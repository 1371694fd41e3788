/**
 * The dashboard's runs (docs/dashboard.md): a live run fed by the training loop's hooks, and
 * finished (or interrupted) runs read from their folders, alone or as a study's runs side by side.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { UsageError } from '../core/errors.js';
import type { StepRecord, TrainSummary } from '../train/loop.js';
import { dashMeta, dashSummary, StepFolder, type DashEvent } from './events.js';
import type { DashRun, DashSource } from './server.js';

/** A run in progress: the loop's hooks push its events; pages subscribe. */
export class LiveRun implements DashRun, DashSource {
  private readonly history: DashEvent[] = [];
  private readonly listeners = new Set<(e: DashEvent | null) => void>();
  private readonly folder = new StepFolder();
  private ended = false;

  constructor(readonly id = 'run') {}

  runs(): DashRun[] {
    return [this];
  }

  events(): readonly DashEvent[] {
    return this.history;
  }

  subscribe(listener: (e: DashEvent | null) => void): () => void {
    if (this.ended) {
      listener(null);
      return () => {};
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(config: Readonly<Record<string, unknown>>, title: string, firstStep = 0): void {
    this.push({ kind: 'meta', meta: dashMeta(config, title, firstStep) });
  }

  step(rec: StepRecord): void {
    this.push({ kind: 'step', step: this.folder.add(rec) });
  }

  /** The run's end: its summary (when it produced one), then the streams close. */
  finish(summary: TrainSummary | null): void {
    if (this.ended) return;
    if (summary !== null) this.push({ kind: 'summary', summary: dashSummary(summary) });
    this.ended = true;
    for (const l of this.listeners) l(null);
    this.listeners.clear();
  }

  private push(e: DashEvent): void {
    this.history.push(e);
    for (const l of this.listeners) l(e);
  }
}

/** A run folder's events: its config, every record of metrics.jsonl, its summary if finished. */
export function readRunEvents(dir: string, title = basename(resolve(dir))): DashEvent[] {
  const summaryPath = join(dir, 'summary.json');
  const summary = existsSync(summaryPath)
    ? (JSON.parse(readFileSync(summaryPath, 'utf8')) as TrainSummary)
    : null;
  const configPath = join(dir, 'config.json');
  const config =
    summary?.config ??
    (existsSync(configPath) ? (JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>) : {});
  const events: DashEvent[] = [];
  const folder = new StepFolder();
  const lines = existsSync(join(dir, 'metrics.jsonl'))
    ? readFileSync(join(dir, 'metrics.jsonl'), 'utf8').split('\n')
    : [];
  const steps: DashEvent[] = [];
  for (const line of lines) {
    if (line.trim() === '') continue;
    let rec: StepRecord;
    try {
      rec = JSON.parse(line) as StepRecord;
    } catch {
      break; // a torn last line of an interrupted run
    }
    steps.push({ kind: 'step', step: folder.add(rec) });
  }
  const first = steps.length > 0 && steps[0].kind === 'step' ? steps[0].step.step : 0;
  events.push({ kind: 'meta', meta: dashMeta(config, title, first) }, ...steps);
  if (summary !== null) events.push({ kind: 'summary', summary: dashSummary(summary) });
  return events;
}

const isRunDir = (dir: string) =>
  existsSync(join(dir, 'metrics.jsonl')) || existsSync(join(dir, 'summary.json'));

/**
 * `draco view DIR`: a run folder (metrics.jsonl, summary.json) or a study folder (runs/<id>/ each a
 * run). Read when a page asks, so a run still writing shows its latest records on reload.
 */
export function folderSource(dir: string): DashSource {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`view: ${dir} is not a folder`);
  if (isRunDir(dir)) {
    const id = basename(resolve(dir));
    return { runs: () => [{ id, events: () => readRunEvents(dir, id) }] };
  }
  const runsDir = join(dir, 'runs');
  if (existsSync(runsDir) && statSync(runsDir).isDirectory()) {
    const list = () =>
      readdirSync(runsDir)
        .filter((name) => isRunDir(join(runsDir, name)))
        .sort()
        .map((id) => ({ id, events: () => readRunEvents(join(runsDir, id), id) }));
    if (list().length === 0)
      throw new UsageError(`view: ${dir} is a study folder with no runs yet (runs/ is empty)`);
    return { runs: list };
  }
  throw new UsageError(
    `view: ${dir} holds no run (no metrics.jsonl or summary.json) and no study (no runs/ folder)`,
  );
}
