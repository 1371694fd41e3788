/**
 * DRACO's repetition code (docs/schemes.md "Repetition code"): groups of consecutive ranks all
 * compute the sum of their group's partition gradients; the PS takes, per group, the value sent
 * by at least s + 1 members (exact byte equality) and sums the group winners. With at most s
 * Byzantine workers and r >= 2s + 1 the result is bit for bit the adversary-free one; a group
 * whose honest arrivals fall below s + 1 (erasures) cannot be decoded and is reported, never
 * guessed.
 */
import { UsageError } from '../core/errors.js';
import { bytesEqual, type Vec } from '../core/vec.js';
import type { DecodeContext, DecodeResult, GradientOracle, Scheme, SchemeOptions } from './types.js';

/**
 * Groups of consecutive ranks: g = floor(n / r) groups whose sizes differ by at most one (the
 * first n mod g get one extra). Depends only on (n, r).
 */
export function repetitionGroups(n: number, r: number): number[][] {
  if (!Number.isInteger(n) || !Number.isInteger(r) || r < 1 || n < r) {
    throw new UsageError(`repetition needs 1 <= r <= n (n = ${n}, r = ${r})`);
  }
  const g = Math.floor(n / r);
  const base = Math.floor(n / g);
  const extra = n % g;
  const groups: number[][] = [];
  let rank = 0;
  for (let k = 0; k < g; k++) {
    const size = base + (k < extra ? 1 : 0);
    groups.push(Array.from({ length: size }, (_, i) => rank + i));
    rank += size;
  }
  return groups;
}

/**
 * Every member of a group computes the same task: group k owns the partitions with the same
 * indices as its member ranks (P = n). Returns each rank's partitions.
 */
export function groupAssignment(groups: readonly (readonly number[])[], n: number): (readonly number[])[] {
  const assignment: (readonly number[])[] = new Array(n);
  for (const g of groups) for (const rank of g) assignment[rank] = g;
  return assignment;
}

/** `0-4, 5-9, 10-14`: the groups' rank ranges, for describe(). */
export function groupSpans(groups: readonly (readonly number[])[]): string {
  return groups.map((g) => `${g[0]}-${g[g.length - 1]}`).join(', ');
}

export interface VoteResult {
  /** Index (into the given list) of one message carrying the accepted value, or -1. */
  winner: number;
  /** Number of received messages carrying the most common value. */
  votes: number;
  /** Sizes of the value classes, largest first (for reports). */
  tally: number[];
  /** Messages received (non-null). */
  received: number;
}

/** Words sampled by `sampleHash`: enough to separate distinct gradients almost always. */
const SAMPLE_WORDS = 64;

/**
 * Hash of the length and of SAMPLE_WORDS 32-bit words at a fixed stride (plus the last word):
 * O(1) instead of a pass over the vector. Different hashes prove different bytes; equal hashes
 * are only a hint, confirmed by a full compare.
 */
function sampleHash(x: Vec): number {
  const words = x.byteLength >> 2;
  let h = Math.imul(0x811c9dc5 ^ x.byteLength, 0x01000193) ^ (x instanceof Float64Array ? 1 : 0);
  if (words > 0) {
    const w = new Int32Array(x.buffer, x.byteOffset, words);
    const stride = Math.max(1, Math.floor(words / SAMPLE_WORDS));
    for (let i = 0; i < words; i += stride) h = Math.imul(h ^ w[i], 0x01000193);
    h = Math.imul(h ^ w[words - 1], 0x01000193);
  }
  return h >>> 0;
}

/** Byte equality at memcmp speed (Buffer.compare); the same view is equal without reading. */
function sameBytes(a: Vec, b: Vec): boolean {
  if (a === b) return true;
  if (a.constructor !== b.constructor || a.length !== b.length) return false;
  if (a.buffer === b.buffer && a.byteOffset === b.byteOffset) return true;
  const ua = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const ub = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  return Buffer.compare(ua, ub) === 0;
}

