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
import type { NetworkModel } from '../train/time-model.js';
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
