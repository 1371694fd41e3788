/**
 * Run outputs under `--out DIR`: metrics.jsonl (one record per step, streamed), summary.json and
 * params.npy (the final float32 parameters in NumPy's format).
 */
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../core/errors.js';
import { writeNpy } from '../core/npy.js';
import type { StepRecord, TrainSummary } from './loop.js';

export class RunWriter {
  private readonly fd: number;
  private open = true;

  constructor(readonly dir: string) {
    try {
      mkdirSync(dir, { recursive: true });
      this.fd = openSync(join(dir, 'metrics.jsonl'), 'w');
    } catch (e) {
      throw new UsageError(
        `cannot write to output folder ${dir}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
      );
    }
  }

  step(record: StepRecord): void {
    writeSync(this.fd, JSON.stringify(record) + '\n');
  }

  /** summary.json is written last: its presence marks a finished run (draco experiment resumes on it). */
  finish(summary: TrainSummary, params: Float32Array): void {
    this.close();
    writeNpy(join(this.dir, 'params.npy'), params);
    writeFileSync(join(this.dir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  }

  close(): void {
    if (this.open) closeSync(this.fd);
    this.open = false;
  }
}
