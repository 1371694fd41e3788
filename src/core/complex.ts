/**
 * Small dense complex linear algebra for the MDS schemes (docs/schemes.md "Cyclic code",
 * "Solon"): matrices of a few dozen rows, so clarity beats speed here. The O(n*d) loops over
 * messages live in src/schemes/mds/, not here.
 *
 * A complex matrix is row-major with interleaved (re, im) pairs in one Float64Array:
 * element (i, j) is at `2 * (i * cols + j)`.
 */

export interface CMat {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float64Array;
}

export function cmat(rows: number, cols: number, data?: Float64Array): CMat {
  if (data !== undefined && data.length !== 2 * rows * cols) {
    throw new Error(`cmat: data length ${data.length} != 2 * ${rows} * ${cols}`);
  }
  return { rows, cols, data: data ?? new Float64Array(2 * rows * cols) };
}

export function cidentity(n: number): CMat {
  const a = cmat(n, n);
  for (let i = 0; i < n; i++) a.data[2 * (i * n + i)] = 1;
  return a;
}

export function cclone(a: CMat): CMat {
  return cmat(a.rows, a.cols, a.data.slice());
}

export function cget(a: CMat, i: number, j: number): [number, number] {
  const p = 2 * (i * a.cols + j);
  return [a.data[p], a.data[p + 1]];
}

export function cset(a: CMat, i: number, j: number, re: number, im: number): void {
  const p = 2 * (i * a.cols + j);
  a.data[p] = re;
  a.data[p + 1] = im;
}

/** `a * b`. */
export function cmatmul(a: CMat, b: CMat): CMat {
  if (a.cols !== b.rows) throw new Error(`cmatmul: ${a.rows}x${a.cols} times ${b.rows}x${b.cols}`);
  const c = cmat(a.rows, b.cols);
  const A = a.data;
  const B = b.data;
  const C = c.data;
  for (let i = 0; i < a.rows; i++) {
    for (let k = 0; k < a.cols; k++) {
      const ar = A[2 * (i * a.cols + k)];
      const ai = A[2 * (i * a.cols + k) + 1];
      if (ar === 0 && ai === 0) continue;
      for (let j = 0; j < b.cols; j++) {
        const br = B[2 * (k * b.cols + j)];
        const bi = B[2 * (k * b.cols + j) + 1];
        C[2 * (i * b.cols + j)] += ar * br - ai * bi;
        C[2 * (i * b.cols + j) + 1] += ar * bi + ai * br;
      }
    }
  }
  return c;
}

/** Conjugate transpose `a^H`. */
export function cadjoint(a: CMat): CMat {
  const t = cmat(a.cols, a.rows);
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < a.cols; j++) {
      const p = 2 * (i * a.cols + j);
      const q = 2 * (j * a.rows + i);
      t.data[q] = a.data[p];
      t.data[q + 1] = -a.data[p + 1];
    }
  }
  return t;
}

/** The rows `idx` of `a`, in that order. */
export function crows(a: CMat, idx: readonly number[]): CMat {
  const out = cmat(idx.length, a.cols);
  idx.forEach((r, i) => out.data.set(a.data.subarray(2 * r * a.cols, 2 * (r + 1) * a.cols), 2 * i * a.cols));
  return out;
}

/** Frobenius norm. */
export function cnorm(a: CMat): number {
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += a.data[i] * a.data[i];
  return Math.sqrt(s);
}

/**
 * Householder QR, optionally with column pivoting, computed in place on a copy of `a`
 * (rows >= 1, any shape). Reflector k is `I - 2 v v^H / (v^H v)` acting on rows k..rows-1, with
 * `v` stored in `vs[k]`; `R` is the upper triangle of `r`. `perm[j]` is the original column now
 * at position j (identity without pivoting).
 */
export interface Householder {
  readonly r: CMat;
  readonly vs: Float64Array[];
  readonly perm: Int32Array;
}

