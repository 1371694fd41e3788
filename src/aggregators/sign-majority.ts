/**
 * signSGD with majority vote (Bernstein et al. 2019; docs/aggregators.md "Sign majority"): each
 * worker sends the sign of its gradient packed one bit per coordinate (d/8 bytes); the PS outputs
 * sign(sum_i sign_i) per coordinate, ties -> 0, and the optimizer applies the learning rate to that
 * sign vector (the uncoded scheme reports samplesCovered = 1 so the PS does not rescale). No
 * precondition (a vote: a strict majority of honest signs wins each coordinate). Cost O(nd) bit
 * operations, d/8 bytes per worker.
 *
 * One bit cannot encode sign(0) = 0, so a worker's sign is -1 for v < 0 and +1 otherwise (v = 0,
 * -0 included); the float path below uses the same convention, so packed and unpacked inputs
 * give the same aggregate.
 *
 * Packing: bit q (LSB first) of byte p is coordinate 8p + q, set when that coordinate is negative
 * (numpy `packbits(x < 0, bitorder='little')`).
 */
import type { Vec } from '../core/vec.js';
import type { Aggregator, AggregatorDef } from './types.js';

/** Packed sign bits of `x`: ceil(d/8) bytes, bit set = negative. */
export function packSigns(x: Vec): Uint8Array {
  const d = x.length;
  const out = new Uint8Array((d + 7) >> 3);
  const full = d >> 3;
  for (let p = 0, k = 0; p < full; p++, k += 8) {
    out[p] =
      (x[k] < 0 ? 1 : 0) |
      (x[k + 1] < 0 ? 2 : 0) |
      (x[k + 2] < 0 ? 4 : 0) |
      (x[k + 3] < 0 ? 8 : 0) |
      (x[k + 4] < 0 ? 16 : 0) |
      (x[k + 5] < 0 ? 32 : 0) |
      (x[k + 6] < 0 ? 64 : 0) |
      (x[k + 7] < 0 ? 128 : 0);
  }
  for (let k = full * 8; k < d; k++) if (x[k] < 0) out[k >> 3] |= 1 << (k & 7);
  return out;
}

/** The +-1 vector a packed message stands for (length d). */
export function unpackSigns(bits: Uint8Array, d: number): Float32Array {
  const out = new Float32Array(d);
  for (let k = 0; k < d; k++) out[k] = (bits[k >> 3] >> (k & 7)) & 1 ? -1 : 1;
  return out;
}

/** Majority of packed sign messages (each ceil(d/8) bytes): sign(n - 2 * negatives), ties -> 0. */
export function signMajorityPacked(messages: readonly Uint8Array[], d: number): Float64Array {
  const n = messages.length;
  const neg = new Uint16Array(d);
  const full = d >> 3;
  for (const m of messages) {
    for (let p = 0, k = 0; p < full; p++, k += 8) {
      const b = m[p];
      if (b === 0) continue;
      neg[k] += b & 1;
      neg[k + 1] += (b >> 1) & 1;
      neg[k + 2] += (b >> 2) & 1;
      neg[k + 3] += (b >> 3) & 1;
      neg[k + 4] += (b >> 4) & 1;
      neg[k + 5] += (b >> 5) & 1;
      neg[k + 6] += (b >> 6) & 1;
      neg[k + 7] += (b >> 7) & 1;
    }
    for (let k = full * 8; k < d; k++) neg[k] += (m[k >> 3] >> (k & 7)) & 1;
  }
  const out = new Float64Array(d);
  for (let k = 0; k < d; k++) out[k] = Math.sign(n - 2 * neg[k]);
  return out;
}

/** Same vote on float inputs (sign taken with the convention above). */
export function signMajority(inputs: readonly Vec[]): Float64Array {
  const n = inputs.length;
  const d = inputs[0].length;
  const neg = new Uint16Array(d);
  for (const x of inputs) for (let k = 0; k < d; k++) neg[k] += x[k] < 0 ? 1 : 0;
  const out = new Float64Array(d);
  for (let k = 0; k < d; k++) out[k] = Math.sign(n - 2 * neg[k]);
  return out;
}

export function createSignMajority(): Aggregator {
  return {
    name: 'sign-majority',
    description:
      "signSGD-MV: sign of the sum of the inputs' signs (ties -> 0), packed 1 bit/coordinate on the wire; O(nd)",
    precondition(n) {
      return n >= 1 ? null : `sign-majority needs at least one input (n = ${n})`;
    },
    aggregate: (inputs) => signMajority(inputs),
  };
}

export const signMajorityDef: AggregatorDef = {
  name: 'sign-majority',
  description: createSignMajority().description,
  defaults: {},
  create: () => createSignMajority(),
};
