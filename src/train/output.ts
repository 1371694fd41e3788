/**
 * Run outputs under `--out DIR`: metrics.jsonl (one record per step, streamed), summary.json and
 * params.npy (the final float32 parameters in NumPy's format).
 *
 * Nothing a user already has is lost: a new run refuses a folder that holds another run's files,
 * and a resumed run keeps the records before its checkpoint and appends the rest. Every check
 * happens before the first write, so a refused run leaves the folder as it was.
 */
import { accessSync, constants, existsSync, mkdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from '../core/errors.js';
import { ioReason, nodeIo, writeAll, writeAtomic, type FileIo } from '../core/files.js';
import { encodeNpy } from '../core/npy.js';
import type { StepRecord, TrainSummary } from './loop.js';

/** Files whose presence (metrics.jsonl: non-empty) means a folder holds a run. */
const RUN_FILES = ['metrics.jsonl', 'params.npy', 'checkpoint.bin', 'summary.json'];

function runFilesIn(dir: string): string[] {
  return RUN_FILES.filter((f) => {
    try {
      const st = statSync(join(dir, f));
      return f !== 'metrics.jsonl' || st.size > 0;
    } catch {
      return false;
    }
  });
}

function sameFolder(a: string, b: string): boolean {
  const real = (p: string) => (existsSync(p) ? realpathSync(p) : resolve(p));
  return real(a) === real(b);
}

/** What resuming found in the checkpointed run's metrics.jsonl. */
export interface KeptMetrics {
  /** The records before the checkpoint (whole lines). */
  bytes: Buffer;
  count: number;
  /** Set when those records are not exactly steps 0 .. next-1 in order (lost earlier). */
  note?: string;
}

/**
 * The records of `path` before step `next`: the longest prefix of whole lines that are records of
 * earlier steps. What follows (records a crashed run wrote after its checkpoint, a torn last line)
 * is recomputed identically, so it may go; a record of an earlier step after it may not, and is
 * refused.
 */
export function keptMetrics(path: string, next: number): KeptMetrics {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    const why = ioReason(e);
    if (why.startsWith('ENOENT'))
      return next === 0
        ? { bytes: Buffer.alloc(0), count: 0 }
        : {
            bytes: Buffer.alloc(0),
            count: 0,
            note: `${path} is missing: the records of steps before ${next} cannot be recovered`,
          };
    throw new UsageError(`cannot read ${path}: ${why}`);
  }
  const stepOf = (line: string): number | null => {
    try {
      const r = JSON.parse(line) as unknown;
      const s = (r as { step?: unknown } | null)?.step;
      return typeof s === 'number' && Number.isInteger(s) && s >= 0 ? s : null;
    } catch {
      return null;
    }
  };
  let cut = 0;
  let count = 0;
  let inOrder = true;
  let pos = 0;
  let lineNo = 0;
  let cutLine = 0;
  while (pos < buf.length) {
    const nl = buf.indexOf(0x0a, pos);
    if (nl < 0) break; // a torn last line: the step being written when the run died
    lineNo++;
    const step = stepOf(buf.toString('utf8', pos, nl));
    if (cutLine === 0) {
      if (step !== null && step < next) {
        if (step !== count) inOrder = false;
        count++;
        cut = nl + 1;
      } else cutLine = lineNo;
    } else if (step !== null && step < next) {
      throw new UsageError(
        `${path}: line ${cutLine} is not a record of a step before the checkpoint's ${next}, ` +
          `but line ${lineNo} is; repair or move the file, then resume`,
      );
    }
    pos = nl + 1;
  }
  const kept: KeptMetrics = { bytes: buf.subarray(0, cut), count };
  if (!inOrder || count !== next)
    kept.note = `${path} holds ${count} records before step ${next}, not one per step in order (lost earlier); continuing after them`;
  return kept;
}

export interface RunWriterOptions {
  /** Continue the run checkpointed in `dir` whose next step is `next`. */
  resume?: { dir: string; next: number };
  io?: FileIo;
  /** Told what happened to earlier files (records lost before, files set aside), when it happens. */
  note?: (message: string) => void;
}

export class RunWriter {
  private fd: number | null = null;
  private size = 0;
  private closed = false;
  private readonly io: FileIo;
  /** Opens metrics.jsonl on the first write; until then nothing on disk has changed. */
  private readonly openMetrics: () => number;
  /** Resuming into the checkpoint's own folder. */
  readonly inPlace: boolean;

