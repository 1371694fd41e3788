import { UsageError } from './errors.js';

/**
 * A parameter default meaning "derived from n and f at run time" (e.g. trimmed-mean's b = f,
 * ALIE's z = z_max). NaN because no user can type it: any number given overrides it.
 */
export const AUTO = NaN;

export const isAuto = (x: number): boolean => Number.isNaN(x);

/** `k=v,...` for help listings, with AUTO shown as `auto`. */
export function formatDefaults(defaults: Readonly<Record<string, number>>): string {
  return Object.entries(defaults)
    .map(([k, v]) => `${k}=${isAuto(v) ? 'auto' : v}`)
    .join(',');
}

/**
 * Parse a component spec `name[:key=value,...]` (attacks, aggregators, pre-aggregators), e.g.
 * `reverse:c=10`, `trimmed-mean:b=2`. Values are numbers; keys must be among `defaults`, which
 * also supplies the values not given; a key alone is a switch set to 1 (`alie:optimal`). `kind`
 * names the component in error messages.
 */
export function parseSpec(
  spec: string,
  kind: string,
  defaultsOf: (name: string) => Readonly<Record<string, number>>,
): { name: string; params: Record<string, number> } {
  const [name, rest] = splitOnce(spec.trim(), ':');
  const defaults = defaultsOf(name);
  const params: Record<string, number> = { ...defaults };
  if (rest !== undefined && rest.trim() !== '') {
    for (const part of rest.split(',')) {
      // A bare key is a switch: `alie:optimal` means `alie:optimal=1`.
      const [key, given] = splitOnce(part.trim(), '=');
      const value = given === undefined && key in defaults ? '1' : given;
      if (!(key in defaults)) {
        const known = Object.keys(defaults);
        throw new UsageError(
          `${kind} '${name}' has no parameter '${key}' (${known.length ? `known: ${known.join(', ')}` : 'it takes none'})`,
        );
      }
      const num = Number(value);
      if (value === undefined || value.trim() === '' || !Number.isFinite(num)) {
        throw new UsageError(
          `${kind} '${name}': parameter '${key}' needs a finite number, got '${value ?? ''}'`,
        );
      }
      params[key] = num;
    }
  }
  return { name, params };
}

/** `on-no-majority` -> `onNoMajority`: a flag's name as a config key. */
export function camelCase(s: string): string {
  return s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}
