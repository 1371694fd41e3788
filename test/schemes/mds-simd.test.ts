/**
 * The MDS decoder's O(n d) passes on the WebAssembly SIMD kernels (core/simd/kernels.wat
 * `project`, `combine`): over messages in a MessageArena they give bitwise what the JS loops
 * give on plain arrays, and both follow the documented summation order (written out here
 * independently of src/schemes/mds/); the projection draws the same f from the same rng
 * words; non-finite output is reported; and whole decodes agree bit for bit.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Rng } from '../../src/core/rng.js';
import { COMBINE_SETS, MDS_BLOCK, MessageArena } from '../../src/core/simd/arena.js';
import type { Vec } from '../../src/core/vec.js';
import type { MessageDtype } from '../../src/schemes/types.js';
import {
  combine,
  combineRows,
  createMdsCode,
  drawProjection,
  mdsDecode,
  mdsEncode,
  project,
  projectAndCombine,
  projectRows,
  type MdsDecodeInfo,
} from '../../src/schemes/mds/index.js';

const bytes = (x: Vec) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
const same = (a: Vec, b: Vec) => Buffer.compare(bytes(a), bytes(b)) === 0;

/** Values over 60 binary orders of magnitude, with zeros and negative zeros: rounding shows. */
function fillWide(rng: Rng, x: Float64Array): void {
  for (let k = 0; k < x.length; k++) {
    const u = rng.int(20);
    x[k] = u === 0 ? 0 : u === 1 ? -0 : rng.normal() * 2 ** (rng.int(61) - 30);
  }
}

/** Rows in arena slots (views of 2L elements) and the same values in plain arrays. */
function rowsOf(
  arena: MessageArena,
  rng: Rng,
  n: number,
  L: number,
): { inArena: Vec[]; plain: Float64Array[] } {
  const inArena: Vec[] = [];
  const plain: Float64Array[] = [];
  for (let j = 0; j < n; j++) {
    const x = (arena.slot(j) as Float64Array).subarray(0, 2 * L);
    fillWide(rng, x);
    inArena.push(x);
    plain.push(x.slice());
  }
  return { inArena, plain };
}

/**
 * The documented projection order: per row, four sums from +0 in increasing t (re over even t,
 * re over odd t, im over even t, im over odd t) of x[t] f[t] and x[L + t] f[t]; then
 * u = (re even + re odd) + i (im even + im odd).
 */
function projectReference(rows: readonly Vec[], f: Float64Array, L: number): Float64Array {
  const u = new Float64Array(2 * rows.length);
  rows.forEach((x, j) => {
    const s = [0, 0, 0, 0];
    for (let t = 0; t < L; t++) {
      s[t % 2] += x[t] * f[t];
      s[2 + (t % 2)] += x[L + t] * f[t];
    }
    u[2 * j] = s[0] + s[1];
    u[2 * j + 1] = s[2] + s[3];
  });
  return u;
}

/**
 * The documented combination order per coordinate: acc = +0; per pair of rows
 * acc += ((a0 p0 - b0 q0) + a1 p1) - b1 q1 (imaginary: ((a0 q0 + b0 p0) + a1 q1) + b1 p1), then
 * acc += a p - b q (a q + b p) for an odd last row.
 */
function combineReference(rows: readonly Vec[], v: Float64Array, L: number): Float64Array {
  const out = new Float64Array(2 * L);
  const n = rows.length;
  for (let t = 0; t < L; t++) {
    let re = 0;
    let im = 0;
    let j = 0;
    for (; j + 2 <= n; j += 2) {
      let gr = 0;
      let gi = 0;
      for (let k = j; k < j + 2; k++) {
        const [a, b, p, q] = [v[2 * k], v[2 * k + 1], rows[k][t], rows[k][L + t]];
        gr = k === j ? a * p - b * q : gr + a * p - b * q;
        gi = k === j ? a * q + b * p : gi + a * q + b * p;
      }
      re += gr;
      im += gi;
    }
    for (; j < n; j++) {
      const [a, b, p, q] = [v[2 * j], v[2 * j + 1], rows[j][t], rows[j][L + t]];
      re += a * p - b * q;
      im += a * q + b * p;
    }
    out[t] = re;
    out[L + t] = im;
  }
  return out;
}