  /**
   * A new run in `dir`, or with `resume` the continuation of a checkpointed run. A folder holding
   * a finished run or a checkpoint is refused; the files of a run interrupted before its first
   * checkpoint are set aside (`metrics.jsonl.1`, ...), since nothing can resume them.
   */
  constructor(
    readonly dir: string,
    opts: RunWriterOptions = {},
  ) {
    const { resume, note = () => {} } = opts;
    const io = (this.io = opts.io ?? nodeIo);
    const metrics = join(dir, 'metrics.jsonl');
    this.inPlace = resume !== undefined && sameFolder(resume.dir, dir);
    let setAside = () => {};
    if (!this.inPlace) {
      const found = runFilesIn(dir);
      if (found.includes('summary.json'))
        throw new UsageError(
          `--out ${dir} already holds a finished run (summary.json); choose another folder`,
        );
      if (found.includes('checkpoint.bin'))
        throw new UsageError(
          `--out ${dir} already holds an unfinished run (checkpoint.bin); continue it with --resume ${dir}, or choose another folder`,
        );
      if (found.length > 0) {
        let k = 1;
        while (found.some((f) => existsSync(join(dir, `${f}.${k}`)))) k++;
        setAside = () => {
          for (const f of found) io.rename(join(dir, f), join(dir, `${f}.${k}`));
          note(
            `${dir} held a run interrupted before any checkpoint; its ${found.join(', ')} ` +
              `kept as ${found.map((f) => `${f}.${k}`).join(', ')}`,
          );
        };
      }
    }
    const kept = resume ? keptMetrics(join(resume.dir, 'metrics.jsonl'), resume.next) : undefined;
    try {
      mkdirSync(dir, { recursive: true });
      accessSync(dir, constants.W_OK);
    } catch (e) {
      throw new UsageError(`cannot write to output folder ${dir}: ${ioReason(e)}`);
    }
    if (kept?.note !== undefined) note(kept.note);
    if (kept === undefined)
      this.openMetrics = () => {
        setAside();
        return io.open(metrics, 'w');
      };
    else if (this.inPlace) {
      // Drop only what follows the kept records: they are recomputed identically.
      this.openMetrics = () => {
        const fd = io.open(metrics, existsSync(metrics) ? 'r+' : 'w');
        io.truncate(fd, kept.bytes.length);
        this.size = kept.bytes.length;
        return fd;
      };
    } else {
      // Another folder: a complete metrics.jsonl there too, the earlier records copied first.
      this.openMetrics = () => {
        setAside();
        const fd = io.open(metrics, 'w');
        writeAll(io, fd, [kept.bytes]);
        this.size = kept.bytes.length;
        return fd;
      };
    }
  }

  private metricsFd(): number {
    if (this.fd === null) {
      try {
        this.fd = this.openMetrics();
      } catch (e) {
        throw new UsageError(`cannot write ${join(this.dir, 'metrics.jsonl')}: ${ioReason(e)}`);
      }
    }
    return this.fd;
  }

  step(record: StepRecord): void {
    const fd = this.metricsFd();
    const line = Buffer.from(JSON.stringify(record) + '\n', 'utf8');
    try {
      // Explicit offsets: the file is never opened for append, and a failed write is cut off.
      let off = 0;
      while (off < line.length) off += this.io.write(fd, line, off, line.length - off, this.size + off);
      this.size += line.length;
    } catch (e) {
      const why = ioReason(e);
      try {
        this.io.truncate(fd, this.size); // no torn record left behind
      } catch {
        // the next resume drops a torn last line anyway
      }
      throw new UsageError(`cannot write ${join(this.dir, 'metrics.jsonl')}: ${why}`);
    }
  }

  /** summary.json is written last: its presence marks a finished run (draco experiment resumes on it). */
  finish(summary: TrainSummary, params: Float32Array): void {
    this.metricsFd(); // a finished resumed run still gets its metrics.jsonl
    this.close();
    writeAtomic(join(this.dir, 'params.npy'), [encodeNpy(params)], this.io);
    writeAtomic(
      join(this.dir, 'summary.json'),
      [Buffer.from(JSON.stringify(summary, null, 2) + '\n', 'utf8')],
      this.io,
    );
  }

  close(): void {
    if (this.fd !== null && !this.closed) this.io.close(this.fd);
    this.closed = true;
  }
}
