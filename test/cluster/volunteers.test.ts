/**
 * Volunteers (issue 21) without a browser: the browser worker's protocol code (src/browser/
 * volunteer.ts, crypto.ts) and the PS's desk (src/cluster/volunteers.ts) in Node.
 *
 * - The browser's crypto (WebCrypto and the pure-JS fallback) gives node:crypto's bytes: tags
 *   verify across implementations and session keys are equal; one flipped bit fails.
 * - DATA: the batch a volunteer gathers from what it was sent is the PS's batch, byte for byte.
 * - A real `draco ps --volunteers` attacked through its socket the ways a volunteer can: no token
 *   or a wrong one (refused before any frame), a leased socket claiming another rank, the lease key
 *   of a closed socket replayed on a new one (both: no challenge, counted by the PS), a flood of
 *   messages (the socket is closed), a socket when every rank is taken (told to wait). Then three
 *   volunteers (the browser code, run in Node) train to the end, and the model is the in-process
 *   run's.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import WebSocket from 'ws';
import { wasmDir } from '../../src/browser/bundle.js';
import { nobleCrypto, sessionKeysOf, webCrypto } from '../../src/browser/crypto.js';
import { runVolunteer, type Lease, type VolunteerStatus } from '../../src/browser/volunteer.js';
import { sessionKeys } from '../../src/cluster/keys.js';
import { buildMessage, MsgType, parseMessage, verifyMac } from '../../src/cluster/protocol.js';
import { packSamples, unpackSamples } from '../../src/cluster/samples.js';
import { splitMessage } from '../../src/cluster/volunteers.js';
import { gatherBatch } from '../../src/data/batch.js';
import type { Dataset } from '../../src/data/types.js';
import { BIN, reaper, waitFor } from './procs.js';
import { freePort, paramsSha, startVolunteerPs, stepRecords } from './volunteer-ps.js';

const pids = reaper();
const tmp = mkdtempSync(join(tmpdir(), 'draco-volunteers-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const implementations = [nobleCrypto, webCrypto(globalThis.crypto.subtle)];

describe('a volunteer computes the protocol crypto as node:crypto does', () => {
  const key = randomBytes(32);
  const header = randomBytes(48);
  const payload = randomBytes(100_003);
  const data = new Uint8Array(Buffer.concat([header, payload]));

  for (const c of implementations) {
    test(`${c.name}: GMAC tags verify both ways; a flipped bit fails`, async () => {
      const tag = Buffer.from(await c.mac(key, data));
      assert.ok(verifyMac(key, header, payload, tag), 'node verifies the browser tag');
      const flipped = Buffer.from(payload);
      flipped[77] ^= 1;
      assert.equal(verifyMac(key, header, flipped, tag), false);
      const nodeTag = buildMessage(key, { type: MsgType.GRAD }, payload);
      const signed = new Uint8Array(Buffer.concat([nodeTag[0], nodeTag[1]]));
      assert.ok(await c.verify(key, signed, new Uint8Array(nodeTag[2])), 'the browser verifies a node tag');
      signed[3] ^= 0x10;
      assert.equal(await c.verify(key, signed, new Uint8Array(nodeTag[2])), false);
      assert.equal(await c.verify(randomBytes(32), data, tag), false, 'another key fails');
    });

    test(`${c.name}: session keys equal keys.ts sessionKeys`, async () => {
      const nw = randomBytes(32);
      const np = randomBytes(32);
      const want = sessionKeys(key, nw, np, 0x0123456789abcdefn, 7);
      const got = await sessionKeysOf(
        c,
        key,
        new Uint8Array(Buffer.concat([nw, np])),
        0x0123456789abcdefn,
        7,
      );
      assert.deepEqual(Buffer.from(got.up), want.up);
      assert.deepEqual(Buffer.from(got.down), want.down);
      const other = await sessionKeysOf(
        c,
        key,
        new Uint8Array(Buffer.concat([nw, np])),
        0x0123456789abcdefn,
        8,
      );
      assert.notDeepEqual(Buffer.from(other.up), want.up, 'the rank is bound into the keys');
    });
  }
});

describe("DATA: the samples of a volunteer's partitions", () => {
  const shape = [3, 2, 1];
  const n = 40;
  const split = (u8: boolean) => {
    const x = u8 ? new Uint8Array(n * 6) : new Float32Array(n * 6);
    for (let i = 0; i < x.length; i++) x[i] = u8 ? (i * 37) % 256 : Math.sin(i) * 1e3;
    return { n, x, y: Uint8Array.from({ length: n }, (_, i) => (i * 7) % 10) };
  };
  for (const u8 of [true, false]) {
    test(`${u8 ? 'uint8 pixels' : 'float32 features'}: the gathered batch is the PS's, byte for byte`, () => {
      const train = split(u8);
      const ds: Dataset = { name: 't', inputShape: shape, numClasses: 10, train, test: train };
      const ids = [Int32Array.from([5, 0, 39, 5]), Int32Array.from([12, 3])];
      const packed = packSamples(train, 6, [4, 1], ids);
      const got = unpackSamples(packed.bytes, packed.dtype, 6);
      assert.ok(got !== null);
      const local: Dataset = { ...ds, train: got.split };
      for (const [i, p] of [4, 1].entries()) {
        const want = gatherBatch(ds, train, ids[i]);
        const have = gatherBatch(local, got.split, got.parts.get(p)!);
        assert.deepEqual(Buffer.from(have.x.buffer), Buffer.from(want.x.buffer));
        assert.deepEqual(have.y, want.y);
      }
      assert.equal(unpackSamples(packed.bytes.subarray(0, packed.bytes.length - 1), packed.dtype, 6), null);
      assert.equal(unpackSamples(packed.bytes, packed.dtype, 5), null, 'another sample size does not fit');
    });
  }
});

test('a WebSocket message splits into the three frames by its length field', () => {
  const frames = buildMessage(randomBytes(32), { type: MsgType.GRAD }, randomBytes(1000));
  const parts = splitMessage(Buffer.concat(frames));
  assert.deepEqual(parts, frames);
  assert.equal(
    splitMessage(Buffer.concat(frames).subarray(1)).length,
    1,
    'a length that does not fit: one frame',
  );
});

/** The page's volunteer code run in Node: `ws` for the socket, Node's WebCrypto. */
function nodeVolunteer(url: string, log: VolunteerStatus[], attack?: string) {
  return runVolunteer({
    url,
    attack,
    wasmPath: wasmDir() + '/',
    status: (s) => log.push(s),
    socket: (u) => new WebSocket(u) as never,
  });
}