const MAX_N = 23;
const MAX_L = 2 * MDS_BLOCK + 5; // several kernel blocks, odd
const Ls = [1, 2, 3, 4, 5, 17, 64, MDS_BLOCK - 1, MDS_BLOCK, MDS_BLOCK + 3, MAX_L];

describe('MDS projection: SIMD kernel = JS loop = documented order', () => {
  const arena = MessageArena.create(MAX_N, 2 * MAX_L, 'float64')!;

  test('the stream: four xorshift128 generators on 16 rng words, f[t] from generator t mod 4', () => {
    const words = Rng.derive(5, 'stream');
    const st = Array.from({ length: 16 }, (_, i) => words.nextU32() | 0 | (i >= 12 ? 1 : 0));
    const want = new Float64Array(4 * 1000 + 3);
    for (let t = 0; t < want.length; t++) {
      const k = t % 4;
      const [x, y, z, w] = [st[k], st[4 + k], st[8 + k], st[12 + k]];
      const s = x ^ (x << 11);
      const w2 = w ^ (w >>> 19) ^ (s ^ (s >>> 8));
      [st[k], st[4 + k], st[8 + k], st[12 + k]] = [y, z, w, w2];
      want[t] = (w2 >>> 0) / 2 ** 32 - 0.5;
    }
    const f = drawProjection(Rng.derive(5, 'stream'), want.length);
    assert.ok(same(f, want));
    assert.ok(f.every((x) => x >= -0.5 && x < 0.5 && Number.isInteger(x * 2 ** 32)));
  });

  test('random n in 1..23 (groups of four padded), L odd and even, one to three blocks', () => {
    const rng = Rng.derive(11, 'mds-simd-project');
    let orderVisible = 0;
    for (let trial = 0; trial < 40; trial++) {
      const n = 1 + rng.int(MAX_N);
      const L = Ls[trial % Ls.length];
      const { inArena, plain } = rowsOf(arena, rng, n, L);
      const label = `n=${n} L=${L}`;
      const f = drawProjection(Rng.derive(trial, 'f'), L);
      const want = projectReference(plain, f, L);
      assert.ok(same(project(plain, f, L), want), `JS loop, ${label}`);
      // Same rng words as drawProjection, the same f, and the rng left where drawProjection leaves it.
      const rA = Rng.derive(trial, 'f');
      const rP = Rng.derive(trial, 'f');
      assert.ok(same(projectRows(inArena, rA, L), want), `kernel, ${label}`);
      assert.ok(same(projectRows(plain, rP, L), want), `JS via projectRows, ${label}`);
      const after = Rng.derive(trial, 'f');
      drawProjection(after, 1);
      const next = after.nextU32();
      assert.equal(rA.nextU32(), next, label);
      assert.equal(rP.nextU32(), next, label);
      // The data can tell orders apart: one chain per row (no even/odd split) differs somewhere.
      const naive = new Float64Array(2 * n);
      plain.forEach((x, j) => {
        for (let t = 0; t < L; t++) {
          naive[2 * j] += x[t] * f[t];
          naive[2 * j + 1] += x[L + t] * f[t];
        }
      });
      if (!same(naive, want)) orderVisible++;
    }
    assert.ok(orderVisible > 10, `only ${orderVisible} trials distinguish summation orders`);
  });

  test('the kernel runs on arena views only: otherwise nothing is written and the state is kept', () => {
    const rng = Rng.derive(12, 'mds-simd-project');
    const L = 37;
    const { inArena, plain } = rowsOf(arena, rng, 5, L);
    const state = Int32Array.from({ length: 16 }, (_, i) => i + 1);
    const initial = Array.from(state);
    const lanes = new Float64Array(4 * 5).fill(7);
    assert.equal(arena.projectLanes([inArena[0], plain[1]], L, state, lanes), 0);
    assert.equal(arena.projectLanes(inArena, L + 1, state, lanes), 0, 'wrong length');
    assert.equal(arena.projectLanes([Float32Array.from(plain[0])], L, state, lanes), 0);
    assert.deepEqual(Array.from(state), initial);
    assert.ok(lanes.every((x) => x === 7));
    assert.equal(arena.projectLanes(inArena, L, state, lanes), L - (L % 4)); // the JS loop does the rest
    assert.notDeepEqual(Array.from(state), initial);
    // Mixed rows still decode-project correctly (the JS loop).
    const mixed = [inArena[0], plain[1], inArena[2]];
    const f = drawProjection(Rng.derive(3, 'g'), L);
    assert.ok(same(projectRows(mixed, Rng.derive(3, 'g'), L), projectReference(mixed, f, L)));
  });
});

