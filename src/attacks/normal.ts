/**
 * The standard normal distribution function Phi and its inverse, for ALIE's z_max
 * (docs/attacks.md "alie": `z_max = PhiInverse((n - s_needed)/n)`; "Normal quantile"). JavaScript
 * has no erf, so both are implemented here to about 1e-15 relative accuracy.
 */

const SQRT_2PI = Math.sqrt(2 * Math.PI);

/** Standard normal density. */
export function normalPdf(x: number): number {
  return Math.exp(-0.5 * x * x) / SQRT_2PI;
}

/**
 * Lower tail `Phi(x)` for x <= -3, with full relative precision: the Laplace continued fraction
 * of the Mills ratio, `Phi(x) = phi(x) / (t + 1/(t + 2/(t + 3/(t + ...))))` with `t = -x`,
 * evaluated backwards. 200 terms are far more than double precision needs for t >= 3.
 */
function lowerTail(x: number): number {
  const t = -x;
  let frac = t;
  for (let k = 200; k >= 1; k--) frac = t + k / frac;
  return normalPdf(x) / frac;
}

/**
 * Standard normal CDF. Central region |x| < 3: Marsaglia's series
 * `Phi(x) = 1/2 + phi(x) (x + x^3/3 + x^5/(3*5) + ...)` (absolute error ~1e-16); tails: the
 * continued fraction above, so small tail probabilities keep their relative precision.
 */
export function normalCdf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x <= -3) return lowerTail(x);
  if (x >= 3) return 1 - lowerTail(-x);
  const q = x * x;
  let term = x;
  let sum = x;
  for (let i = 3; ; i += 2) {
    term *= q / i;
    const next = sum + term;
    if (next === sum) break;
    sum = next;
  }
  return 0.5 + sum * normalPdf(x);
}

// Acklam's rational approximation of the normal quantile (relative error < 1.15e-9), refined below.
const A = [
  -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
  2.506628277459239,
];
const B = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
const C = [
  -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
  2.938163982698783,
];
const D = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
const P_LOW = 0.02425;

function acklam(p: number): number {
  if (p < P_LOW) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (
      (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) /
      ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1)
    );
  }
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q) /
    (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1)
  );
}

/**
 * The normal quantile `PhiInverse(p)`: Acklam's approximation, then Halley steps on
 * `Phi(x) - p` (cubic convergence: one step already reaches double precision; a second costs
 * nothing and guards the boundary of Acklam's regions). For p > 1/2 it returns
 * `-PhiInverse(1 - p)`: `1 - p` is exact there (Sterbenz), and the lower tail is where Phi keeps
 * full relative precision. Accurate to ~1e-15 relative for 1e-300 <= p < 1.
 */
export function normalQuantile(p: number): number {
  if (Number.isNaN(p)) return NaN;
  if (p < 0 || p > 1) throw new RangeError(`normal quantile needs 0 <= p <= 1, got ${p}`);
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  if (p === 0.5) return 0;
  if (p > 0.5) return -normalQuantile(1 - p);
  let x = acklam(p);
  for (let it = 0; it < 2; it++) {
    const density = normalPdf(x);
    if (!(density > 0)) break; // beyond ~1e-300 the density underflows: keep Acklam's value
    const u = (normalCdf(x) - p) / density;
    const next = x - u / (1 + 0.5 * x * u);
    if (!Number.isFinite(next) || next === x) break;
    x = next;
  }
  return x;
}
