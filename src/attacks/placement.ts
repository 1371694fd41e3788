/**
 * Placement (spec/aggregators-attacks.md "Placement"): which workers are Byzantine at step t.
 * Both rules are seeded, so every engine picks the same ranks.
 */
import { UsageError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { Registry } from '../core/registry.js';

export interface Placement {
  readonly name: string;
  /** Sorted Byzantine ranks at `step`. */
  byzantineAt(step: number): number[];
}

export interface PlacementOptions {
  n: number;
  s: number;
  seed: number;
}

export interface PlacementDef {
  readonly description: string;
  create(opts: PlacementOptions): Placement;
}

/** fixed: one seeded set of s ranks for the whole run. */
export const fixed: PlacementDef = {
  description: 'one seeded set of s Byzantine ranks for the whole run',
  create({ n, s, seed }) {
    const set = Rng.derive(seed, 'placement', 'fixed').sample(n, s);
    return { name: 'fixed', byzantineAt: () => set.slice() };
  },
};

/** random: a fresh seeded set of s ranks every step (what the original DRACO code did). */
export const random: PlacementDef = {
  description: 'a fresh seeded set of s Byzantine ranks every step (as the original DRACO code)',
  create: ({ n, s, seed }) => ({
    name: 'random',
    byzantineAt: (step) => Rng.derive(seed, 'placement', 'random', step).sample(n, s),
  }),
};

export const placements = new Registry<PlacementDef>('placement');
placements.register('fixed', fixed);
placements.register('random', random);

export function createPlacement(name: string, opts: PlacementOptions): Placement {
  const def = placements.get(name);
  if (opts.s < 0 || opts.s > opts.n) {
    throw new UsageError(`cannot place ${opts.s} Byzantine workers among ${opts.n} (need 0 <= s <= n)`);
  }
  return def.create(opts);
}