/**
 * Vote by bytes over one group's messages (null = erasure): the accepted value is the one sent by
 * at least `need` members, provided no other value also reaches `need` or it was sent by a strict
 * majority of the members. The threshold counts
 * members, not arrivals, so erasures can only make a group undecodable, never hand it to a
 * minority: the repetition code needs s + 1 identical messages (then at least one came from an
 * honest member), DETOX a strict majority of the whole group. Default: a strict majority of
 * `messages.length`.
 *
 * Messages are bucketed by a sampled hash (a few dozen words, so no pass over the data), and every
 * bucket member is confirmed against its class representative by a full byte compare (memcmp), so
 * a hash collision can never merge two different values. Cost: one memcmp per message.
 */
export function majorityVote(
  messages: readonly (Vec | null)[],
  need: number = Math.floor(messages.length / 2) + 1,
): VoteResult {
  const classes: { rep: number; count: number }[] = [];
  const byHash = new Map<number, number[]>(); // hash -> indices into classes
  let received = 0;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i];
    if (m === null) continue;
    received++;
    const h = sampleHash(m);
    const candidates = byHash.get(h);
    let found = -1;
    if (candidates) {
      for (const c of candidates) {
        if (sameBytes(messages[classes[c].rep]!, m)) {
          found = c;
          break;
        }
      }
    }
    if (found >= 0) classes[found].count++;
    else {
      classes.push({ rep: i, count: 1 });
      if (candidates) candidates.push(classes.length - 1);
      else byHash.set(h, [classes.length - 1]);
    }
  }
  classes.sort((a, b) => b.count - a.count || a.rep - b.rep);
  const tally = classes.map((c) => c.count);
  const best = classes[0];
  // A strict majority of the members is accepted even when another value reaches `need`: with at
  // most s liars that cannot happen (a group has >= 2s + 1 members), and beyond s it outvotes up
  // to floor((size - 1) / 2) liars when enough members arrived, as DRACO's majority vote does.
  const accepted =
    best !== undefined && best.count >= need && ((tally[1] ?? 0) < need || 2 * best.count > messages.length);
  return { winner: accepted ? best.rep : -1, votes: best?.count ?? 0, tally, received };
}

export interface GroupVote {
  /** The accepted value, or null when the group cannot be decoded. */
  winner: Vec | null;
  /** Members whose bytes differ from the winner (none when there is no winner). */
  suspects: number[];
  /**
   * Without a winner: why, with the group's numbers and the bound, e.g. "group 1 (ranks 4-6):
   * 1 of 3 received (2 erased), value classes 1; needs 2 identical (s + 1 = 2; decodable while
   * erasures + liars <= 1)".
   */
  failure: string | null;
}

/** What a group's vote needs: `need` identical messages, explained as `rule`. */
export interface VoteRule {
  need: number;
  /** How `need` was set and what bound follows, for the failure line. */
  rule: string;
}

/** The vote of group `k` (its member ranks) over the step's messages; shared by repetition and DETOX. */
export function voteGroup(
  k: number,
  members: readonly number[],
  messages: readonly (Vec | null)[],
  rule: VoteRule,
): GroupVote {
  const msgs = members.map((rank) => messages[rank]);
  const vote = majorityVote(msgs, rule.need);
  if (vote.winner < 0) {
    const erased = members.length - vote.received;
    const conflict = vote.tally.length > 1 && vote.tally[1] >= rule.need;
    const failure =
      `group ${k} (ranks ${members[0]}-${members[members.length - 1]}): ${vote.received} of ${members.length} received` +
      `${erased > 0 ? ` (${erased} erased)` : ''}, value classes ${vote.tally.join('-') || 'none'}; ` +
      (conflict
        ? `two values each sent by ${rule.need} or more members: more Byzantine workers than the scheme tolerates (${rule.rule})`
        : `needs ${rule.need} identical (${rule.rule})`);
    return { winner: null, suspects: [], failure };
  }
  const winner = msgs[vote.winner]!;
  const suspects = members.filter((_, i) => {
    const m = msgs[i];
    return m !== null && i !== vote.winner && !bytesEqual(m, winner);
  });
  return { winner, suspects, failure: null };
}

