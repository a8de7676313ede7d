/**
 * Entry point for messages from peers: term handling common to every role (Raft §5.1),
 * leases and PreVote (thesis §6.2, §9.6), and votes (Raft §5.2, §5.4.1). The rest is
 * dispatched to the role's step function.
 */
import type { RaftCore } from './core.js';
import type { Message } from './message.js';
import { stepCandidate } from './step-candidate.js';
import { stepFollower } from './step-follower.js';
import { stepLeader } from './step-leader.js';

function isVoteRequest(m: Message): m is Extract<Message, { type: 'MsgVote' | 'MsgPreVote' }> {
  return m.type === 'MsgVote' || m.type === 'MsgPreVote';
}

/** Steps one message from a peer. Stale or misdirected messages are ignored. */
export function stepMessage(r: RaftCore, m: Message): void {
  if (m.to !== r.id || m.from === r.id) return;
  if (m.term > r.term) {
    if (isVoteRequest(m)) {
      // Leases (thesis §6.2): while we hear from a leader, ignore candidates that would
      // depose it, unless the leader itself asked for this election (transfer).
      const inLease = r.checkQuorum && r.lead !== '' && r.electionElapsed < r.electionTicks;
      if (!m.transfer && inLease) {
        r.logger.debug(
          { id: r.id, from: m.from, term: r.term, msgTerm: m.term },
          'raft: ignoring vote request within the leader lease',
        );
        return;
      }
    }
    if (m.type === 'MsgPreVote') {
      // A PreVote does not change our term.
    } else if (m.type === 'MsgPreVoteResp' && !m.reject) {
      // The term in a granted PreVote reply is the one we will campaign at; keep ours.
    } else if (m.type === 'MsgApp' || m.type === 'MsgHeartbeat' || m.type === 'MsgSnap') {
      r.becomeFollower(m.term, m.from);
    } else {
      r.becomeFollower(m.term, '');
    }
  } else if (m.term < r.term) {
    if ((r.checkQuorum || r.preVote) && (m.type === 'MsgHeartbeat' || m.type === 'MsgApp')) {
      // A stale leader (e.g. after a partition that PreVote kept us from noticing by term)
      // learns our term from this reply and steps down.
      r.send({
        type: 'MsgAppResp',
        from: r.id,
        to: m.from,
        term: r.term,
        index: 0,
        reject: false,
        rejectHint: 0,
        logTerm: 0,
      });
    } else if (m.type === 'MsgPreVote') {
      r.send({ type: 'MsgPreVoteResp', from: r.id, to: m.from, term: r.term, reject: true });
    }
    return;
  }

  if (isVoteRequest(m)) {
    handleVoteRequest(r, m);
    return;
  }
  switch (r.role) {
    case 'follower':
      stepFollower(r, m);
      return;
    case 'pre-candidate':
    case 'candidate':
      stepCandidate(r, m);
      return;
    case 'leader':
      stepLeader(r, m);
      return;
  }
}

/** Raft §5.2 and §5.4.1: grant at most one vote per term, and only to an up-to-date log. */
function handleVoteRequest(
  r: RaftCore,
  m: Extract<Message, { type: 'MsgVote' | 'MsgPreVote' }>,
): void {
  const canVote =
    r.vote === m.from ||
    (r.vote === '' && r.lead === '') ||
    (m.type === 'MsgPreVote' && m.term > r.term);
  const respType = m.type === 'MsgVote' ? 'MsgVoteResp' : 'MsgPreVoteResp';
  if (canVote && r.log.isUpToDate(m.index, m.logTerm)) {
    r.logger.debug({ id: r.id, to: m.from, type: m.type, term: m.term }, 'raft: granting vote');
    r.send({ type: respType, from: r.id, to: m.from, term: m.term, reject: false });
    if (m.type === 'MsgVote') {
      r.electionElapsed = 0;
      r.vote = m.from;
    }
  } else {
    r.send({ type: respType, from: r.id, to: m.from, term: r.term, reject: true });
  }
}
