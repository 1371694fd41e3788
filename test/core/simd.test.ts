/**
 * The WebAssembly SIMD path (src/core/simd): the committed binary is the WAT compiled, the mean
 * kernel is bitwise the JS loop's order of operations, validation into arena slots rejects what
 * plain validation rejects, and training gives the same parameters with and without the arena.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pairwiseSqDistances, sqDistancesJs } from '../../src/aggregators/distances.js';
import { meanOf } from '../../src/aggregators/mean.js';
import { buildAggregator } from '../../src/aggregators/registry.js';
import type { AggregateInfo } from '../../src/aggregators/types.js';
import { Rng } from '../../src/core/rng.js';
import { arenaFor, arenaOf, MEAN_BLOCK, MessageArena, storeFinite } from '../../src/core/simd/arena.js';
import { compileKernels, simdSourceDir } from '../../src/core/simd/build-kernels.js';
import { sqDistancesSimd } from '../../src/core/simd/distances.js';
import { simdAvailable } from '../../src/core/simd/kernels.js';
import { KERNELS_WASM_BASE64 } from '../../src/core/simd/kernels.wasm.js';
import { allFinite, type Vec } from '../../src/core/vec.js';
import { resolveConfig, type TrainConfigInput } from '../../src/build/config.js';
import type { Scheme } from '../../src/schemes/types.js';
import { createUncoded } from '../../src/schemes/uncoded.js';
import { train } from '../../src/build/train.js';
import { validateMessage } from '../../src/schemes/message.js';

const bytes = (x: Vec) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);

/**
 * The documented order, written out independently of src/aggregators/mean.ts: per coordinate
 * acc = +0; acc += ((x0 + x1) + x2) + x3 per group of four; acc += x per remaining input; acc *= 1/n.
 */
function reference(inputs: readonly Vec[], weights?: readonly number[]): Float64Array {
  const n = inputs.length;
  const d = inputs[0].length;
  const w = (i: number) => (weights === undefined ? 1 : weights[i]);
  const term = (i: number, k: number) => (weights === undefined ? inputs[i][k] : w(i) * inputs[i][k]);
  const out = new Float64Array(d);
  for (let k = 0; k < d; k++) {
    let acc = 0;
    let i = 0;
    for (; i + 4 <= n; i += 4) acc += term(i, k) + term(i + 1, k) + term(i + 2, k) + term(i + 3, k);
    for (; i < n; i++) acc += term(i, k);
    out[k] = weights === undefined ? acc * (1 / n) : acc;
  }
  return out;
}

/** Values over 80 binary orders of magnitude, with zeros and negative zeros: rounding shows. */
function fillWide(rng: Rng, x: Vec): void {
  for (let k = 0; k < x.length; k++) {
    const u = rng.int(20);
    x[k] = u === 0 ? 0 : u === 1 ? -0 : rng.normal() * 2 ** (rng.int(81) - 40);
  }
}

describe('SIMD kernels: build', () => {
  test('kernels.wasm.ts is kernels.wat compiled (run `npm run build:wasm` after editing the WAT)', async () => {
    const wat = readFileSync(join(simdSourceDir(), 'kernels.wat'), 'utf8');
    const fresh = await compileKernels(wat);
    assert.ok(fresh.length > 1000);
    assert.equal(Buffer.compare(Buffer.from(fresh), Buffer.from(KERNELS_WASM_BASE64, 'base64')), 0);
  });
  test('the kernels load on this runtime (wasm SIMD)', () => {
    assert.equal(simdAvailable(), true);
    assert.notEqual(MessageArena.create(2, 10, 'float32'), null);
  });
});