export function householderQR(a: CMat, pivot = false): Householder {
  const m = a.rows;
  const n = a.cols;
  const r = cclone(a);
  const R = r.data;
  const perm = Int32Array.from({ length: n }, (_, j) => j);
  const vs: Float64Array[] = [];
  const steps = Math.min(m, n);
  const colNorm2 = (j: number, from: number): number => {
    let s = 0;
    for (let i = from; i < m; i++) {
      const p = 2 * (i * n + j);
      s += R[p] * R[p] + R[p + 1] * R[p + 1];
    }
    return s;
  };
  for (let k = 0; k < steps; k++) {
    if (pivot) {
      // Largest remaining column first (rank-revealing QR); norms recomputed: n is tiny.
      let best = k;
      let bestNorm = colNorm2(k, k);
      for (let j = k + 1; j < n; j++) {
        const c = colNorm2(j, k);
        if (c > bestNorm) {
          best = j;
          bestNorm = c;
        }
      }
      if (best !== k) {
        for (let i = 0; i < m; i++) {
          const p = 2 * (i * n + k);
          const q = 2 * (i * n + best);
          for (let t = 0; t < 2; t++) {
            const tmp = R[p + t];
            R[p + t] = R[q + t];
            R[q + t] = tmp;
          }
        }
        const tp = perm[k];
        perm[k] = perm[best];
        perm[best] = tp;
      }
    }
    // v = x + e^{i arg x0} ||x|| e_1, so that H x = -e^{i arg x0} ||x|| e_1 (no cancellation).
    const len = m - k;
    const v = new Float64Array(2 * len);
    for (let i = 0; i < len; i++) {
      const p = 2 * ((k + i) * n + k);
      v[2 * i] = R[p];
      v[2 * i + 1] = R[p + 1];
    }
    let norm = 0;
    for (let i = 0; i < 2 * len; i++) norm += v[i] * v[i];
    norm = Math.sqrt(norm);
    vs.push(v);
    if (norm === 0) continue; // zero column: reflector is the identity (v = 0)
    const a0 = Math.hypot(v[0], v[1]);
    const pr = a0 === 0 ? 1 : v[0] / a0;
    const pi = a0 === 0 ? 0 : v[1] / a0;
    v[0] += pr * norm;
    v[1] += pi * norm;
    applyReflector(v, r, k, k);
  }
  return { r, vs, perm };
}

/** Apply `I - 2 v v^H / (v^H v)` to rows `row0..` of `b`, columns `col0..`. */
function applyReflector(v: Float64Array, b: CMat, row0: number, col0: number): void {
  let vv = 0;
  for (let i = 0; i < v.length; i++) vv += v[i] * v[i];
  if (vv === 0) return;
  const len = v.length / 2;
  const B = b.data;
  const nc = b.cols;
  for (let j = col0; j < nc; j++) {
    // s = v^H b_j
    let sr = 0;
    let si = 0;
    for (let i = 0; i < len; i++) {
      const p = 2 * ((row0 + i) * nc + j);
      const vr = v[2 * i];
      const vi = v[2 * i + 1];
      sr += vr * B[p] + vi * B[p + 1];
      si += vr * B[p + 1] - vi * B[p];
    }
    const fr = (2 * sr) / vv;
    const fi = (2 * si) / vv;
    for (let i = 0; i < len; i++) {
      const p = 2 * ((row0 + i) * nc + j);
      const vr = v[2 * i];
      const vi = v[2 * i + 1];
      B[p] -= vr * fr - vi * fi;
      B[p + 1] -= vr * fi + vi * fr;
    }
  }
}

/** `Q^H b` for the factorisation `qr` (b has `rows` rows; returns a new matrix). */
export function applyQH(qr: Householder, b: CMat): CMat {
  const out = cclone(b);
  qr.vs.forEach((v, k) => applyReflector(v, out, k, 0));
  return out;
}

/** Solve `R x = c` for the leading `k x k` upper triangle of `r` (rows 0..k-1 of c). */
function backSubstitute(r: CMat, c: CMat, k: number): CMat {
  const x = cmat(k, c.cols);
  const R = r.data;
  const n = r.cols;
  for (let col = 0; col < c.cols; col++) {
    for (let i = k - 1; i >= 0; i--) {
      let sr = c.data[2 * (i * c.cols + col)];
      let si = c.data[2 * (i * c.cols + col) + 1];
      for (let j = i + 1; j < k; j++) {
        const rr = R[2 * (i * n + j)];
        const ri = R[2 * (i * n + j) + 1];
        const xr = x.data[2 * (j * c.cols + col)];
        const xi = x.data[2 * (j * c.cols + col) + 1];
        sr -= rr * xr - ri * xi;
        si -= rr * xi + ri * xr;
      }
      const dr = R[2 * (i * n + i)];
      const di = R[2 * (i * n + i) + 1];
      const den = dr * dr + di * di;
      x.data[2 * (i * c.cols + col)] = (sr * dr + si * di) / den;
      x.data[2 * (i * c.cols + col) + 1] = (si * dr - sr * di) / den;
    }
  }
  return x;
}

