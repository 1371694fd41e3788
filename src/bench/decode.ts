/**
 * The measurement behind `draco bench decode`: median wall time of the cyclic code's or
 * Solon's PS-side decode on n seeded encoded messages of d parameters (s of them corrupted by the reverse attack, so the
 * locator does real work), and the input bandwidth (bytes of all messages / median time).
 * Same row shape as `draco bench aggregate` (scheme in place of rule). The messages are slots of
 * a MessageArena, where the training PS's validation copies them, so the decoder's SIMD kernels
 * run as in training; DRACO_SIMD=0 keeps plain arrays and the JS loops.
 *
 * The decoder speculates (schemes/mds/decoder.ts, Speculation): it combines the last decode's kept rows in
 * the projection's pass, one pass over the messages instead of two when the same rows are kept
 * again. So three figures: `medianMs` with the same Byzantine workers every step (the guess holds,
 * as in training with a fixed set of adversaries), and, with the corrupted set changing every
 * step, `missMs` (a guess that fails: the wasted combination, then the second pass) and
 * `noGuessMs` (the decodes after a miss, which do not guess: the plain two passes). Adversaries
 * that move every step cost about `noGuessMs` per step (the decoder backs off: mds/decoder.ts Speculation).
 *
 * Beside the decode (unless `mean: false`), the `mean` rule as `draco bench aggregate` times it
 * (n float32 inputs of d values in an arena, its SIMD kernel), run by run in turn with the
 * steady-state decodes: `meanMs` and `ratio`, the median of the per-run decode / mean ratios,
 * which a shared machine's load changes far less than either time.
 */
import { Rng } from '../core/rng.js';
import { arenaFor, storeFinite } from '../core/simd/arena.js';
import { median } from '../core/stats.js';
import type { Vec } from '../core/vec.js';
import { createMdsCode, mdsDecode, mdsEncode, type MdsDecodeInfo } from '../schemes/mds/index.js';
import { createScheme } from '../schemes/registry.js';
import type { MessageDtype } from '../schemes/types.js';
import { benchInputs, ruleRun } from './aggregate.js';

