import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  cadjoint,
  cget,
  cmat,
  cmatmul,
  cnorm,
  householderQR,
  applyQH,
  lstsq,
  minNormSolve,
  qrAdjointSolve,
  qrFull,
  qrSolve,
  type CMat,
} from '../../src/core/complex.js';
import { Rng } from '../../src/core/rng.js';

function crandom(rows: number, cols: number, rng: Rng): CMat {
  const a = cmat(rows, cols);
  rng.fillNormal(a.data);
  return a;
}

function csub(a: CMat, b: CMat): CMat {
  const c = cmat(a.rows, a.cols);
  for (let i = 0; i < c.data.length; i++) c.data[i] = a.data[i] - b.data[i];
  return c;
}

describe('complex linear algebra', () => {
  test('cmatmul and cadjoint on a hand example', () => {
    // [1+i, 2] [3; -i] = 3 + 3i - 2i = 3 + i
    const a = cmat(1, 2, Float64Array.from([1, 1, 2, 0]));
    const b = cmat(2, 1, Float64Array.from([3, 0, 0, -1]));
    assert.deepEqual(cget(cmatmul(a, b), 0, 0), [3, 1]);
    assert.deepEqual(Array.from(cadjoint(a).data), [1, -1, 2, -0]);
  });

  test('Householder QR: Q^H a is upper triangular and norms are kept', () => {
    const rng = Rng.derive(1, 'qr');
    const a = crandom(7, 4, rng);
    const qr = householderQR(a);
    const r = applyQH(qr, a);
    for (let i = 0; i < 7; i++) {
      for (let j = 0; j < Math.min(i, 4); j++) assert.ok(Math.hypot(...cget(r, i, j)) < 1e-13, `(${i},${j})`);
    }
    assert.ok(Math.abs(cnorm(r) - cnorm(a)) < 1e-12 * cnorm(a));
    assert.ok(cnorm(csub(r, qr.r)) < 1e-12 * cnorm(a), 'stored R matches Q^H a');
  });

  test('lstsq: recovers x from a consistent overdetermined system; residual orthogonal otherwise', () => {
    const rng = Rng.derive(2, 'lstsq');
    const a = crandom(9, 5, rng);
    const x = crandom(5, 2, rng);
    const got = lstsq(a, cmatmul(a, x));
    assert.ok(cnorm(csub(got, x)) < 1e-12 * cnorm(x));
    const b = crandom(9, 1, rng);
    const y = lstsq(a, b);
    const normal = cmatmul(cadjoint(a), csub(cmatmul(a, y), b)); // a^H (a y - b) = 0
    assert.ok(cnorm(normal) < 1e-12 * cnorm(a) * cnorm(b), `normal equations ${cnorm(normal)}`);
    assert.throws(() => lstsq(cmat(5, 2), cmat(5, 1)), /rank deficient/);
  });

  test('minNormSolve: rank-deficient system gives the minimum-norm least-squares solution', () => {
    const rng = Rng.derive(3, 'minnorm');
    // a = U V with rank 2 (6 x 4).
    const a = cmatmul(crandom(6, 2, rng), crandom(2, 4, rng));
    const b = crandom(6, 1, rng);
    const { x, rank } = minNormSolve(a, b);
    assert.equal(rank, 2);
    // Least squares: a^H (a x - b) = 0.
    const normal = cmatmul(cadjoint(a), csub(cmatmul(a, x), b));
    assert.ok(cnorm(normal) < 1e-10 * cnorm(a) ** 2 * cnorm(b), `normal ${cnorm(normal)}`);
    // Minimum norm: x lies in the row space of a, i.e. x = a^H z. Adding any null vector of a
    // keeps the residual and grows the norm; check against a null-space direction.
    const null1 = cmat(4, 1);
    // A null vector: solve a n = 0 via the complement of the row space (project e_0 off it).
    const e0 = cmat(4, 1, Float64Array.from([1, 0, 0, 0, 0, 0, 0, 0]));
    const ah = cadjoint(a);
    const coeffs = minNormSolve(ah, e0).x; // least squares a^H c ~ e0: row-space part of e0
    const proj = cmatmul(ah, coeffs);
    for (let i = 0; i < 8; i++) null1.data[i] = e0.data[i] - proj.data[i];
    assert.ok(cnorm(cmatmul(a, null1)) < 1e-10 * cnorm(a), 'null vector');
    assert.ok(cnorm(null1) > 0.1, 'nonzero null vector');
    const inner = cmatmul(cadjoint(null1), x);
    assert.ok(Math.hypot(...cget(inner, 0, 0)) < 1e-10 * cnorm(x), 'x is orthogonal to the null space');
  });

  test('minNormSolve: underdetermined full row rank gives a^H (a a^H)^-1 b; zero matrix gives 0', () => {
    const rng = Rng.derive(4, 'under');
    const a = crandom(3, 6, rng);
    const b = crandom(3, 1, rng);
    const { x, rank } = minNormSolve(a, b);
    assert.equal(rank, 3);
    assert.ok(cnorm(csub(cmatmul(a, x), b)) < 1e-12 * cnorm(b));
    const ah = cadjoint(a);
    const want = cmatmul(ah, lstsq(cmatmul(a, ah), b));
    assert.ok(cnorm(csub(x, want)) < 1e-12 * cnorm(want));
    const z = minNormSolve(cmat(3, 3), b);
    assert.equal(z.rank, 0);
    assert.equal(cnorm(z.x), 0);
  });

  test('minNormSolve: an absolute tolerance drops directions at the noise level', () => {
    // diag(1, 1e-14): with tol 1e-10 the second direction is noise and its component is dropped.
    const a = cmat(2, 2, Float64Array.from([1, 0, 0, 0, 0, 0, 1e-14, 0]));
    const b = cmat(2, 1, Float64Array.from([2, 0, 1e-14, 0]));
    const loose = minNormSolve(a, b, 1e-10);
    assert.equal(loose.rank, 1);
    assert.deepEqual(Array.from(loose.x.data), [2, 0, 0, 0]);
    const tight = minNormSolve(a, b, 0);
    assert.equal(tight.rank, 2);
    assert.ok(Math.abs(tight.x.data[2] - 1) < 1e-12);
  });

  test('qrSolve equals lstsq; qrAdjointSolve is the min-norm solution of a^H x = c, backward stable', () => {
    const rng = Rng.derive(5, 'adjoint');
    const a = crandom(9, 4, rng);
    const b = crandom(9, 2, rng);
    const qr = qrFull(a);
    assert.ok(cnorm(csub(qrSolve(qr, b), lstsq(a, b))) <= 1e-14 * cnorm(lstsq(a, b)));
    const c = crandom(4, 2, rng);
    const x = qrAdjointSolve(qr, c);
    assert.ok(cnorm(csub(cmatmul(cadjoint(a), x), c)) <= 1e-13 * cnorm(c), 'a^H x = c');
    // Minimum norm: x lies in range(a), i.e. x = a (a^H a)^-1 a^H x.
    const back = cmatmul(a, lstsq(a, x));
    assert.ok(cnorm(csub(back, x)) <= 1e-13 * cnorm(x), 'x in range(a)');
    assert.throws(() => qrFull(cmat(5, 2)), /rank deficient/);
  });

  test('qrAdjointSolve: residual at rounding level where rows of the pseudo-inverse miss by cond * eps', () => {
    // C1[H,:] of the n = 63 DFT code with 12 adjacent rows removed: cond ~ 3e5
    // (docs/schemes.md "Cyclic code").
    const n = 63;
    const K = n - 24;
    const keep = Array.from({ length: n - 12 }, (_, i) => i + 12);
    const a = cmat(keep.length, K);
    keep.forEach((j, i) => {
      for (let t = 0; t < K; t++) {
        const ang = (-2 * Math.PI * ((j * t) % n)) / n;
        a.data[2 * (i * K + t)] = Math.cos(ang) / Math.sqrt(n);
        a.data[2 * (i * K + t) + 1] = Math.sin(ang) / Math.sqrt(n);
      }
    });
    const e0 = cmat(K, 1);
    e0.data[0] = 1;
    const x = qrAdjointSolve(qrFull(a), e0);
    const direct = cnorm(csub(cmatmul(cadjoint(a), x), e0));
    // The same vector read off as row 0 of pinv(a) = lstsq(a, I), conjugated.
    const id = cmat(keep.length, keep.length);
    for (let i = 0; i < keep.length; i++) id.data[2 * (i * keep.length + i)] = 1;
    const pinv = lstsq(a, id);
    const row = cmat(keep.length, 1);
    for (let i = 0; i < keep.length; i++) {
      row.data[2 * i] = pinv.data[2 * i];
      row.data[2 * i + 1] = -pinv.data[2 * i + 1];
    }
    const viaPinv = cnorm(csub(cmatmul(cadjoint(a), row), e0));
    assert.ok(direct <= 1e-13, `direct residual ${direct}`);
    assert.ok(viaPinv > 100 * direct, `pinv row residual ${viaPinv} vs direct ${direct}`);
  });
});
