/**
 * A high-precision reference for the MDS schemes' precision tests (docs/schemes.md "Cyclic code"
 * step 6, "Solon"): complex fixed-point arithmetic on BigInt with FRAC fractional bits (error
 * ~2^-FRAC per operation, 60 orders of magnitude below float64's epsilon). It recomputes the
 * encoding coefficients, the exact messages of given float32 gradients and the exact min-norm
 * recovery vectors, so that each stage of the float64 pipeline can be measured on its own.
 */

/** Fractional bits. */
export const FRAC = 256n;
const ONE = 1n << FRAC;

export type Cx = [bigint, bigint];

/** The exact value of a float64 in fixed point (rounded only below 2^-FRAC). */
export function fx(x: number): bigint {
  if (x === 0) return 0n;
  if (!Number.isFinite(x)) throw new Error(`fx: ${x}`);
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, x);
  const hi = dv.getUint32(0);
  const lo = dv.getUint32(4);
  const sign = hi >>> 31 ? -1n : 1n;
  const bexp = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e: number;
  if (bexp === 0) e = -1074;
  else {
    mant |= 1n << 52n;
    e = bexp - 1075;
  }
  const shift = BigInt(e) + FRAC;
  return sign * (shift >= 0n ? mant << shift : mant >> -shift);
}

/** Round a fixed-point value to the nearest float64 (Number(bigint) rounds to nearest). */
export function toF(x: bigint): number {
  // Keep 80 fractional bits for Number() (exact scaling by a power of two afterwards).
  const sh = FRAC - 80n;
  const q = x >= 0n ? (x + (1n << (sh - 1n))) >> sh : -((-x + (1n << (sh - 1n))) >> sh);
  return Number(q) / 2 ** 80;
}

export const mul = (a: bigint, b: bigint): bigint => (a * b) >> FRAC;
const div = (a: bigint, b: bigint): bigint => (a << FRAC) / b;

export const cadd = (a: Cx, b: Cx): Cx => [a[0] + b[0], a[1] + b[1]];
export const csub = (a: Cx, b: Cx): Cx => [a[0] - b[0], a[1] - b[1]];
export const cmul = (a: Cx, b: Cx): Cx => [
  mul(a[0], b[0]) - mul(a[1], b[1]),
  mul(a[0], b[1]) + mul(a[1], b[0]),
];
export const cconj = (a: Cx): Cx => [a[0], -a[1]];
export function cdiv(a: Cx, b: Cx): Cx {
  const den = mul(b[0], b[0]) + mul(b[1], b[1]);
  return [div(mul(a[0], b[0]) + mul(a[1], b[1]), den), div(mul(a[1], b[0]) - mul(a[0], b[1]), den)];
}
export const cabs2 = (a: Cx): bigint => mul(a[0], a[0]) + mul(a[1], a[1]);

