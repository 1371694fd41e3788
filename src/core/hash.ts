/**
 * sha256 of vectors, by Node's crypto. Apart from core/vec.ts so that the code a browser worker
 * bundles (src/browser/) imports nothing of Node's.
 */
import { createHash } from 'node:crypto';
import type { Vec } from './vec.js';

/** sha256 of the vector's bytes as stored (little-endian on every platform Node supports). */
export function sha256Hex(x: Vec): string {
  return createHash('sha256')
    .update(new Uint8Array(x.buffer, x.byteOffset, x.byteLength))
    .digest('hex');
}