/**
 * The repetition code's vote for a group of `size` members: s + 1 identical messages. With at most
 * s liars, a value sent s + 1 times was sent by an honest member, so it is the honest value; the
 * group decodes exactly when its honest arrivals reach s + 1, i.e. while erasures + liars <=
 * size - s - 1, and is never wrong.
 */
export function repetitionVoteRule(size: number, s: number): VoteRule {
  return {
    need: s + 1,
    rule: `s + 1 = ${s + 1}; a group of ${size} decodes while erasures + liars <= ${size - s - 1}`,
  };
}

/**
 * What groups of at least `size` members voting with threshold s + 1 (and a strict majority)
 * withstand: s liars together with up to size - 2s - 1 erasures; floor((size - 1) / 2) liars when
 * nothing is erased.
 */
export function repetitionTolerance(size: number, s: number): string {
  const erasures = size - 2 * s - 1;
  const majority = Math.floor((size - 1) / 2);
  if (erasures === 0) return `tolerates ${s} Byzantine`;
  const plural = erasures === 1 ? '' : 's';
  const more = majority > s ? `, or ${majority} Byzantine without erasures` : '';
  return `tolerates ${s} Byzantine and ${erasures} erasure${plural}${more}`;
}

export function createRepetition(opts: SchemeOptions): Scheme {
  const { n, s, d } = opts;
  const r = opts.r ?? 2 * s + 1;
  const noMajority = opts.noMajority ?? 'skip';
  if (r < 2 * s + 1) {
    throw new UsageError(
      `repetition needs r >= 2s + 1 to outvote s Byzantine workers (r = ${r}, s = ${s}: use r >= ${2 * s + 1})`,
    );
  }
  if (n < r) throw new UsageError(`repetition needs n >= r workers (n = ${n}, r = ${r})`);
  const groups = repetitionGroups(n, r);
  for (const g of groups) {
    // Cannot happen while r >= 2s + 1 (every group has >= r members); kept as the check
    // docs/schemes.md "Repetition code" describes.
    if (g.length < 2 * s + 1)
      throw new UsageError(`repetition group of ${g.length} ranks cannot outvote s = ${s}`);
  }
  const assignment = groupAssignment(groups, n);
  const rules = groups.map((g) => repetitionVoteRule(g.length, s));

  return {
    name: 'repetition',
    n,
    numPartitions: n,
    assignment,
    groups,
    messageLength: d,
    messageDtype: 'float32',
    describe() {
      return `${groups.length} group${groups.length === 1 ? '' : 's'} (r = ${r}, ${repetitionTolerance(Math.min(...groups.map((g) => g.length)), s)}): ranks ${groupSpans(groups)}`;
    },
    encode: (worker: number, gradient: GradientOracle) => gradient(assignment[worker]),
    tasks: (worker: number) => [assignment[worker]],
    decode(messages: readonly (Vec | null)[], ctx: DecodeContext): DecodeResult {
      const gradient = new Float64Array(d);
      const suspects: number[] = [];
      const failures: string[] = [];
      let samplesCovered = 0;
      // Stream group by group: only one group's messages are examined at a time.
      for (let k = 0; k < groups.length; k++) {
        const members = groups[k];
        const vote = voteGroup(k, members, messages, rules[k]);
        if (vote.winner === null) {
          failures.push(`${vote.failure}; ${noMajority === 'skip' ? 'group skipped' : 'step aborted'}`);
          if (noMajority === 'abort') {
            return { gradient, samplesCovered: 0, suspects, failures, abort: true };
          }
          continue;
        }
        const win = vote.winner;
        for (let i = 0; i < d; i++) gradient[i] += win[i];
        for (const p of members) samplesCovered += ctx.partitionSizes[p];
        suspects.push(...vote.suspects);
      }
      return { gradient, samplesCovered, suspects, failures, abort: samplesCovered === 0 };
    },
  };
}
