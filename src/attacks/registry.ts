import { UsageError } from '../core/errors.js';
import { Registry } from '../core/registry.js';
import { constant } from './constant.js';
import { gaussian } from './gaussian.js';
import { labelflip } from './labelflip.js';
import { none } from './none.js';
import { reverse } from './reverse.js';
import { signflip } from './signflip.js';
import type { Attack, AttackDef } from './types.js';

export const attacks = new Registry<AttackDef>('attack');
for (const def of [none, reverse, constant, gaussian, signflip, labelflip]) attacks.register(def.name, def);

/**
 * Parse an attack spec `name[:key=value,...]`, e.g. `reverse`, `reverse:c=10`,
 * `gaussian:sigma=50`, and build the attack. Unknown keys and non-numeric values are errors.
 */
export function parseAttack(spec: string): { attack: Attack; params: Record<string, number> } {
  const [name, rest] = splitOnce(spec.trim(), ':');
  const def = attacks.get(name);
  const params: Record<string, number> = { ...def.defaults };
  if (rest !== undefined && rest.trim() !== '') {
    for (const part of rest.split(',')) {
      const [key, value] = splitOnce(part.trim(), '=');
      if (!(key in def.defaults)) {
        const known = Object.keys(def.defaults);
        throw new UsageError(
          `attack '${name}' has no parameter '${key}' (${known.length ? `known: ${known.join(', ')}` : 'it takes none'})`,
        );
      }
      const num = Number(value);
      if (value === undefined || value.trim() === '' || !Number.isFinite(num)) {
        throw new UsageError(
          `attack '${name}': parameter '${key}' needs a finite number, got '${value ?? ''}'`,
        );
      }
      params[key] = num;
    }
  }
  return { attack: def.create(params), params };
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}
