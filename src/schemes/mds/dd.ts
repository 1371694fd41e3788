/**
 * Double-double ("dd") complex arithmetic for the MDS codes' one-time setup (docs/schemes.md
 * "Cyclic code" step 6, "Solon" step 3): a value is an unevaluated sum hi + lo of two float64s
 * (~106 bits), built from the error-free TwoSum and TwoProduct (Dekker's split; JavaScript has
 * no fused multiply-add). The encoding coefficients are products of up to n - 1 factors
 * (1 - w^a), and for Solon also truncated series inverses and polynomial evaluations; in plain
 * float64 they came out 20 (m = 1) to 3e4 (m = 8) ulps off, which the messages then carry and
 * the decoder amplifies. Computed here and rounded once, every coefficient is within half an
 * ulp. Per step, only the n-sized refinement residual of the decoder (adjointResidual) uses it.
 *
 * A dd complex number is a 4-tuple [reHi, reLo, imHi, imLo].
 */

export type DD = [number, number];
export type DDC = [number, number, number, number];

/** a + b = s + e exactly (Knuth's TwoSum). */
export function twoSum(a: number, b: number): DD {
  const s = a + b;
  const bb = s - a;
  return [s, a - (s - bb) + (b - bb)];
}

const SPLIT = 134217729; // 2^27 + 1

/** a * b = p + e exactly (Dekker's TwoProduct; fine for |a|, |b| < 1e290). */
export function twoProd(a: number, b: number): DD {
  const p = a * b;
  let t = SPLIT * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLIT * b;
  const bh = t - (t - b);
  const bl = b - bh;
  return [p, ah * bh - p + ah * bl + al * bh + al * bl];
}

function norm(hi: number, lo: number): DD {
  const s = hi + lo;
  return [s, lo - (s - hi)];
}

export function ddAdd(a: DD, b: DD): DD {
  const [s, e] = twoSum(a[0], b[0]);
  const [t, f] = twoSum(a[1], b[1]);
  const [u, g] = norm(s, e + t);
  return norm(u, g + f);
}

export function ddMul(a: DD, b: DD): DD {
  const [p, e] = twoProd(a[0], b[0]);
  return norm(p, e + (a[0] * b[1] + a[1] * b[0]));
}

/** a / b for a double b. */
function ddDivNum(a: DD, b: number): DD {
  const q1 = a[0] / b;
  const [p, e] = twoProd(q1, b);
  const [r] = twoSum(a[0], -p);
  return norm(q1, (r - e + a[1]) / b);
}

const ddNeg = (a: DD): DD => [-a[0], -a[1]];

export function cddAdd(a: DDC, b: DDC): DDC {
  const re = ddAdd([a[0], a[1]], [b[0], b[1]]);
  const im = ddAdd([a[2], a[3]], [b[2], b[3]]);
  return [re[0], re[1], im[0], im[1]];
}

export function cddSub(a: DDC, b: DDC): DDC {
  return cddAdd(a, [-b[0], -b[1], -b[2], -b[3]]);
}

export function cddMul(a: DDC, b: DDC): DDC {
  const ar: DD = [a[0], a[1]];
  const ai: DD = [a[2], a[3]];
  const br: DD = [b[0], b[1]];
  const bi: DD = [b[2], b[3]];
  const re = ddAdd(ddMul(ar, br), ddNeg(ddMul(ai, bi)));
  const im = ddAdd(ddMul(ar, bi), ddMul(ai, br));
  return [re[0], re[1], im[0], im[1]];
}

/** A real dd as a dd complex number. */
export const cddReal = (a: DD): DDC => [a[0], a[1], 0, 0];

/** pi to ~106 bits. */
const PI: DD = [3.141592653589793, 1.2246467991473532e-16];

