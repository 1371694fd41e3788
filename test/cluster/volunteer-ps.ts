/**
 * `draco ps --volunteers` as a real process for the volunteer tests (test/cluster/volunteers.test.ts,
 * test/browser/volunteers.test.ts): started with `--http 0`, its join link and (with --bind) its
 * ZeroMQ endpoint read from what it prints, killed when the test file ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { BIN, waitFor } from './procs.js';

export interface VolunteerPs {
  proc: ChildProcess;
  /** The page's link with the join token (http://127.0.0.1:PORT/?token=T). */
  link: string;
  /** The volunteers' WebSocket URL with the token. */
  socketUrl: string;
  token: string;
  /** The ZeroMQ endpoint, when the PS also binds one. */
  endpoint?: string;
  /** Everything printed on stderr so far. */
  stderr(): string;
  /** Exit code and stderr once the PS exits. */
  exited: Promise<{ code: number | null; stderr: string }>;
}

/** Start `draco ps --volunteers ... --http PORT --out OUT`, resolved once it prints its link. */
export async function startVolunteerPs(
  args: string[],
  out: string,
  pids: number[],
  port = 0,
): Promise<VolunteerPs> {
  const proc = spawn(process.execPath, [BIN, 'ps', ...args, '--http', String(port), '--out', out], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  pids.push(proc.pid!);
  let err = '';
  proc.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    proc.on('exit', (code) => resolve({ code, stderr: err })),
  );
  const wantsZmq = args.includes('--bind');
  const ok = await waitFor(
    () => /join by opening (\S+)/.test(err) && (!wantsZmq || /listening on (\S+)/.test(err)),
    60_000,
  );
  if (!ok) throw new Error(`draco ps did not print its link:\n${err}`);
  const link = /join by opening (\S+)/.exec(err)![1];
  const u = new URL(link);
  const token = u.searchParams.get('token')!;
  return {
    proc,
    link,
    token,
    socketUrl: `ws://${u.host}/volunteer/ws?token=${token}`,
    endpoint: wantsZmq ? /listening on (\S+)/.exec(err)![1] : undefined,
    stderr: () => err,
    exited,
  };
}

/** The `paramsSha256` of a finished run folder. */
export function paramsSha(dir: string): string {
  return (JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as { paramsSha256: string })
    .paramsSha256;
}

/** The run's per-step records (metrics.jsonl lines with a step). */
export function stepRecords(
  dir: string,
): { step: number; erasures: number[]; suspects: number[]; byzantine: number[] }[] {
  return readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{"step"'))
    .map(
      (l) => JSON.parse(l) as { step: number; erasures: number[]; suspects: number[]; byzantine: number[] },
    );
}

/** A TCP port free now on 127.0.0.1 (for a PS that must come back on the same one). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}
