/** Flag value parsers shared by the commands: a bad value is commander's one-line error, exit 2. */
import { InvalidArgumentError } from 'commander';

export function positiveInt(value: string): number {
  const x = Number(value);
  if (!Number.isInteger(x) || x < 1) throw new InvalidArgumentError('expected a positive integer.');
  return x;
}

export function nonNegativeInt(value: string): number {
  const x = Number(value);
  if (!Number.isInteger(x) || x < 0) throw new InvalidArgumentError('expected a non-negative integer.');
  return x;
}
