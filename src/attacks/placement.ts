/**
 * Placement (docs/attacks.md "Placement"): which workers are Byzantine at step t.
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
  /**
   * Ranks that compute the same thing and vote together (repetition, DETOX groups), for the
   * omniscient `worst` placement. Absent: every rank is its own group.
   */
  groups?: readonly (readonly number[])[];
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

/**
 * Groups of ranks with identical assignments (the replicas of one task, which vote together):
 * what `worst` needs when a scheme does not list its groups. Ordered by lowest rank; a scheme
 * whose workers all compute different things (uncoded, cyclic) gives singletons.
 */
export function replicaGroups(assignment: readonly (readonly number[])[]): number[][] {
  const byTask = new Map<string, number[]>();
  assignment.forEach((parts, rank) => {
    const key = [...parts].sort((a, b) => a - b).join(',');
    const g = byTask.get(key);
    if (g) g.push(rank);
    else byTask.set(key, [rank]);
  });
  return [...byTask.values()].sort((a, b) => a[0] - b[0]);
}

/**
 * worst (DETOX/ByzShield worst case, docs/attacks.md "worst"): omniscient and
 * fixed for the run; captures as many groups as s allows. A group of m members falls to
 * floor(m/2) + 1 Byzantines (a strict majority of its bytes vote; = ceil(r/2) for odd r; for even
 * m, m/2 seats only force a tie). Groups are captured cheapest first (smallest, then lowest rank),
 * each with its lowest-ranked members; once the next group is unaffordable, the leftover
 * Byzantines sit in it (outvoted, or forcing a tie in an even group), and if every group is
 * captured they fill the captured groups' remaining seats in order. With equal odd groups of r it
 * captures floor(s / ceil(r/2)) groups. Without `groups` every rank is its own group: the first s
 * ranks. Deterministic: the seed is not used.
 */
export const worst: PlacementDef = {
  description: 'omniscient: capture the most groups, ceil(r/2) Byzantines each (DETOX worst case); fixed',
  create({ n, s, groups }) {
    const gs = (groups ?? Array.from({ length: n }, (_, i) => [i])).map((g) => [...g].sort((a, b) => a - b));
    const order = gs.map((g, k) => k).sort((a, b) => gs[a].length - gs[b].length || gs[a][0] - gs[b][0]);
    const chosen: number[] = [];
    const used = new Array<number>(gs.length).fill(0);
    let left = s;
    let next = 0;
    for (; next < order.length; next++) {
      const g = gs[order[next]];
      const need = Math.floor(g.length / 2) + 1;
      if (need > left) break;
      chosen.push(...g.slice(0, need));
      used[order[next]] = need;
      left -= need;
    }
    // Leftovers: into the first group not captured, then the remaining seats of every group.
    for (let i = next; left > 0 && i < order.length + next; i++) {
      const k = order[i % order.length];
      const take = Math.min(left, gs[k].length - used[k]);
      chosen.push(...gs[k].slice(used[k], used[k] + take));
      used[k] += take;
      left -= take;
    }
    if (left > 0) throw new Error(`worst placement: groups cover fewer than s = ${s} ranks`);
    const set = chosen.sort((a, b) => a - b);
    return { name: 'worst', byzantineAt: () => set.slice() };
  },
};

export const placements = new Registry<PlacementDef>('placement');
placements.register('fixed', fixed);
placements.register('random', random);
placements.register('worst', worst);

export function createPlacement(name: string, opts: PlacementOptions): Placement {
  const def = placements.get(name);
  if (opts.s < 0 || opts.s > opts.n) {
    throw new UsageError(`cannot place ${opts.s} Byzantine workers among ${opts.n} (need 0 <= s <= n)`);
  }
  return def.create(opts);
}