describe('SIMD mean: bitwise the JS order', () => {
  const MAX_N = 40;
  const MAX_D = 2 * MEAN_BLOCK + 21; // several kernel blocks, and a tail
  const arenas = {
    float32: MessageArena.create(MAX_N, MAX_D, 'float32')!,
    float64: MessageArena.create(MAX_N, MAX_D, 'float64')!,
  };
  const rng = Rng.derive(7, 'simd-mean');
  const sizes = [1, 3, 4, 7, 8, 9, 15, 16, 17, 31, 100, MEAN_BLOCK - 1, MEAN_BLOCK + 8, MAX_D];

  for (const dtype of ['float32', 'float64'] as const) {
    test(`${dtype}: random n in 1..40, d around 8 and the block size, weighted and not`, () => {
      const arena = arenas[dtype];
      let orderVisible = 0;
      for (let trial = 0; trial < 60; trial++) {
        const n = 1 + rng.int(MAX_N);
        const d = sizes[trial % sizes.length];
        const inputs: Vec[] = [];
        for (let i = 0; i < n; i++) {
          const x = arena.slot(i)!.subarray(0, d);
          fillWide(rng, x);
          inputs.push(x);
        }
        const plain = inputs.map((x) => x.slice());
        const weights = trial % 3 === 0 ? Array.from({ length: n }, () => rng.normal()) : undefined;
        const want = reference(plain, weights);
        const label = `${dtype} n=${n} d=${d}${weights ? ' weighted' : ''}`;

        // The kernel alone: it does the first d - d mod 8 coordinates.
        const out = new Float64Array(d);
        const m = arena.meanInto(inputs, out, weights);
        assert.equal(m, d - (d % 8), label);
        assert.equal(Buffer.compare(bytes(out.subarray(0, m)), bytes(want.subarray(0, m))), 0, label);
        // meanOf on arena views (kernel + JS tail) and on plain arrays (JS): the same bits.
        assert.equal(Buffer.compare(bytes(meanOf(inputs, weights)), bytes(want)), 0, label);
        assert.equal(Buffer.compare(bytes(meanOf(plain, weights)), bytes(want)), 0, label);

        // The data can tell summation orders apart: left-to-right differs somewhere.
        const naive = new Float64Array(d);
        for (let k = 0; k < d; k++) {
          let acc = 0;
          for (let i = 0; i < n; i++) acc += (weights ? weights[i] : 1) * plain[i][k];
          naive[k] = weights ? acc : acc * (1 / n);
        }
        if (Buffer.compare(bytes(naive), bytes(want)) !== 0) orderVisible++;
      }
      assert.ok(orderVisible > 10, `only ${orderVisible} trials distinguish summation orders`);
    });
  }

  test('inputs not all on one arena, or of mixed type or length, take the JS loop', () => {
    const a = arenas.float32;
    const x = a.slot(0)!.subarray(0, 64);
    const y = a.slot(1)!.subarray(0, 64);
    x.fill(1.5);
    y.fill(-3);
    const out = new Float64Array(64);
    assert.equal(a.meanInto([x, Float32Array.from(y)], out), 0);
    assert.equal(a.meanInto([x, a.slot(1)!.subarray(0, 65)], out), 0);
    assert.equal(a.meanInto([x, arenas.float64.slot(0)!.subarray(0, 64)], out), 0);
    assert.equal(arenas.float64.meanInto([x, y], out), 0);
    assert.deepEqual(out, new Float64Array(64)); // nothing written
    assert.deepEqual(Array.from(meanOf([x, Float32Array.from(y)]).subarray(0, 2)), [-0.75, -0.75]);
    assert.equal(arenaOf(Float32Array.from(y)), undefined);
    assert.equal(arenaOf(x), a);
  });
});

