/**
 * Process helpers shared by the process tests: waiting on a condition, the draco CLI's path, who
 * is alive, a process's children (Linux /proc), and a list of pids killed when the test file ends
 * so that no process of ours outlives it, even when a test fails.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';

/** The `draco` CLI, relative to this compiled file (dist/test/cluster/procs.js). */
export const BIN = fileURLToPath(new URL('../../../bin/draco.js', import.meta.url));

export async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  return cond();
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The parent pid of `pid`, or -1 when it is gone. */
function parentOf(pid: number | string): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return -1;
  }
}

/** Child pids of `pid`. */
export function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d) && parentOf(d) === pid)
    .map(Number);
}

/** Pids to SIGKILL when the calling test file ends. */
export function reaper(): number[] {
  const pids: number[] = [];
  after(() => {
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  });
  return pids;
}
