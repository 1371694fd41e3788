/**
 * The measurement behind `draco bench threads`: the in-process engine's training speed with 1, 2,
 * ... threads computing the step's distinct worker tasks (src/cluster/inprocess.ts), on one config,
 * and whether every thread count gave the same model (it must: the bits do not depend on which
 * thread computed a task).
 */
import { resolveConfig, type TrainConfigInput } from '../build/config.js';
import { trainResolved } from '../build/train.js';
import { median } from '../core/stats.js';

export interface BenchThreadsRow {
  threads: number;
  runs: number;
  /** Median over runs of each run's median step wall time (ms). */
  medianStepMs: number;
  stepsPerSec: number;
  /** Steps/s over the first row's. */
  speedup: number;
  paramsSha256: string;
  /** Same parameters as the first row's run. */
  sameModel: boolean;
}

export async function benchThreads(
  config: TrainConfigInput,
  threads: readonly number[],
  runs: number,
): Promise<BenchThreadsRow[]> {
  const rows: BenchThreadsRow[] = [];
  // Run by run in turn, so that a noisy spell of a shared machine hits every thread count.
  const steps: number[][] = threads.map(() => []);
  const shas: string[] = [];
  for (let r = 0; r < runs; r++) {
    for (let i = 0; i < threads.length; i++) {
      const { summary } = await trainResolved(
        resolveConfig({ ...config, threads: threads[i], evalEvery: 0 }),
      );
      steps[i].push(summary.medianStepWallMs);
      shas[i] = summary.paramsSha256;
    }
  }
  for (let i = 0; i < threads.length; i++) {
    const ms = median(steps[i]);
    rows.push({
      threads: threads[i],
      runs,
      medianStepMs: ms,
      stepsPerSec: 1000 / ms,
      speedup: rows.length > 0 ? rows[0].medianStepMs / ms : 1,
      paramsSha256: shas[i],
      sameModel: shas[i] === shas[0],
    });
  }
  return rows;
}