/** (cos x, sin x) for a dd angle |x| <= pi, by the Taylor series (terms below 1e-36 dropped). */
function cosSin(x: DD): DDC {
  let c: DD = [0, 0];
  let s: DD = [0, 0];
  let term: DD = [1, 0]; // x^k / k!
  for (let k = 0; Math.abs(term[0]) > 1e-36; k++) {
    switch (k % 4) {
      case 0:
        c = ddAdd(c, term);
        break;
      case 1:
        s = ddAdd(s, term);
        break;
      case 2:
        c = ddAdd(c, ddNeg(term));
        break;
      default:
        s = ddAdd(s, ddNeg(term));
    }
    term = ddDivNum(ddMul(term, x), k + 1);
  }
  return [c[0], c[1], s[0], s[1]];
}

/**
 * The n-th roots of unity w^e = exp(-2 pi i e / n), e = 0..n-1, to ~106 bits (the angle is
 * reduced to [-pi, pi] with integers first, so w^0 = 1 exactly and symmetric values agree).
 */
export function rootsOfUnity(n: number): DDC[] {
  return Array.from({ length: n }, (_, e) => {
    if (e === 0) return [1, 0, 0, 0];
    // -2 pi e / n, moved into [-pi, pi]: pi * num / n with |num| <= n
    const num = 2 * e > n ? 2 * (n - e) : -2 * e;
    return cosSin(ddDivNum(ddMul(PI, [num, 0]), n));
  });
}

/** 1 / sqrt(v) for a positive integer v, to ~106 bits (one Newton step from the float64 value). */
export function invSqrt(v: number): DD {
  const r = 1 / Math.sqrt(v);
  // r' = r + r (1 - v r^2) / 2
  const vr2 = ddMul(ddMul([r, 0], [r, 0]), [v, 0]);
  const e = ddAdd([1, 0], ddNeg(vr2));
  return ddAdd([r, 0], ddMul([r / 2, 0], e));
}

/**
 * `c - (a + aLo)^H x` (a, aLo: rows x cols, x: rows x k, c: cols x k; interleaved complex,
 * row-major) with the `a` dot products accumulated error-free in dd (Ogita, Rump and Oishi's
 * Dot2) and the small `aLo` terms in float64, rounded once: the residual of an
 * iterative-refinement step, accurate even when it is at the rounding level of the products
 * (where a float64 residual is noise). `aLo` holds the rounding remainders of a dd matrix.
 */
export function adjointResidual(
  a: Float64Array,
  aLo: Float64Array,
  rows: number,
  cols: number,
  x: Float64Array,
  c: Float64Array,
  k: number,
): Float64Array {
  const out = new Float64Array(2 * cols * k);
  for (let t = 0; t < cols; t++) {
    for (let b = 0; b < k; b++) {
      let reH = c[2 * (t * k + b)];
      let reL = 0;
      let imH = c[2 * (t * k + b) + 1];
      let imL = 0;
      for (let i = 0; i < rows; i++) {
        const ar = a[2 * (i * cols + t)];
        const ai = a[2 * (i * cols + t) + 1];
        const xr = x[2 * (i * k + b)];
        const xi = x[2 * (i * k + b) + 1];
        const lr = aLo[2 * (i * cols + t)];
        const li = aLo[2 * (i * cols + t) + 1];
        reL -= lr * xr + li * xi;
        imL -= lr * xi - li * xr;
        // conj(a) x = (ar xr + ai xi) + i (ar xi - ai xr), subtracted
        for (const [u, w, sign, re] of [
          [ar, xr, -1, true],
          [ai, xi, -1, true],
          [ar, xi, -1, false],
          [ai, xr, 1, false],
        ] as const) {
          const [p, e] = twoProd(sign * u, w);
          if (re) {
            const [s, f] = twoSum(reH, p);
            reH = s;
            reL += f + e;
          } else {
            const [s, f] = twoSum(imH, p);
            imH = s;
            imL += f + e;
          }
        }
      }
      out[2 * (t * k + b)] = reH + reL;
      out[2 * (t * k + b) + 1] = imH + imL;
    }
  }
  return out;
}
