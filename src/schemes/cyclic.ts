/**
 * DRACO's cyclic code (docs/schemes.md "Cyclic code"): worker j holds partitions
 * {j, ..., j + 2s} mod n and sends one complex combination of their gradients (two reals packed
 * per complex value, so d reals per message); the PS locates up to s adversaries with a
 * Reed-Solomon style decoder on a fresh private projection and solves for the exact sum. The
 * machinery is shared with Solon (schemes/mds/): the cyclic code is Solon with m = 1, r = 2s + 1.
 */
import { UsageError } from '../core/errors.js';
import type { Vec } from '../core/vec.js';
import { createMdsCode, dtypeNote, mdsDecode, mdsEncode } from './mds/index.js';
import type { DecodeContext, GradientOracle, Scheme, SchemeOptions } from './types.js';

export function createCyclic(opts: SchemeOptions): Scheme {
  const { n, s, d } = opts;
  const r = opts.r ?? 2 * s + 1;
  if (r !== 2 * s + 1) {
    throw new UsageError(
      `cyclic needs r = 2s + 1 exactly (r = ${r}, s = ${s}: use r = ${2 * s + 1}, or --scheme solon for r >= 2s + m)`,
    );
  }
  if ((opts.compression ?? 1) !== 1) {
    throw new UsageError(
      `cyclic sends d values per worker (compression = ${opts.compression}): use --scheme solon`,
    );
  }
  const code = createMdsCode({ n, s, d, r, m: 1, dtype: opts.messageDtype ?? 'float64' }, 'cyclic');
  return {
    name: 'cyclic',
    n,
    numPartitions: n,
    assignment: code.assignment,
    messageLength: code.messageLength,
    messageDtype: code.elementDtype,
    planeLength: code.L,
    describe: () =>
      `cyclic code (r = ${r}, tolerates ${s} Byzantine): worker j holds partitions j..j+${2 * s} mod ${n}; ` +
      `${code.messageLength} ${code.elementDtype} values per message${dtypeNote(code)}`,
    encode: (worker: number, gradient: GradientOracle) => mdsEncode(code, worker, gradient),
    tasks: (worker: number) => code.assignment[worker].map((p) => [p]),
    decode: (messages: readonly (Vec | null)[], ctx: DecodeContext) => mdsDecode(code, messages, ctx),
  };
}
