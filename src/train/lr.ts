/** Learning-rate schedules: constant, step decay, cosine annealing. */
import { UsageError } from '../core/errors.js';

export type LrScheduleName = 'constant' | 'step' | 'cosine';

export interface LrScheduleOptions {
  lr: number;
  schedule: LrScheduleName;
  /** step: multiply by `gamma` every `stepEvery` steps. */
  stepEvery: number;
  gamma: number;
  /** cosine: anneal from lr to 0 over `totalSteps`. */
  totalSteps: number;
}

export function learningRate(o: LrScheduleOptions, step: number): number {
  switch (o.schedule) {
    case 'constant':
      return o.lr;
    case 'step':
      return o.lr * Math.pow(o.gamma, Math.floor(step / o.stepEvery));
    case 'cosine':
      return 0.5 * o.lr * (1 + Math.cos((Math.PI * Math.min(step, o.totalSteps)) / o.totalSteps));
    default:
      throw new UsageError(
        `unknown learning-rate schedule '${String(o.schedule)}' (known: constant, step, cosine)`,
      );
  }
}
