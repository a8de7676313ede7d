/**
 * Majority quorums over a set of voters (Raft §5.2, §5.3): commit index and vote tallies.
 * Pure functions; learners never count.
 */
import type { Index, PeerId } from './types.js';

export type VoteResult = 'won' | 'lost' | 'pending';

/** Smallest number of voters that forms a majority of `n`. */
export function majority(n: number): number {
  return Math.floor(n / 2) + 1;
}

/**
 * The largest index acknowledged by a majority of `voters`, given each voter's match index.
 * An empty voter set commits nothing it does not already have (returns +Infinity, like etcd, so
 * that `min` with other quorums is neutral); callers treat that as "no quorum".
 */
export function committedIndex(voters: Iterable<PeerId>, matchOf: (id: PeerId) => Index): Index {
  const matches: Index[] = [];
  for (const id of voters) matches.push(matchOf(id));
  if (matches.length === 0) return Number.POSITIVE_INFINITY;
  matches.sort((a, b) => b - a);
  return matches[majority(matches.length) - 1] ?? 0;
}

/** Tally of `votes` (true = granted) among `voters`; votes from non-voters are ignored. */
export function voteResult(
  voters: ReadonlySet<PeerId>,
  votes: ReadonlyMap<PeerId, boolean>,
): VoteResult {
  if (voters.size === 0) return 'won';
  let granted = 0;
  let rejected = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === true) granted++;
    else if (v === false) rejected++;
  }
  const q = majority(voters.size);
  if (granted >= q) return 'won';
  if (voters.size - rejected >= q) return 'pending';
  return 'lost';
}

/** True when `isActive` holds for a majority of `voters`. */
export function hasQuorum(voters: ReadonlySet<PeerId>, isActive: (id: PeerId) => boolean): boolean {
  let n = 0;
  for (const id of voters) if (isActive(id)) n++;
  return n >= majority(voters.size);
}
