/**
 * The small symmetric eigen-solvers behind the spectral rules: Jacobi (`symEig`) on hand-checked
 * 2 x 2 and 3 x 3 matrices and, on random symmetric ones (repeated eigenvalues and low-rank Gram
 * matrices included), A v = lambda v with orthonormal V; `symMaxEigenvalue` against it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Rng } from '../../src/core/rng.js';
import { maxEigenvalueBelow, symEig, symMaxEigenvalue } from '../../src/core/symeig.js';

const mat = (rows: number[][]) => Float64Array.from(rows.flat());
const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string) => {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++)
    assert.ok(Math.abs(a[i] - b[i]) <= tol, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
};

/** Random symmetric n x n: Q diag(values) Q^T with Q from Gram-Schmidt on normal vectors. */
function withSpectrum(rng: Rng, values: number[]): Float64Array {
  const n = values.length;
  const Q: Float64Array[] = [];
  while (Q.length < n) {
    const q = Float64Array.from({ length: n }, () => rng.normal());
    for (const p of Q) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += p[i] * q[i];
      for (let i = 0; i < n; i++) q[i] -= dot * p[i];
    }
    let norm = 0;
    for (let i = 0; i < n; i++) norm += q[i] * q[i];
    norm = Math.sqrt(norm);
    if (norm < 1e-3) continue;
    Q.push(q.map((x) => x / norm));
  }
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += Q[k][i] * values[k] * Q[k][j];
      A[i * n + j] = s;
    }
  // Exactly symmetric, as the rules' matrices are.
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) A[i * n + j] = A[j * n + i];
  return A;
}

describe('symEig (cyclic Jacobi)', () => {
  test('by hand: 2 x 2', () => {
    // [[2, 1], [1, 2]]: eigenvalues 3 (vector (1, 1)/sqrt 2) and 1 ((1, -1)/sqrt 2); both
    // components of equal magnitude, so the first is the positive one.
    const { values, vectors } = symEig(
      mat([
        [2, 1],
        [1, 2],
      ]),
      2,
    );
    const r = Math.SQRT1_2;
    close(values, [3, 1], 4e-16, 'values');
    close(vectors, [r, r, r, -r], 2e-16, 'vectors');
  });
  test('by hand: 3 x 3, largest first, largest-magnitude component positive', () => {
    // Block diag(2, [[3, 4], [4, 9]]): the block has trace 12 and determinant 11, eigenvalues
    // 6 +- 5 = 11 (vector (0, 1, 2)/sqrt 5: -8y + 4z = 0) and 1 ((0, 2, -1)/sqrt 5: 2y + 4z = 0).
    const { values, vectors } = symEig(
      mat([
        [2, 0, 0],
        [0, 3, 4],
        [0, 4, 9],
      ]),
      3,
    );
    const s = 1 / Math.sqrt(5);
    close(values, [11, 2, 1], 1e-14, 'values');
    close(vectors, [0, s, 2 * s, 1, 0, 0, 0, 2 * s, -s], 1e-15, 'vectors');
  });
  test('ties keep diagonal order; the zero matrix gives the identity', () => {
    assert.deepEqual(
      symEig(
        mat([
          [1, 0, 0],
          [0, 1, 0],
          [0, 0, 1],
        ]),
        3,
      ),
      {
        values: Float64Array.from([1, 1, 1]),
        vectors: mat([
          [1, 0, 0],
          [0, 1, 0],
          [0, 0, 1],
        ]),
      },
    );
    const z = symEig(new Float64Array(4), 2);
    assert.deepEqual(Array.from(z.values), [0, 0]);
    assert.deepEqual(Array.from(z.vectors), [1, 0, 0, 1]);
    // 1 x 1: the entry.
    assert.deepEqual(symEig(Float64Array.of(-2.5), 1), {
      values: Float64Array.of(-2.5),
      vectors: Float64Array.of(1),
    });
  });
  test('property: A v = lambda v, V orthonormal, values descending, on random symmetric matrices', () => {
    const rng = Rng.derive(11, 'symeig');
    for (let t = 0; t < 200; t++) {
      const n = 1 + rng.int(14);
      let A: Float64Array;
      if (t % 3 === 0) {
        // Prescribed spectrum with repeated values (clusters are Jacobi's hard case).
        const vals = Array.from({ length: n }, () => rng.int(4) - 1 + (rng.int(2) ? 0 : rng.normal() * 1e-9));
        A = withSpectrum(rng, vals);
      } else if (t % 3 === 1) {
        // A centered Gram matrix of n points in low dimension: rank < n, PSD.
        const d = 1 + rng.int(4);
        const X = Array.from({ length: n }, () => Array.from({ length: d }, () => rng.normal() * 10));
        const mu = Array.from({ length: d }, (_, k) => X.reduce((s, x) => s + x[k], 0) / n);
        A = new Float64Array(n * n);
        for (let i = 0; i < n; i++)
          for (let j = 0; j < n; j++)
            A[i * n + j] = X[i].reduce((s, x, k) => s + (x - mu[k]) * (X[j][k] - mu[k]), 0);
      } else {
        A = new Float64Array(n * n);
        for (let i = 0; i < n; i++) for (let j = i; j < n; j++) A[i * n + j] = A[j * n + i] = rng.normal();
      }
      let fro = 0;
      for (const x of A) fro += x * x;
      fro = Math.sqrt(fro);
      const { values, vectors } = symEig(A, n);
      const tol = 1e-14 * Math.max(fro, 1e-300) * n;
      let trace = 0;
      for (let i = 0; i < n; i++) trace += A[i * n + i];
      assert.ok(Math.abs(values.reduce((s, x) => s + x, 0) - trace) <= tol, `trace, t = ${t}`);
      for (let k = 0; k < n; k++) {
        if (k > 0) assert.ok(values[k] <= values[k - 1], `order, t = ${t}`);
        // Sign: the first component of largest magnitude is positive.
        const v = Array.from(vectors.subarray(k * n, k * n + n));
        const big = v.reduce((b, x, i) => (Math.abs(x) > Math.abs(v[b]) ? i : b), 0);
        assert.ok(v[big] > 0, `sign, t = ${t}, k = ${k}`);
        for (let i = 0; i < n; i++) {
          let Av = 0;
          for (let j = 0; j < n; j++) Av += A[i * n + j] * vectors[k * n + j];
          assert.ok(
            Math.abs(Av - values[k] * vectors[k * n + i]) <= tol,
            `A v = lambda v, t = ${t}, k = ${k}`,
          );
        }
        for (let l = 0; l <= k; l++) {
          let dot = 0;
          for (let i = 0; i < n; i++) dot += vectors[k * n + i] * vectors[l * n + i];
          assert.ok(
            Math.abs(dot - (k === l ? 1 : 0)) <= 1e-14 * n,
            `orthonormal, t = ${t}, ${k}.${l}: ${dot}`,
          );
        }
      }
      // Deterministic: a copy of the input gives the same bits.
      assert.deepEqual(symEig(Float64Array.from(A), n), { values, vectors });
    }
  });
});