describe('MDS combination: SIMD kernel = JS loop = documented order', () => {
  const arena = MessageArena.create(MAX_N, 2 * MAX_L, 'float64')!;

  test(`random n in 1..23, 1..${COMBINE_SETS + 3} weight sets, L odd and even, one to three blocks`, () => {
    const rng = Rng.derive(13, 'mds-simd-combine');
    let orderVisible = 0;
    for (let trial = 0; trial < 40; trial++) {
      const n = 1 + rng.int(MAX_N);
      const L = Ls[trial % Ls.length];
      const sets = trial % 5 === 0 ? COMBINE_SETS + 1 + rng.int(3) : 1 + rng.int(3);
      const { inArena, plain } = rowsOf(arena, rng, n, L);
      const vs = Array.from({ length: sets }, () => {
        const v = new Float64Array(2 * n);
        fillWide(rng, v);
        return v;
      });
      const label = `n=${n} L=${L} sets=${sets}`;
      const outA = vs.map(() => new Float64Array(2 * L));
      const outP = vs.map(() => new Float64Array(2 * L));
      assert.equal(combineRows(inArena, vs, L, outA), true, label);
      assert.equal(combineRows(plain, vs, L, outP), true, label);
      vs.forEach((v, b) => {
        const want = combineReference(plain, v, L);
        assert.ok(same(outA[b], want), `kernel, ${label}, set ${b}`);
        assert.ok(same(outP[b], want), `JS loop, ${label}, set ${b}`);
        const js = new Float64Array(2 * L);
        combine(plain, v, L, js);
        assert.ok(same(js, want), `combine, ${label}, set ${b}`);
        // Left to right over all rows differs somewhere from the grouped order.
        const naive = new Float64Array(2 * L);
        for (let t = 0; t < L; t++) {
          for (let j = 0; j < n; j++) {
            naive[t] += v[2 * j] * plain[j][t] - v[2 * j + 1] * plain[j][L + t];
            naive[L + t] += v[2 * j] * plain[j][L + t] + v[2 * j + 1] * plain[j][t];
          }
        }
        if (!same(naive, want)) orderVisible++;
      });
    }
    assert.ok(orderVisible > 10, `only ${orderVisible} sets distinguish summation orders`);
  });

  test('outputs are overwritten (not accumulated), kernel or not; overflow is reported', () => {
    const rng = Rng.derive(14, 'mds-simd-combine');
    for (const L of [5, MDS_BLOCK + 1]) {
      const { inArena, plain } = rowsOf(arena, rng, 6, L);
      for (const x of [...inArena, ...plain]) x.fill(1e300, 0, 1);
      const v = Float64Array.from({ length: 12 }, () => rng.normal());
      for (const rows of [inArena, plain]) {
        const garbage = new Float64Array(2 * L).fill(123.5);
        assert.equal(combineRows(rows, [v], L, [garbage]), true);
        assert.ok(same(garbage, combineReference(plain, v, L)));
      }
      // 1e300 times 1e10: infinite at t = 0 (in the kernel's blocks) ...
      const big = v.map((x) => x * 1e10);
      assert.equal(combineRows(inArena, [big], L, [new Float64Array(2 * L)]), false);
      assert.equal(combineRows(plain, [big], L, [new Float64Array(2 * L)]), false);
      // ... and at the last t of an odd L (the JS tail), or nowhere.
      for (const x of [...inArena, ...plain]) {
        x[0] = 1;
        x[L - 1] = 1e300;
      }
      assert.equal(combineRows(inArena, [big], L, [new Float64Array(2 * L)]), false, `tail, L=${L}`);
      assert.equal(combineRows(plain, [big], L, [new Float64Array(2 * L)]), false, `tail, L=${L}`);
      for (const x of [...inArena, ...plain]) x[L - 1] = 1;
      assert.equal(combineRows(inArena, [big], L, [new Float64Array(2 * L)]), true);
    }
  });

  test('non-arena or mixed rows take the JS loop (the kernel writes nothing)', () => {
    const rng = Rng.derive(15, 'mds-simd-combine');
    const L = 9;
    const { inArena, plain } = rowsOf(arena, rng, 4, L);
    const v = Float64Array.from({ length: 8 }, () => rng.normal());
    const out = new Float64Array(2 * L);
    assert.deepEqual(arena.combineInto([inArena[0], plain[1]], [v], L, [out]), { len: 0, finite: true });
    assert.ok(out.every((x) => x === 0));
    const mixed = [inArena[0], plain[1], inArena[2], plain[3]];
    assert.equal(combineRows(mixed, [v], L, [out]), true);
    assert.ok(same(out, combineReference(mixed, v, L)));
  });
});