/**
 * Least squares `argmin ||a x - b||` for a full-column-rank `a` (rows >= cols), every column of
 * `b` at once, by Householder QR. Throws if `a` is numerically rank deficient (use
 * `minNormSolve` then).
 */
export function lstsq(a: CMat, b: CMat): CMat {
  if (a.rows < a.cols) throw new Error(`lstsq: needs rows >= cols (got ${a.rows}x${a.cols})`);
  if (b.rows !== a.rows) throw new Error(`lstsq: b has ${b.rows} rows, a has ${a.rows}`);
  const qr = householderQR(a);
  assertFullRank(qr, a.cols, 'lstsq');
  return backSubstitute(qr.r, applyQH(qr, b), a.cols);
}

/**
 * Check that the QR of a full-column-rank `a` (rows >= cols) is numerically nonsingular.
 * Throws otherwise (use `minNormSolve` then).
 */
function assertFullRank(qr: Householder, cols: number, who: string): void {
  const r0 = Math.hypot(...cget(qr.r, 0, 0));
  for (let i = 0; i < cols; i++) {
    if (!(Math.hypot(...cget(qr.r, i, i)) > 1e-13 * r0)) {
      throw new Error(`${who}: matrix is rank deficient (R[${i}][${i}] ~ 0)`);
    }
  }
}

/** A Householder QR of a full-column-rank matrix, with its shape. */
export interface FullQR extends Householder {
  readonly rows: number;
  readonly cols: number;
}

/**
 * QR factorisation of a full-column-rank `a` (rows >= cols) for `qrSolve` and `qrAdjointSolve`,
 * which then share one factorisation. Throws if `a` is numerically rank deficient.
 */
export function qrFull(a: CMat): FullQR {
  if (a.rows < a.cols) throw new Error(`qrFull: needs rows >= cols (got ${a.rows}x${a.cols})`);
  const qr = householderQR(a);
  assertFullRank(qr, a.cols, 'qrFull');
  return { ...qr, rows: a.rows, cols: a.cols };
}

/** Least squares `argmin ||a x - b||` from `qrFull(a)`. */
export function qrSolve(qr: FullQR, b: CMat): CMat {
  if (b.rows !== qr.rows) throw new Error(`qrSolve: b has ${b.rows} rows, a has ${qr.rows}`);
  return backSubstitute(qr.r, applyQH(qr, b), qr.cols);
}

/**
 * Minimum-norm solution of the underdetermined `a^H x = c` (c has `cols` rows) from
 * `qrFull(a)`: with `a = Q R`, `x = Q [R^{-H} c; 0]` (forward substitution, then the reflectors).
 * Backward stable: `a^H x - c` is at rounding level relative to `|a| |x|` whatever the condition
 * of `a`. (Taking rows of the pseudo-inverse `lstsq(a, I)` instead is only forward stable: its
 * rows times `a` miss `I` by cond(a) * eps, which the MDS decoder measured as up to 100x more
 * error at n = 45 with adjacent suspects, docs/schemes.md "Cyclic code" step 5.)
 */
