/**
 * What the dashboard shows of a run (docs/dashboard.md): one compact `DashStep` per step record,
 * the same whether it comes live from the training loop or from a finished run's metrics.jsonl,
 * so the live page and `draco view` draw the same thing.
 */
import type { StepRecord, TrainSummary } from '../train/loop.js';

/**
 * A worker's states in one step, most telling first (the strip shows the first that applies):
 * rejected (its message refused at validation), erased (missing), suspect (flagged by the decoder
 * or rule this step), banned (ignored from the next step on), byzantine (an attacker this step: in
 * simulation we know who lies), honest.
 */
export const STATUSES = ['rejected', 'erased', 'suspect', 'banned', 'byzantine', 'honest'] as const;
export type WorkerStatus = (typeof STATUSES)[number];

export interface DashStep {
  step: number;
  trainLoss: number;
  testLoss?: number;
  testAccuracy?: number;
  /** Cumulative measured wall time and MODELED parallel time at the end of the step (ms). */
  wallMs: number;
  modeledMs: number;
  /** The step's breakdown (ms): slowest worker's compute and encode, modeled communication, PS. */
  computeMs: number;
  encodeMs: number;
  commMs: number;
  decodeMs: number;
  updateMs: number;
  aborted: boolean;
  /**
   * Workers that were not simply honest: [rank, bits], bit i set for STATUSES[i] (a Byzantine
   * worker the defense flagged has both `byzantine` and `suspect`); the strip shows the lowest.
   */
  workers: [number, number][];
}

/** A run's description for the page's header (from the resolved config). */
export interface DashMeta {
  title: string;
  steps: number;
  workers: number;
  byzantine: number;
  scheme: string;
  attack: string;
  model: string;
  dataset: string;
  engine: string;
  /** The first step this page will see (a resumed run starts later). */
  firstStep: number;
}

export type DashEvent =
  | { kind: 'meta'; meta: DashMeta }
  | { kind: 'step'; step: DashStep }
  | { kind: 'summary'; summary: DashSummary };

/** The end of a run: what the summary table says, and the failure if it failed. */
export interface DashSummary {
  finalTestAccuracy: number;
  finalTestLoss: number;
  chanceAccuracy?: number;
  steps: number;
  wallSeconds: number;
  paramsSha256: string;
  totalSuspectsFlagged: number;
  suspectsThatWereByzantine: number;
  totalByzantineSlots: number;
  abortedSteps: number;
  failed: string | null;
  warnings: string[];
}

const max = (xs: readonly number[]) => xs.reduce((a, b) => (b > a ? b : a), 0);

/** Per-rank status bits of one step (ranks absent from the result are honest). */
export function workerStatuses(
  rec: Pick<StepRecord, 'byzantine' | 'suspects' | 'erasures' | 'rejected' | 'banned'>,
): [number, number][] {
  const status = new Map<number, number>();
  const mark = (rank: number, s: WorkerStatus) => {
    status.set(rank, (status.get(rank) ?? 0) | (1 << STATUSES.indexOf(s)));
  };
  for (const r of rec.byzantine) mark(r, 'byzantine');
  for (const r of rec.suspects) mark(r, 'suspect');
  for (const r of rec.erasures) mark(r, 'erased');
  // `rank: reason`
  for (const r of rec.rejected) {
    const rank = Number.parseInt(r, 10);
    if (Number.isInteger(rank)) mark(rank, 'rejected');
  }
  for (const r of rec.banned ?? []) mark(r, 'banned');
  return [...status.entries()].sort((a, b) => a[0] - b[0]);
}

/** The dashboard's view of one step, given the cumulative times before it. */
export function dashStep(rec: StepRecord, before: { wallMs: number; modeledMs: number }): DashStep {
  const t = rec.time;
  const out: DashStep = {
    step: rec.step,
    trainLoss: rec.trainLoss,
    wallMs: before.wallMs + t.stepWallMs,
    modeledMs: before.modeledMs + t.modeledParallelMs,
    computeMs: max(t.computeMs),
    encodeMs: max(t.encodeMs),
    commMs: t.commMs,
    decodeMs: t.decodeMs,
    updateMs: t.updateMs,
    aborted: rec.aborted,
    workers: workerStatuses(rec),
  };
  if (rec.testLoss !== undefined) out.testLoss = rec.testLoss;
  if (rec.testAccuracy !== undefined) out.testAccuracy = rec.testAccuracy;
  return out;
}

/** Turns a run's step records into DashSteps, keeping the cumulative times. */
export class StepFolder {
  private wallMs = 0;
  private modeledMs = 0;
  add(rec: StepRecord): DashStep {
    const s = dashStep(rec, { wallMs: this.wallMs, modeledMs: this.modeledMs });
    this.wallMs = s.wallMs;
    this.modeledMs = s.modeledMs;
    return s;
  }
}

export function dashMeta(config: Readonly<Record<string, unknown>>, title: string, firstStep = 0): DashMeta {
  const str = (k: string, d = '') => (typeof config[k] === 'string' ? (config[k] as string) : d);
  const num = (k: string) => (typeof config[k] === 'number' ? (config[k] as number) : 0);
  return {
    title,
    steps: num('steps'),
    workers: num('workers'),
    byzantine: num('byzantine'),
    scheme: str('scheme'),
    attack: str('attack'),
    model: str('model'),
    dataset: str('dataset'),
    engine: str('engine', 'inprocess'),
    firstStep,
  };
}

export function dashSummary(s: TrainSummary): DashSummary {
  return {
    finalTestAccuracy: s.finalTestAccuracy,
    finalTestLoss: s.finalTestLoss,
    chanceAccuracy: s.chanceAccuracy,
    steps: s.steps,
    wallSeconds: s.wallSeconds,
    paramsSha256: s.paramsSha256,
    totalSuspectsFlagged: s.totalSuspectsFlagged,
    suspectsThatWereByzantine: s.suspectsThatWereByzantine,
    totalByzantineSlots: s.totalByzantineSlots,
    abortedSteps: s.abortedSteps,
    failed: s.failed ?? null,
    warnings: s.warnings ?? [],
  };
}
