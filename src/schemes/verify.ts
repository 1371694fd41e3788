/**
 * Verify (docs/schemes.md "Verify"): replication with s + 1 copies instead of DRACO's 2s + 1, after
 * Hofmeister, Maßny, Yaakobi and Bitar (arXiv 2401.02380): groups of consecutive ranks
 * compute the same partitions, as in the repetition code; a group whose (unbanned) members all
 * sent one value byte for byte is accepted, and any other group (a value differs, or a member's
 * message is missing) is settled by the PS, which computes the group's gradient itself on the
 * same deterministic backend (`DecodeContext.recompute`). A member whose bytes differ from the
 * PS's is a proven liar: a suspect, and with banning on, ignored from the next step on; so is a
 * member whose message the PS refused for its content (NaN, an infinity, a wrong size) when the
 * PS's own value is finite.
 *
 * Why exact: every group has at least one honest member among s + 1 (at most s liars). A group
 * accepted without the PS had every unbanned member's message, all equal, so the honest member's
 * too; a settled group takes the PS's own value. With bans: k banned ranks are proven liars, so
 * at most s - k liars remain; a group that lost k_g <= k members to bans keeps s + 1 - k_g > s - k
 * members, still one honest among them. Each proven liar forces at most one recomputation while
 * banning is on (then it is ignored); missing messages prove nothing and are settled every time.
 * A refused message is not missing: the worker answered, with bytes no honest worker computes
 * from a finite gradient.
 */
import { UsageError } from '../core/errors.js';
import { allFinite, bytesEqual, type Vec } from '../core/vec.js';
import { groupAssignment, groupSpans, repetitionGroups } from './repetition.js';
import type { DecodeContext, DecodeResult, GradientOracle, Scheme, SchemeOptions } from './types.js';

export function createVerify(opts: SchemeOptions): Scheme {
  const { n, s, d } = opts;
  const r = opts.r ?? s + 1;
  const ban = opts.ban ?? false;
  if (r < s + 1)
    throw new UsageError(
      `verify needs r >= s + 1 so that every group holds an honest member (r = ${r}, s = ${s}: use r >= ${s + 1})`,
    );
  if (n < r) throw new UsageError(`verify needs n >= r workers (n = ${n}, r = ${r})`);
  const groups = repetitionGroups(n, r);
  const assignment = groupAssignment(groups, n);
  const banned = new Set<number>();
  const bannedList = () => [...banned].sort((a, b) => a - b);

  return {
    name: 'verify',
    n,
    numPartitions: n,
    assignment,
    groups,
    messageLength: d,
    messageDtype: 'float32',
    describe() {
      const sizes = groups.map((g) => g.length);
      return (
        `${groups.length} group${groups.length === 1 ? '' : 's'} (r = ${r}, at least ${Math.min(...sizes)} ranks each; ` +
        `a disagreeing group is recomputed by the PS${ban ? ', liars banned' : ''}): ranks ${groupSpans(groups)}`
      );
    },
    encode: (worker: number, gradient: GradientOracle) => gradient(assignment[worker]),
    tasks: (worker: number) => [assignment[worker]],
    banned: bannedList,
    saveState: () => ({ banned: bannedList() }),
    loadState(state: unknown) {
      const list = (state as { banned?: unknown } | null)?.banned;
      if (!Array.isArray(list) || !list.every((x) => Number.isInteger(x) && x >= 0 && x < n))
        throw new UsageError('verify: the checkpoint holds no valid list of banned ranks');
      if (!ban && list.length > 0)
        throw new UsageError('verify: the checkpoint bans ranks but this run has banning off (--ban)');
      banned.clear();
      for (const x of list as number[]) banned.add(x);
    },
    decode(messages: readonly (Vec | null)[], ctx: DecodeContext): DecodeResult {
      const gradient = new Float64Array(d);
      const suspects: number[] = [];
      const failures: string[] = [];
      const liars: number[] = [];
      const refused = new Set(ctx.refused);
      let samplesCovered = 0;
      for (let k = 0; k < groups.length; k++) {
        const members = groups[k];
        const voters = members.filter((rank) => !banned.has(rank));
        const first = voters.length > 0 ? messages[voters[0]] : null;
        let value: Vec | null = null;
        if (
          first !== null &&
          voters.every((rank) => messages[rank] !== null && bytesEqual(messages[rank]!, first))
        )
          value = first;
        else if (ctx.recompute === undefined)
          failures.push(
            `group ${k} (ranks ${members[0]}-${members[members.length - 1]}): disagrees and this PS cannot recompute; group skipped`,
          );
        else {
          value = ctx.recompute(members);
          // A refused message (not finite, wrong size) against a finite value is a lie too; a
          // missing one proves nothing.
          const finite = allFinite(value);
          for (const rank of voters) {
            const m = messages[rank];
            if (m !== null ? !bytesEqual(m, value) : finite && refused.has(rank)) liars.push(rank);
          }
        }
        if (value === null) continue;
        for (let i = 0; i < d; i++) gradient[i] += value[i];
        for (const p of members) samplesCovered += ctx.partitionSizes[p];
      }
      suspects.push(...liars);
      if (ban) for (const rank of liars) banned.add(rank);
      return { gradient, samplesCovered, suspects, failures, abort: samplesCovered === 0 };
    },
  };
}
