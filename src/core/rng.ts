/**
 * Seeded, splittable random numbers.
 *
 * Every random choice in draco (batches, placements, attack noise, weight init) comes from an
 * `Rng` derived from the run seed and a path of keys, e.g. `Rng.derive(seed, 'attack', step,
 * worker)`. Deriving instead of sharing one stream keeps each choice independent of how many
 * numbers other parts drew, so engines that compute in a different order still agree bit for bit.
 *
 * Generator: xoshiro128** (32-bit state words, fast in JS integer arithmetic), seeded by mixing
 * the key path with a murmur3-style finalizer.
 */

export type RngKey = number | string;

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function mixKey(h: number, key: RngKey): number {
  if (typeof key === 'number') {
    if (!Number.isFinite(key)) throw new Error(`rng key must be finite, got ${key}`);
    // Integers up to 2^53 feed both halves so that large seeds stay distinct.
    const lo = key >>> 0;
    const hi = Math.floor(key / 4294967296) >>> 0;
    h = fmix32(h ^ lo ^ 0x9e3779b9);
    h = fmix32(h ^ hi ^ 0x7f4a7c15);
    return h;
  }
  h = fmix32(h ^ 0x51ed270b);
  for (let i = 0; i < key.length; i++) h = fmix32(h ^ key.charCodeAt(i));
  return h;
}

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  private constructor(a: number, b: number, c: number, d: number) {
    this.s0 = a >>> 0;
    this.s1 = b >>> 0;
    this.s2 = c >>> 0;
    this.s3 = d >>> 0;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** An independent stream for the key path `(seed, ...keys)`. */
  static derive(seed: number, ...keys: RngKey[]): Rng {
    let h = mixKey(0x2545f491, seed);
    for (const k of keys) h = mixKey(h, k);
    const a = fmix32(h ^ 0x1b873593);
    const b = fmix32(a ^ 0xcc9e2d51);
    const c = fmix32(b ^ 0xe6546b64);
    const d = fmix32(c ^ 0x85ebca6b);
    return new Rng(a, b, c, d);
  }

  /** A child stream keyed by `keys`, independent of this stream's position. */
  child(...keys: RngKey[]): Rng {
    return Rng.derive(this.s0 ^ this.s2, this.s1, this.s3, ...keys);
  }

  /** Next uniform 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  float(): number {
    const hi = this.nextU32() >>> 5;
    const lo = this.nextU32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n). Unbiased (rejection sampling). */
  int(n: number): number {
    if (!(n >= 1) || !Number.isInteger(n) || n > 4294967296) {
      throw new Error(`Rng.int needs an integer n in [1, 2^32], got ${n}`);
    }
    const limit = 4294967296 - (4294967296 % n);
    let x: number;
    do x = this.nextU32();
    while (x >= limit);
    return x % n;
  }

  /** Standard normal (Box-Muller; one value per call, deterministic). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.float();
    const v = this.float();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Fill `out` with N(mean, std^2) samples. */
  fillNormal(out: Float32Array | Float64Array, mean = 0, std = 1): void {
    // Box-Muller pairs: both outputs used, so the stream is consumed two values per pair.
    let i = 0;
    const len = out.length;
    while (i < len) {
      let u = 0;
      while (u === 0) u = this.float();
      const v = this.float();
      const r = Math.sqrt(-2 * Math.log(u)) * std;
      out[i++] = mean + r * Math.cos(2 * Math.PI * v);
      if (i < len) out[i++] = mean + r * Math.sin(2 * Math.PI * v);
    }
  }

  /**
   * The logarithm of a Gamma(shape, 1) draw (Marsaglia and Tsang's squeeze method; for shape < 1,
   * Gamma(shape + 1) times U^(1/shape)). In logs because Gamma(0.1) draws fall below 1e-300.
   */
  logGamma(shape: number): number {
    if (!(shape > 0) || !Number.isFinite(shape))
      throw new Error(`Rng.logGamma needs shape > 0, got ${shape}`);
    if (shape < 1) {
      let u = 0;
      while (u === 0) u = this.float();
      return this.logGamma(shape + 1) + Math.log(u) / shape;
    }
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      let u = 0;
      while (u === 0) u = this.float();
      if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return Math.log(d * v);
    }
  }

  /** A draw from the Dirichlet distribution with these concentrations (sums to 1). */
  dirichlet(alphas: readonly number[]): Float64Array {
    const logs = alphas.map((a) => this.logGamma(a));
    const top = Math.max(...logs);
    const out = Float64Array.from(logs, (l) => Math.exp(l - top));
    let sum = 0;
    for (const v of out) sum += v;
    for (let i = 0; i < out.length; i++) out[i] /= sum;
    return out;
  }

  /** In-place Fisher-Yates shuffle. */
  shuffle<T extends { length: number; [i: number]: unknown }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }

  /** A uniformly random permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }

  /**
   * `k` distinct values of 0..n-1, ascending, uniform over k-subsets: the first k steps of a
   * Fisher-Yates shuffle, the touched positions kept in a map, so O(k log k) for any n (`sample`
   * shuffles all of 0..n-1; it stays as it is because placements depend on its draws).
   */
  sampleFew(n: number, k: number): Int32Array {
    if (k > n || k < 0) throw new Error(`cannot sample ${k} distinct values from ${n}`);
    const moved = new Map<number, number>();
    const out = new Int32Array(k);
    for (let i = 0; i < k; i++) {
      const j = i + this.int(n - i);
      out[i] = moved.get(j) ?? j;
      moved.set(j, moved.get(i) ?? i);
    }
    return out.sort();
  }

  /** `k` distinct values from 0..n-1, sorted ascending. */
  sample(n: number, k: number): number[] {
    if (k > n || k < 0) throw new Error(`cannot sample ${k} distinct values from ${n}`);
    return Array.from(this.permutation(n).subarray(0, k)).sort((a, b) => a - b);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
