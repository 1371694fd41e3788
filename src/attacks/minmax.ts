/**
 * minmax and minsum (Shejwalkar and Houmansadr, "Manipulating the Byzantine", NDSS 2021;
 * docs/attacks.md "minmax, minsum"): every Byzantine sends `mu + gamma p`, mu the honest mean and
 * p a direction (`dir`: 0 = -sigma, the coordinate-wise standard deviation, the paper's "inverse
 * std"; 1 = -mu / ||mu||; 2 = -sign(mu)), with gamma as large as it can be while the message
 * stays as close to the honest ones as they are to each other:
 *   minmax: max_i ||m - x_i|| <= max_{i,j} ||x_i - x_j||,
 *   minsum: sum_i ||m - x_i||^2 <= max_i sum_j ||x_i - x_j||^2.
 * Both sides are quadratics in gamma (||mu - x_i + gamma p||^2 = a_i + 2 gamma b_i + gamma^2 c),
 * so gamma is solved in closed form (the paper searches for it), exactly the largest feasible one.
 */
import { pairwiseSqDistances } from '../aggregators/distances.js';
import { UsageError } from '../core/errors.js';
import { norm2, type Vec } from '../core/vec.js';
import { honestMessages, momentsMemo } from './moments.js';
import { sameShape, type AttackContext, type AttackDef } from './types.js';

function direction(mu: Float64Array, sigma: Float64Array, dir: number): Float64Array {
  const p = new Float64Array(mu.length);
  if (dir === 0) for (let j = 0; j < p.length; j++) p[j] = -sigma[j];
  else if (dir === 1) {
    const len = norm2(mu);
    const k = len > 0 ? -1 / len : 0;
    for (let j = 0; j < p.length; j++) p[j] = k * mu[j];
  } else for (let j = 0; j < p.length; j++) p[j] = -Math.sign(mu[j]);
  return p;
}

/** Largest gamma >= 0 with a + 2 gamma b + gamma^2 c <= t (a <= t), c > 0. */
function largestRoot(a: number, b: number, c: number, t: number): number {
  const disc = b * b - c * (a - t);
  return Math.max(0, (-b + Math.sqrt(Math.max(0, disc))) / c);
}

/** The message both attacks send, given which bound they keep. */
export function minmaxMessage(
  ctx: AttackContext,
  moments: { mu: Float64Array; sigma: Float64Array },
  dir: number,
  kind: 'minmax' | 'minsum',
): Vec {
  const xs = honestMessages(ctx, kind);
  const h = xs.length;
  const { mu, sigma } = moments;
  const p = direction(mu, sigma, dir);
  let c = 0;
  for (let j = 0; j < p.length; j++) c += p[j] * p[j];
  const a = new Float64Array(h);
  const b = new Float64Array(h);
  for (let i = 0; i < h; i++) {
    const x = xs[i];
    let ai = 0;
    let bi = 0;
    for (let j = 0; j < p.length; j++) {
      const e = mu[j] - x[j];
      ai += e * e;
      bi += e * p[j];
    }
    a[i] = ai;
    b[i] = bi;
  }
  const D = pairwiseSqDistances(xs);
  let gamma = 0;
  if (c > 0) {
    if (kind === 'minmax') {
      let t = 0;
      for (const v of D) t = Math.max(t, v);
      gamma = Infinity;
      for (let i = 0; i < h; i++) gamma = Math.min(gamma, largestRoot(a[i], b[i], c, t));
    } else {
      let t = 0;
      for (let i = 0; i < h; i++) {
        let row = 0;
        for (let j = 0; j < h; j++) row += D[i * h + j];
        t = Math.max(t, row);
      }
      let A = 0;
      let B = 0;
      for (let i = 0; i < h; i++) {
        A += a[i];
        B += b[i];
      }
      gamma = largestRoot(A, B, h * c, t);
    }
  }
  const out = sameShape(ctx.own);
  for (let j = 0; j < out.length; j++) out[j] = mu[j] + gamma * p[j];
  return out;
}

function define(kind: 'minmax' | 'minsum'): AttackDef {
  return {
    name: kind,
    description:
      kind === 'minmax'
        ? 'mu + gamma p, gamma largest with max distance to an honest message <= their largest pairwise distance (omniscient; dir 0 = -std, 1 = -unit mean, 2 = -sign)'
        : 'mu + gamma p, gamma largest with summed squared distances to the honest <= the largest honest sum (omniscient; dir as minmax)',
    defaults: { dir: 0 },
    create: ({ dir }) => {
      if (![0, 1, 2].includes(dir))
        throw new UsageError(`${kind}: dir must be 0 (-std), 1 (-unit mean) or 2 (-sign), got ${dir}`);
      const momentsOf = momentsMemo(kind);
      return {
        name: kind,
        omniscient: true,
        corrupt: (ctx) => minmaxMessage(ctx, momentsOf(ctx), dir, kind),
      };
    },
  };
}

export const minmax = define('minmax');
export const minsum = define('minsum');
