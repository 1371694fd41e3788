/**
 * Centered Gram matrices from squared distances (classical double centering), for the spectral
 * rules (caf, smea, dnc; docs/aggregators.md "CAF"). With `n` inputs, every covariance those
 * rules look at has rank < n, and its nonzero eigenvalues are those of an n x n (or smaller)
 * Gram matrix of centered inputs, which the n x n squared-distance matrix gives without another
 * pass over the d coordinates: for weights w summing to 1 and mu = sum_k w_k x_k,
 *
 *   (x_i - mu).(x_j - mu) = -1/2 [D_ij - sum_k w_k D_ik - sum_k w_k D_jk + sum_kl w_k w_l D_kl].
 *
 * No d x d matrix, no O(d) work per eigenvalue. The entries inherit D's relative accuracy (a sum
 * of squared differences, docs/aggregators.md "Pairwise distances") up to the cancellation of the
 * centering: absolute error a few eps times the largest D_ij among the members.
 */

/**
 * The m x m centered Gram matrix (row-major) of the inputs `members` (indices into the n x n
 * matrix `D`), centered at their weighted mean with `weights` (one per member, summing to 1;
 * omitted: uniform 1/m). Rows of members with weight 0 are still exact inner products.
 */
export function centeredGram(
  D: Float64Array,
  n: number,
  members: ArrayLike<number>,
  weights?: ArrayLike<number>,
  out?: Float64Array,
): Float64Array {
  const m = members.length;
  const B = out !== undefined && out.length >= m * m ? out : new Float64Array(m * m);
  const r = new Float64Array(m);
  const u = 1 / m;
  let t = 0;
  for (let a = 0; a < m; a++) {
    const row = members[a] * n;
    let s = 0;
    for (let b = 0; b < m; b++) s += (weights === undefined ? u : weights[b]) * D[row + members[b]];
    r[a] = s;
    t += (weights === undefined ? u : weights[a]) * s;
  }
  for (let a = 0; a < m; a++) {
    const row = members[a] * n;
    for (let b = a; b < m; b++) {
      const x = -0.5 * (D[row + members[b]] - r[a] - r[b] + t);
      B[a * m + b] = x;
      B[b * m + a] = x;
    }
  }
  return B;
}