describe('MDS decode: the same bits from arena slots as from plain arrays', () => {
  const cases: [number, number, number, number, MessageDtype][] = [
    // n, s, m, d, messages
    [15, 2, 1, 2 * 3000 + 1, 'float64'], // cyclic, L odd
    [15, 2, 2, 4 * 2100, 'float64'], // solon, two blocks decoded in one kernel pass
    [9, 2, 3, 6 * 700 - 5, 'float64'], // solon, padded last block
    [31, 5, 1, 2 * MDS_BLOCK + 6, 'float64'],
    [15, 2, 2, 4 * 1500 + 2, 'float64x2'], // the kernels read the high halves of the slots
  ];
  for (const [n, s, m, d, dtype] of cases) {
    test(`n = ${n}, s = ${s}, m = ${m}, d = ${d}, ${dtype}: one erasure and s - 1 Byzantine (reverse x100)`, () => {
      const r = 2 * s + m;
      const code = createMdsCode({ n, s, d, r, m, dtype }, 'test');
      const rng = Rng.derive(16, n, m);
      const grads = Array.from({ length: n }, () => {
        const g = new Float32Array(d);
        rng.fillNormal(g);
        return g;
      });
      const byz = rng.sample(n, s - 1); // e + 2t <= 2s
      const erased = [0, 1].find((j) => !byz.includes(j))!;
      const arena = MessageArena.create(n, code.messageLength, 'float64')!;
      const plain = Array.from({ length: n }, (_, i) => {
        const y = mdsEncode(code, i, (p) => grads[p[0]]) as Float64Array;
        return byz.includes(i) ? y.map((x) => -100 * x) : y;
      });
      const inArena = plain.map((y, i) => {
        const slot = arena.slot(i) as Float64Array;
        slot.set(y);
        return slot;
      });
      const sent = (rows: Vec[]) => rows.map((y, i) => (i === erased ? null : y));
      const ctx = () => ({ step: 0, partitionSizes: new Array<number>(n).fill(1), rng: Rng.derive(17, n) });
      let infoA: MdsDecodeInfo | undefined;
      let infoP: MdsDecodeInfo | undefined;
      const a = mdsDecode(code, sent(inArena), ctx(), (i) => (infoA = i));
      const p = mdsDecode(code, sent(plain), ctx(), (i) => (infoP = i));
      assert.equal(a.abort, false);
      assert.deepEqual(
        a.suspects,
        [...byz].sort((x, y) => x - y),
      );
      assert.deepEqual(a.suspects, p.suspects);
      assert.deepEqual(infoA, infoP);
      assert.ok(same(a.gradient, p.gradient));
      // Over an arena the gradient buffer is reused by the next decode (whatever it then holds,
      // e.g. the training loop's in-place scaling); plain arrays get a fresh one each time.
      const kept = Float64Array.from(a.gradient);
      a.gradient.fill(-7.25);
      const again = mdsDecode(code, sent(inArena), ctx(), (i) => (infoA = i));
      assert.equal(infoA!.speculation, 'hit'); // the arena's one-pass path
      assert.equal(again.gradient.buffer, a.gradient.buffer);
      assert.ok(same(again.gradient, kept));
      assert.notEqual(mdsDecode(code, sent(plain), ctx()).gradient.buffer, p.gradient.buffer);
      const sum = new Float64Array(d);
      for (const g of grads) for (let i = 0; i < d; i++) sum[i] += g[i];
      let num = 0;
      let den = 0;
      for (let i = 0; i < d; i++) {
        num += (a.gradient[i] - sum[i]) ** 2;
        den += sum[i] ** 2;
      }
      assert.ok(Math.sqrt(num / den) <= 1e-9, `relative error ${Math.sqrt(num / den)}`);
    });
  }
});