describe('SIMD distances: bitwise the JS loop', () => {
  /** n rows of d values of one kind; `dup` copies of row 0 and a row one ulp away make near-ties. */
  function rows(rng: Rng, n: number, d: number, f64: boolean, kind: number): Vec[] {
    const T = f64 ? Float64Array : Float32Array;
    const xs: Vec[] = Array.from({ length: n }, () => {
      const x = new T(d);
      for (let k = 0; k < d; k++) {
        if (kind === 0) x[k] = rng.normal();
        else if (kind === 1) x[k] = rng.int(5) - 2;
        else x[k] = rng.normal() * 2 ** (rng.int(80) - 40);
      }
      return x;
    });
    if (n >= 4) {
      xs[1] = xs[0].slice();
      xs[2] = xs[0].slice();
      xs[2][d - 1] = f64 ? xs[2][d - 1] * (1 + Number.EPSILON) : Math.fround(xs[2][d - 1] * (1 + 2 ** -23));
    }
    return xs;
  }
  const same = (a: Float64Array, b: Float64Array, n: number, what: string) => {
    for (let i = 0; i < n; i++)
      for (let j = i + 1; j < n; j++)
        assert.ok(
          Object.is(a[i * n + j], b[i * n + j]),
          `${what}: D[${i}][${j}] ${a[i * n + j]} vs ${b[i * n + j]}`,
        );
  };
  test('random n in 1..40 (and 150: short chunks), d across blocks, float32 and float64, with norms', () => {
    const rng = Rng.derive(11, 'simd-distances');
    const sizes: [number, number][] = [
      [1, 9],
      [2, 1],
      [3, 4097],
      [4, 2048],
      [5, 2049],
      [150, 3001],
    ];
    for (let t = 0; t < 40; t++) sizes.push([1 + rng.int(40), 1 + rng.int(7000)]);
    for (const [n, d] of sizes) {
      const f64 = rng.int(2) === 1;
      const xs = rows(rng, n, d, f64, rng.int(3));
      const what = `n = ${n}, d = ${d}, ${f64 ? 'float64' : 'float32'}`;
      const nj = new Float64Array(n);
      const ns = new Float64Array(n);
      const simd = sqDistancesSimd(xs, ns);
      assert.ok(simd !== null, what);
      same(sqDistancesJs(xs, nj), simd, n, what);
      for (let i = 0; i < n; i++)
        assert.ok(Object.is(nj[i], ns[i]), `${what}: norm ${i} ${nj[i]} vs ${ns[i]}`);
      if (n * d >= 1 << 14) {
        // The public entry takes the SIMD path here, and the mirrored matrix is the JS one.
        const saved = process.env.DRACO_SIMD;
        process.env.DRACO_SIMD = '0';
        const off = pairwiseSqDistances(xs);
        if (saved === undefined) delete process.env.DRACO_SIMD;
        else process.env.DRACO_SIMD = saved;
        assert.deepEqual(pairwiseSqDistances(xs), off, what);
      }
    }
  });
  test('adversarial near-ties: krum, multi-krum, bulyan and nnm+mean select the same inputs on both paths', () => {
    // Two copies of the honest inputs' mean (colluders sending one vector): the best scores, tied
    // but for rounding, which differs between the copies' rows (their pairs are summed in
    // different groups); a copy nudged by 1..3 ulps in one coordinate makes near-ties.
    const rng = Rng.derive(13, 'simd-near-ties');
    const offSimd = <T>(fn: () => T): T => {
      const saved = process.env.DRACO_SIMD;
      process.env.DRACO_SIMD = '0';
      try {
        return fn();
      } finally {
        if (saved === undefined) delete process.env.DRACO_SIMD;
        else process.env.DRACO_SIMD = saved;
      }
    };
    const n = 15;
    const f = 3;
    const d = 3000;
    for (let t = 0; t < 200; t++) {
      const xs = rows(rng, n, d, false, 0) as Float32Array[];
      const c = Float32Array.from(meanOf(xs));
      xs[3] = c;
      xs[7 + (t % 5)] = c.slice();
      new Int32Array(xs[7 + (t % 5)].buffer)[rng.int(d)] += t % 4;
      for (const rule of ['krum', 'multi-krum', 'bulyan', 'nnm+mean']) {
        const agg = buildAggregator(rule, { n, f });
        const run = () => {
          const info: AggregateInfo = {};
          const out = agg.aggregate(xs, { f, rng: Rng.derive(1, 'ps', 0), info });
          return { out: Buffer.from(out.buffer).toString('hex'), selected: JSON.stringify(info.selected) };
        };
        assert.deepEqual(run(), offSimd(run), `${rule}, case ${t}`);
      }
    }
  });
  test('mixed float32 and float64 rows, or rows of two lengths, are refused (the JS loop runs)', () => {
    assert.equal(sqDistancesSimd([new Float32Array(8), new Float64Array(8)]), null);
    assert.equal(sqDistancesSimd([new Float32Array(8), new Float32Array(9)]), null);
  });
  test('a NaN or an infinity makes the same entries non-finite on both paths', () => {
    const rng = Rng.derive(12, 'simd-distances-nonfinite');
    for (const bad of [NaN, Infinity, -Infinity]) {
      const xs = rows(rng, 9, 5000, false, 0);
      xs[4][3000] = bad;
      const a = sqDistancesJs(xs);
      const b = sqDistancesSimd(xs)!;
      for (let q = 0; q < 81; q++)
        assert.equal(Number.isFinite(a[q]), Number.isFinite(b[q]), `${bad} at ${q}`);
    }
  });
});

