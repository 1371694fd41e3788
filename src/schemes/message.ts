/**
 * What a scheme's messages are, in one place: the element kind on the wire, what the PS accepts
 * (validateMessage), and the vector an attack works on. Float messages are float32 or float64
 * vectors; 'sign-bits' messages (uncoded + sign-majority) are packed signs, one bit per
 * coordinate, that an attack sees as a +-1 vector and that are re-packed after it.
 */
import { storeFinite } from '../core/simd/arena.js';
import { allFinite, type Vec } from '../core/vec.js';
import { packSigns, unpackSigns } from '../aggregators/sign-majority.js';
import type { Scheme } from './types.js';

export type MessageKind = 'float32' | 'float64' | 'sign-bits';

type Format = Pick<Scheme, 'messageFormat' | 'messageDtype' | 'messageLength'>;

export function messageKind(scheme: Format): MessageKind {
  return scheme.messageFormat === 'sign-bits' ? 'sign-bits' : scheme.messageDtype;
}

/**
 * Check a worker's message before it can reach the decoder; returns the reason to reject it.
 * With `into` (the sender's MessageArena slot, same dtype and length) a float message is also
 * copied there while the finiteness check reads it; the decoder then gets the slot.
 */
export function validateMessage(msg: Vec, scheme: Format, into?: Vec): string | null {
  const kind = messageKind(scheme);
  if (kind === 'sign-bits') {
    // Packed signs: every bit pattern is a valid vote.
    const m: unknown = msg;
    if (!(m instanceof Uint8Array)) return 'wrong dtype (want sign-bits)';
    return m.length === scheme.messageLength
      ? null
      : `wrong length ${m.length} (want ${scheme.messageLength})`;
  }
  const wantType = kind === 'float64' ? Float64Array : Float32Array;
  if (!(msg instanceof wantType)) return `wrong dtype (want ${kind})`;
  if (msg.length !== scheme.messageLength) return `wrong length ${msg.length} (want ${scheme.messageLength})`;
  if (into !== undefined ? !storeFinite(into, msg) : !allFinite(msg)) return 'non-finite values';
  return null;
}

/**
 * The vector an attack corrupts for a message of a model of `d` parameters, and the message it
 * sends back: sign bits are shown as +-1 floats and the result sent as its signs, so every attack
 * applies to signSGD too.
 */
export function attackView(scheme: Format, d: number): { toAttack(m: Vec): Vec; fromAttack(v: Vec): Vec } {
  if (messageKind(scheme) !== 'sign-bits') return { toAttack: (m) => m, fromAttack: (v) => v };
  return {
    toAttack: (m) => unpackSigns(m as unknown as Uint8Array, d),
    fromAttack: (v) => packSigns(v) as unknown as Vec,
  };
}

/** The sign-bits message of a gradient (uncoded + sign-majority workers send this). */
export function signBitsMessage(g: Vec): Vec {
  return packSigns(g) as unknown as Vec;
}