/** A hand-driven volunteer socket: what any page holding the link can do. */
class RawVolunteer {
  readonly inbox: (Buffer | string)[] = [];
  readonly ws: WebSocket;
  readonly opened: Promise<number>;

  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.on('message', (d: Buffer, binary: boolean) => this.inbox.push(binary ? d : d.toString()));
    this.opened = new Promise((resolve) => {
      this.ws.once('open', () => resolve(101));
      this.ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      this.ws.once('error', () => resolve(0));
    });
  }

  async next(ms = 5000): Promise<Buffer | string | null> {
    const end = Date.now() + ms;
    while (this.inbox.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    return this.inbox.shift() ?? null;
  }

  async lease(): Promise<Extract<Lease, { kind: 'lease' }>> {
    const m = await this.next();
    assert.equal(typeof m, 'string');
    const l = JSON.parse(m as string) as Lease;
    assert.equal(l.kind, 'lease');
    return l as Extract<Lease, { kind: 'lease' }>;
  }

  send(frames: Buffer[]): void {
    this.ws.send(Buffer.concat(frames));
  }

  /** HELLO for `rank` under `key`; the CHALLENGE payload, or null when none comes within `ms`. */
  async hello(rank: number, key: Buffer, ms: number): Promise<Buffer | null> {
    this.send(buildMessage(key, { type: MsgType.HELLO, rank }, randomBytes(32)));
    const m = await this.next(ms);
    if (m === null || typeof m === 'string') return null;
    const r = parseMessage(splitMessage(m), key, 1 << 20);
    return r.ok && r.frame.header.type === MsgType.CHALLENGE ? r.frame.payload : null;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.ws.readyState === WebSocket.CLOSED) resolve();
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}