describe('mean into a reused result buffer (AggregatorContext.out)', () => {
  test('same bits as a fresh result, arena or not, whatever the buffer held', () => {
    const rng = Rng.derive(5, 'reuse');
    for (const d of [1, 7, 8, 4099, MEAN_BLOCK + 13]) {
      const n = 6;
      const arena = MessageArena.create(n, d, 'float32');
      const plain: Float32Array[] = [];
      const inArena: Vec[] = [];
      for (let i = 0; i < n; i++) {
        const x = new Float32Array(d);
        rng.fillNormal(x);
        plain.push(x);
        const slot = arena?.slot(i);
        if (slot) {
          slot.set(x);
          inArena.push(slot);
        }
      }
      const fresh = meanOf(plain);
      for (const inputs of [plain, inArena.length === n ? inArena : plain]) {
        const buf = new Float64Array(d).fill(123.5); // garbage from a previous step
        const got = meanOf(inputs, undefined, buf);
        assert.equal(got, buf, 'wrote into the given buffer');
        assert.deepEqual(Array.from(got), Array.from(fresh), `d = ${d}`);
      }
      assert.notEqual(meanOf(plain, undefined, new Float64Array(d + 1)).length, d + 1, 'wrong length: fresh');
    }
  });
});

describe('MessageArena: validation copies into the slot', () => {
  const n = 3;
  const dims = [1, 5, 16, 17, 16384 + 3, 2 * 16384 + 40];

  for (const dtype of ['float32', 'float64'] as const) {
    test(`${dtype}: NaN, +Inf and -Inf anywhere are rejected as without the arena; finite ones copied`, () => {
      const rng = Rng.derive(3, 'simd-validate', dtype);
      const T = dtype === 'float64' ? Float64Array : Float32Array;
      for (const d of dims) {
        const scheme = createUncoded({ n, s: 0, d });
        const arena = MessageArena.create(n, d, dtype)!;
        const plainScheme: Scheme = { ...scheme, messageDtype: dtype };
        for (const bad of [NaN, Infinity, -Infinity, null]) {
          for (const at of bad === null ? [0] : [0, d - 1, rng.int(d)]) {
            const msg = new T(d);
            fillWide(rng, msg);
            if (bad !== null) msg[at] = bad;
            const slot = arena.slot(1)!;
            const label = `${dtype} d=${d} ${bad} at ${at}`;
            const plain = validateMessage(msg, plainScheme);
            assert.equal(validateMessage(msg, plainScheme, slot), plain, label);
            assert.equal(plain, bad === null ? null : 'non-finite values', label);
            assert.equal(arena.finite(slot), bad === null, label);
            assert.equal(allFinite(slot), bad === null, label);
            if (bad === null) assert.equal(Buffer.compare(bytes(slot), bytes(msg)), 0, label);
          }
        }
        // Shape errors come before any copy, with the same text.
        const slot = arena.slot(0)!;
        const short = new T(d + 1);
        const other = dtype === 'float64' ? new Float32Array(d) : new Float64Array(d);
        assert.equal(validateMessage(short, plainScheme, slot), validateMessage(short, plainScheme));
        assert.match(validateMessage(short, plainScheme, slot)!, /^wrong length/);
        assert.equal(validateMessage(other, plainScheme, slot), validateMessage(other, plainScheme));
        assert.match(validateMessage(other, plainScheme, slot)!, /^wrong dtype/);
      }
    });
  }

  test('storeFinite also works on plain arrays, and refuses a slot of another shape', () => {
    const dst = new Float32Array(4);
    assert.equal(storeFinite(dst, Float32Array.from([1, 2, 3, 4])), true);
    assert.deepEqual(Array.from(dst), [1, 2, 3, 4]);
    assert.equal(storeFinite(dst, Float32Array.from([1, NaN, 3, 4])), false);
    assert.throws(() => storeFinite(dst, new Float32Array(5)), /differ in type or length/);
    assert.throws(() => storeFinite(dst, new Float64Array(4)), /differ in type or length/);
  });

  test('arenaFor: one arena per owner, fixed memory; none with DRACO_SIMD=0', () => {
    const owner = {};
    const a = arenaFor(owner, 4, 100, 'float32')!;
    const buf = a.memory.buffer;
    assert.equal(arenaFor(owner, 4, 100, 'float32'), a);
    a.slot(3)!.fill(2);
    meanOf([a.slot(0)!, a.slot(3)!]);
    assert.equal(a.memory.buffer, buf, 'the memory never grows (views stay attached)');
    assert.equal(a.slot(4), undefined);
    const saved = process.env.DRACO_SIMD;
    process.env.DRACO_SIMD = '0';
    try {
      assert.equal(arenaFor({}, 4, 100, 'float32'), null);
      assert.equal(MessageArena.create(4, 100, 'float64'), null);
    } finally {
      if (saved === undefined) delete process.env.DRACO_SIMD;
      else process.env.DRACO_SIMD = saved;
    }
  });
});

