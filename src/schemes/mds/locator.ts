/**
 * The locator of the MDS decode (docs/schemes.md "Cyclic code" steps 2-4): from the projections
 * `u` of the present rows (scaled to 1; complex, interleaved), the modified syndromes, the error
 * locator polynomial from their tau x tau Hankel system (minimum-norm solve with an absolute rank
 * tolerance at the noise floor), and the present rows ranked by |p(x_j)|, most suspicious first;
 * the tau first are excluded. Pure: the decoder (decoder.ts) re-selects from the ranking.
 */
import { cmat, minNormSolve } from '../../core/complex.js';
import { wpow } from './code.js';

export interface Located {
  /** floor((2s - e) / 2): how many errors the present rows can locate. */
  tau: number;
  /** The tau most suspicious present rows. */
  excluded: number[];
  /** Every present row, most suspicious (smallest |p(x_j)|) first; empty when tau = 0. */
  ranking: number[];
  /** Numerical rank of the Hankel system. */
  locatorRank: number;
}

export function locate(
  n: number,
  K: number,
  s: number,
  present: readonly number[],
  u: Float64Array,
  noise: number,
): Located {
  // 2. Modified syndromes.
  const nsyn = 2 * s - (n - present.length);
  const xs = (j: number) => wpow(n, -j);
  const syn = new Float64Array(2 * nsyn);
  const presentSet = new Set(present);
  const erased: number[] = [];
  for (let j = 0; j < n; j++) if (!presentSet.has(j)) erased.push(j);
  const invSqrt = 1 / Math.sqrt(n);
  present.forEach((j, a) => {
    let gr = invSqrt;
    let gi = 0;
    const [xr, xi] = xs(j);
    for (const i of erased) {
      const [yr, yi] = xs(i);
      const fr = xr - yr;
      const fi = xi - yi;
      const nr = gr * fr - gi * fi;
      gi = gr * fi + gi * fr;
      gr = nr;
    }
    // weight_t = Gamma(x_j) x_j^(K + t) / sqrt n, times u_j
    const [pr0, pi0] = wpow(n, -j * K);
    let wr = gr * pr0 - gi * pi0;
    let wi = gr * pi0 + gi * pr0;
    const ur = u[2 * a];
    const ui = u[2 * a + 1];
    for (let t = 0; t < nsyn; t++) {
      syn[2 * t] += wr * ur - wi * ui;
      syn[2 * t + 1] += wr * ui + wi * ur;
      const nr = wr * xr - wi * xi;
      wi = wr * xi + wi * xr;
      wr = nr;
    }
  });

  // 3. Locator: tau x tau Hankel system, row i: sum_u a_u S[tau-1-i+u] = S[2tau-1-i]; min norm.
  const tau = Math.floor(nsyn / 2);
  let excluded: number[] = [];
  let ranking: number[] = []; // present rows, most suspicious (smallest |p(x_j)|) first
  let locatorRank = 0;
  if (tau > 0) {
    const hank = cmat(tau, tau);
    const rhs = cmat(tau, 1);
    for (let i = 0; i < tau; i++) {
      for (let c = 0; c < tau; c++) {
        const q = tau - 1 - i + c;
        hank.data[2 * (i * tau + c)] = syn[2 * q];
        hank.data[2 * (i * tau + c) + 1] = syn[2 * q + 1];
      }
      rhs.data[2 * i] = syn[2 * (2 * tau - 1 - i)];
      rhs.data[2 * i + 1] = syn[2 * (2 * tau - 1 - i) + 1];
    }
    // Syndromes at the noise floor are zero (no error there): an absolute rank tolerance.
    const sol = minNormSolve(hank, rhs, noise * Math.sqrt(tau));
    locatorRank = sol.rank;
    // 4. p(x) = x^tau - sum_u a_u x^u at x_j; the tau smallest |p(x_j)| are excluded.
    const score = present.map((j) => {
      const [xr, xi] = xs(j);
      let pr = 1; // Horner on the monic polynomial, top coefficient first
      let pim = 0;
      for (let c = tau - 1; c >= 0; c--) {
        const nr = pr * xr - pim * xi - sol.x.data[2 * c];
        pim = pr * xi + pim * xr - sol.x.data[2 * c + 1];
        pr = nr;
      }
      return { j, v: Math.hypot(pr, pim) };
    });
    score.sort((a, b) => a.v - b.v || a.j - b.j);
    ranking = score.map((x) => x.j);
    excluded = ranking.slice(0, tau);
  }
  return { tau, excluded, ranking, locatorRank };
}