export interface BenchDecodeRow {
  scheme: string;
  n: number;
  d: number;
  s: number;
  m: number;
  dtype: MessageDtype;
  runs: number;
  /** Median ms with the same corrupted messages every run (the speculation holds: one pass). */
  medianMs: number;
  minMs: number;
  /** Input bandwidth: total message bytes / median time, in GB/s (1e9 bytes). */
  gbps: number;
  /** Median ms of decodes whose guess failed (the corrupted set moved); null when none ran. */
  missMs: number | null;
  /** Median ms of decodes that did not guess (after a miss: the plain two passes); null when none ran. */
  noGuessMs: number | null;
  /** Median ms of the mean of n float32 inputs of d values, timed in turn with the steady decodes. */
  meanMs: number | null;
  /** Median over the steady runs of decode ms / mean ms (each pair timed back to back). */
  ratio: number | null;
  /** How the timed steady-state runs went: decodes whose guess held, failed, or that did not guess. */
  speculation: { hit: number; miss: number; none: number };
  /** Byzantine ranks the decoder flagged in the last steady-state run (should be the corrupted ones). */
  suspects: number[];
  /** True when the messages sat in a MessageArena (wasm memory) as in training, false for plain arrays. */
  arena: boolean;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

export function benchDecode(o: {
  scheme: 'cyclic' | 'solon';
  n: number;
  d: number;
  s: number;
  m: number;
  dtype: MessageDtype;
  runs: number;
  warmup: number;
  seed?: number;
  /** Time the mean beside the decode (default true). */
  mean?: boolean;
}): BenchDecodeRow {
  const { n, d, s, m } = o;
  // The scheme validates the settings (UsageError with the bound); the decoder is its code.
  const scheme = createScheme(o.scheme, { n, s, d, compression: m, messageDtype: o.dtype });
  const code = createMdsCode({ n, s, d, r: 2 * s + m, m, dtype: o.dtype }, o.scheme);
  const rng = Rng.derive(o.seed ?? 1, 'bench-decode');
  const grads: Float32Array[] = [];
  for (let j = 0; j < scheme.numPartitions; j++) {
    const g = new Float32Array(d);
    rng.fillNormal(g);
    grads.push(g);
  }
  const honest: Vec[] = [];
  for (let i = 0; i < n; i++) honest.push(mdsEncode(code, i, (parts) => grads[parts[0]]));
  // Two corrupted sets, for the steady state (the first) and for adversaries moving every step.
  const byzSets = [rng.sample(n, s), rng.sample(n, s)];
  if (s > 0 && byzSets[1].every((j) => byzSets[0].includes(j)))
    byzSets[1] = byzSets[1].map((j) => (j + 1) % n);
  const corrupt = (msg: Vec, i: number, set: number[]): Vec => {
    if (!set.includes(i)) return msg;
    const bad = msg.slice();
    for (let t = 0; t < bad.length; t++) bad[t] *= -100;
    return bad;
  };
  const sent = byzSets.map((set) => honest.map((msg, i) => corrupt(msg, i, set)));
  // As the training PS validates them: copied into the sender's arena slot (wasm memory).
  const arena = arenaFor(code, n, code.messageLength, code.elementDtype);
  const place = (set: number): Vec[] =>
    sent[set].map((msg, i) => {
      const slot = arena?.slot(i);
      if (slot === undefined) return msg;
      if (!storeFinite(slot, msg)) throw new Error(`bench decode: message ${i} is not finite`);
      return slot;
    });
  let step = 0;
  const decodeTimed = (messages: Vec[]) => {
    let info: MdsDecodeInfo | undefined;
    const ctx = {
      step,
      partitionSizes: new Array<number>(scheme.numPartitions).fill(1),
      rng: Rng.derive(o.seed ?? 1, 'ps', step),
    };
    step++;
    const t0 = performance.now();
    const res = mdsDecode(code, messages, ctx, (i) => (info = i));
    const ms = performance.now() - t0;
    return { ms, res, speculation: info?.speculation ?? 'none' };
  };
  // The mean as `draco bench aggregate` times it: float32 inputs in an arena, a reused result.
  let meanTimed: (() => number) | null = null;
  if (o.mean !== false) {
    const run = ruleRun('mean', benchInputs(n, d, rng).inputs, 0, o.seed ?? 1);
    meanTimed = () => {
      const t0 = performance.now();
      run();
      return performance.now() - t0;
    };
  }
  // Steady state: the same corrupted set every run, each decode followed by a mean.
  const steady = place(0);
  for (let i = 0; i < o.warmup; i++) {
    decodeTimed(steady);
    meanTimed?.();
  }
  const times: number[] = [];
  const meanTimes: number[] = [];
  const ratios: number[] = [];
  const speculation = { hit: 0, miss: 0, none: 0 };
  let suspects: number[] = [];
  for (let r = 0; r < o.runs; r++) {
    const { ms, res, speculation: sp } = decodeTimed(steady);
    times.push(ms);
    speculation[sp]++;
    suspects = res.suspects;
    if (meanTimed !== null) {
      const mm = meanTimed();
      meanTimes.push(mm);
      ratios.push(ms / mm);
    }
  }
  // Moving adversaries: the other set, then back, every run (copies untimed).
  const byKind: Record<'hit' | 'miss' | 'none', number[]> = { hit: [], miss: [], none: [] };
  for (let r = 0; r < o.runs && s > 0; r++) {
    const { ms, speculation: sp } = decodeTimed(place(1 - (r % 2)));
    byKind[sp].push(ms);
  }
  const medianMs = median(times);
  const bytes = steady.reduce((a, x) => a + x.byteLength, 0);
  const orNull = (xs: number[]) => (xs.length > 0 ? round3(median(xs)) : null);
  return {
    scheme: o.scheme,
    n,
    d,
    s,
    m,
    dtype: o.dtype,
    runs: o.runs,
    medianMs: round3(medianMs),
    minMs: round3(Math.min(...times)),
    gbps: Math.round((bytes / (medianMs * 1e6)) * 100) / 100,
    missMs: orNull(byKind.miss),
    noGuessMs: orNull(byKind.none),
    meanMs: orNull(meanTimes),
    ratio: ratios.length > 0 ? Math.round(median(ratios) * 100) / 100 : null,
    speculation,
    suspects,
    arena: arena !== null,
  };
}