export function qrAdjointSolve(qr: FullQR, c: CMat): CMat {
  const k = qr.cols;
  if (c.rows !== k) throw new Error(`qrAdjointSolve: c has ${c.rows} rows, a has ${k} columns`);
  const R = qr.r;
  const y = cmat(qr.rows, c.cols); // zero below row k, then x = Q y
  for (let col = 0; col < c.cols; col++) {
    for (let i = 0; i < k; i++) {
      let sr = c.data[2 * (i * c.cols + col)];
      let si = c.data[2 * (i * c.cols + col) + 1];
      for (let j = 0; j < i; j++) {
        // (R^H)[i][j] = conj(R[j][i])
        const [tr, ti] = cget(R, j, i);
        const yr = y.data[2 * (j * c.cols + col)];
        const yi = y.data[2 * (j * c.cols + col) + 1];
        sr -= tr * yr + ti * yi;
        si -= tr * yi - ti * yr;
      }
      const [dr, di0] = cget(R, i, i);
      const di = -di0;
      const den = dr * dr + di * di;
      y.data[2 * (i * c.cols + col)] = (sr * dr + si * di) / den;
      y.data[2 * (i * c.cols + col) + 1] = (si * dr - sr * di) / den;
    }
  }
  // Q y = H_0 H_1 ... H_{k-1} y: the reflectors in reverse order (each is Hermitian).
  for (let t = qr.vs.length - 1; t >= 0; t--) applyReflector(qr.vs[t], y, t, 0);
  return y;
}

/**
 * Minimum-norm least-squares solution of `a x = b` (any shape, any rank) by a complete
 * orthogonal decomposition: QR with column pivoting `a P = Q [R11 R12; 0 0]` with numerical
 * rank k (|R_ii| > tol), then a QR of `[R11 R12]^H = Z T` gives `x = P Z T^{-H} (Q^H b)[0:k]`.
 * `tol` is absolute (the caller knows the noise level of its data); default
 * `1e-12 * |R_00|`. Returns the solution and the rank used.
 */
export function minNormSolve(a: CMat, b: CMat, tol?: number): { x: CMat; rank: number } {
  if (b.rows !== a.rows) throw new Error(`minNormSolve: b has ${b.rows} rows, a has ${a.rows}`);
  const n = a.cols;
  const qr = householderQR(a, true);
  const steps = Math.min(a.rows, n);
  const r00 = steps > 0 ? Math.hypot(...cget(qr.r, 0, 0)) : 0;
  const thr = tol ?? 1e-12 * r00;
  let k = 0;
  while (k < steps && Math.hypot(...cget(qr.r, k, k)) > thr) k++;
  const x = cmat(n, b.cols);
  if (k === 0) return { x, rank: 0 };
  const c = applyQH(qr, b);
  // S = [R11 R12] (k x n), S^H = Z T with T k x k upper triangular; S = T^H Z^H.
  const sH = cmat(n, k);
  for (let i = 0; i < k; i++) {
    for (let j = i; j < n; j++) {
      const [re, im] = cget(qr.r, i, j);
      cset(sH, j, i, re, -im);
    }
  }
  const zt = householderQR(sH);
  // Solve T^H y = c[0:k] (forward substitution with the lower triangle T^H).
  const T = zt.r;
  const y = cmat(n, b.cols); // padded with zeros below row k, then x = Z y
  for (let col = 0; col < b.cols; col++) {
    for (let i = 0; i < k; i++) {
      let sr = c.data[2 * (i * c.cols + col)];
      let si = c.data[2 * (i * c.cols + col) + 1];
      for (let j = 0; j < i; j++) {
        // (T^H)[i][j] = conj(T[j][i])
        const [tr, ti] = cget(T, j, i);
        const yr = y.data[2 * (j * b.cols + col)];
        const yi = y.data[2 * (j * b.cols + col) + 1];
        sr -= tr * yr + ti * yi;
        si -= tr * yi - ti * yr;
      }
      const [dr, di0] = cget(T, i, i);
      const di = -di0; // conj
      const den = dr * dr + di * di;
      y.data[2 * (i * b.cols + col)] = (sr * dr + si * di) / den;
      y.data[2 * (i * b.cols + col) + 1] = (si * dr - sr * di) / den;
    }
  }
  // Z y = H_0 H_1 ... H_{k-1} y: apply the reflectors in reverse order (each is Hermitian).
  for (let t = zt.vs.length - 1; t >= 0; t--) applyReflector(zt.vs[t], y, t, 0);
  // Undo the column permutation: x[perm[j]] = y[j].
  for (let j = 0; j < n; j++) {
    x.data.set(y.data.subarray(2 * j * b.cols, 2 * (j + 1) * b.cols), 2 * qr.perm[j] * b.cols);
  }
  return { x, rank: k };
}
