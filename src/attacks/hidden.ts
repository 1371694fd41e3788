import { Rng } from '../core/rng.js';
import { UsageError } from '../core/errors.js';
import { drawProjection } from '../schemes/mds/index.js';
import type { AttackDef } from './types.js';

/**
 * hidden (docs/attacks.md "hidden"): add an error vector orthogonal to
 * the projection the attacker believes the PS uses, so that the projected syndromes stay zero.
 * Aimed at the cyclic code and Solon, whose messages are planar complex (real parts, then
 * imaginary parts; see schemes/mds/): every plane (two, or four for float64x2 messages) is made
 * orthogonal to the guessed f. The plane length is the scheme's (AttackContext.planeLength);
 * without it, half the message.
 *
 * The guess is the projection `drawProjection(Rng.derive(seed, 'hidden'), L)`: exactly what a
 * decoder that drew its projection once from a known stream would use (the original DRACO code
 * drew it once at start-up). Our PS draws a fresh private f every step, so the error is caught.
 */
export const hidden: AttackDef = {
  name: 'hidden',
  description: 'coded schemes: add an error orthogonal to a guessed fixed projection (seed, sigma = 100)',
  defaults: { seed: 0, sigma: 100 },
  create: ({ seed, sigma }) => {
    if (!Number.isInteger(seed) || seed < 0) {
      throw new UsageError(`attack 'hidden': seed must be an integer >= 0 (got ${seed})`);
    }
    return {
      name: 'hidden',
      omniscient: false,
      corrupt({ own, rng, planeLength }) {
        // Planar complex layout; values past the last whole plane (none in a coded message) are
        // left alone.
        const L = planeLength ?? Math.floor(own.length / 2);
        const f = drawProjection(Rng.derive(seed, 'hidden'), L);
        let ff = 0;
        for (let t = 0; t < L; t++) ff += f[t] * f[t];
        const err = new Float64Array(own.length);
        rng.fillNormal(err, 0, sigma);
        // Remove the component along f from each plane: err_plane . f = 0.
        const planes = L > 0 ? Math.floor(own.length / L) : 0;
        for (let plane = 0; plane < planes; plane++) {
          const o = plane * L;
          let dot = 0;
          for (let t = 0; t < L; t++) dot += err[o + t] * f[t];
          const c = dot / ff;
          for (let t = 0; t < L; t++) err[o + t] -= c * f[t];
        }
        const out = own instanceof Float64Array ? new Float64Array(own.length) : new Float32Array(own.length);
        for (let i = 0; i < own.length; i++) out[i] = own[i] + err[i];
        return out;
      },
    };
  },
};