describe('symMaxEigenvalue (Householder + Sturm bisection)', () => {
  test('by hand: the largest of the 3 x 3 above, and 1 x 1, 2 x 2', () => {
    assert.ok(
      Math.abs(
        symMaxEigenvalue(
          mat([
            [2, 0, 0],
            [0, 3, 4],
            [0, 4, 9],
          ]),
          3,
        ) - 11,
      ) <= 1e-14,
    );
    assert.equal(symMaxEigenvalue(Float64Array.of(7), 1), 7);
    assert.ok(
      Math.abs(
        symMaxEigenvalue(
          mat([
            [2, 1],
            [1, 2],
          ]),
          2,
        ) - 3,
      ) <= 4e-16,
    );
    assert.equal(symMaxEigenvalue(new Float64Array(9), 3), 0);
  });
  test('property: equals Jacobi largest eigenvalue to rounding on random symmetric matrices', () => {
    const rng = Rng.derive(12, 'symmax');
    for (let t = 0; t < 300; t++) {
      const n = 1 + rng.int(20);
      const A =
        t % 2 === 0
          ? withSpectrum(
              rng,
              Array.from({ length: n }, () => (rng.int(3) === 0 ? 5 : rng.normal())),
            )
          : (() => {
              const B = new Float64Array(n * n);
              for (let i = 0; i < n; i++)
                for (let j = i; j < n; j++) B[i * n + j] = B[j * n + i] = rng.normal() * 100;
              return B;
            })();
      let fro = 0;
      for (const x of A) fro += x * x;
      const want = symEig(A, n).values[0];
      const got = symMaxEigenvalue(Float64Array.from(A), n);
      assert.ok(Math.abs(got - want) <= 4e-15 * n * Math.sqrt(fro), `t = ${t}, n = ${n}: ${got} vs ${want}`);
    }
  });
  test('maxEigenvalueBelow: true just above lambda_max, false just below (Cholesky of x I - A)', () => {
    const rng = Rng.derive(13, 'below');
    for (let t = 0; t < 200; t++) {
      const n = 1 + rng.int(16);
      const A = withSpectrum(
        rng,
        Array.from({ length: n }, () => rng.normal() * 10),
      );
      const top = symEig(A, n).values[0];
      const gap = 1e-9 * Math.max(1, Math.abs(top));
      assert.equal(maxEigenvalueBelow(A, n, top + gap), true, `t = ${t}: above`);
      assert.equal(maxEigenvalueBelow(A, n, top - gap), false, `t = ${t}: below`);
    }
    // By hand: [[2, 1], [1, 2]] has lambda_max 3.
    assert.equal(
      maxEigenvalueBelow(
        mat([
          [2, 1],
          [1, 2],
        ]),
        2,
        3.001,
      ),
      true,
    );
    assert.equal(
      maxEigenvalueBelow(
        mat([
          [2, 1],
          [1, 2],
        ]),
        2,
        2.999,
      ),
      false,
    );
    assert.equal(maxEigenvalueBelow(new Float64Array(4), 2, 0), false); // lambda_max = 0 is not below 0
  });
});
