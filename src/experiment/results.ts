/**
 * What a study writes under its output folder, shared by `draco experiment` (the writer) and
 * `draco report` (the reader):
 *
 *   DIR/study.json              StudyManifest: the expanded grid, settings, targets
 *   DIR/runs/<id>/config.json   the resolved TrainConfig of the run
 *   DIR/runs/<id>/metrics.jsonl one StepRecord per step (src/train/loop.ts)
 *   DIR/runs/<id>/summary.json  TrainSummary, written last: its presence means "finished"
 *   DIR/results.csv             one ResultRow per finished run, columns RESULT_COLUMNS in order
 *   DIR/aggregation-cost.csv    optional, one AggregationCostRow per (rule, n): PS cost vs n
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { median } from '../core/stats.js';
import type { NetworkModel } from '../train/time-model.js';
import type { StepRecord, TrainSummary } from '../train/loop.js';
import type { TrainConfig } from '../build/config.js';

export type { NetworkModel };

/** Labels identifying a run in tables and charts. */
export interface RunLabels {
  /** Human label of the defense, e.g. "repetition", "cyclic", "uncoded/geomedian", "detox/bulyan". */
  defense: string;
  scheme: string;
  aggregator: string;
  attack: string;
  placement: string;
  /** How the training set is laid out over the partitions: iid, dirichlet:alpha=A, shards:k=K. */
  partition: string;
  n: number;
  s: number;
  r: number;
  m: number;
  seed: number;
}

export interface StudyRun {
  id: string;
  labels: RunLabels;
  config: TrainConfig;
}

export interface StudyManifest {
  name: string;
  description: string;
  quick: boolean;
  /** Test accuracies for the "steps / time to target" columns, e.g. [0.9, 0.95]. */
  targets: number[];
  network: NetworkModel;
  /** The defense label that speedups are measured against (e.g. "geomedian"). */
  reference?: string;
  runs: StudyRun[];
  /** Where the study ran (written by the runner): timings mean little without it. */
  environment?: { draco: string; node: string; cpu: string; cores: number; platform: string };
  /** Present when the study measures PS aggregation cost vs n. */
  aggregationCost?: { rules: string[]; n: number[]; d: number; runs?: number };
}

/** One row of results.csv. Times in ms; "modeled" columns come from the time model. */
export interface ResultRow extends RunLabels {
  id: string;
  model: string;
  dataset: string;
  steps: number;
  finalTestAccuracy: number;
  finalTestLoss: number;
  bytesPerWorkerPerStep: number;
  /** Medians over steps of the per-step breakdown. computeMs/encodeMs: slowest worker. */
  computeMs: number;
  encodeMs: number;
  /** Modeled: bytes / bandwidth + latency for the slowest link. */
  commMs: number;
  decodeMs: number;
  updateMs: number;
  /** Modeled parallel step time: compute + encode + comm + decode + update. */
  modeledStepMs: number;
  /** Measured wall time of an in-process step (all workers run one after another). */
  wallStepMs: number;
  /** Total modeled training time (sum over steps), seconds. */
  modeledSeconds: number;
  /** Total measured wall time of the run, seconds. */
  wallSeconds: number;
  /** Gradients the PS computed itself to settle disputes (verify), and the last step that did. */
  psRecomputations: number;
  lastRecomputationStep: number | string;
  /** Per target t in the manifest: first evaluated step reaching it, and modeled seconds to it. */
  [targetColumn: `stepsTo${string}` | `modeledSecondsTo${string}`]: number | string;
}

/** Column name for a target accuracy: 0.95 -> "95" (stepsTo95, modeledSecondsTo95). */
export function targetKey(target: number): string {
  return String(Math.round(target * 1000) / 10).replace('.', '_');
}

/** results.csv columns in order; the per-target columns follow the fixed ones. */
export function resultColumns(targets: readonly number[]): string[] {
  const fixed = [
    'id',
    'defense',
    'scheme',
    'aggregator',
    'attack',
    'placement',
    'partition',
    'n',
    's',
    'r',
    'm',
    'seed',
    'model',
    'dataset',
    'steps',
    'finalTestAccuracy',
    'finalTestLoss',
    'bytesPerWorkerPerStep',
    'computeMs',
    'encodeMs',
    'commMs',
    'decodeMs',
    'updateMs',
    'modeledStepMs',
    'wallStepMs',
    'modeledSeconds',
    'wallSeconds',
    'psRecomputations',
    'lastRecomputationStep',
  ];
  for (const t of targets) fixed.push(`stepsTo${targetKey(t)}`, `modeledSecondsTo${targetKey(t)}`);
  return fixed;
}

/** One row of aggregation-cost.csv. */
export interface AggregationCostRow {
  rule: string;
  n: number;
  d: number;
  /** Byzantine inputs assumed: the most the rule accepts at n, at most floor((n - 3) / 4). */
  f: number;
  medianMs: number;
}

/** A results.csv cell: numbers to 6 decimals, NaN and infinities empty, RFC 4180 quoting. */
export function csvCell(v: unknown): string {
  if (v === undefined || v === null || (typeof v === 'number' && !Number.isFinite(v))) return '';
  const s = typeof v === 'number' ? String(Math.round(v * 1e6) / 1e6) : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One results.csv row from a finished run's summary.json and metrics.jsonl. */
export function resultRow(manifest: StudyManifest, run: StudyRun, dir: string): ResultRow {
  const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as TrainSummary;
  const records = readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as StepRecord);
  const per = (f: (t: StepRecord['time']) => number) => median(records.map((r) => f(r.time)));
  const slowest = (xs: number[]) => Math.max(...xs);
  const row: ResultRow = {
    id: run.id,
    ...run.labels,
    model: run.config.model,
    dataset: run.config.dataset,
    steps: summary.steps,
    finalTestAccuracy: summary.finalTestAccuracy,
    finalTestLoss: summary.finalTestLoss,
    bytesPerWorkerPerStep: summary.bytesPerWorkerPerStep,
    computeMs: per((t) => slowest(t.computeMs)),
    encodeMs: per((t) => slowest(t.encodeMs)),
    commMs: per((t) => t.commMs),
    decodeMs: per((t) => t.decodeMs),
    updateMs: per((t) => t.updateMs),
    modeledStepMs: per((t) => t.modeledParallelMs),
    wallStepMs: per((t) => t.stepWallMs),
    modeledSeconds: records.reduce((a, r) => a + r.time.modeledParallelMs, 0) / 1000,
    wallSeconds: summary.wallSeconds,
    // Runs of earlier versions have no recomputation counts: none happened.
    psRecomputations: summary.psRecomputations ?? 0,
    lastRecomputationStep: records.reduce(
      (a: number | string, r) => ((r.recomputations ?? 0) > 0 ? r.step : a),
      '',
    ),
  };
  for (const target of manifest.targets) {
    let modeledMs = 0;
    let hit: { step: number; seconds: number } | null = null;
    for (const r of records) {
      modeledMs += r.time.modeledParallelMs;
      if (r.testAccuracy !== undefined && r.testAccuracy >= target) {
        hit = { step: r.step + 1, seconds: modeledMs / 1000 };
        break;
      }
    }
    const key = targetKey(target);
    row[`stepsTo${key}`] = hit ? hit.step : '';
    row[`modeledSecondsTo${key}`] = hit ? hit.seconds : '';
  }
  return row;
}
