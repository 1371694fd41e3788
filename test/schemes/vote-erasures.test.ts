/**
 * The vote under erasures, as a property over group sizes, erasure counts and liar placements:
 * the repetition code accepts only a value sent by at least s + 1 members and then it is the
 * honest one; DETOX accepts only a value sent by a strict majority of the group's members; every
 * group that cannot be decoded is logged; the repetition gradient is bitwise the honest sum over
 * the decoded groups, never anything else.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Rng } from '../../src/core/rng.js';
import type { Vec } from '../../src/core/vec.js';
import { createDetox } from '../../src/schemes/detox.js';
import { createRepetition, repetitionGroups } from '../../src/schemes/repetition.js';
import type { DecodeContext } from '../../src/schemes/types.js';

const ctx = (n: number): DecodeContext => ({
  step: 0,
  partitionSizes: new Array(n).fill(3),
  rng: Rng.derive(5, 'vote-erasures'),
});

function sameBytes(a: Vec, b: Vec): boolean {
  return (
    Buffer.compare(
      Buffer.from(a.buffer, a.byteOffset, a.byteLength),
      Buffer.from(b.buffer, b.byteOffset, b.byteLength),
    ) === 0
  );
}

/** A random step: honest group values, liars (colluding or not), erasures anywhere. */
function scenario(rng: Rng, n: number, groups: number[][], d: number, liars: number) {
  const truth = groups.map(() => {
    const x = new Float32Array(d);
    rng.fillNormal(x);
    return x;
  });
  const msgs: (Vec | null)[] = new Array(n);
  groups.forEach((g, k) => g.forEach((w) => (msgs[w] = truth[k])));
  const liar = new Set(rng.permutation(n).subarray(0, liars));
  const collusion = new Float32Array(d).fill(rng.normal());
  for (const w of liar)
    msgs[w] = rng.int(3) ? collusion : Float32Array.from({ length: d }, () => rng.normal());
  // Erasure pressure varies from none to most of the cluster.
  const p = rng.float();
  const erased = new Set<number>();
  for (let w = 0; w < n; w++) if (rng.float() < p) erased.add(w);
  for (const w of erased) msgs[w] = null;
  return { truth, msgs, liar, erased };
}

describe('vote under erasures (property)', () => {
  test('repetition: s + 1 identical or undecodable; the gradient is the honest sum of decoded groups, bit for bit', () => {
    const rng = Rng.derive(11, 'repetition-erasures');
    let undecodable = 0;
    let decoded = 0;
    for (let trial = 0; trial < 400; trial++) {
      const s = rng.int(4);
      const r = 2 * s + 1 + rng.int(3);
      const n = r + rng.int(3 * r);
      const d = 1 + rng.int(9);
      const groups = repetitionGroups(n, r);
      const policy = rng.int(2) ? 'skip' : 'abort';
      const scheme = createRepetition({ n, s, d, r, noMajority: policy });
      const { truth, msgs, liar, erased } = scenario(rng, n, groups, d, rng.int(s + 1));
      const out = scheme.decode(msgs, ctx(n));
      const want = new Float64Array(d);
      let anyFailed = false;
      groups.forEach((g, k) => {
        const honestArrivals = g.filter((w) => !liar.has(w) && !erased.has(w)).length;
        const logged = out.failures.some((f) => f.startsWith(`group ${k} (`));
        const where = `trial ${trial}: n=${n} s=${s} r=${r} group ${k} (${honestArrivals} honest arrivals)`;
        if (honestArrivals >= s + 1) {
          // Liveness: enough honest copies always decode (unless an earlier group aborted the step).
          if (!anyFailed || policy === 'skip') assert.ok(!logged, where);
          for (let i = 0; i < d; i++) want[i] += truth[k][i];
          decoded++;
        } else {
          // At most s liars, so no other value can reach s + 1 either: undecodable and logged.
          if (!anyFailed || policy === 'skip') assert.ok(logged, where);
          anyFailed = true;
          undecodable++;
        }
        // A value with s or fewer copies never counted: its senders are suspects of a decoded
        // group, or the group was logged (an abort stops at the first undecodable group).
        if (policy === 'abort' && anyFailed) return;
        for (const w of g) {
          const m = msgs[w];
          if (m === null) continue;
          const copies = g.filter((u) => msgs[u] !== null && sameBytes(msgs[u]!, m)).length;
          if (copies <= s && !sameBytes(m, truth[k])) assert.ok(out.suspects.includes(w) || logged, where);
        }
      });
      if (policy === 'abort' && anyFailed) {
        assert.equal(out.abort, true, `trial ${trial}`);
        assert.equal(out.samplesCovered, 0);
      } else {
        assert.deepEqual(out.gradient, want, `trial ${trial}: n=${n} s=${s} r=${r}`);
      }
      // Suspects are exactly the arrived liars of decoded groups.
      for (const w of out.suspects)
        assert.ok(liar.has(w) && !erased.has(w), `trial ${trial}: honest ${w} suspected`);
    }
    assert.ok(
      undecodable > 100 && decoded > 100,
      `coverage: ${undecodable} undecodable, ${decoded} decoded groups`,
    );
  });

  test('DETOX: a group output needs a strict majority of the group, whatever arrived', () => {
    const rng = Rng.derive(12, 'detox-erasures');
    let dropped = 0;
    let captured = 0;
    for (let trial = 0; trial < 400; trial++) {
      const r = 3 + 2 * rng.int(2);
      const G = 3 + rng.int(5);
      const n = r * G + rng.int(r);
      const d = 1 + rng.int(5);
      const groups = repetitionGroups(n, r);
      const liars = rng.int(Math.floor(n / 2));
      const scheme = createDetox({ n, s: liars, d, r, detoxMode: 'rule', aggregator: 'mean' });
      const { msgs, truth } = scenario(rng, n, groups, d, liars);
      // The rule stage sees exactly the accepted group outputs: recover them from a mean of one.
      const out = scheme.decode(msgs, ctx(n));
      groups.forEach((g, k) => {
        const arrived = g.filter((w) => msgs[w] !== null);
        const classes = new Map<number, number>();
        for (const w of arrived) {
          const rep = arrived.find((u) => sameBytes(msgs[u]!, msgs[w]!))!;
          classes.set(rep, (classes.get(rep) ?? 0) + 1);
        }
        const best = Math.max(0, ...classes.values());
        const logged = out.failures.some((f) => f.startsWith(`group ${k} (`));
        const where = `trial ${trial}: n=${n} r=${r} group ${k} (best class ${best} of ${g.length})`;
        if (2 * best > g.length) {
          assert.ok(!logged, where);
          const rep = [...classes].find(([, c]) => c === best)![0];
          if (!sameBytes(msgs[rep]!, truth[k])) captured++;
        } else {
          assert.ok(logged, where);
          dropped++;
        }
      });
    }
    assert.ok(dropped > 100 && captured > 10, `coverage: ${dropped} dropped, ${captured} captured`);
  });
});
