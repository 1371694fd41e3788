/**
 * A run that crashes when step `at` ends, after the checkpoint written with `--checkpoint-every
 * every` into `dir`: what `--resume` must continue bit for bit.
 */
import assert from 'node:assert/strict';
import { train, type TrainOptions } from '../src/index.js';

export async function crashAfterCheckpoint(
  opts: TrainOptions,
  dir: string,
  every: number,
  at: number,
): Promise<void> {
  await assert.rejects(
    train(
      { ...opts, checkpointEvery: every, out: dir },
      {
        onStep: (rec) => {
          if (rec.step === at) throw new Error('crash');
        },
      },
    ),
    /crash/,
  );
}
