/**
 * Leader election (Raft §5.2, §5.4.1) with PreVote (thesis §9.6) and the transfer campaign
 * that follows MsgTimeoutNow (thesis §3.10).
 */
import type { RaftCore } from './core.js';
import { RaftInvariantError } from './errors.js';
import { appendEntries, bcastAppend } from './replication.js';

/** Follower/candidate tick: campaign once the randomized election timeout passes. */
export function tickElection(r: RaftCore): void {
  r.electionElapsed++;
  if (r.isPromotable() && r.isPastElectionTimeout()) {
    r.electionElapsed = 0;
    hup(r, false);
  }
}

/**
 * Starts an election if allowed: not already leader, a voter, and no committed-but-unapplied
 * conf change (its outcome could change who may vote). `transfer` skips PreVote and leases.
 */
export function hup(r: RaftCore, transfer: boolean): void {
  if (r.role === 'leader') return;
  if (!r.isPromotable()) {
    r.logger.warn({ id: r.id }, 'raft: not promotable, cannot campaign');
    return;
  }
  if (r.hasUnappliedConfChanges()) {
    // Campaigning under a stale membership is unsafe; a transfer waits for the apply.
    if (transfer) r.pendingTransferCampaign = true;
    r.logger.warn({ id: r.id, transfer }, 'raft: cannot campaign with unapplied conf changes');
    return;
  }
  r.logger.info({ id: r.id, term: r.term, transfer }, 'raft: starting a new election');
  if (r.preVote && !transfer) campaign(r, 'pre', false);
  else campaign(r, 'election', transfer);
}

/**
 * Raft §5.2: become (pre-)candidate, vote for self and ask every voter. A PreVote round asks
 * for votes at term+1 without changing our term.
 */
export function campaign(r: RaftCore, kind: 'pre' | 'election', transfer: boolean): void {
  let term;
  if (kind === 'pre') {
    r.becomePreCandidate();
    term = r.term + 1;
  } else {
    r.becomeCandidate();
    term = r.term;
  }
  if (poll(r, r.id, true)) return;
  const index = r.log.lastIndex();
  const logTerm = r.log.lastTerm();
  for (const id of r.tracker.voters) {
    if (id === r.id) continue;
    r.send({
      type: kind === 'pre' ? 'MsgPreVote' : 'MsgVote',
      from: r.id,
      to: id,
      term,
      index,
      logTerm,
      transfer,
    });
  }
}

/**
 * Records a vote and acts on the tally: a won PreVote starts the real election, a won election
 * makes us leader, a lost one returns us to follower. Returns true if the election was decided.
 */
export function poll(r: RaftCore, from: string, granted: boolean): boolean {
  const result = r.tracker.recordVote(from, granted);
  if (result === 'won') {
    if (r.role === 'pre-candidate') campaign(r, 'election', false);
    else {
      becomeLeader(r);
      bcastAppend(r);
    }
    return true;
  }
  if (result === 'lost') {
    r.becomeFollower(r.term, '');
    return true;
  }
  return false;
}

/**
 * Raft §5.2/§8: take leadership and append an empty entry of the new term, whose commit also
 * commits every earlier entry (§5.4.2) and unblocks ReadIndex.
 */
export function becomeLeader(r: RaftCore): void {
  if (r.role === 'follower') throw new RaftInvariantError('follower cannot become leader');
  const term = r.term;
  r.reset(term);
  r.lead = r.id;
  r.role = 'leader';
  r.tracker.progress.get(r.id)?.becomeReplicate();
  // Conservatively wait for any conf change already in the log before accepting a new one.
  r.pendingConfIndex = r.log.lastIndex();
  appendEntries(r, [{ type: 'normal', data: new Uint8Array(0) }]);
  r.logger.info({ id: r.id, term }, 'raft: became leader');
}
