/**
 * Rules take finite inputs (types.ts says who checks, and what the rules that do not check do).
 * Here: the error those rules throw, and the one-pass check for inputs of unknown origin.
 */
import type { Vec } from '../core/vec.js';

/** Where the first non-finite value of a set of inputs is. */
export interface NonFinite {
  /** Index of the input (row). */
  input: number;
  /** Coordinate within it. */
  index: number;
  value: number;
}

/** A rule was handed a non-finite input (NaN or +-Infinity). */
export class NonFiniteInputError extends Error {
  readonly input: number;
  readonly index: number;
  readonly value: number;
  constructor(where: NonFinite) {
    super(
      `aggregation input ${where.input} holds ${where.value} at coordinate ${where.index}: rules take finite inputs`,
    );
    this.name = 'NonFiniteInputError';
    this.input = where.input;
    this.index = where.index;
    this.value = where.value;
  }
}

/** The first non-finite value by input, then coordinate; null when every value is finite. */
export function firstNonFinite(inputs: readonly Vec[]): NonFinite | null {
  for (let i = 0; i < inputs.length; i++) {
    const x = inputs[i];
    for (let k = 0; k < x.length; k++) {
      const v = x[k];
      // v - v is NaN exactly for NaN and +-Infinity.
      if (v - v !== 0) return { input: i, index: k, value: v };
    }
  }
  return null;
}

/** Throw `NonFiniteInputError` for the first non-finite value, if any (one pass over the inputs). */
export function assertFinite(inputs: readonly Vec[]): void {
  const bad = firstNonFinite(inputs);
  if (bad) throw new NonFiniteInputError(bad);
}
