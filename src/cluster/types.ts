/**
 * Engines run the worker side of one synchronous step (docs/design.md "One step", steps 2-5) and
 * hand the PS one message per worker. The in-process engine simulates the cluster in this process;
 * process and remote engines (ZeroMQ) implement the same interface.
 */
import type { Vec } from '../core/vec.js';

export interface StepRequest {
  step: number;
  /** The parameters the PS broadcasts (read-only). */
  params: Float32Array;
  /** Sample ids of each partition this step. */
  partitions: readonly Int32Array[];
  /** Byzantine ranks this step (from the placement). */
  byzantine: readonly number[];
}

export interface WorkerReport {
  worker: number;
  /** What the worker sent; null when nothing arrived (crash, straggler past the deadline). */
  message: Vec | null;
  /** Time spent computing gradients (what this worker would have spent, even when deduplicated). */
  computeMs: number;
  /** Time spent encoding (and, for a Byzantine worker, crafting its attack). */
  encodeMs: number;
  /** Bytes this worker sent. */
  bytesSent: number;
  /** Process engines: why this rank's authenticated message was refused at the wire (message is then null). */
  rejected?: string;
}

export interface StepResult {
  reports: WorkerReport[];
  /** Wall time from broadcast until every message was in (in-process: all workers run in turn). */
  waitMs: number;
  /** Mean per-sample training loss over the samples honest workers computed on, deduplicated. */
  trainLoss: number;
  /**
   * Process engines: frames refused at the wire since the previous step, by reason (bad mac,
   * oversize, stale step, ...). Never reached the model.
   */
  rejectedFrames?: Record<string, number>;
}

export interface Engine {
  readonly name: string;
  runStep(req: StepRequest): Promise<StepResult>;
  close(): Promise<void>;
}
