/**
 * Eigen-decomposition of small dense symmetric matrices, deterministic and in float64 (the
 * spectral rules' n x n and (n - f) x (n - f) matrices: docs/aggregators.md "CAF", "SMEA", "DnC").
 *
 * `symEig`: cyclic Jacobi rotations until every off-diagonal entry is zero or negligible beside
 * its two diagonal entries (machine precision; quadratic convergence, a handful of sweeps for
 * n <= 50). Eigenvalues largest first, equal ones in the order Jacobi left them on the diagonal
 * (stable sort), each eigenvector's largest-magnitude component positive (first one on ties), so
 * the output is a function of the input bits alone: no random start, no dependence on a library.
 *
 * `symMaxEigenvalue`: the largest eigenvalue only, for SMEA's many subsets: Householder reduction
 * to tridiagonal form ((4/3) m^3 flops), then bisection on the Sturm count. Both are backward
 * stable: the error is a few eps times the matrix norm, like Jacobi's (tested against it).
 * `maxEigenvalueBelow`: whether the largest eigenvalue is below x, by a Cholesky factorization of
 * x I - A (at most (1/3) m^3 flops, usually stopping within the first rows when it is not).
 */

/** Eigenvalues largest first; `vectors[k * n + i]` is component i of the eigenvector of `values[k]`. */
export interface SymEig {
  values: Float64Array;
  vectors: Float64Array;
}

/** Enough for any matrix the rules build; Jacobi needs ~6-10 sweeps to reach eps at n <= 50. */
const MAX_SWEEPS = 60;

/**
 * Eigenvalues and orthonormal eigenvectors of the symmetric n x n matrix `a` (row-major; only
 * its upper triangle is read; not modified).
 */
export function symEig(a: Float64Array, n: number): SymEig {
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = i; j < n; j++) {
      A[i * n + j] = a[i * n + j];
      A[j * n + i] = a[i * n + j];
    }
  // V accumulates the rotations: A_original = V diag V^T, eigenvectors in V's columns.
  const V = new Float64Array(n * n);
  for (let i = 0; i < n; i++) V[i * n + i] = 1;
  for (let sweep = 0; sweep < MAX_SWEEPS; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += Math.abs(A[p * n + q]);
    if (off === 0) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = A[p * n + q];
        if (apq === 0) continue;
        const app = A[p * n + p];
        const aqq = A[q * n + q];
        const g = 100 * Math.abs(apq);
        // Past the first sweeps, an entry below the rounding of both diagonal entries changes no
        // eigenvalue beyond eps |A|: drop it (this is what ends the iteration).
        if (sweep > 3 && Math.abs(app) + g === Math.abs(app) && Math.abs(aqq) + g === Math.abs(aqq)) {
          A[p * n + q] = 0;
          A[q * n + p] = 0;
          continue;
        }
        // The rotation angle by the stable formula (Rutishauser): t = tan(theta), |theta| <= pi/4.
        const h = aqq - app;
        let t: number;
        if (Math.abs(h) + g === Math.abs(h)) t = apq / h;
        else {
          const theta = (0.5 * h) / apq;
          t = 1 / (Math.abs(theta) + Math.sqrt(1 + theta * theta));
          if (theta < 0) t = -t;
        }
        const c = 1 / Math.sqrt(1 + t * t);
        const s = t * c;
        const tau = s / (1 + c);
        A[p * n + p] = app - t * apq;
        A[q * n + q] = aqq + t * apq;
        A[p * n + q] = 0;
        A[q * n + p] = 0;
        for (let r = 0; r < n; r++) {
          if (r === p || r === q) continue;
          const arp = A[r * n + p];
          const arq = A[r * n + q];
          const np = arp - s * (arq + tau * arp);
          const nq = arq + s * (arp - tau * arq);
          A[r * n + p] = np;
          A[p * n + r] = np;
          A[r * n + q] = nq;
          A[q * n + r] = nq;
        }
        for (let r = 0; r < n; r++) {
          const vrp = V[r * n + p];
          const vrq = V[r * n + q];
          V[r * n + p] = vrp - s * (vrq + tau * vrp);
          V[r * n + q] = vrq + s * (vrp - tau * vrq);
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => A[y * n + y] - A[x * n + x] || x - y);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((col, k) => {
    values[k] = A[col * n + col];
    // Sign: the largest-magnitude component positive (the first of equal magnitudes).
    let big = 0;
    for (let i = 1; i < n; i++) if (Math.abs(V[i * n + col]) > Math.abs(V[big * n + col])) big = i;
    const sign = V[big * n + col] < 0 ? -1 : 1;
    for (let i = 0; i < n; i++) vectors[k * n + i] = sign * V[i * n + col];
  });
  return { values, vectors };
}

/**
 * The largest eigenvalue of the symmetric m x m matrix `a` (row-major; only its lower triangle
 * is read, and overwritten as scratch). Householder tridiagonalization, then bisection on the
 * Sturm count to the last bit.
 */
