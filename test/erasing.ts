/**
 * Test engines shared by the erasure tests: `Erasing` drops the messages of `erase(step)` after
 * the inner engine ran the step (crashes, stragglers).
 */
import type { Engine, StepRequest, StepResult } from '../src/cluster/types.js';

/** Drops the messages of `erase(step)` after the inner engine ran the step: crashes, stragglers. */
export class Erasing implements Engine {
  readonly name = 'erasing';
  constructor(
    private readonly inner: Engine,
    private readonly erase: (step: number) => Iterable<number>,
  ) {}

  async runStep(req: StepRequest): Promise<StepResult> {
    const r = await this.inner.runStep(req);
    for (const w of this.erase(req.step)) r.reports[w] = { ...r.reports[w], message: null, bytesSent: 0 };
    return r;
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
