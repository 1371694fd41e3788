/**
 * Multi-host: `draco ps` in one Linux network namespace, `draco worker`s in another, joined by a
 * veth pair (two "machines" on 10.77.x.0/24). Needs root and iproute2; skipped otherwise.
 * Same seed -> same paramsSha256 as the in-process engine.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { generateKeySet, writeKeySet } from '../../src/cluster/keys.js';
import { tempDir } from '../tmp.js';

const BIN = fileURLToPath(new URL('../../../bin/draco.js', import.meta.url));

function ip(...args: string[]): { ok: boolean; err: string } {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  return { ok: r.status === 0, err: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}

function skipReason(): string | null {
  if (process.getuid?.() !== 0) return 'needs root';
  if (spawnSync('ip', ['-V']).status !== 0) return 'needs iproute2 (ip)';
  return null;
}

const reason = skipReason();

test(
  'PS and workers in separate network namespaces over a veth pair',
  { skip: reason ?? false },
  async (t) => {
    const tag = `${process.pid % 10000}`;
    const nsPs = `draco-ps-${tag}`;
    const nsW = `draco-w-${tag}`;
    const vPs = `dps${tag}`;
    const vW = `dw${tag}`;
    const net = `10.77.${(process.pid % 200) + 1}`;
    const procs: ChildProcess[] = [];
    try {
      const made = ip('netns', 'add', nsPs);
      if (!made.ok) {
        t.skip(`cannot create network namespaces here: ${made.err.trim()}`);
        return;
      }
      for (const cmd of [
        ['netns', 'add', nsW],
        ['link', 'add', vPs, 'type', 'veth', 'peer', 'name', vW],
        ['link', 'set', vPs, 'netns', nsPs],
        ['link', 'set', vW, 'netns', nsW],
        ['-n', nsPs, 'addr', 'add', `${net}.1/24`, 'dev', vPs],
        ['-n', nsW, 'addr', 'add', `${net}.2/24`, 'dev', vW],
        ['-n', nsPs, 'link', 'set', vPs, 'up'],
        ['-n', nsW, 'link', 'set', vW, 'up'],
        ['-n', nsPs, 'link', 'set', 'lo', 'up'],
        ['-n', nsW, 'link', 'set', 'lo', 'up'],
      ]) {
        const r = ip(...cmd);
        assert.ok(r.ok, `ip ${cmd.join(' ')}: ${r.err}`);
      }
      const dir = tempDir('draco-netns-');
      // Per-worker keys: the PS gets ps.key, each worker only its own key.
      const keyDir = join(dir, 'keys');
      writeKeySet(keyDir, generateKeySet(3));
      const opts = [
        '--dataset',
        'synthetic',
        '--workers',
        '3',
        '--byzantine',
        '1',
        '--attack',
        'gaussian',
        '--batch',
        '48',
        '--steps',
        '4',
        '--eval-every',
        '0',
        '--seed',
        '9',
        '--quiet',
      ];
      const ref = spawnSync(process.execPath, [BIN, 'train', ...opts, '--out', join(dir, 'ref')], {
        encoding: 'utf8',
      });
      assert.equal(ref.status, 0, ref.stderr);

      const exited = (p: ChildProcess) =>
        new Promise<number | null>((res) => {
          if (p.exitCode !== null) res(p.exitCode);
          else p.once('exit', (code) => res(code));
        });
      const ps = spawn(
        'ip',
        [
          'netns',
          'exec',
          nsPs,
          process.execPath,
          BIN,
          'ps',
          ...opts,
          '--bind',
          `tcp://${net}.1:5555`,
          '--key',
          join(keyDir, 'ps.key'),
          '--step-deadline-ms',
          '60000',
          '--out',
          join(dir, 'ps'),
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      procs.push(ps);
      let psErr = '';
      ps.stderr!.on('data', (d: Buffer) => (psErr += d.toString()));
      for (let rank = 0; rank < 3; rank++) {
        procs.push(
          spawn(
            'ip',
            [
              'netns',
              'exec',
              nsW,
              process.execPath,
              BIN,
              'worker',
              '--connect',
              `tcp://${net}.1:5555`,
              '--key',
              join(keyDir, `worker-${rank}.key`),
            ],
            { stdio: 'ignore' },
          ),
        );
      }
      const code = await Promise.race([
        exited(ps),
        new Promise<string>((res) => setTimeout(() => res('timeout'), 120_000).unref()),
      ]);
      assert.equal(code, 0, `ps: ${psErr}`);
      // The workers leave on BYE.
      const wcodes = await Promise.all(procs.slice(1).map(exited));
      assert.deepEqual(wcodes, [0, 0, 0]);
      const sha = (d: string) => JSON.parse(readFileSync(join(dir, d, 'summary.json'), 'utf8')).paramsSha256;
      assert.equal(sha('ps'), sha('ref'));
      const first = JSON.parse(readFileSync(join(dir, 'ps', 'metrics.jsonl'), 'utf8').split('\n')[0]);
      assert.deepEqual(first.erasures, []);
    } finally {
      for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
      ip('netns', 'del', nsPs);
      ip('netns', 'del', nsW);
    }
  },
);
