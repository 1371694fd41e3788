/**
 * PS checkpoints: everything that is not a pure function of (seed, step) — the parameters, the
 * SGD momentum buffer, the next step, and the running totals of the summary. Batches, placement
 * and attack noise are derived from (seed, step), so resuming from a checkpoint continues the run
 * bit for bit.
 *
 * File DIR/checkpoint.bin: magic 'DRCK' (u32 LE), version (u32), JSON length (u32), JSON meta,
 * zero padding to a multiple of 4, float32 params, float32 momentum buffer. Written atomically:
 * write a temporary file, fsync, rename over the old one, fsync the folder.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../core/errors.js';
import type { TrainConfig } from '../experiment/config.js';

const MAGIC = 0x4b435244; // 'DRCK'
const VERSION = 1;
export const CHECKPOINT_FILE = 'checkpoint.bin';

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
];

export interface CheckpointMeta {
  /** The next step to run. */
  step: number;
  momentumStarted: boolean;
  /** The config the run was started with (keys in FREE_KEYS ignored when resuming). */
  config: TrainConfig;
  /** Summary totals so far (opaque to this module). */
  totals: Record<string, unknown>;
}

export interface Checkpoint {
  meta: CheckpointMeta;
  params: Float32Array;
  momentum: Float32Array;
}

export function writeCheckpoint(dir: string, ck: Checkpoint): void {
  mkdirSync(dir, { recursive: true });
  const json = Buffer.from(JSON.stringify(ck.meta), 'utf8');
  const head = Buffer.alloc(12);
  head.writeUInt32LE(MAGIC, 0);
  head.writeUInt32LE(VERSION, 4);
  head.writeUInt32LE(json.length, 8);
  const pad = Buffer.alloc((4 - ((12 + json.length) % 4)) % 4);
  const tmp = join(dir, `${CHECKPOINT_FILE}.tmp`);
  const fd = openSync(tmp, 'w');
  try {
    for (const b of [
      head,
      json,
      pad,
      Buffer.from(ck.params.buffer, ck.params.byteOffset, ck.params.byteLength),
      Buffer.from(ck.momentum.buffer, ck.momentum.byteOffset, ck.momentum.byteLength),
    ]) {
      let off = 0;
      while (off < b.length) off += writeSync(fd, b, off, b.length - off);
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, join(dir, CHECKPOINT_FILE));
  const dfd = openSync(dir, 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}

export function readCheckpoint(dir: string, numParams: number): Checkpoint {
  const path = join(dir, CHECKPOINT_FILE);
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new UsageError(`cannot read checkpoint ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  if (buf.length < 12 || buf.readUInt32LE(0) !== MAGIC || buf.readUInt32LE(4) !== VERSION)
    throw new UsageError(`${path} is not a draco checkpoint (version ${VERSION})`);
  const jl = buf.readUInt32LE(8);
  const start = 12 + jl + ((4 - ((12 + jl) % 4)) % 4);
  if (buf.length !== start + 8 * numParams)
    throw new UsageError(`${path}: size does not match a model of ${numParams} parameters`);
  const meta = JSON.parse(buf.subarray(12, 12 + jl).toString('utf8')) as CheckpointMeta;
  const copy = new Uint8Array(buf.subarray(start));
  return {
    meta,
    params: new Float32Array(copy.buffer, 0, numParams),
    momentum: new Float32Array(copy.buffer, 4 * numParams, numParams),
  };
}

/** The first config key (other than FREE_KEYS) whose value differs, or null. */
export function configMismatch(a: TrainConfig, b: TrainConfig): string | null {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)] as (keyof TrainConfig)[]);
  for (const k of keys) {
    if (FREE_KEYS.includes(k)) continue;
    if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) return k;
  }
  return null;
}
