/**
 * Run a study's grid one run after another, resumably: a run whose summary.json exists is
 * finished and skipped. After every run results.csv is rewritten from all finished runs. Several
 * processes may share one study folder (`draco experiment --jobs N`): each claims a run before it
 * runs it (`shared`), and the process that started them writes results.csv at the end.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus as cpus_ } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../core/errors.js';
import { packageVersion } from '../core/version.js';
import { trainResolved } from '../build/train.js';
import type { StepRecord } from '../train/loop.js';
import { RunWriter } from '../train/output.js';
import { buildAggregator } from '../aggregators/registry.js';
import { BENCH_EXTRA_RULES, benchAggregate } from '../bench/aggregate.js';
import {
  csvCell,
  resultColumns,
  resultRow,
  type AggregationCostRow,
  type ResultRow,
  type StudyManifest,
  type StudyRun,
} from './results.js';

export interface StudyProgress {
  /** A run starts (index from 0) or is skipped because it already finished. */
  onRun?(run: StudyRun, index: number, total: number, skipped: boolean): void;
  onStep?(run: StudyRun, record: StepRecord): void;
  onRunDone?(run: StudyRun, row: ResultRow): void;
  onRunFailed?(run: StudyRun, message: string): void;
  onAggregationCost?(row: AggregationCostRow): void;
  onAggregationCostSkipped?(rule: string, n: number, why: string): void;
}

export interface StudyOutcome {
  rows: ResultRow[];
  ran: number;
  skipped: number;
  failed: { id: string; message: string }[];
}

function environment(): NonNullable<StudyManifest['environment']> {
  const cpus = cpus_();
  return {
    draco: packageVersion(),
    node: process.version,
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    platform: `${process.platform}-${process.arch}`,
  };
}

export function runDir(out: string, id: string): string {
  return join(out, 'runs', id);
}

export interface RunStudyOptions {
  /** Run only these runs (a part of the study); the others' finished results still go into results.csv. */
  select?: (run: StudyRun) => boolean;
  /**
   * One of several processes working on `out` at once (`draco experiment --jobs`): each run is
   * claimed first (a lock folder naming this process), so no two processes run it; results.csv,
   * study.json and the aggregation cost are left to the process that started them.
   */
  shared?: boolean;
}

/** The lock folder of a run being computed by some process of a `--jobs` study. */
const lockDir = (out: string, id: string) => join(out, 'runs', `${id}.lock`);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Claim a run for this process; a lock left by a process that died is taken over. */
function claim(out: string, id: string): boolean {
  const dir = lockDir(out, id);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      mkdirSync(dir);
      writeFileSync(join(dir, 'pid'), String(process.pid));
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let owner: number;
      try {
        owner = Number(readFileSync(join(dir, 'pid'), 'utf8'));
      } catch {
        // No pid yet: claimed a moment ago (its owner is alive), or its owner died at once.
        if (Date.now() - statSync(dir).mtimeMs < 60_000) return false;
        owner = -1;
      }
      if (owner > 0 && alive(owner)) return false;
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return false;
}

