/**
 * PS checkpoints: everything that is not a pure function of (seed, step) — the parameters, the
 * SGD momentum buffer, the next step, and the running totals of the summary. Batches, placement
 * and attack noise are derived from (seed, step), so resuming from a checkpoint continues the run
 * bit for bit.
 *
 * File DIR/checkpoint.bin (format 2): magic 'DRCK' (u32 LE), version (u32), JSON length (u32),
 * JSON meta, zero padding to a multiple of 4, float32 params, float32 momentum buffer, SHA-256 of
 * everything before it. Written atomically: write a temporary file, fsync, rename over the old
 * one, fsync the folder. The checksum catches a damaged or truncated file, not a forgery: the
 * threat model trusts the PS's disk.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { UsageError } from '../core/errors.js';
import { allFinite } from '../core/vec.js';
import { ioReason, nodeIo, writeAtomic, type FileIo } from '../core/files.js';

const MAGIC = 0x4b435244; // 'DRCK'
const VERSION = 2;
const HEAD = 12;
const DIGEST = 32;
export const CHECKPOINT_FILE = 'checkpoint.bin';

const count = z.number().int().min(0);
const TotalsSchema = z.object({
  stats: z.object({
    suspects: count,
    suspectsByz: count,
    byzSlots: count,
    aborted: count,
    failures: count,
    /** Steps that updated the model without every group (erasures left some undecodable). */
    partial: count,
    /** Gradients the PS computed itself to settle disputes (verify); absent in older files. */
    recomputations: count.default(0),
  }),
  /** One modeled and one wall time per step run so far. */
  modeled: z.array(z.number()),
  walls: z.array(z.number()),
  bytesTotal: z.number().min(0),
  /** The last evaluation; null before the first one (JSON has no NaN). */
  last: z.object({ loss: z.number().nullable(), accuracy: z.number().nullable() }),
});

const MetaSchema = z.object({
  /** The next step to run. */
  step: count,
  momentumStarted: z.boolean(),
  /**
   * The run's description (the resolved config): the builder compares it with the resuming run's
   * (src/build/resume.ts). Its `steps` bounds `step`.
   */
  config: z.looseObject({ steps: z.number().int().min(1) }),
  /** Summary totals so far. */
  totals: TotalsSchema,
  /** The scheme's own state (`Scheme.saveState`, e.g. verify's banned ranks), when it has one. */
  schemeState: z.unknown().optional(),
});

export type CheckpointTotals = z.infer<typeof TotalsSchema>;
export type CheckpointMeta = z.infer<typeof MetaSchema>;

export interface Checkpoint {
  meta: CheckpointMeta;
  params: Float32Array;
  momentum: Float32Array;
}

/** What is written: fields with defaults may be left out (as files of earlier versions did). */
export type CheckpointToWrite = Omit<Checkpoint, 'meta'> & { meta: z.input<typeof MetaSchema> };

function padOf(jsonLength: number): number {
  return (4 - ((HEAD + jsonLength) % 4)) % 4;
}

/** The file's bytes, in order: header, JSON, padding, params, momentum, checksum. */
export function encodeCheckpoint(ck: CheckpointToWrite): Buffer[] {
  const json = Buffer.from(JSON.stringify(ck.meta), 'utf8');
  const head = Buffer.alloc(HEAD);
  head.writeUInt32LE(MAGIC, 0);
  head.writeUInt32LE(VERSION, 4);
  head.writeUInt32LE(json.length, 8);
  const parts = [
    head,
    json,
    Buffer.alloc(padOf(json.length)),
    Buffer.from(ck.params.buffer, ck.params.byteOffset, ck.params.byteLength),
    Buffer.from(ck.momentum.buffer, ck.momentum.byteOffset, ck.momentum.byteLength),
  ];
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return [...parts, h.digest()];
}

/** Atomic; on a write error (a full disk) the temporary file is removed and the old checkpoint kept. */
export function writeCheckpoint(dir: string, ck: CheckpointToWrite, io: FileIo = nodeIo): void {
  const path = join(dir, CHECKPOINT_FILE);
  writeAtomic(path, encodeCheckpoint(ck), io, '; the last good checkpoint, if any, is kept');
}

/**
 * Read and check DIR/checkpoint.bin: checksum, metadata shape, finite values and, when given,
 * the model size. Any problem is a UsageError naming it.
 */
export function readCheckpoint(dir: string, numParams?: number): Checkpoint {
  const path = join(dir, CHECKPOINT_FILE);
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new UsageError(`cannot read checkpoint ${path}: ${ioReason(e)}`);
  }
  if (buf.length < 8 || buf.readUInt32LE(0) !== MAGIC)
    throw new UsageError(`${path} is not a draco checkpoint`);
  const version = buf.readUInt32LE(4);
  if (version !== VERSION)
    throw new UsageError(`${path} has checkpoint format ${version}; this draco reads format ${VERSION} only`);
  const end = buf.length - DIGEST;
  if (end < HEAD || !createHash('sha256').update(buf.subarray(0, end)).digest().equals(buf.subarray(end)))
    throw new UsageError(`${path} is corrupt (checksum mismatch: damaged or truncated)`);
  // A file that passes the checksum was written whole by some draco: what follows guards its shape.
  const jl = buf.readUInt32LE(8);
  const start = HEAD + jl + padOf(jl);
  if (start > end || (end - start) % 8 !== 0)
    throw new UsageError(`${path}: inconsistent sizes (metadata ${jl} bytes, file ${buf.length})`);
  const n = (end - start) / 8;
  if (numParams !== undefined && n !== numParams)
    throw new UsageError(`${path}: size does not match a model of ${numParams} parameters (it holds ${n})`);
  let raw: unknown;
  try {
    raw = JSON.parse(buf.toString('utf8', HEAD, HEAD + jl));
  } catch {
    throw new UsageError(`${path}: corrupt metadata (not JSON)`);
  }
  const parsed = MetaSchema.safeParse(raw);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new UsageError(
      `${path}: bad metadata (${i.path.map(String).join('.') || 'top level'}: ${i.message})`,
    );
  }
  const meta = parsed.data;
  if (meta.step > meta.config.steps)
    throw new UsageError(`${path}: bad metadata (next step ${meta.step} > steps ${meta.config.steps})`);
  if (meta.totals.modeled.length !== meta.step || meta.totals.walls.length !== meta.step)
    throw new UsageError(`${path}: bad metadata (step times do not cover steps 0..${meta.step - 1})`);
  const copy = new Uint8Array(buf.subarray(start, end));
  const params = new Float32Array(copy.buffer, 0, n);
  const momentum = new Float32Array(copy.buffer, 4 * n, n);
  if (!allFinite(params) || !allFinite(momentum))
    throw new UsageError(
      `${path}: non-finite parameters or momentum (NaN or Inf); refusing to resume from it`,
    );
  return { meta, params, momentum };
}
