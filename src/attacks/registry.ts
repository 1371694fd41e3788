import { Registry } from '../core/registry.js';
import { parseSpec } from '../core/spec.js';
import { alie } from './alie.js';
import { collude } from './collude.js';
import { constant } from './constant.js';
import { gaussian } from './gaussian.js';
import { hidden } from './hidden.js';
import { intermittent } from './intermittent.js';
import { inf } from './inf.js';
import { foe, ipm } from './ipm.js';
import { labelflip } from './labelflip.js';
import { mimic } from './mimic.js';
import { minmax, minsum } from './minmax.js';
import { none } from './none.js';
import { reverse } from './reverse.js';
import { signflip } from './signflip.js';
import { sleeper } from './sleeper.js';
import type { Attack, AttackDef } from './types.js';

export const attacks = new Registry<AttackDef>('attack');
for (const def of [
  none,
  reverse,
  constant,
  gaussian,
  signflip,
  labelflip,
  alie,
  ipm,
  mimic,
  collude,
  hidden,
  intermittent,
  sleeper,
  foe,
  minmax,
  minsum,
  inf,
]) {
  attacks.register(def.name, def);
}

/**
 * Parse an attack spec `name[:key=value,...]`, e.g. `reverse`, `reverse:c=10`,
 * `gaussian:sigma=50`, and build the attack. Unknown keys and non-numeric values are errors.
 */
export function parseAttack(spec: string): { attack: Attack; params: Record<string, number> } {
  const { name, params } = parseSpec(spec, 'attack', (n) => attacks.get(n).defaults);
  return { attack: attacks.get(name).create(params), params };
}

/** Build the attack a spec names, remembering the spec (worker processes rebuild it from it). */
export function createAttack(spec: string): Attack {
  const { attack } = parseAttack(spec);
  return Object.isFrozen(attack) ? attack : Object.assign(attack, { spec: spec.trim() });
}