/** Create `out` and write its study.json: the expanded runs and where they run. */
export function writeManifest(manifest: StudyManifest, out: string): void {
  try {
    mkdirSync(join(out, 'runs'), { recursive: true });
  } catch (e) {
    throw new UsageError(`cannot create ${out}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  const withEnv: StudyManifest = { ...manifest, environment: environment() };
  writeFileSync(join(out, 'study.json'), JSON.stringify(withEnv, null, 2) + '\n');
}

/** Execute (or resume) a study into `out`. */
export async function runStudy(
  manifest: StudyManifest,
  out: string,
  progress: StudyProgress = {},
  opts: RunStudyOptions = {},
): Promise<StudyOutcome> {
  const select = opts.select ?? (() => true);
  if (opts.shared !== true) writeManifest(manifest, out);

  let ran = 0;
  let skipped = 0;
  const failed: { id: string; message: string }[] = [];
  // One row per finished run, computed once from its files (metrics.jsonl is the big one).
  const rows = new Map<string, ResultRow>();
  for (const [i, run] of manifest.runs.entries()) {
    const dir = runDir(out, run.id);
    if (existsSync(join(dir, 'summary.json'))) {
      rows.set(run.id, resultRow(manifest, run, dir));
      if (select(run)) {
        skipped++;
        progress.onRun?.(run, i, manifest.runs.length, true);
      }
      continue;
    }
    if (!select(run)) continue;
    if (opts.shared === true && !claim(out, run.id)) continue; // another process runs it
    progress.onRun?.(run, i, manifest.runs.length, false);
    rmSync(dir, { recursive: true, force: true }); // a run interrupted earlier starts over
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.json'), JSON.stringify(run.config, null, 2) + '\n');
    const writer = new RunWriter(dir);
    try {
      const { summary, params } = await trainResolved(
        { ...run.config, out: dir },
        {},
        {
          onStep(rec) {
            writer.step(rec);
            progress.onStep?.(run, rec);
          },
        },
      );
      writer.finish(summary, params);
      ran++;
      const row = resultRow(manifest, run, dir);
      rows.set(run.id, row);
      progress.onRunDone?.(run, row);
    } catch (e) {
      writer.close();
      if (!(e instanceof UsageError)) throw e;
      failed.push({ id: run.id, message: e.message });
      writeFileSync(join(dir, 'error.txt'), e.message + '\n');
      progress.onRunFailed?.(run, e.message);
    } finally {
      if (opts.shared === true) rmSync(lockDir(out, run.id), { recursive: true, force: true });
    }
    if (opts.shared !== true) writeResults(manifest, out, rows);
  }
  if (opts.shared === true) return { rows: [...rows.values()], ran, skipped, failed };
  const finished = writeResults(manifest, out, rows);
  if (manifest.aggregationCost) writeAggregationCost(manifest, out, progress);
  return { rows: finished, ran, skipped, failed };
}

/** Rewrite results.csv from the finished runs' rows, in grid order; returns them in that order. */
function writeResults(
  manifest: StudyManifest,
  out: string,
  byId: ReadonlyMap<string, ResultRow>,
): ResultRow[] {
  const rows = manifest.runs.flatMap((run) => byId.get(run.id) ?? []);
  const cols = resultColumns(manifest.targets);
  const lines = [cols.join(',')];
  for (const row of rows)
    lines.push(cols.map((c) => csvCell((row as unknown as Record<string, unknown>)[c])).join(','));
  writeFileSync(join(out, 'results.csv'), lines.join('\n') + '\n');
  return rows;
}

/**
 * The most Byzantine inputs the rule accepts at n, up to Bulyan's floor((n - 3) / 4) (so that
 * every rule of a study is timed at the same f where it can be); 0 if it accepts none.
 */
function largestF(rule: string, n: number): number {
  const top = Math.max(0, Math.floor((n - 3) / 4));
  if (BENCH_EXTRA_RULES.includes(rule)) return top; // not rules: no precondition (vote: f deviants)
  for (let f = top; f > 0; f--) {
    try {
      if (buildAggregator(rule, { n, f }).precondition(n, f) === null) return f;
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
    }
  }
  return 0;
}

/** PS aggregation cost vs n per rule (the DETOX per-step-cost comparison), via the aggregate bench. */
function writeAggregationCost(manifest: StudyManifest, out: string, progress: StudyProgress): void {
  const spec = manifest.aggregationCost!;
  const rows: AggregationCostRow[] = [];
  for (const n of spec.n) {
    for (const rule of spec.rules) {
      const f = largestF(rule, n);
      let r;
      try {
        [r] = benchAggregate({ n, d: spec.d, f, rules: [rule], runs: spec.runs ?? 5, warmup: 1 });
      } catch (e) {
        if (!(e instanceof UsageError)) throw e;
        progress.onAggregationCostSkipped?.(rule, n, e.message); // the rule cannot run at this n
        continue;
      }
      const row: AggregationCostRow = { rule, n, d: spec.d, f, medianMs: r.medianMs };
      rows.push(row);
      progress.onAggregationCost?.(row);
    }
  }
  const lines = [
    'rule,n,d,f,medianMs',
    ...rows.map((r) => [r.rule, r.n, r.d, r.f, r.medianMs].map(csvCell).join(',')),
  ];
  writeFileSync(join(out, 'aggregation-cost.csv'), lines.join('\n') + '\n');
}
