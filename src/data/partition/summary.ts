/** One line on how a schedule lays the training set out, for the run's header. */
import type { BatchSchedule } from '../schedule.js';
import type { Dataset } from '../types.js';

/** A class counts as held by a shard when it makes up at least this share of it. */
const HELD = 0.05;

const fmt = (x: number) => x.toLocaleString('en-US');
const span = (xs: number[]) => {
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  return lo === hi ? fmt(lo) : `${fmt(lo)} to ${fmt(hi)}`;
};

/** The label histogram of every shard (shards x classes), or null for the IID stream. */
export function shardHistograms(schedule: BatchSchedule, dataset: Dataset): number[][] | null {
  if (schedule.shards === null) return null;
  return schedule.shards.map((sh) => {
    const h = new Array<number>(dataset.numClasses).fill(0);
    for (const i of sh) h[dataset.train.y[i]]++;
    return h;
  });
}

export function describeLayout(partition: string, schedule: BatchSchedule, dataset: Dataset): string {
  const hist = shardHistograms(schedule, dataset);
  if (hist === null)
    return `${partition}: every step a fresh global batch of ${fmt(schedule.batchSize)} from all ${fmt(dataset.train.n)} training samples`;
  const sizes = hist.map((h) => h.reduce((a, b) => a + b, 0));
  const held = hist.map((h, j) => h.filter((c) => c >= HELD * sizes[j]).length);
  return (
    `${partition}: ${hist.length} shards of ${span(sizes)} samples, ${span(held)} classes each ` +
    `(at least ${HELD * 100}% of a shard); partition j takes ${span([...schedule.partitionSizes])} samples a step from its own shard`
  );
}