export function symMaxEigenvalue(a: Float64Array, m: number): number {
  if (m === 1) return a[0];
  const diag = new Float64Array(m);
  const sub2 = new Float64Array(m); // squared couplings: sub2[k] = T[k][k + 1]^2
  const v = new Float64Array(m);
  const p = new Float64Array(m);
  // Only the lower triangle is read and updated (a[i * m + j], j <= i).
  for (let k = 0; k < m - 2; k++) {
    diag[k] = a[k * m + k];
    // Reflect column k below the diagonal onto its first entry.
    let scale = 0;
    for (let i = k + 1; i < m; i++) scale = Math.max(scale, Math.abs(a[i * m + k]));
    if (scale === 0) continue;
    let norm2 = 0;
    for (let i = k + 1; i < m; i++) {
      const x = a[i * m + k] / scale; // scaled: no overflow or underflow in the squares
      v[i] = x;
      norm2 += x * x;
    }
    const x0 = v[k + 1];
    const alpha = x0 >= 0 ? -Math.sqrt(norm2) : Math.sqrt(norm2);
    sub2[k] = alpha * scale * (alpha * scale);
    v[k + 1] = x0 - alpha; // H = I - beta v v^T with beta = 2 / v.v = 1 / (alpha^2 - alpha x0)
    const beta = 1 / (norm2 - alpha * x0);
    // A22 <- H A22 H = A22 - v w^T - w v^T, w = p - (beta/2)(v.p) v, p = beta A22 v.
    for (let i = k + 1; i < m; i++) p[i] = 0;
    for (let i = k + 1; i < m; i++) {
      const row = i * m;
      const vi = v[i];
      let s = a[row + i] * vi;
      for (let j = k + 1; j < i; j++) {
        const x = a[row + j];
        s += x * v[j];
        p[j] += x * vi;
      }
      p[i] += s;
    }
    let vp = 0;
    for (let i = k + 1; i < m; i++) {
      p[i] *= beta;
      vp += v[i] * p[i];
    }
    const half = 0.5 * beta * vp;
    for (let i = k + 1; i < m; i++) p[i] -= half * v[i];
    for (let i = k + 1; i < m; i++) {
      const row = i * m;
      const vi = v[i];
      const pi = p[i];
      for (let j = k + 1; j <= i; j++) a[row + j] -= vi * p[j] + pi * v[j];
    }
  }
  diag[m - 2] = a[(m - 2) * m + m - 2];
  diag[m - 1] = a[(m - 1) * m + m - 1];
  const last = a[(m - 1) * m + m - 2];
  sub2[m - 2] = last * last;
  return tridiagonalMax(diag, sub2, m);
}

/** Smallest positive normal float64: LAPACK's safe minimum for Sturm-count pivots. */
const SAFE_MIN = 2.2250738585072014e-308;

/** Number of eigenvalues of the tridiagonal (diag, sub2) below x: the negative LDL^T pivots of T - xI. */
function sturmBelow(diag: Float64Array, sub2: Float64Array, m: number, x: number, pivmin: number): number {
  let below = 0;
  let q = diag[0] - x;
  for (let i = 0; ;) {
    if (Math.abs(q) <= pivmin) q = -pivmin;
    if (q < 0) below++;
    if (++i === m) return below;
    q = diag[i] - x - sub2[i - 1] / q;
  }
}

/** Largest eigenvalue of the symmetric tridiagonal matrix (diag, squared couplings sub2). */
function tridiagonalMax(diag: Float64Array, sub2: Float64Array, m: number): number {
  let lo = Infinity;
  let hi = -Infinity;
  let maxSub2 = 0;
  for (let i = 0; i < m; i++) {
    const r = (i > 0 ? Math.sqrt(sub2[i - 1]) : 0) + (i < m - 1 ? Math.sqrt(sub2[i]) : 0);
    lo = Math.min(lo, diag[i] - r);
    hi = Math.max(hi, diag[i] + r);
    if (i < m - 1) maxSub2 = Math.max(maxSub2, sub2[i]);
  }
  if (maxSub2 === 0) return hi; // diagonal: exactly its largest entry
  // Gershgorin encloses the spectrum; widen by a rounding so the count at hi is surely m.
  const pad = 2 * Number.EPSILON * Math.max(Math.abs(lo), Math.abs(hi)) + SAFE_MIN;
  lo -= pad;
  hi += pad;
  const pivmin = SAFE_MIN * Math.max(1, maxSub2);
  // Below this width (2^-20 of the backward error eps |T|) more bits mean nothing; it keeps an
  // eigenvalue near 0 from being bisected down through the subnormals.
  const atol = Number.EPSILON * Math.max(Math.abs(lo), Math.abs(hi)) * 2 ** -20;
  // Invariant: lambda_max in [lo, hi]. Stop when the midpoint no longer moves.
  for (;;) {
    const mid = 0.5 * (lo + hi);
    if (mid <= lo || mid >= hi || hi - lo <= atol) break;
    if (sturmBelow(diag, sub2, m, mid, pivmin) === m) hi = mid;
    else lo = mid;
  }
  return 0.5 * (lo + hi);
}

/**
 * True when every eigenvalue of the symmetric m x m matrix `a` (lower triangle read, not
 * modified) is below `x`: when the Cholesky factorization of x I - a succeeds. (1/3) m^3 flops at
 * most, a quarter of `symMaxEigenvalue`'s reduction, and it stops at the first leading minor that
 * is not positive. Within rounding of lambda_max = x either answer can come back.
 */
export function maxEigenvalueBelow(a: Float64Array, m: number, x: number, scratch?: Float64Array): boolean {
  const L = scratch !== undefined && scratch.length >= m * m ? scratch : new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    const ri = i * m;
    for (let j = 0; j <= i; j++) {
      const rj = j * m;
      let s = i === j ? x - a[ri + i] : -a[ri + j];
      for (let k = 0; k < j; k++) s -= L[ri + k] * L[rj + k];
      if (i === j) {
        if (!(s > 0)) return false;
        L[ri + i] = Math.sqrt(s);
      } else L[ri + j] = s / L[rj + j];
    }
  }
  return true;
}