describe('MDS projection + combination in one pass (the speculative decode)', () => {
  const arena = MessageArena.create(MAX_N, 2 * MAX_L, 'float64')!;

  test('bitwise projectRows + combineRows: random n, any subset of rows in any order, 1..COMBINE_SETS + 2 sets', () => {
    const rng = Rng.derive(18, 'mds-simd-fused');
    let fusedRuns = 0;
    for (let trial = 0; trial < 40; trial++) {
      const n = 1 + rng.int(MAX_N);
      const L = Ls[trial % Ls.length];
      const sets = trial % 7 === 0 ? COMBINE_SETS + 1 + rng.int(2) : 1 + rng.int(COMBINE_SETS);
      const { inArena, plain } = rowsOf(arena, rng, n, L);
      // A random subset (at least one row) in a random order: the weights follow that order.
      const picked = rng.sample(n, 1 + rng.int(n));
      const vs = Array.from({ length: sets }, () => {
        const v = new Float64Array(2 * picked.length);
        fillWide(rng, v);
        return v;
      });
      const label = `n=${n} L=${L} sets=${sets} combined=${picked.join(',')}`;
      const wantU = projectRows(plain, Rng.derive(trial, 'f2'), L);
      const wantOut = vs.map((v) =>
        combineReference(
          picked.map((j) => plain[j]),
          v,
          L,
        ),
      );
      for (const [rows, kind] of [
        [inArena, 'kernel'],
        [plain, 'JS'],
      ] as const) {
        const outs = vs.map(() => new Float64Array(2 * L).fill(99)); // overwritten, not added to
        const rA = Rng.derive(trial, 'f2');
        const got = projectAndCombine(
          rows,
          rA,
          L,
          picked.map((j) => rows[j]),
          vs,
          outs,
        );
        assert.equal(got.finite, true, `${kind}, ${label}`);
        assert.ok(same(got.u, wantU), `projection, ${kind}, ${label}`);
        outs.forEach((o, b) => assert.ok(same(o, wantOut[b]), `combination set ${b}, ${kind}, ${label}`));
        // The rng is left where projectRows leaves it.
        const after = Rng.derive(trial, 'f2');
        projectRows(plain.slice(0, 1), after, L);
        assert.equal(rA.nextU32(), after.nextU32(), `${kind}, ${label}`);
      }
      const kernelLen = arena.projectCombineInto(
        inArena,
        L,
        new Int32Array(16).fill(1),
        new Float64Array(4 * n),
        picked.map((j) => inArena[j]),
        vs,
        vs.map(() => new Float64Array(2 * L)),
      ).len;
      assert.equal(kernelLen, sets <= COMBINE_SETS ? L - (L % 4) : 0, label);
      if (kernelLen > 0) fusedRuns++;
    }
    assert.ok(fusedRuns >= 20, `the kernel ran in only ${fusedRuns} trials`);
  });

  test('the kernel refuses rows it cannot read in place, and rows not among the projected ones', () => {
    const rng = Rng.derive(19, 'mds-simd-fused');
    const L = 41;
    const { inArena, plain } = rowsOf(arena, rng, 5, L);
    const v = Float64Array.from({ length: 4 }, () => rng.normal());
    const call = (proj: Vec[], comb: Vec[]) =>
      arena.projectCombineInto(
        proj,
        L,
        new Int32Array(16).fill(1),
        new Float64Array(20),
        comb,
        [v],
        [new Float64Array(2 * L)],
      ).len;
    assert.equal(call(inArena, [inArena[1], plain[2]]), 0, 'a combined row off the arena');
    assert.equal(call(inArena.slice(0, 3), [inArena[1], inArena[4]]), 0, 'a combined row not projected');
    assert.equal(call(inArena, [inArena[1], inArena[1]]), 0, 'a row twice');
    assert.equal(call([inArena[0], plain[1]], [inArena[0]]), 0, 'a projected row off the arena');
    assert.equal(call(inArena, [inArena[1], inArena[3]]), L - (L % 4));
    // Mixed rows still give the right bits (the JS loops).
    const mixed = [inArena[0], plain[1], inArena[2]];
    const out = new Float64Array(2 * L);
    const got = projectAndCombine(mixed, Rng.derive(4, 'h'), L, [mixed[2], mixed[1]], [v], [out]);
    assert.ok(same(got.u, projectRows(mixed, Rng.derive(4, 'h'), L)));
    assert.ok(same(out, combineReference([mixed[2], mixed[1]], v, L)));
  });

  test('a decode sequence: no guess, hit, miss when the adversaries move, then an exponential backoff; always the bits of a plain decode', () => {
    const [n, s, m, d] = [15, 2, 1, 2 * 1500 + 10];
    const code = createMdsCode({ n, s, d, r: 2 * s + m, m, dtype: 'float64' }, 'test');
    const rng = Rng.derive(20, 'speculation');
    const grads = Array.from({ length: n }, () => {
      const g = new Float32Array(d);
      rng.fillNormal(g);
      return g;
    });
    const honest = Array.from(
      { length: n },
      (_, i) => mdsEncode(code, i, (p) => grads[p[0]]) as Float64Array,
    );
    const arena = MessageArena.create(n, code.messageLength, 'float64')!;
    const slots = Array.from({ length: n }, (_, i) => arena.slot(i) as Float64Array);
    const steps: [number[], string][] = [
      [[3, 9], 'none'],
      [[3, 9], 'hit'],
      [[3, 9], 'hit'],
      [[4, 12], 'miss'],
      [[4, 12], 'none'],
      [[4, 12], 'hit'],
      [[4], 'miss'], // one adversary fewer: row 12 is kept again
      [[], 'none'],
      [[], 'hit'], // no errors: every row is kept, every step
      // Adversaries moving every step: after each miss the decoder skips 1, then 2, then 4
      // decodes (a hit resets that).
      [[5, 6], 'miss'],
      [[7, 8], 'none'],
      [[5, 6], 'miss'],
      [[7, 8], 'none'],
      [[5, 6], 'none'],
      [[7, 8], 'miss'],
      [[7, 8], 'none'],
      [[7, 8], 'none'],
      [[7, 8], 'none'],
      [[7, 8], 'none'],
      [[7, 8], 'hit'],
      [[5, 6], 'miss'], // the backoff starts again at one skipped decode
      [[5, 6], 'none'],
      [[5, 6], 'hit'],
    ];
    steps.forEach(([byz, want], step) => {
      const plain = honest.map((y, i) => (byz.includes(i) ? y.map((x) => x * -100 + 1) : y.slice()));
      plain.forEach((y, i) => slots[i].set(y));
      const ctx = () => ({ step, partitionSizes: new Array<number>(n).fill(1), rng: Rng.derive(21, step) });
      let infoA: MdsDecodeInfo | undefined;
      let infoP: MdsDecodeInfo | undefined;
      const a = mdsDecode(code, slots, ctx(), (i) => (infoA = i));
      const p = mdsDecode(code, plain, ctx(), (i) => (infoP = i));
      const label = `step ${step}, Byzantine ${byz.join(',') || 'none'}`;
      assert.equal(a.abort, false, label);
      assert.deepEqual(a.suspects, byz, label);
      assert.equal(infoA!.speculation, want, label);
      assert.equal(infoP!.speculation, 'none', `plain arrays never guess, ${label}`);
      assert.deepEqual({ ...infoA, speculation: 'none' }, infoP, label);
      assert.ok(same(a.gradient, p.gradient), `gradient bits, ${label}`);
    });
  });
});