describe('training: the same parameters with and without the arena', () => {
  async function run(cfg: TrainConfigInput, simd: boolean) {
    const saved = process.env.DRACO_SIMD;
    if (!simd) process.env.DRACO_SIMD = '0';
    let scheme: Scheme | undefined;
    try {
      const { summary } = await train(resolveConfig(cfg), { onStart: (info) => void (scheme = info.scheme) });
      // Which path ran: the run's scheme owns an arena exactly when SIMD was on.
      const used = arenaFor(scheme!, scheme!.n, scheme!.messageLength, scheme!.messageDtype) !== null;
      return { hash: summary.paramsSha256, used };
    } finally {
      if (saved === undefined) delete process.env.DRACO_SIMD;
      else process.env.DRACO_SIMD = saved;
    }
  }

  const base = { dataset: 'synthetic', model: 'mlp', steps: 8, evalEvery: 0, seed: 5, lr: 0.05, batch: 96 };
  const cases: [string, TrainConfigInput][] = [
    ['uncoded + mean', { ...base, scheme: 'uncoded', aggregator: 'mean', workers: 15, byzantine: 0 }],
    [
      'uncoded + multi-krum',
      { ...base, scheme: 'uncoded', aggregator: 'multi-krum', workers: 11, byzantine: 2 },
    ],
    [
      'uncoded + bulyan under alie (distances on SIMD lanes)',
      { ...base, scheme: 'uncoded', aggregator: 'bulyan', workers: 11, byzantine: 2, attack: 'alie' },
    ],
    [
      'uncoded + geomedian (coefficient space reads the distances)',
      { ...base, scheme: 'uncoded', aggregator: 'geomedian', workers: 11, byzantine: 2, attack: 'alie' },
    ],
    ['repetition', { ...base, scheme: 'repetition', workers: 15, byzantine: 2 }],
    ['cyclic (float64 messages)', { ...base, scheme: 'cyclic', workers: 7, byzantine: 1 }],
    ['detox', { ...base, scheme: 'detox', workers: 15, byzantine: 2 }],
  ];
  for (const [name, cfg] of cases) {
    test(name, async () => {
      const on = await run(cfg, true);
      const off = await run(cfg, false);
      assert.equal(on.used, true);
      assert.equal(off.used, false);
      assert.equal(on.hash, off.hash);
    });
  }
});
