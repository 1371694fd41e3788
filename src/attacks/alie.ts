import { UsageError } from '../core/errors.js';
import { AUTO, isAuto } from '../core/spec.js';
import { distortion, lineSearch, SEARCH_DEFAULTS, searchOf } from './line-search.js';
import { momentsMemo, stepMemo } from './moments.js';
import { normalQuantile } from './normal.js';
import { sameShape, type AttackDef } from './types.js';

/**
 * ALIE's default z (Baruch et al. 2019; docs/attacks.md "alie"): with
 * `s_ = floor(n/2 + 1) - f` honest supporters needed, `z_max = PhiInverse((n - s_) / n)`.
 * E.g. n = 15, f = 2: s_ = 6, z_max = PhiInverse(0.6) = 0.2533...
 */
export function alieZMax(n: number, f: number): number {
  const sNeeded = Math.floor(n / 2 + 1) - f;
  const p = (n - sNeeded) / n;
  if (!(p > 0 && p < 1)) {
    throw new UsageError(
      `alie: z_max needs 1 <= floor(n/2 + 1) - f <= n - 1 (n = ${n}, f = ${f}); give a fixed z, e.g. alie:z=1`,
    );
  }
  return normalQuantile(p);
}

/**
 * alie ("a little is enough"): every Byzantine sends `mu - z * sigma`, the coordinate-wise mean
 * and population standard deviation of the step's honest messages (see moments.ts). Default
 * z = z_max from (n, f = Byzantine count this step); `z` AUTO (the default) means z_max. With
 * `optimal` (ByzFL's Optimal_ALIE), z is the line search's choice against the PS's rule instead
 * (line-search.ts). With `sample`, sigma is the sample standard deviation (ByzFL's). All
 * Byzantines compute the same bytes.
 */
export const alie: AttackDef = {
  name: 'alie',
  description:
    'send mu - z*sigma of the honest messages (omniscient; z=auto means z_max from n and f; alie:optimal line-searches z against the rule)',
  defaults: { z: AUTO, sample: 0, ...SEARCH_DEFAULTS },
  create: (params) => {
    const { z, sample } = params;
    const search = searchOf('alie', params);
    if (search !== null && !isAuto(z)) throw new UsageError('alie: give z or optimal, not both');
    if (sample !== 0 && sample !== 1)
      throw new UsageError(`alie: sample is a switch, 0 or 1 (got ${sample})`);
    const momentsOf = momentsMemo('alie', sample);
    const optimalZ = stepMemo((ctx) => {
      const { mu, sigma } = momentsOf(ctx);
      const minus = sigma.map((v) => -v);
      return lineSearch(distortion(ctx, ctx.honest!, mu, mu, minus), search!);
    });
    return {
      name: 'alie',
      omniscient: true,
      adaptive: search !== null,
      corrupt(ctx) {
        const { mu, sigma } = momentsOf(ctx);
        const zz = search !== null ? optimalZ(ctx) : isAuto(z) ? alieZMax(ctx.n, ctx.byzantine.length) : z;
        const out = sameShape(ctx.own);
        for (let j = 0; j < out.length; j++) out[j] = mu[j] - zz * sigma[j];
        return out;
      },
    };
  },
};