test(
  'draco ps --volunteers: the socket admits only the token, each lease only its rank, a closed lease nothing',
  { timeout: 120_000 },
  async () => {
    const args = ['--volunteers', '--workers', '3', '--byzantine', '1', '--attack', 'none'];
    const run = [...args, '--scheme', 'repetition', '--steps', '10', '--seed', '5'];
    const out = join(tmp, 'ps');
    const ps = await startVolunteerPs(run, out, pids);

    const noToken = new RawVolunteer(ps.socketUrl.replace(/\?token=.*/, ''));
    assert.equal(await noToken.opened, 403, 'no token: refused at the upgrade');
    const wrong = new RawVolunteer(ps.socketUrl.replace(/token=.*/, `token=${'A'.repeat(ps.token.length)}`));
    assert.equal(await wrong.opened, 403, 'a wrong token: refused at the upgrade');

    // A leased socket may authenticate as its rank only.
    const a = new RawVolunteer(ps.socketUrl);
    assert.equal(await a.opened, 101);
    const la = await a.lease();
    assert.equal(la.rank, 0, 'the lowest free rank');
    const keyA = Buffer.from(la.key, 'base64');
    assert.equal(await a.hello(1, keyA, 800), null, 'a HELLO for another rank gets no challenge');
    const ch = await a.hello(0, keyA, 5000);
    assert.ok(ch !== null && ch.length === 64, 'its own rank: a challenge');
    await a.close();

    // The rank is free again; the closed lease's key opens nothing on the next socket.
    const b = new RawVolunteer(ps.socketUrl);
    assert.equal(await b.opened, 101);
    const lb = await b.lease();
    assert.equal(lb.rank, 0, 'the closed socket freed its rank');
    assert.notEqual(lb.key, la.key, 'a fresh lease key');
    assert.equal(await b.hello(0, keyA, 800), null, 'the old lease key gets no challenge');
    // A flood of messages faster than the PS takes them: the socket is closed, not buffered on.
    const closed = new Promise<number>((resolve) => b.ws.once('close', (code) => resolve(code)));
    const junk = Buffer.alloc(100, 7);
    for (let i = 0; i < 400; i++) b.ws.send(junk);
    assert.equal(await closed, 1008, 'closed: too many messages in flight');

    // Three volunteers (the page's code, in Node) take ranks 0-2 and train; a fourth is told to wait.
    const statuses: VolunteerStatus[][] = [[], [], []];
    const vols = statuses.map((log) => nodeVolunteer(ps.socketUrl, log));
    const full = await (async () => {
      for (let i = 0; i < 100; i++) {
        if (statuses.every((l) => l.some((s) => s.rank !== null))) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const c = new RawVolunteer(ps.socketUrl);
      await c.opened;
      const m = await c.next();
      await c.close();
      return JSON.parse(m as string) as Lease;
    })();
    assert.equal(full.kind, 'full', 'every rank taken: the fourth socket waits');
    // The page's code shows that it waits, and keeps asking until the volunteer stops it.
    const waiting: VolunteerStatus[] = [];
    const fifth = nodeVolunteer(ps.socketUrl, waiting);
    assert.ok(await waitFor(() => waiting.some((s) => s.state === 'waiting'), 5000), JSON.stringify(waiting));
    fifth.stop();
    assert.equal((await fifth.done).state, 'stopped');
    const ends = await Promise.all(vols.map((v) => v.done));
    const { code, stderr } = await ps.exited;
    assert.equal(code, 0, stderr);
    assert.deepEqual(
      ends.map((e) => [e.state, e.steps]),
      [
        ['done', 10],
        ['done', 10],
        ['done', 10],
      ],
    );
    assert.deepEqual(new Set(ends.map((e) => e.rank)), new Set([0, 1, 2]));
    // The PS counted what the attacker tried: two HELLOs under keys that do not prove the rank.
    assert.match(stderr, /refused so far: [^\n]*bad mac 2/);

    const ref = join(tmp, 'ref');
    const r = spawnSync(
      process.execPath,
      [BIN, 'train', ...run.filter((x) => x !== '--volunteers'), '--out', ref],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(paramsSha(out), paramsSha(ref), 'the volunteers trained the in-process model');
  },
);

test(
  'the PS crashes mid-run and resumes: its volunteers come back to the same link and the model is unchanged',
  { timeout: 180_000 },
  async () => {
    const run =
      '--volunteers --workers 3 --byzantine 1 --attack none --scheme repetition --steps 12 --seed 4'.split(
        ' ',
      );
    const out = join(tmp, 'crash');
    const port = await freePort();
    const first = await startVolunteerPs([...run, '--checkpoint-every', '2'], out, pids, port);
    const logs: VolunteerStatus[][] = [[], [], []];
    const vols = logs.map((log) => nodeVolunteer(first.socketUrl, log));
    const metrics = join(out, 'metrics.jsonl');
    const steps = () => {
      try {
        return readFileSync(metrics, 'utf8')
          .split('\n')
          .filter((l) => l.startsWith('{"step"')).length;
      } catch {
        return 0;
      }
    };
    assert.ok(await waitFor(() => steps() >= 5, 60_000), first.stderr());
    first.proc.kill('SIGKILL');
    await first.exited;
    assert.ok(
      await waitFor(() => logs.every((l) => l.at(-1)?.state === 'waiting'), 10_000),
      'the tabs wait for the PS',
    );

    // Resumed into another folder, which keeps the token for a later --resume in its turn.
    const resumed = join(tmp, 'crash-resumed');
    const second = await startVolunteerPs(
      [...run, '--checkpoint-every', '2', '--resume', out],
      resumed,
      pids,
      port,
    );
    assert.equal(second.token, first.token, 'the resumed run keeps the link');
    assert.equal(readFileSync(join(resumed, 'volunteer-token'), 'utf8').trim(), first.token);
    const ends = await Promise.all(vols.map((v) => v.done));
    const { code, stderr } = await second.exited;
    assert.equal(code, 0, stderr);
    assert.deepEqual(
      ends.map((e) => e.state),
      ['done', 'done', 'done'],
    );
    const ref = join(tmp, 'crash-ref');
    const r = spawnSync(process.execPath, [BIN, 'train', ...run.slice(1), '--out', ref], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(
      paramsSha(resumed),
      paramsSha(ref),
      'the crashed and resumed volunteer run trained the in-process model',
    );
  },
);

test(
  '--per-address caps the ranks one address holds: a second socket from it waits, another address joins',
  { timeout: 60_000 },
  async () => {
    const run =
      '--volunteers --per-address 1 --workers 3 --byzantine 1 --attack none --scheme repetition --steps 2'.split(
        ' ',
      );
    const ps = await startVolunteerPs(run, join(tmp, 'cap'), pids);
    const first = new RawVolunteer(ps.socketUrl);
    assert.equal(await first.opened, 101);
    assert.equal((await first.lease()).rank, 0);
    const second = new RawVolunteer(ps.socketUrl);
    await second.opened;
    const told = JSON.parse((await second.next()) as string) as Lease;
    assert.equal(told.kind, 'full');
    assert.match((told as { message: string }).message, /this address already holds 1 rank/);
    const lan = Object.values(networkInterfaces())
      .flat()
      .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal);
    if (lan !== undefined) {
      const other = new RawVolunteer(ps.socketUrl.replace('127.0.0.1', lan.address));
      assert.equal(await other.opened, 101);
      assert.equal((await other.lease()).rank, 1, 'another address: the next free rank');
      await other.close();
    }
    await Promise.all([first.close(), second.close()]);
    ps.proc.kill('SIGKILL');
  },
);

test(
  'cyclic code (float64 messages): a lying volunteer leaves the model the in-process run with that liar has',
  { timeout: 120_000 },
  async () => {
    const run = '--workers 5 --byzantine 1 --scheme cyclic --steps 3 --seed 6'.split(' ');
    // The reference: the same liar simulated in process (fixed placement: one seeded rank).
    const ref = join(tmp, 'cyclic-ref');
    const r = spawnSync(
      process.execPath,
      [BIN, 'train', ...run, '--attack', 'reverse', '--placement', 'fixed', '--out', ref],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(r.status, 0, r.stderr);
    const liar = stepRecords(ref)[0].byzantine[0];
    const out = join(tmp, 'cyclic');
    const ps = await startVolunteerPs(['--volunteers', ...run, '--attack', 'none'], out, pids);
    // One at a time, so that volunteer i holds rank i; the one at the reference's rank lies.
    const vols = [];
    for (let i = 0; i < 5; i++) {
      const log: VolunteerStatus[] = [];
      vols.push(nodeVolunteer(ps.socketUrl, log, i === liar ? 'reverse' : undefined));
      assert.ok(await waitFor(() => log.some((s) => s.rank !== null), 10_000));
      assert.equal(log.find((s) => s.rank !== null)!.rank, i);
    }
    const ends = await Promise.all(vols.map((v) => v.done));
    assert.equal((await ps.exited).code, 0);
    assert.deepEqual(
      ends.map((e) => e.state),
      new Array(5).fill('done'),
    );
    assert.ok(
      stepRecords(out).every((s) => s.suspects.includes(liar)),
      'the decoder located the liar',
    );
    assert.equal(paramsSha(out), paramsSha(ref));
  },
);
