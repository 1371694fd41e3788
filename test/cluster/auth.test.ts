/**
 * The PS's door, tried as an attacker: only the run's worker keys get through CURVE; a rank is
 * proven by challenge-response, so replayed handshakes (from this run or an earlier one) fail; a
 * worker key speaks for its own rank only; a rank moves to another connection only when that one
 * proves the key, and the old connection is told; nothing but a challenge reaches an
 * unauthenticated peer. Also the ordinary validation of authenticated frames.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { generateKeySet, psKeysOf, type KeySet } from '../../src/cluster/keys.js';
import { ProcessEngine } from '../../src/cluster/process-engine.js';
import { Dtype, MsgType, vecBytes } from '../../src/cluster/protocol.js';
import { resolveConfig } from '../../src/build/config.js';
import { createScheme } from '../../src/schemes/registry.js';
import { Peer, waitFor, workerKey, type Session } from './peer.js';

const open: { close(): Promise<void> }[] = [];
after(async () => {
  for (const x of open.reverse()) await x.close().catch(() => undefined);
});

async function startPs(n: number, set: KeySet = generateKeySet(n), stepDeadlineMs = 300) {
  const d = 4;
  const ps = new ProcessEngine({
    bind: 'tcp://127.0.0.1:*',
    keys: psKeysOf(set),
    description: resolveConfig({ workers: n, byzantine: 0 }),
    scheme: createScheme('uncoded', { n, s: 0, d, aggregator: 'mean' }),
    numParams: d,
    stepDeadlineMs,
    startupTimeoutMs: 5000,
  });
  await ps.bind();
  open.push(ps);
  return { ps, set };
}

function peer(ps: ProcessEngine, set: KeySet, rank: number): Peer {
  const p = new Peer(ps.endpoint, workerKey(set, rank));
  open.push(p);
  return p;
}

const grad = (s: Session, v: Float32Array | Float64Array, step: number, rank = s.rank) =>
  Peer.up(
    s,
    { type: MsgType.GRAD, dtype: v instanceof Float64Array ? Dtype.FLOAT64 : Dtype.FLOAT32, rank, step },
    vecBytes(v),
  );

const count = (ps: ProcessEngine, reason: string) => ps.rejectedTotals.get(reason) ?? 0;

describe('PS validation of authenticated frames', () => {
  test('stale step, duplicate rank, wrong dtype/length, non-finite are refused; deadline -> erasure', async () => {
    const { ps, set } = await startPs(3);
    const peers = [0, 1, 2].map((r) => peer(ps, set, r));
    const sessions: Session[] = [];
    for (const p of peers) {
      const s = await p.handshake();
      assert.equal(JSON.parse(s.config.payload.toString('utf8')).workers, 3);
      await p.send(Peer.up(s, { type: MsgType.READY }));
      sessions.push(s);
    }
    assert.equal(await ps.waitReady(), 3);
    const params = new Float32Array([1, 2, 3, 4]);
    const stepP = ps.runStep({ step: 7, params, partitions: [], byzantine: [2] });
    for (const r of [1, 2]) assert.equal((await peers[r].nextFrame(sessions[r].down)).header.step, 7);
    const st = await peers[0].nextFrame(sessions[0].down);
    assert.equal(st.header.type, MsgType.STEP);
    // STEP payload: the float32 params then the Byzantine ranks (u32).
    assert.deepEqual(
      [...new Float32Array(st.payload.buffer.slice(st.payload.byteOffset, st.payload.byteOffset + 16))],
      [1, 2, 3, 4],
    );
    assert.equal(st.payload.readUInt32LE(16), 2);
    await peers[0].send(grad(sessions[0], new Float32Array([9, 9, 9, 9]), 6)); // stale
    await peers[0].send(grad(sessions[0], new Float32Array([0.5, 0, 0, -1]), 7)); // accepted
    await peers[0].send(grad(sessions[0], new Float32Array([7, 7, 7, 7]), 7)); // duplicate
    // (Wait before the last answers: a frame after the step closed would count as stale.)
    assert.ok(await waitFor(() => count(ps, 'duplicate rank') === 1, 5000));
    await peers[1].send(grad(sessions[1], new Float32Array([1, NaN, 0, 0]), 7)); // non-finite
    await peers[2].send(grad(sessions[2], new Float64Array([1, 2, 3, 4]), 7)); // wrong dtype
    const res = await stepP;
    assert.deepEqual([...(res.reports[0].message as Float32Array)], [0.5, 0, 0, -1]);
    assert.equal(res.reports[1].message, null);
    assert.equal(res.reports[1].rejected, 'non-finite');
    assert.equal(res.reports[2].rejected, 'wrong dtype');
    assert.deepEqual(res.rejectedFrames, {
      'stale step': 1,
      'duplicate rank': 1,
      'non-finite': 1,
      'wrong dtype': 1,
    });
    // Step 8: rank 1 answers with a wrong length, rank 2 never answers -> erasure at the deadline.
    const t0 = Date.now();
    const step8 = ps.runStep({ step: 8, params, partitions: [], byzantine: [] });
    for (const r of [0, 1, 2]) assert.equal((await peers[r].nextFrame(sessions[r].down)).header.step, 8);
    await peers[0].send(grad(sessions[0], new Float32Array([1, 1, 1, 1]), 8));
    await peers[1].send(grad(sessions[1], new Float32Array([1, 1, 1, 1, 1]), 8));
    const res8 = await step8;
    assert.ok(Date.now() - t0 >= 290, 'the step waited for the deadline');
    assert.deepEqual(
      res8.reports.map((r) => r.message === null),
      [false, true, true],
    );
    assert.equal(res8.reports[1].rejected, 'wrong length');
    assert.equal(res8.reports[2].rejected, undefined);
  });
});

describe('handshake and rank binding', () => {
  test('a restarted worker (new connection, same key) takes its rank; the old connection is evicted and told', async () => {
    const { ps, set } = await startPs(2);
    const old = peer(ps, set, 1);
    const s0 = await old.handshake();
    const reborn = peer(ps, set, 1);
    const s1 = await reborn.handshake();
    const evict = await old.nextFrame(s0.down);
    assert.equal(evict.header.type, MsgType.EVICT);
    assert.equal(ps.handshakeTotals.evictions, 1);
    // The old connection's frames no longer count, whatever key they carry.
    await reborn.send(Peer.up(s1, { type: MsgType.READY }));
    await old.send(Peer.up(s0, { type: MsgType.READY }));
    assert.ok(await waitFor(() => count(ps, 'not authenticated') === 1, 5000));
    const p0 = peer(ps, set, 0);
    const s = await p0.handshake();
    await p0.send(Peer.up(s, { type: MsgType.READY }));
    assert.equal(await ps.waitReady(), 2);
    const step = ps.runStep({ step: 0, params: new Float32Array(4), partitions: [], byzantine: [] });
    await p0.nextFrame(s.down);
    await reborn.nextFrame(s1.down);
    await old.send(grad(s0, new Float32Array([5, 5, 5, 5]), 0)); // the evicted peer: refused
    await reborn.send(grad(s1, new Float32Array([1, 1, 1, 1]), 0));
    await p0.send(grad(s, new Float32Array([0, 0, 0, 0]), 0));
    const res = await step;
    assert.deepEqual([...(res.reports[1].message as Float32Array)], [1, 1, 1, 1]);
    assert.equal(count(ps, 'not authenticated'), 2);
  });

  test('an insider with a valid key speaks for its own rank only; replays of another rank fail', async () => {
    const { ps, set } = await startPs(4);
    const honest = peer(ps, set, 3);
    const h3 = await honest.handshake();
    await honest.send(Peer.up(h3, { type: MsgType.READY }));
    const insider = peer(ps, set, 2);
    // 1. HELLO claiming rank 3: its MAC is under rank 2's key, so the PS does not even answer.
    await insider.send(insider.hello(3));
    assert.ok(await waitFor(() => count(ps, 'bad mac') === 1, 5000));
    // 2. Rank 3's captured HELLO and AUTH, replayed: a fresh challenge the insider cannot answer,
    //    and the old AUTH answers a challenge that no longer exists.
    const [helloFrame, authFrame] = h3.sent;
    await insider.send(helloFrame);
    const ch = Peer.peek(await insider.next());
    assert.equal(ch?.type, MsgType.CHALLENGE);
    await insider.send(authFrame);
    assert.ok(await waitFor(() => count(ps, 'stale auth') === 1, 5000));
    // 3. Authenticated as itself (rank 2), it claims rank 3 in a GRAD, or replays rank 3's frame.
    const s2 = await insider.handshake();
    await insider.send(Peer.up(s2, { type: MsgType.READY }));
    for (const r of [0, 1]) {
      const p = peer(ps, set, r);
      const s = await p.handshake();
      await p.send(Peer.up(s, { type: MsgType.READY }));
    }
    assert.equal(await ps.waitReady(), 4);
    const step = ps.runStep({ step: 0, params: new Float32Array(4), partitions: [], byzantine: [] });
    await honest.nextFrame(h3.down);
    const mine = grad(s2, new Float32Array([-100, -100, -100, -100]), 0, 3);
    await insider.send(mine);
    const honestGrad = grad(h3, new Float32Array([3, 3, 3, 3]), 0);
    await insider.send(honestGrad); // rank 3's own frame, from the insider's connection
    assert.ok(await waitFor(() => count(ps, 'rank not joined from this peer') === 2, 5000));
    await honest.send(honestGrad);
    const res = await step;
    assert.deepEqual([...(res.reports[3].message as Float32Array)], [3, 3, 3, 3]);
    assert.equal(ps.handshakeTotals.evictions, 0, 'no one took rank 3');
    assert.equal(honest.inbox.length, 0, 'rank 3 heard nothing but its STEP');
  });

  test('captured handshakes of an earlier PS run with the same keys do not verify', async () => {
    const set = generateKeySet(2);
    const first = await startPs(2, set);
    const p = peer(first.ps, set, 1);
    const s = await p.handshake();
    await first.ps.close();
    const second = await startPs(2, set);
    const replayer = peer(second.ps, set, 0); // any valid CURVE key will do to reach the PS
    await replayer.send(s.sent[1]); // the AUTH of run 1
    await replayer.send(Peer.up(s, { type: MsgType.READY })); // a frame of run 1's session
    assert.ok(await waitFor(() => count(second.ps, 'stale auth') === 1, 5000));
    assert.ok(await waitFor(() => count(second.ps, 'not authenticated') === 1, 5000));
    assert.equal(second.ps.handshakeTotals.sessions, 0);
  });

  test('unauthenticated peers get a challenge and nothing else; an outsider key is refused at CURVE', async () => {
    const { ps, set } = await startPs(2);
    const p = peer(ps, set, 0);
    await p.send(p.hello());
    const ch = Peer.peek(await p.next());
    assert.equal(ch?.type, MsgType.CHALLENGE);
    // Before AUTH: no GRAD counts, nothing larger than a handshake frame is read.
    await p.send(
      Peer.up(
        {
          rank: 0,
          session: ps.session,
          up: Buffer.alloc(32),
          down: Buffer.alloc(32),
          sent: [],
          config: null!,
        },
        { type: MsgType.READY },
      ),
    );
    await p.send([Buffer.alloc(48), Buffer.alloc(65), Buffer.alloc(28)]);
    assert.ok(await waitFor(() => count(ps, 'not authenticated') === 1 && count(ps, 'oversize') === 1, 5000));
    const outsider = Peer.outsider(ps.endpoint, workerKey(set, 1));
    open.push(outsider);
    void outsider.send(outsider.hello()).catch(() => undefined);
    assert.ok(await waitFor(() => count(ps, 'handshake refused: key not in the run') >= 1, 5000));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(outsider.inbox.length, 0);
    assert.equal(p.inbox.length, 0, 'no CONFIG or STEP before AUTH');
    assert.equal(ps.handshakeTotals.sessions, 0);
  });
});
