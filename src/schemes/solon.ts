/**
 * Solon (docs/schemes.md "Solon"): with compute load r >= 2s + m every worker sends d/m values
 * and the PS still recovers the exact gradient sum despite s Byzantine workers. Worker i holds
 * partitions {i, ..., i + r - 1} mod n; each partition gradient is cut into m blocks, and the
 * code (schemes/mds/, shared with the cyclic code) puts the m block sums in the first m coordinates
 * of a DFT-node MDS codeword, so the cyclic decoder's locator applies unchanged.
 */
import { UsageError } from '../core/errors.js';
import type { Vec } from '../core/vec.js';
import { createMdsCode, dtypeNote, mdsDecode, mdsEncode, mdsMinLoad } from './mds/index.js';
import type { DecodeContext, GradientOracle, Scheme, SchemeOptions } from './types.js';

export function createSolon(opts: SchemeOptions): Scheme {
  const { n, s, d } = opts;
  const m = opts.compression ?? 1;
  const r = opts.r ?? mdsMinLoad(s, m);
  if (mdsMinLoad(s, m) > n) {
    throw new UsageError(
      `solon needs n >= 2s + m workers (n = ${n}, s = ${s}, m = ${m}: at most m = ${n - 2 * s})`,
    );
  }
  const code = createMdsCode({ n, s, d, r, m, dtype: opts.messageDtype ?? 'float64' }, 'solon');
  return {
    name: 'solon',
    n,
    numPartitions: n,
    assignment: code.assignment,
    messageLength: code.messageLength,
    messageDtype: code.elementDtype,
    planeLength: code.L,
    describe: () =>
      `solon (r = ${r}, m = ${m}, tolerates ${s} Byzantine): worker i holds partitions i..i+${r - 1} mod ${n}; ` +
      `${code.messageLength} ${code.elementDtype} values per message (d = ${d})${dtypeNote(code)}`,
    encode: (worker: number, gradient: GradientOracle) => mdsEncode(code, worker, gradient),
    tasks: (worker: number) => code.assignment[worker].map((p) => [p]),
    decode: (messages: readonly (Vec | null)[], ctx: DecodeContext) => mdsDecode(code, messages, ctx),
  };
}
