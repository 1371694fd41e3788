/**
 * Resuming a checkpointed run (src/train/checkpoint.ts holds the file format): the checkpoint's
 * config must match the resuming run's, except for the options that do not change the model.
 */
import { UsageError } from '../core/errors.js';
import { readCheckpoint, type Checkpoint } from '../train/checkpoint.js';
import type { TrainConfig } from './config.js';

/** Config keys that may differ between a run and its resumption (they do not change the model). */
const FREE_KEYS: readonly (keyof TrainConfig)[] = [
  'out',
  'resume',
  'engine',
  'cluster',
  'stepDeadlineMs',
  'checkpointEvery',
  'evalEvery',
  'bandwidthMBps',
  'latencyMs',
  'plugins',
  'exportModel',
];

/**
 * The checkpoint `config.resume` names, checked against `config` (same options but FREE_KEYS).
 * Without `numParams` the model size is checked later, by the training loop.
 */
export function readResumeCheckpoint(config: TrainConfig, numParams?: number): Checkpoint {
  const dir = config.resume;
  if (dir === undefined) throw new Error('readResumeCheckpoint: config.resume is not set');
  const ck = readCheckpoint(dir, numParams);
  const bad = configMismatch(ck.meta.config, config);
  if (bad) throw new UsageError(`--resume ${dir}: option ${bad} differs from the checkpointed run`);
  return ck;
}

/** The first config key (other than FREE_KEYS) whose value differs, or null. */
export function configMismatch(a: Readonly<Record<string, unknown>>, b: TrainConfig): string | null {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) {
    if ((FREE_KEYS as readonly string[]).includes(k)) continue;
    // An older checkpoint lacks keys added since; their defaults leave the model unchanged.
    if (!(k in a) && isDefault(k, b)) continue;
    if (JSON.stringify(a[k]) !== JSON.stringify((b as Record<string, unknown>)[k])) return k;
  }
  return null;
}

function isDefault(k: string, b: TrainConfig): boolean {
  const v = (b as Record<string, unknown>)[k];
  return v === undefined || (Array.isArray(v) && v.length === 0);
}
