/**
 * File writes that fail cleanly: the calls go through a `FileIo` (tests pass one that fails like
 * a full disk), `writeAtomic` replaces a file whole or not at all, and `ioReason` turns a Node file
 * error into the words a one-line message needs. Used by the run outputs and the checkpoints.
 */
import { closeSync, fsyncSync, ftruncateSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from './errors.js';

/** The file calls the writers make; tests pass one that fails like a full disk. */
export interface FileIo {
  open(path: string, flags: string): number;
  /** `pos` omitted: at the file position. */
  write(fd: number, b: Uint8Array, off: number, len: number, pos?: number): number;
  fsync(fd: number): void;
  truncate(fd: number, len: number): void;
  close(fd: number): void;
  rename(from: string, to: string): void;
  unlink(path: string): void;
}

export const nodeIo: FileIo = {
  open: (p, f) => openSync(p, f),
  write: (fd, b, off, len, pos) => writeSync(fd, b, off, len, pos ?? null),
  fsync: (fd) => fsyncSync(fd),
  truncate: (fd, len) => ftruncateSync(fd, len),
  close: (fd) => closeSync(fd),
  rename: (a, b) => renameSync(a, b),
  unlink: (p) => unlinkSync(p),
};

/** `ENOSPC (no space left on device)` from a Node file error; anything else is a bug and rethrown. */
export function ioReason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (typeof err?.code !== 'string' || !err.code.startsWith('E')) throw e;
  const why = /^E[A-Z]+: ([^,]+)/.exec(err.message)?.[1];
  return why ? `${err.code} (${why})` : err.code;
}

/** Every byte of `chunks`, in order, at the file position (short writes continued). */
export function writeAll(io: FileIo, fd: number, chunks: readonly Uint8Array[]): void {
  for (const b of chunks) {
    let off = 0;
    while (off < b.length) off += io.write(fd, b, off, b.length - off);
  }
}

/**
 * Write `path` atomically: a temporary file, fsync, rename over the old one, fsync the folder.
 * On an error (a full disk) the temporary file is removed and the old file is left as it was;
 * the UsageError names the file, the reason and `note`.
 */
export function writeAtomic(
  path: string,
  chunks: readonly Uint8Array[],
  io: FileIo = nodeIo,
  note = '',
): void {
  const tmp = `${path}.tmp`;
  let fd: number | null = null;
  let renamed = false;
  try {
    fd = io.open(tmp, 'w');
    writeAll(io, fd, chunks);
    io.fsync(fd);
    const f = fd;
    fd = null;
    io.close(f);
    io.rename(tmp, path);
    renamed = true;
    const dfd = io.open(resolve(path, '..'), 'r');
    try {
      io.fsync(dfd);
    } finally {
      io.close(dfd);
    }
  } catch (e) {
    const why = ioReason(e);
    if (fd !== null) {
      try {
        io.close(fd);
      } catch {
        // already failing; the unlink below is what matters
      }
    }
    if (!renamed) {
      try {
        io.unlink(tmp);
      } catch {
        // never created
      }
    }
    throw new UsageError(`cannot write ${path}: ${why}${note}`);
  }
}