function isqrt(v: bigint): bigint {
  if (v < 2n) return v;
  // Newton from above: x_0 >= sqrt(v), decreasing until it stops.
  let x = 1n << BigInt(Math.ceil(v.toString(2).length / 2) + 1);
  for (;;) {
    const y = (x + v / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

/** sqrt of a fixed-point value. */
export const fsqrt = (a: bigint): bigint => isqrt(a << FRAC);

/** atan(1/x) for an integer x, by its Taylor series. */
function atanInv(x: bigint): bigint {
  let term = ONE / x;
  let sum = term;
  const x2 = x * x;
  for (let k = 1n; term !== 0n; k++) {
    term /= x2;
    sum += (k % 2n === 1n ? -term : term) / (2n * k + 1n);
  }
  return sum;
}

/** pi = 16 atan(1/5) - 4 atan(1/239) (Machin). */
export const PI = 16n * atanInv(5n) - 4n * atanInv(239n);

/** (cos, sin) of a fixed-point angle in [-pi, pi], by Taylor series. */
function cosSin(t: bigint): Cx {
  let c = 0n;
  let s = 0n;
  let term = ONE; // t^k / k!
  for (let k = 0n; term !== 0n; k++) {
    switch (Number(k % 4n)) {
      case 0:
        c += term;
        break;
      case 1:
        s += term;
        break;
      case 2:
        c -= term;
        break;
      default:
        s -= term;
    }
    term = mul(term, t) / (k + 1n);
  }
  return [c, s];
}

/** w^e, w = exp(-2 pi i / n), exponent reduced mod n first. */
export function wpowX(n: number, e: number): Cx {
  const q = ((e % n) + n) % n;
  // angle -2 pi q / n, moved into [-pi, pi]
  const num = 2 * q > n ? BigInt(2 * (n - q)) : BigInt(-2 * q);
  return cosSin((PI * num) / BigInt(n));
}

/** The exact coefficients of createMdsCode (same layout as `code.coef`), in fixed point. */
export function exactCoef(n: number, s: number, r: number, m: number): Cx[] {
  const inv = div(ONE, fsqrt(BigInt(n) * ONE));
  const out: Cx[] = new Array<Cx>(n * r * m);
  for (let j = 0; j < n; j++) {
    const holders = new Set(Array.from({ length: r }, (_, q) => (((j - q) % n) + n) % n));
    const others: number[] = [];
    for (let l = 0; l < n; l++) if (!holders.has(l)) others.push(l);
    // First m coefficients of Pi_j(y) = prod (1 - y w^(-l)); then its series inverse.
    const pi: Cx[] = Array.from({ length: m }, (_, t) => [t === 0 ? ONE : 0n, 0n]);
    for (const l of others) {
      const c = wpowX(n, -l);
      for (let t = m - 1; t >= 1; t--) pi[t] = csub(pi[t], cmul(c, pi[t - 1]));
    }
    const iota: Cx[] = Array.from({ length: m }, (_, t) => [t === 0 ? ONE : 0n, 0n]);
    for (let t = 1; t < m; t++) {
      let acc: Cx = [0n, 0n];
      for (let q = 1; q <= t; q++) acc = cadd(acc, cmul(pi[q], iota[t - q]));
      iota[t] = [-acc[0], -acc[1]];
    }
    for (const i of holders) {
      let p: Cx = [inv, 0n];
      for (const l of others) p = cmul(p, csub([ONE, 0n], wpowX(n, i - l)));
      const q = (((j - i) % n) + n) % n;
      const y = wpowX(n, i);
      for (let b = 0; b < m; b++) {
        let t: Cx = [0n, 0n];
        for (let u = m - 1 - b; u >= 0; u--) t = cadd(cmul(t, y), iota[u]);
        out[(i * r + q) * m + b] = cmul(p, cmul(t, wpowX(n, i * b)));
      }
    }
  }
  return out;
}

/** Packed complex value t of block b of a float32 gradient (zero padding past d). */
function packed(g: Float32Array, L: number, b: number, t: number): Cx {
  const re = 2 * b * L + t;
  const im = re + L;
  return [re < g.length ? fx(g[re]) : 0n, im < g.length ? fx(g[im]) : 0n];
}

/** Exact messages (complex, per worker, L values) of the gradients under coefficients `coef`. */
export function exactMessages(
  n: number,
  r: number,
  m: number,
  L: number,
  coef: readonly Cx[],
  grads: readonly Float32Array[],
): Cx[][] {
  return Array.from({ length: n }, (_, i) => {
    const y: Cx[] = Array.from({ length: L }, () => [0n, 0n]);
    for (let q = 0; q < r; q++) {
      const g = grads[(i + q) % n];
      for (let b = 0; b < m; b++) {
        const c = coef[(i * r + q) * m + b];
        for (let t = 0; t < L; t++) y[t] = cadd(y[t], cmul(c, packed(g, L, b, t)));
      }
    }
    return y;
  });
}

/** A planar float64 message as fixed-point complex values. */
export function fromPlanar(x: ArrayLike<number>, L: number): Cx[] {
  return Array.from({ length: L }, (_, t) => [fx(x[t]), fx(x[L + t])]);
}

/** Correctly rounded planar float64 message. */
export function toPlanar(y: readonly Cx[]): Float64Array {
  const L = y.length;
  const out = new Float64Array(2 * L);
  y.forEach((c, t) => {
    out[t] = toF(c[0]);
    out[L + t] = toF(c[1]);
  });
  return out;
}

/**
 * The exact minimum-norm v with `v^T C1[H,:] = e_b^T` (C1 = first K columns of the unitary DFT):
 * v = conj(A) z with (A^T conj(A)) z = e_b, A = C1[H,:], by Gaussian elimination (partial pivoting).
 */
export function exactRecovery(n: number, K: number, keep: readonly number[], b: number): Cx[] {
  const nInv = div(ONE, BigInt(n) * ONE);
  const w = Array.from({ length: n }, (_, e) => wpowX(n, e));
  // Gram[t][u] = sum_j w^(j t) conj(w^(j u)) / n = sum_j w^(j (t - u)) / n
  const g: Cx[][] = Array.from({ length: K }, (_, t) =>
    Array.from({ length: K }, (_, u) => {
      let acc: Cx = [0n, 0n];
      for (const j of keep) acc = cadd(acc, w[(((j * (t - u)) % n) + n) % n]);
      return [mul(acc[0], nInv), mul(acc[1], nInv)] as Cx;
    }),
  );
  const rhs: Cx[] = Array.from({ length: K }, (_, t) => [t === b ? ONE : 0n, 0n]);
  for (let c = 0; c < K; c++) {
    let p = c;
    for (let i = c + 1; i < K; i++) if (cabs2(g[i][c]) > cabs2(g[p][c])) p = i;
    [g[c], g[p]] = [g[p], g[c]];
    [rhs[c], rhs[p]] = [rhs[p], rhs[c]];
    for (let i = c + 1; i < K; i++) {
      const f = cdiv(g[i][c], g[c][c]);
      for (let u = c; u < K; u++) g[i][u] = csub(g[i][u], cmul(f, g[c][u]));
      rhs[i] = csub(rhs[i], cmul(f, rhs[c]));
    }
  }
  const z: Cx[] = new Array<Cx>(K);
  for (let i = K - 1; i >= 0; i--) {
    let acc = rhs[i];
    for (let u = i + 1; u < K; u++) acc = csub(acc, cmul(g[i][u], z[u]));
    z[i] = cdiv(acc, g[i][i]);
  }
  const isq = div(ONE, fsqrt(BigInt(n) * ONE));
  return keep.map((j) => {
    let acc: Cx = [0n, 0n];
    for (let t = 0; t < K; t++) acc = cadd(acc, cmul(cconj(w[(j * t) % n]), z[t]));
    return [mul(acc[0], isq), mul(acc[1], isq)] as Cx;
  });
}

/** sum_a v_a y_a exactly (fixed point), y the kept rows' complex messages. */
export function combineExact(v: readonly Cx[], rows: readonly (readonly Cx[])[]): Cx[] {
  const L = rows[0].length;
  return Array.from({ length: L }, (_, t) => {
    let acc: Cx = [0n, 0n];
    rows.forEach((y, a) => (acc = cadd(acc, cmul(v[a], y[t]))));
    return acc;
  });
}
